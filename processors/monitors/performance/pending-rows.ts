/**
 * A waiting prediction as the label join gets it back from ClickHouse: from `predictions` when the
 * join is rebuilt after a restart (checkpoint/store.ts), from `label_join_spill` when a spilled
 * one is restored or expires (spill.ts). Both tables share these columns.
 */
import type { PendingPrediction } from './join.ts'

/** The SELECT list of a pending prediction row (event time as epoch ms). */
export const PENDING_PREDICTION_SELECT =
  'request_id, model_version, probability, label, toUnixTimestamp64Milli(event_time) AS t'

export interface PendingPredictionRow {
  request_id: string
  model_version: number
  probability: number
  label: number
  t: number
}

/** The join's entry for a row (ClickHouse may return numbers as text). */
export function pendingPrediction(modelName: string, r: PendingPredictionRow): [string, PendingPrediction] {
  return [
    r.request_id,
    {
      modelName,
      modelVersion: Number(r.model_version),
      probability: Number(r.probability),
      label: Number(r.label),
      eventTime: Number(r.t),
    },
  ]
}
