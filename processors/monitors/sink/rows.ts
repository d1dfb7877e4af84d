/**
 * Pure mappers from decoded events to rows of the raw tables in migrations/001_core_events.sql.
 * Exported so fixtures (API tests, benchmarks) go through exactly the code the sink runs.
 *
 * Times are written as DateTime64(3, 'UTC') text; every row carries its Kafka partition and
 * offset, which make re-processing idempotent (same record → same row key) and let the
 * monitors rebuild their join state "as of" a checkpoint's offsets.
 */
import type { IHeaders } from 'kafkajs'
import { DLQ_HEADERS, headerString } from '../../../lib/kafka/index.ts'

/** DateTime64(3, 'UTC') literal for JSONEachRow inserts. */
export const chTime = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace('Z', '')

/** The Prediction and OutcomeLabel contracts as decoded (lib/events; timestamps in epoch ms). */
import type { OutcomeLabelEvent as OutcomeEvent, PredictionEvent } from '../../../lib/events/index.ts'

export type { OutcomeEvent, PredictionEvent }

/** Where a record came from (DecodedRecord carries these). */
export interface RecordPosition {
  partition: number
  offset: string
}

export const toMs = (t: Date | number): number => (typeof t === 'number' ? t : t.getTime())

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

export function predictionRow(p: PredictionEvent, at: RecordPosition): PredictionRow {
  return {
    request_id: p.requestId,
    patient_id: p.patientId,
    model_name: p.modelName,
    model_version: p.modelVersion,
    probability: p.probability,
    label: p.label,
    threshold: p.threshold,
    event_time: chTime(toMs(p.eventTime)),
    scored_at: chTime(toMs(p.scoredAt)),
    pregnancies: p.pregnancies ?? null,
    glucose: p.glucose ?? null,
    blood_pressure: p.bloodPressure ?? null,
    skin_thickness: p.skinThickness ?? null,
    insulin: p.insulin ?? null,
    bmi: p.bmi ?? null,
    diabetes_pedigree_function: p.diabetesPedigreeFunction ?? null,
    age: p.age ?? null,
    kafka_partition: at.partition,
    kafka_offset: at.offset,
  }
}

export interface ShadowPredictionRow {
  request_id: string
  model_name: string
  model_version: number
  probability: number
  label: number
  threshold: number
  event_time: string
  scored_at: string
  kafka_partition: number
  kafka_offset: string
}

/** Shadow scores keep no features or patient id: the served prediction row already has them. */
export function shadowPredictionRow(p: PredictionEvent, at: RecordPosition): ShadowPredictionRow {
  return {
    request_id: p.requestId,
    model_name: p.modelName,
    model_version: p.modelVersion,
    probability: p.probability,
    label: p.label,
    threshold: p.threshold,
    event_time: chTime(toMs(p.eventTime)),
    scored_at: chTime(toMs(p.scoredAt)),
    kafka_partition: at.partition,
    kafka_offset: at.offset,
  }
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
  return {
    request_id: o.requestId,
    outcome: o.outcome,
    labelled_at: chTime(toMs(o.labelledAt)),
    source: o.source,
    kafka_partition: at.partition,
    kafka_offset: at.offset,
  }
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
