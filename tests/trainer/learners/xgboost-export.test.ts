import { afterAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../../lib/config/index.ts'
import { loadPima } from '../../../lib/data/pima.ts'
import { toRow } from '../../../lib/features/index.ts'
import { createScorer } from '../../../lib/model/scorer.ts'
import { closeXGBoostWorker, trainXGBoost, XGBOOST_DEFAULTS } from '../../../trainer/learners/xgboost.ts'
import {
  float32SplitToFloat64,
  parseXGBoostBinary,
  xgboostToTreeEnsemble,
} from '../../../trainer/learners/xgboost-export.ts'
import { encodeMissing } from '../../../trainer/learners/xgboost-worker.ts'

const pima = loadPima(loadConfig(process.env).data.pimaCsvPath)
const X = Float64Array.from(pima.rows.flatMap(toRow))
const n = pima.rows.length

afterAll(() => closeXGBoostWorker())

describe('float32SplitToFloat64', () => {
  it('makes `x < t64` agree with XGBoost’s `fround(x) < t32` around the split', () => {
    for (const raw of [0.627, 33.6, 1e-3, 120.5, 0.0785, 3]) {
      const t32 = Math.fround(raw)
      const t64 = float32SplitToFloat64(t32)
      // probe float64 values on both sides of the float32 rounding boundary
      const probes = [
        t64,
        t64 - 1e-15 * Math.max(1, t64),
        raw,
        t32,
        (t64 + t32) / 2,
        t64 * (1 - 1e-9),
        t64 * (1 + 1e-9),
      ]
      for (const x of probes) expect(x < t64).toBe(Math.fround(x) < t32)
    }
  })
})

describe('xgboost binary export', () => {
  it('scores Pima exactly like ml-xgboost (1e-6), rows with missing values included', async () => {
    const enc = encodeMissing(X)
    const params = { ...XGBOOST_DEFAULTS, n_estimators: 150, max_depth: 4, eta: 0.1 }
    const res = await trainXGBoost({
      X: enc,
      y: Float32Array.from(pima.labels),
      nRows: n,
      nFeatures: 8,
      params,
      seed: 42,
      predictX: enc,
      predictRows: n,
    })
    const parsed = parseXGBoostBinary(res.model)
    expect(parsed.objective).toBe('binary:logistic')
    expect(parsed.numFeature).toBe(8)
    expect(parsed.trees).toHaveLength(150)
    expect(parsed.baseMargin).toBe(0) // base_score 0.5 is saved as its margin, logit(0.5) = 0

    const model = xgboostToTreeEnsemble(res.model, 8)
    const scores = createScorer(model, { impute: new Array(8).fill(null) }).scoreBatch(X, n)
    let withMissing = 0
    let maxDiff = 0
    for (let i = 0; i < n; i++) {
      if (toRow(pima.rows[i]!).some(Number.isNaN)) withMissing++
      maxDiff = Math.max(maxDiff, Math.abs(scores[i]! - res.predictions![i]!))
    }
    expect(withMissing).toBeGreaterThan(300) // Pima: 376 rows lack at least one measurement
    expect(maxDiff).toBeLessThan(1e-6)
    // and the model is not trivial
    expect(Math.max(...scores) - Math.min(...scores)).toBeGreaterThan(0.5)
  })

  it('rejects truncated or foreign bytes with ARTIFACT_CORRUPT', () => {
    expect(() => parseXGBoostBinary(new Uint8Array(50))).toThrow(/truncated/)
    const bytes = new Uint8Array(136 + 8 + 3 + 8 + 8)
    const v = new DataView(bytes.buffer)
    v.setBigUint64(136, 3n, true)
    bytes.set([0x61, 0x62, 0x63], 144)
    v.setBigUint64(147, 8n, true)
    bytes.set(new TextEncoder().encode('gblinear'), 155)
    expect(() => parseXGBoostBinary(bytes)).toThrow(/booster "gblinear" is not supported/)
  })
})
