/**
 * Pure mapping between events and model rows: request validation, the row layout a model
 * wants, and the Prediction event built from a score. No I/O here, so it is unit-tested alone.
 */

import { RiskStreamError } from '../../lib/errors/index.ts'
import { DEFAULT_SKEW, type DomainContext, predictionRequestIssues } from '../../lib/events/domain.ts'
import type { PredictionEvent, PredictionRequestEvent as PredictionRequest } from '../../lib/events/index.ts'
import { FEATURES, type FeatureName } from '../../lib/features/index.ts'

/** The contracts this role reads and writes (lib/events; timestamps as epoch ms). */
export type { PredictionEvent, PredictionRequestEvent as PredictionRequest } from '../../lib/events/index.ts'

/**
 * Checks what the Avro schema cannot, with the shared input domain (lib/events/domain.ts):
 * ids, string lengths, the event time within the allowed skew of now, and the physiological
 * bounds of every feature (null = not measured is fine; NaN/Infinity and out-of-range values
 * are not). Returns null when the request may be scored, else a VALIDATION_FAILED error whose
 * message names each bad field and the rule it broke, never a value (values are patient data).
 */
export function validateRequest(
  req: PredictionRequest,
  ctx: DomainContext = { now: Date.now(), skew: DEFAULT_SKEW },
): RiskStreamError | null {
  const problems = predictionRequestIssues(req, ctx).map((i) => ({ feature: i.field, rule: i.rule }))
  if (problems.length === 0) return null
  const list = problems.map((p) => `${p.feature} (${p.rule})`).join(', ')
  return new RiskStreamError('VALIDATION_FAILED', `request rejected: ${list}`, {
    details: { issues: problems },
  })
}

/**
 * For each model column, the index of that feature in FEATURES. Artifacts normally list the
 * features in FEATURES order (the identity), but the artifact is the authority on its layout.
 * Throws ARTIFACT_CORRUPT for a feature inference does not know: scoring it would be garbage.
 */
export function columnMap(modelFeatures: readonly string[]): Int32Array {
  const map = new Int32Array(modelFeatures.length)
  modelFeatures.forEach((f, j) => {
    const i = FEATURES.indexOf(f as FeatureName)
    if (i < 0)
      throw new RiskStreamError('ARTIFACT_CORRUPT', `model expects unknown feature ${f}`, {
        details: { feature: f },
      })
    map[j] = i
  })
  return map
}

/** Writes request r's features into `rows` (row-major, NaN = missing) in the model's column order. */
export function fillRow(req: PredictionRequest, columns: Int32Array, rows: Float64Array, r: number): void {
  const nf = columns.length
  for (let j = 0; j < nf; j++) {
    const v = req[FEATURES[columns[j]!]!]
    rows[r * nf + j] = v === null || v === undefined ? Number.NaN : v
  }
}

/** The Prediction for one scored request; label = probability ≥ threshold. */
export function toPrediction(
  req: PredictionRequest,
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
  } as PredictionEvent
  for (const f of FEATURES) p[f] = req[f] ?? null
  return p
}

/**
 * The rejection for a valid request the served model could not score (its probability was
 * not finite): the model has no way to handle the features this request leaves missing.
 */
export function unscorableError(
  req: PredictionRequest,
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
