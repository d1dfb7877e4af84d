/**
 * The fast path of the raw sink: positional rows for JSONCompactEachRow inserts, built
 * straight from the decoded events (no intermediate row object).
 *
 * Why not the row objects of rows.ts + JSONEachRow (the original path)? Profiling the
 * benchmark showed ClickHouse's parse of the insert body as the largest single cost, and
 * JSONEachRow repeats all 20 column names on every row (~410 bytes per prediction vs ~155).
 * The compact form is ~2.5× smaller and parsed ~2× faster by chDB; RowBinary would be
 * smaller still but the chDB connection behind @clickhouse/client turns every insert body into
 * a UTF-8 string (node_modules/chdb/dist/connection/chdb-connection.js, streamToString), so
 * binary formats are not an option there.
 *
 * These encoders are the one description of the raw columns: rows.ts builds its JSONEachRow
 * objects from them (named by the *_COLUMNS lists), so the two formats cannot disagree. Only
 * the time text differs — here unix seconds with a millisecond fraction ("1735689600.123"),
 * which ClickHouse parses into DateTime64(3) exactly and is cheaper to produce than the ISO
 * text rows.ts passes as `time`. The client serialises each row with JSON.stringify, so any
 * request id is escaped correctly.
 */
import { toMs } from '../engine/types.ts'
import type { OutcomeEvent, PredictionEvent, RecordPosition } from './rows.ts'

export { toMs }

/** DateTime64(3) text as unix seconds with a millisecond fraction; exact for integer ms. */
export function chSeconds(ms: number): string {
  const s = Math.floor(ms / 1000)
  const frac = ms - s * 1000
  return `${s}.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}`
}

export type Cell = string | number | null

/** Epoch ms → DateTime64(3) text; the hot path keeps the default, chSeconds. */
export type TimeText = (ms: number) => string

/** The feature columns, in FEATURES order (as predictionValues writes them). */
export const FEATURE_COLUMNS = [
  'pregnancies',
  'glucose',
  'blood_pressure',
  'skin_thickness',
  'insulin',
  'bmi',
  'diabetes_pedigree_function',
  'age',
] as const

/** Column order of predictionValues (same names as PredictionRow). */
export const PREDICTION_COLUMNS = [
  'request_id',
  'patient_id',
  'model_name',
  'model_version',
  'probability',
  'label',
  'threshold',
  'event_time',
  'scored_at',
  ...FEATURE_COLUMNS,
  'kafka_partition',
  'kafka_offset',
] as const

export const OUTCOME_COLUMNS = [
  'request_id',
  'outcome',
  'labelled_at',
  'source',
  'kafka_partition',
  'kafka_offset',
] as const

/** One JSONCompactEachRow row of the predictions table; columns as PREDICTION_COLUMNS. */
export function predictionValues(p: PredictionEvent, at: RecordPosition, time: TimeText = chSeconds): Cell[] {
  return [
    p.requestId,
    p.patientId,
    p.modelName,
    p.modelVersion,
    p.probability,
    p.label,
    p.threshold,
    time(toMs(p.eventTime)),
    time(toMs(p.scoredAt)),
    // Same order as FEATURES; `?? null` because an absent optional field must be NULL, not dropped.
    p.pregnancies ?? null,
    p.glucose ?? null,
    p.bloodPressure ?? null,
    p.skinThickness ?? null,
    p.insulin ?? null,
    p.bmi ?? null,
    p.diabetesPedigreeFunction ?? null,
    p.age ?? null,
    at.partition,
    at.offset,
  ]
}

export function outcomeValues(o: OutcomeEvent, at: RecordPosition, time: TimeText = chSeconds): Cell[] {
  return [o.requestId, o.outcome, time(toMs(o.labelledAt)), o.source, at.partition, at.offset]
}
