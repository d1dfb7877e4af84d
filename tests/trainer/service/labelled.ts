/** Labelled, scored requests written straight into ClickHouse for the trainer's integration tests. */
import { chTime } from '../../../lib/clickhouse/index.ts'
import { loadPima } from '../../../lib/data/pima.ts'
import type { Deps } from '../../../lib/runtime/index.ts'
import { TABLES } from '../../../lib/warehouse/index.ts'
import { uniqueId } from '../../helpers/index.ts'

export interface LabelledOptions {
  /** Event time of the first request (ms). */
  t0: number
  /** Between two requests' event times (ms). */
  stepMs?: number
  /** From a request's event time to its label (ms). */
  labelDelayMs?: number
}

/**
 * `n` requests, one patient each, their feature vectors borrowed from the first Pima rows,
 * scored by version 1 and labelled with the Pima outcome. Returns the request ids in time order.
 */
export async function insertLabelled(deps: Deps, n: number, opts: LabelledOptions): Promise<string[]> {
  const { t0, stepMs = 1, labelDelayMs = 1 } = opts
  const pima = loadPima(deps.config.data.pimaCsvPath)
  const reqs = Array.from({ length: n }, () => uniqueId('req-'))
  await deps.clickhouse.insert({
    table: TABLES.predictions,
    format: 'JSONEachRow',
    values: reqs.map((id, i) => {
      const v = pima.rows[i]!
      return {
        request_id: id,
        patient_id: `patient-${id}`,
        model_name: deps.config.model.name,
        model_version: 1,
        probability: 0.5,
        label: 0,
        threshold: 0.5,
        event_time: chTime(t0 + i * stepMs),
        scored_at: chTime(t0 + i * stepMs),
        pregnancies: v.pregnancies,
        glucose: v.glucose,
        blood_pressure: v.bloodPressure,
        skin_thickness: v.skinThickness,
        insulin: v.insulin,
        bmi: v.bmi,
        diabetes_pedigree_function: v.diabetesPedigreeFunction,
        age: v.age,
        kafka_partition: i % 3,
        kafka_offset: i,
      }
    }),
  })
  await deps.clickhouse.insert({
    table: TABLES.outcomes,
    format: 'JSONEachRow',
    values: reqs.map((id, i) => ({
      request_id: id,
      outcome: pima.labels[i]!,
      labelled_at: chTime(t0 + i * stepMs + labelDelayMs),
      source: 'test',
      kafka_partition: i % 3,
      kafka_offset: i,
    })),
  })
  return reqs
}
