import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chTime, migrate } from '../../../lib/clickhouse/index.ts'
import { closeDeps, createDeps, type Deps } from '../../../lib/runtime/index.ts'
import { assembleTrainingSet, countLabelled, loadStreamedRows } from '../../../trainer/dataset/index.ts'
import { testConfig, uniqueId } from '../../helpers/index.ts'

let deps: Deps
const T0 = Date.UTC(2024, 4, 1, 12, 0, 0)
const ids = { a: uniqueId('req-'), b: uniqueId('req-'), unlabelled: uniqueId('req-') }

function prediction(
  requestId: string,
  at: number,
  partition: number,
  offset: number,
  glucose: number | null,
) {
  return {
    request_id: requestId,
    patient_id: 'p',
    model_name: 'diabetes-risk',
    model_version: 1,
    probability: 0.4,
    label: 0,
    threshold: 0.5,
    event_time: chTime(at),
    scored_at: chTime(at),
    pregnancies: 2,
    glucose,
    blood_pressure: 70,
    skin_thickness: null,
    insulin: null,
    bmi: 31.5,
    diabetes_pedigree_function: 0.4,
    age: 40,
    kafka_partition: partition,
    kafka_offset: offset,
  }
}

beforeAll(async () => {
  deps = await createDeps(testConfig())
  await migrate(deps.clickhouse)
  const ch = deps.clickhouse
  await ch.insert({
    table: 'predictions',
    format: 'JSONEachRow',
    values: [
      prediction(ids.a, T0, 0, 10, 120),
      prediction(ids.b, T0 + 5000, 2, 7, null),
      prediction(ids.unlabelled, T0 + 9000, 1, 3, 99),
    ],
  })
  // A redelivered prediction record for `a` (same request id): must not add a row.
  await ch.insert({
    table: 'predictions',
    format: 'JSONEachRow',
    values: [prediction(ids.a, T0, 0, 10, 120)],
  })
  // Shadow predictions never feed training.
  await ch.insert({
    table: 'shadow_predictions',
    format: 'JSONEachRow',
    values: [
      {
        request_id: ids.a,
        model_name: 'diabetes-risk',
        model_version: 2,
        probability: 0.9,
        label: 1,
        threshold: 0.5,
        event_time: chTime(T0),
        scored_at: chTime(T0),
        kafka_partition: 0,
        kafka_offset: 1,
      },
    ],
  })
  await ch.insert({
    table: 'outcomes',
    format: 'JSONEachRow',
    values: [
      {
        request_id: ids.a,
        outcome: 1,
        labelled_at: chTime(T0 + 1000),
        source: 'test',
        kafka_partition: 0,
        kafka_offset: 4,
      },
      {
        request_id: ids.b,
        outcome: 0,
        labelled_at: chTime(T0 + 6000),
        source: 'test',
        kafka_partition: 2,
        kafka_offset: 5,
      },
    ],
  })
})

afterAll(async () => {
  await closeDeps(deps)
})

describe('training set assembly', () => {
  it('joins labelled outcomes with their scored features, once per request', async () => {
    const streamed = await loadStreamedRows(deps.clickhouse, 'x.mlops.predictions')
    expect(streamed.requestIds).toEqual([ids.a, ids.b])
    expect(streamed.labels).toEqual([1, 0])
    expect(streamed.rows[0]).toMatchObject({
      glucose: 120,
      bloodPressure: 70,
      skinThickness: null,
      bmi: 31.5,
      age: 40,
    })
    expect(streamed.rows[1]!.glucose).toBeNull()
    expect(streamed.timeRange).toEqual({ from: T0, to: T0 + 5000 })
    expect(streamed.offsets).toEqual([
      { topic: 'x.mlops.predictions', partition: 0, from: '10', to: '10' },
      { topic: 'x.mlops.predictions', partition: 2, from: '7', to: '7' },
    ])
    expect(await countLabelled(deps.clickhouse)).toBe(2)
  })

  it('adds the streamed rows to the Pima data and fingerprints both sources', async () => {
    const set = await assembleTrainingSet(deps, deps.topics.predictions)
    expect(set.data.nRows).toBe(770)
    expect(set.streamedRows).toBe(2)
    expect(set.fingerprint).toMatchObject({
      rows: 770,
      positives: 269,
      timeRange: { from: T0, to: T0 + 5000 },
    })
    expect(set.fingerprint.sources).toHaveLength(2)
    expect(set.fingerprint.sources[0]).toMatch(/^pima:[0-9a-f]{64}$/)
    expect(set.eventTimes!.slice(-3)).toEqual([null, T0, T0 + 5000])

    const pimaOnly = await assembleTrainingSet(deps, deps.topics.predictions, { includeStreamed: false })
    expect(pimaOnly.data.nRows).toBe(768)
    expect(pimaOnly.fingerprint.sha256).not.toBe(set.fingerprint.sha256)
    expect(pimaOnly.fingerprint.offsets).toBeUndefined()
  })
})
