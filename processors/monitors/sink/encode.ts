/**
 * The fast path of the raw sink: positional rows for JSONCompactEachRow inserts, built straight
 * from the decoded events, and the one description of the raw columns (rows.ts builds its
 * JSONEachRow objects from these encoders and *_COLUMNS lists, so the two formats cannot
 * disagree). Only the time text differs: unix seconds with a millisecond fraction here.
 */
import { toMs } from '../engine/types.ts'
import type { OutcomeEvent, PredictionEvent, RecordPosition } from './rows.ts'

export { toMs }

/**
 * DateTime64(3) text as unix seconds with a millisecond fraction; exact for integer ms, and
 * cheaper to produce than ISO text. Compact rows rather than JSONEachRow because the insert
 * body's parse is the sink's largest cost and JSONEachRow repeats every column name per row;
 * not RowBinary because the chDB connection turns every insert body into a UTF-8 string.
 */
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
