/**
 * Model artifacts: canonical JSON (keys sorted), gzip-compressed, stored in ClickHouse and
 * loaded by inference; `sha256` is of the stored bytes (reproducible: gzip is deterministic,
 * mtime 0). Decoding checks the checksum, gzip with an output cap, JSON, then the structure;
 * any failure is ARTIFACT_CORRUPT naming the first problem.
 */
import { createHash } from 'node:crypto'
import { gunzipSync, gzipSync } from 'node:zlib'
import { RiskStreamError } from '../errors/index.ts'
import type { ModelArtifact, ModelFamily, ModelStage } from './types.ts'
import { validateModel, validatePreprocessing } from './validate.ts'

export const ARTIFACT_FORMAT_VERSION = 1

/** Decompressed artifacts larger than this are refused (a gzip bomb never reaches memory). */
export const MAX_ARTIFACT_JSON_BYTES = 64 * 1024 * 1024

const FAMILIES: readonly ModelFamily[] = [
  'xgboost',
  'random_forest',
  'gradient_boosting',
  'logistic_regression',
]
const STAGES: readonly ModelStage[] = ['candidate', 'production', 'rejected', 'archived']

function corrupt(reason: string, cause?: unknown): never {
  throw new RiskStreamError('ARTIFACT_CORRUPT', reason, { cause, details: { reason } })
}

/** JSON with recursively sorted object keys; rejects values JSON cannot round-trip. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value, '$'))
}

function sortKeys(v: unknown, path: string): unknown {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) corrupt(`${path} is ${v}, which JSON cannot represent`)
    return v
  }
  if (Array.isArray(v)) return v.map((x, i) => sortKeys(x, `${path}[${i}]`))
  if (ArrayBuffer.isView(v)) corrupt(`${path} is a typed array; convert it to a plain array first`)
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {}
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k]
      if (x !== undefined) out[k] = sortKeys(x, `${path}.${k}`)
    }
    return out
  }
  return v
}

export const sha256Hex = (bytes: Buffer | string): string => createHash('sha256').update(bytes).digest('hex')

/** Validates and encodes; throws ARTIFACT_CORRUPT rather than write an unloadable artifact. */
export function encodeArtifact(a: ModelArtifact): { bytes: Buffer; sha256: string } {
  validateArtifact(a)
  const bytes = gzipSync(Buffer.from(canonicalJson(a), 'utf8'), { level: 9 })
  return { bytes, sha256: sha256Hex(bytes) }
}

export function decodeArtifact(bytes: Buffer, expectedSha256?: string): ModelArtifact {
  if (expectedSha256 !== undefined) {
    const actual = sha256Hex(bytes)
    if (actual !== expectedSha256.toLowerCase()) {
      corrupt(`sha256 mismatch: expected ${expectedSha256}, got ${actual}`)
    }
  }
  let text: string
  try {
    text = gunzipSync(bytes, { maxOutputLength: MAX_ARTIFACT_JSON_BYTES }).toString('utf8')
  } catch (err) {
    corrupt(`not valid gzip data (${(err as Error).message})`, err)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    corrupt(`not valid JSON (${(err as Error).message})`, err)
  }
  validateArtifact(parsed)
  return parsed
}

/** Where an artifact lives, as recorded in events and the registry. */
export function artifactRef(name: string, version: number): string {
  return `clickhouse:model_artifacts/${name}/${version}`
}

const isFiniteNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x)

/** Structural check of a whole artifact (throws ARTIFACT_CORRUPT). */
export function validateArtifact(a: unknown): asserts a is ModelArtifact {
  if (typeof a !== 'object' || a === null || Array.isArray(a)) corrupt('artifact is not a JSON object')
  const art = a as Record<string, unknown>
  if (art.formatVersion !== ARTIFACT_FORMAT_VERSION) {
    corrupt(
      `formatVersion is ${JSON.stringify(art.formatVersion)}, this code reads ${ARTIFACT_FORMAT_VERSION}`,
    )
  }
  if (typeof art.modelName !== 'string' || art.modelName === '')
    corrupt('modelName must be a non-empty string')
  if (!Number.isInteger(art.version) || (art.version as number) < 1)
    corrupt('version must be a positive integer')
  if (!FAMILIES.includes(art.family as ModelFamily)) corrupt(`unknown family ${JSON.stringify(art.family)}`)
  if (!STAGES.includes(art.stage as ModelStage)) corrupt(`unknown stage ${JSON.stringify(art.stage)}`)
  validateModel(art.model)
  const nf = art.model.nFeatures
  if (
    !Array.isArray(art.features) ||
    art.features.length !== nf ||
    art.features.some((f) => typeof f !== 'string')
  ) {
    corrupt(`features must be ${nf} feature names`)
  }
  validatePreprocessing(art.preprocessing, nf)
  if (!isFiniteNumber(art.threshold) || art.threshold < 0 || art.threshold > 1)
    corrupt('threshold must be in [0, 1]')
  const ref = art.reference as Record<string, unknown> | undefined
  if (
    typeof ref !== 'object' ||
    ref === null ||
    typeof ref.features !== 'object' ||
    typeof ref.probability !== 'object'
  ) {
    corrupt('reference must hold per-feature and probability distributions')
  }
  if (typeof art.metrics !== 'object' || art.metrics === null) corrupt('metrics must be an object')
  if (typeof art.dataset !== 'object' || art.dataset === null) corrupt('dataset must be an object')
  if (typeof art.hyperparameters !== 'object' || art.hyperparameters === null)
    corrupt('hyperparameters must be an object')
  if (typeof art.codeVersion !== 'string') corrupt('codeVersion must be a string')
  if (!isFiniteNumber(art.createdAt)) corrupt('createdAt must be a finite number')
  if (art.parentVersion !== null && !Number.isInteger(art.parentVersion))
    corrupt('parentVersion must be an integer or null')
}
