/**
 * TypeScript shapes of the Avro contracts in schemas/*.avsc, as avsc decodes them (timestamps
 * as epoch milliseconds, `null` for a feature that was not measured). Defined once here so
 * every role reads and writes the same shapes; the registry and avsc check the bytes.
 */
import type { FeatureVector } from '../features/index.ts'

/** schemas/PredictionRequest.avsc */
export type PredictionRequestEvent = {
  requestId: string
  /** Pseudonymous surrogate id; never logged. */
  patientId: string
  /** When the measurements were taken. */
  eventTime: number
  sourceSystem: string
  /** Free text from the source system; never logged. */
  notes?: string | null
} & FeatureVector

/** schemas/OutcomeLabel.avsc */
export interface OutcomeLabelEvent {
  requestId: string
  /** 1 = diabetes confirmed, 0 = not. */
  outcome: number
  labelledAt: number
  source: string
}

/** schemas/Prediction.avsc (also on the shadow-predictions topic, with `shadow: true`). */
export type PredictionEvent = {
  requestId: string
  patientId: string
  modelName: string
  modelVersion: number
  probability: number
  label: number
  threshold: number
  eventTime: number
  scoredAt: number
  shadow: boolean
  /** The request's source system (monitoring segments, lib/segments); null or absent from older producers. */
  sourceSystem?: string | null
} & FeatureVector

/** schemas/DriftEvent.avsc */
export interface DriftEventRecord {
  /** Deterministic: model version + kind + window, so a restart never emits it twice. */
  eventId: string
  kind: string
  severity: string
  modelName: string
  modelVersion: number
  windowType: string
  windowStart: number
  windowEnd: number
  windowSize: number
  features: string[]
  scores: Record<string, number>
  evidenceJson: string
  detectedAt: number
}

/** schemas/RetrainRequest.avsc */
export interface RetrainRequestEvent {
  requestId: string
  modelName: string
  /** manual | schedule | drift | data_volume */
  trigger: string
  triggerEventId: string | null
  reason: string
  requestedBy: string
  requestedAt: number
}

/** schemas/RetrainResult.avsc */
export interface RetrainResultEvent {
  requestId: string
  runId: string
  modelName: string
  /** started | succeeded | rejected | failed */
  status: string
  version: number | null
  reasons: string[]
  error: string | null
  metricsJson: string
  at: number
}
