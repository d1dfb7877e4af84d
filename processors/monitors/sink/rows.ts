/**
 * Pure mappers from decoded events to rows of the raw tables in migrations/001_core_events.sql.
 * Exported so fixtures (API tests, benchmarks) go through exactly the code the sink runs: the
 * prediction and outcome rows are the positional rows of encode.ts (the fast path) with names.
 *
 * Times are written as DateTime64(3, 'UTC') text; every row carries its Kafka partition and
 * offset, which make re-processing idempotent (same record → same row key) and let the
 * monitors rebuild their join state "as of" a checkpoint's offsets.
 */
import type { IHeaders } from 'kafkajs'
import { chTime } from '../../../lib/clickhouse/index.ts'
import type { OutcomeLabelEvent as OutcomeEvent, PredictionEvent } from '../../../lib/events/index.ts'
import { DLQ_HEADERS, headerString } from '../../../lib/kafka/index.ts'
import {
  type Cell,
  FEATURE_COLUMNS,
  OUTCOME_COLUMNS,
  outcomeValues,
  PREDICTION_COLUMNS,
  predictionValues,
  toMs,
} from './encode.ts'

/** The Prediction and OutcomeLabel contracts as decoded (lib/events; timestamps in epoch ms). */
export type { OutcomeEvent, PredictionEvent }
export { toMs }

/** Where a record came from (DecodedRecord carries these). */
export interface RecordPosition {
  partition: number
  offset: string
}

export interface PredictionRow {
  request_id: string
  patient_id: string
  model_name: string
  model_version: number
  probability: number
  label: number
  threshold: number
  event_time: string
  scored_at: string
  pregnancies: number | null
  glucose: number | null
  blood_pressure: number | null
  skin_thickness: number | null
  insulin: number | null
  bmi: number | null
  diabetes_pedigree_function: number | null
  age: number | null
  kafka_partition: number
  kafka_offset: string
}

/** `values` named by `columns`, in order: a positional row of encode.ts as a JSONEachRow object. */
function namedRow<R>(columns: readonly (keyof R & string)[], values: readonly Cell[]): R {
  const row: Record<string, Cell> = {}
  for (let i = 0; i < columns.length; i++) row[columns[i]] = values[i]
  return row as R
}

export function predictionRow(p: PredictionEvent, at: RecordPosition): PredictionRow {
  return namedRow<PredictionRow>(PREDICTION_COLUMNS, predictionValues(p, at, chTime))
}

/** Shadow scores keep no patient id or features: the served prediction row already has them. */
type ServedOnly = 'patient_id' | (typeof FEATURE_COLUMNS)[number]

export type ShadowPredictionRow = Omit<PredictionRow, ServedOnly>

const SHADOW_PREDICTION_COLUMNS = PREDICTION_COLUMNS.filter(
  (c): c is Exclude<(typeof PREDICTION_COLUMNS)[number], ServedOnly> =>
    c !== 'patient_id' && !(FEATURE_COLUMNS as readonly string[]).includes(c),
)

export function shadowPredictionRow(p: PredictionEvent, at: RecordPosition): ShadowPredictionRow {
  const full = predictionRow(p, at)
  return namedRow<ShadowPredictionRow>(
    SHADOW_PREDICTION_COLUMNS,
    SHADOW_PREDICTION_COLUMNS.map((c) => full[c]),
  )
}

export interface OutcomeRow {
  request_id: string
  outcome: number
  labelled_at: string
  source: string
  kafka_partition: number
  kafka_offset: string
}

export function outcomeRow(o: OutcomeEvent, at: RecordPosition): OutcomeRow {
  return namedRow<OutcomeRow>(OUTCOME_COLUMNS, outcomeValues(o, at, chTime))
}

export interface DlqRow {
  source_topic: string
  source_partition: number
  source_offset: string
  reason: string
  message: string
  schema_id: string
  failed_at: string
  record_key: string
  kafka_partition: number
  kafka_offset: string
}

/** A raw dead-letter record (bytes are not decoded: they are unusable by definition). */
export interface DlqMessage {
  key: Buffer | string | null
  headers?: IHeaders
  partition: number
  offset: string
  /** Broker timestamp, used when the failed-at header is absent. */
  timestamp?: string | number
}

/**
 * The row keeps the provenance headers only; the payload stays on the DLQ topic (it may hold
 * patient data, and it is by definition not parseable). Records dead-lettered by something
 * other than our consumer loop (no headers) are keyed by their own DLQ position.
 */
export function dlqRow(m: DlqMessage, dlqTopic: string): DlqRow {
  const h = m.headers
  const sourceTopic = headerString(h, DLQ_HEADERS.sourceTopic) ?? dlqTopic.replace(/\.dlq$/, '')
  const sourcePartition = Number(headerString(h, DLQ_HEADERS.sourcePartition) ?? m.partition)
  const failedAt = Number(headerString(h, DLQ_HEADERS.failedAt) ?? m.timestamp ?? 0)
  return {
    source_topic: sourceTopic,
    source_partition: Number.isFinite(sourcePartition) ? sourcePartition : m.partition,
    source_offset: headerString(h, DLQ_HEADERS.sourceOffset) ?? m.offset,
    reason: headerString(h, DLQ_HEADERS.reason) ?? 'UNKNOWN',
    message: (headerString(h, DLQ_HEADERS.message) ?? '').slice(0, 500),
    schema_id: headerString(h, DLQ_HEADERS.schemaId) ?? '',
    failed_at: chTime(Number.isFinite(failedAt) ? failedAt : 0),
    record_key: m.key === null ? '' : m.key.toString(),
    kafka_partition: m.partition,
    kafka_offset: m.offset,
  }
}
