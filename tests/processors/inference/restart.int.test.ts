/**
 * Crash between "predictions acknowledged" and "offsets committed", then a new consumer in
 * the same group: every request still has a prediction (at-least-once), and the duplicates
 * the redelivery creates are absorbed by the ClickHouse `predictions` table
 * (ReplacingMergeTree ORDER BY request_id): count() FINAL = uniqExact(request_id) = N.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chTime, queryRows } from '../../../lib/clickhouse/index.ts'
import {
  createInferenceService,
  type InferenceService,
  type PredictionEvent,
} from '../../../processors/inference/index.ts'
import { collectMessages, uniqueId, waitFor } from '../../helpers/index.ts'
import { stumpArtifact, versionEvent } from './fixtures.ts'
import { createHarness, type Harness } from './harness.ts'

let h: Harness
const services: InferenceService[] = []

beforeAll(async () => {
  h = await createHarness()
})

afterAll(async () => {
  for (const s of services) await s.stop().catch(() => undefined)
  await h?.close()
})

describe('inference restart', () => {
  it('redelivers after a crash before commit; ClickHouse dedupes by request_id', async () => {
    const model = uniqueId('rs-')
    const { topics } = h.deps
    await h.publishVersion(versionEvent(stumpArtifact(model, 1)))
    const n = 1500
    const ids = Array.from({ length: n }, (_, i) => `req-${model}-${i}`)
    await h.sendRequests(ids)

    // Consumer A "crashes" right after its first batch's predictions are acknowledged,
    // before the commit: that batch will be delivered again.
    const groupId = `${h.deps.config.topics.prefix}inference-${model}`
    let crashedBatch: { partition: number; count: number } | undefined
    const a = createInferenceService(h.deps, {
      modelName: model,
      groupId,
      // One small batch per fetch so the crash leaves most of the stream to consumer B.
      consumerConfig: { maxBytesPerPartition: 16 * 1024 },
      hooks: {
        afterPredictionsAcked: (info) => {
          // Every batch dies at the worst moment (also after kafkajs restarts the crashed
          // consumer): A never commits anything.
          crashedBatch ??= { partition: info.partition, count: info.count }
          throw new Error('simulated crash between produce-ack and commit')
        },
      },
    })
    services.push(a)
    await a.start()
    await waitFor(() => crashedBatch, { message: 'consumer A to crash' })
    expect(a.status().processed).toBe(0) // nothing was committed
    // A goes away without having committed anything; B takes over the group.
    await a.stop()
    expect(a.status().processed).toBe(0)

    const b = createInferenceService(h.deps, { modelName: model, groupId })
    services.push(b)
    await b.start()

    // B re-processes everything A left uncommitted, then we read every record written.
    await waitFor(() => b.status().processed === n, {
      timeoutMs: 90_000,
      message: 'consumer B to commit all requests',
    })
    const written = await h.recordCount(topics.predictions)
    const predictions = await collectMessages(h.deps.kafka, topics.predictions, (m) => m.length >= written)
    const decoded: { p: PredictionEvent; partition: number; offset: string }[] = []
    for (const m of predictions)
      decoded.push({ p: await h.decodePrediction(m.value!), partition: m.partition, offset: m.offset })
    const unique = new Set(decoded.map((d) => d.p.requestId))
    expect(unique.size).toBe(n) // every request has at least one prediction
    expect(ids.every((id) => unique.has(id))).toBe(true)
    expect(decoded.length).toBeGreaterThanOrEqual(n + crashedBatch!.count) // the crashed batch was produced twice

    // Downstream idempotency: write every record (duplicates included) into predictions.
    const rows = decoded.map(({ p, partition, offset }) => ({
      request_id: p.requestId,
      patient_id: p.patientId,
      model_name: p.modelName,
      model_version: p.modelVersion,
      probability: p.probability,
      label: p.label,
      threshold: p.threshold,
      event_time: chTime(p.eventTime),
      scored_at: chTime(p.scoredAt),
      pregnancies: p.pregnancies,
      glucose: p.glucose,
      blood_pressure: p.bloodPressure,
      skin_thickness: p.skinThickness,
      insulin: p.insulin,
      bmi: p.bmi,
      diabetes_pedigree_function: p.diabetesPedigreeFunction,
      age: p.age,
      kafka_partition: partition,
      kafka_offset: Number(offset),
    }))
    await h.deps.clickhouse.insert({ table: 'predictions', values: rows, format: 'JSONEachRow' })
    const [counts] = await queryRows<{ total: number; final: number; uniq: number }>(
      h.deps.clickhouse,
      `SELECT
         (SELECT count() FROM predictions WHERE model_name = {m:String}) AS total,
         (SELECT count() FROM predictions FINAL WHERE model_name = {m:String}) AS final,
         (SELECT uniqExact(request_id) FROM predictions WHERE model_name = {m:String}) AS uniq`,
      { m: model },
    )
    expect(Number(counts!.final)).toBe(n)
    expect(Number(counts!.uniq)).toBe(n)
    // (count() without FINAL is not asserted: ReplacingMergeTree may collapse duplicates at
    // insert time or in a background merge, whenever it likes.)
    expect(Number(counts!.total)).toBeGreaterThanOrEqual(n)
  })
})
