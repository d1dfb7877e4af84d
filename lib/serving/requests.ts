/**
 * Pure mapping between events and model rows: request validation against the input domain
 * (lib/events/domain.ts), the request event with its defaults, the row layout a model wants,
 * and the Prediction event built from a score. Used by inference, the API and the producers.
 */
import { RiskStreamError } from '../errors/index.ts'
import { DEFAULT_SKEW, type DomainContext, predictionRequestIssues } from '../events/domain.ts'
import type { PredictionEvent, PredictionRequestEvent } from '../events/index.ts'
import { FEATURES, type FeatureName } from '../features/index.ts'

/**
 * Checks what the Avro schema cannot, with the shared input domain: ids, string lengths, the
 * event time within the allowed skew of now, and the physiological bounds of every feature
 * (null = not measured is fine; NaN/Infinity and out-of-range values are not). Returns null
 * when the request may be scored, else a VALIDATION_FAILED error whose message names each bad
 * field and the rule it broke, never a value (values are patient data).
 */
export function validateRequest(
  req: PredictionRequestEvent,
  ctx: DomainContext = { now: Date.now(), skew: DEFAULT_SKEW },
): RiskStreamError | null {
  const problems = predictionRequestIssues(req, ctx).map((i) => ({ feature: i.field, rule: i.rule }))
  if (problems.length === 0) return null
  const list = problems.map((p) => `${p.feature} (${p.rule})`).join(', ')
  return new RiskStreamError('VALIDATION_FAILED', `request rejected: ${list}`, {
    details: { issues: problems },
  })
}

/** The fields of a request event other than the features (notes optional). */
export interface RequestHeader {
  requestId: string
  patientId: string
  eventTime: number
  sourceSystem: string
  notes?: string | null
}

/** The request event in its exact contract shape: notes and unset features become null. */
export function toRequestEvent(
  header: RequestHeader,
  features: Partial<Record<FeatureName, unknown>>,
): PredictionRequestEvent {
  const event = {
    requestId: header.requestId,
    patientId: header.patientId,
    eventTime: header.eventTime,
    sourceSystem: header.sourceSystem,
    notes: header.notes ?? null,
  } as PredictionRequestEvent
  for (const f of FEATURES) event[f] = (features[f] as number | null | undefined) ?? null
  return event
}

/** Writes vector r's features into `rows` (row-major, NaN = missing) in the model's column order. */
export function fillRow(
  v: Partial<Record<FeatureName, number | null>>,
  columns: Int32Array,
  rows: Float64Array,
  r: number,
): void {
  const nf = columns.length
  for (let j = 0; j < nf; j++) {
    const x = v[FEATURES[columns[j]!]!]
    rows[r * nf + j] = x === null || x === undefined ? Number.NaN : x
  }
}

/** Row-major model input (NaN = missing) for feature vectors, in the model's column order. */
export function toMatrix(
  vectors: readonly Partial<Record<FeatureName, number | null>>[],
  columns: Int32Array,
): Float64Array {
  const out = new Float64Array(vectors.length * columns.length)
  for (let r = 0; r < vectors.length; r++) fillRow(vectors[r]!, columns, out, r)
  return out
}

/** The Prediction for one scored request; label = probability ≥ threshold. */
export function toPrediction(
  req: PredictionRequestEvent,
  model: { modelName: string; version: number; threshold: number },
  probability: number,
  scoredAt: number,
  shadow: boolean,
): PredictionEvent {
  const p: PredictionEvent = {
    requestId: req.requestId,
    patientId: req.patientId,
    modelName: model.modelName,
    modelVersion: model.version,
    probability,
    label: probability >= model.threshold ? 1 : 0,
    threshold: model.threshold,
    eventTime: req.eventTime,
    scoredAt,
    shadow,
    sourceSystem: req.sourceSystem,
  } as PredictionEvent
  for (const f of FEATURES) p[f] = req[f] ?? null
  return p
}

/**
 * The rejection for a valid request the served model could not score (its probability was
 * not finite): the model has no way to handle the features this request leaves missing.
 */
export function unscorableError(
  req: PredictionRequestEvent,
  model: { version: number; columns: Int32Array },
): RiskStreamError {
  const missing = Array.from(model.columns, (i) => FEATURES[i]!).filter(
    (f) => req[f] === null || req[f] === undefined,
  )
  const issues = missing.map((feature) => ({ feature, rule: 'missing' }))
  const list = missing.length > 0 ? missing.map((f) => `${f} (missing)`).join(', ') : 'no finite probability'
  return new RiskStreamError('VALIDATION_FAILED', `model v${model.version} cannot score request: ${list}`, {
    details: { issues, modelVersion: model.version },
  })
}
