import { gunzipSync, gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { RiskStreamError } from '../../../lib/errors/index.ts'
import { artifactRef, canonicalJson, decodeArtifact, encodeArtifact } from '../../../lib/model/artifact.ts'
import type { ModelArtifact } from '../../../lib/model/types.ts'

function sampleArtifact(): ModelArtifact {
  const ref = { edges: [1, 2], shares: [0.3, 0.3, 0.3], missingShare: 0.1, n: 10 }
  return {
    formatVersion: 1,
    modelName: 'diabetes-risk',
    version: 3,
    family: 'gradient_boosting',
    model: {
      kind: 'tree_ensemble',
      nFeatures: 2,
      trees: [
        {
          feature: [1, -1, -1],
          threshold: [0.5, 0, 0],
          left: [1, -1, -1],
          right: [2, -1, -1],
          missingLeft: [1, 0, 0],
          value: [0, -0.2, 0.3],
        },
      ],
      baseMargin: -0.62,
      aggregation: 'sum',
      link: 'logistic',
    },
    features: ['glucose', 'bmi'],
    preprocessing: { impute: [null, null] },
    threshold: 0.42,
    reference: { features: { glucose: ref, bmi: ref }, probability: ref },
    metrics: {
      roc_auc: 0.84,
      accuracy: 0.77,
      precision: 0.7,
      recall: 0.6,
      f1: 0.65,
      log_loss: 0.48,
      brier: 0.16,
      confusion: { tp: 160, fp: 70, tn: 430, fn: 108 },
    },
    dataset: { rows: 768, positives: 268, sha256: 'ab'.repeat(32), sources: ['pima.csv'] },
    hyperparameters: { learning_rate: 0.05, max_iter: 100, early_stopping: false },
    codeVersion: 'test',
    createdAt: 1_700_000_000_000,
    parentVersion: null,
    stage: 'candidate',
  }
}

function expectCorrupt(fn: () => unknown, reason: RegExp): void {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(RiskStreamError)
    expect((err as RiskStreamError).code).toBe('ARTIFACT_CORRUPT')
    expect((err as RiskStreamError).message).toMatch(reason)
    return
  }
  throw new Error('expected ARTIFACT_CORRUPT')
}

/** Gzipped JSON of an arbitrary (possibly invalid) object, bypassing encodeArtifact's checks. */
function encodeRaw(obj: unknown): Buffer {
  return gzipSync(Buffer.from(JSON.stringify(obj)))
}

describe('model artifacts', () => {
  it('round-trips and verifies its checksum', () => {
    const a = sampleArtifact()
    const { bytes, sha256 } = encodeArtifact(a)
    expect(sha256).toMatch(/^[0-9a-f]{64}$/)
    expect(decodeArtifact(bytes, sha256)).toEqual(a)
    expect(decodeArtifact(bytes)).toEqual(a)
  })

  it('is canonical: key order does not change the bytes or the checksum', () => {
    const a = sampleArtifact()
    const reordered = Object.fromEntries(Object.entries(a).reverse()) as unknown as ModelArtifact
    expect(encodeArtifact(reordered).sha256).toBe(encodeArtifact(a).sha256)
    const text = gunzipSync(encodeArtifact(a).bytes).toString('utf8')
    expect(text).toBe(canonicalJson(a))
    expect(text.indexOf('"codeVersion"')).toBeLessThan(text.indexOf('"createdAt"'))
  })

  it('rejects a flipped byte', () => {
    const { bytes, sha256 } = encodeArtifact(sampleArtifact())
    const flipped = Buffer.from(bytes)
    flipped[Math.floor(flipped.length / 2)]! ^= 0xff
    expectCorrupt(() => decodeArtifact(flipped, sha256), /sha256 mismatch/)
    expectCorrupt(() => decodeArtifact(flipped), /gzip|JSON/)
  })

  it('rejects a wrong formatVersion', () => {
    const bytes = encodeRaw({ ...sampleArtifact(), formatVersion: 2 })
    expectCorrupt(() => decodeArtifact(bytes), /formatVersion/)
  })

  it('rejects a child index out of range, unequal tree arrays and out-of-range features', () => {
    const bad = sampleArtifact()
    if (bad.model.kind !== 'tree_ensemble') throw new Error('fixture')
    bad.model.trees[0]!.right[0] = 7
    expectCorrupt(() => decodeArtifact(encodeRaw(bad)), /child index 7 out of range/)

    const unequal = sampleArtifact()
    if (unequal.model.kind !== 'tree_ensemble') throw new Error('fixture')
    unequal.model.trees[0]!.threshold.pop()
    expectCorrupt(() => decodeArtifact(encodeRaw(unequal)), /threshold has length 2, expected 3/)

    const feature = sampleArtifact()
    if (feature.model.kind !== 'tree_ensemble') throw new Error('fixture')
    feature.model.trees[0]!.feature[0] = 2
    expectCorrupt(() => decodeArtifact(encodeRaw(feature)), /feature index 2/)
  })

  it('rejects non-finite numbers and refuses to encode an invalid artifact', () => {
    const nan = sampleArtifact()
    nan.threshold = Number.NaN
    expectCorrupt(() => encodeArtifact(nan), /threshold/)
    const text = canonicalJson(sampleArtifact()).replace('"baseMargin":-0.62', '"baseMargin":null')
    expectCorrupt(() => decodeArtifact(gzipSync(Buffer.from(text))), /baseMargin/)
  })

  it('names where artifacts live', () => {
    expect(artifactRef('diabetes-risk', 12)).toBe('clickhouse:model_artifacts/diabetes-risk/12')
  })
})
