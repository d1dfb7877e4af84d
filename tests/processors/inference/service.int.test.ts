/**
 * Requests in → exactly one prediction per valid request out, on the same partition number,
 * while poison pills of every kind are dead-lettered with their reason and traffic keeps flowing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DLQ_HEADERS } from '../../../lib/kafka/index.ts'
import { createInferenceService, type InferenceService } from '../../../processors/inference/index.ts'
import { collectMessages, uniqueId, waitFor } from '../../helpers/index.ts'
import { stumpArtifact, validRequest, versionEvent } from './fixtures.ts'
import { createHarness, type Harness } from './harness.ts'

let h: Harness
let service: InferenceService | undefined

beforeAll(async () => {
  h = await createHarness()
})

afterAll(async () => {
  await service?.stop()
  await h?.close()
})

describe('inference service', () => {
  it('turns N requests into exactly N predictions and dead-letters each kind of poison pill', async () => {
    const model = uniqueId('m-')
    const { topics, serde } = h.deps
    await h.publishVersion(versionEvent(stumpArtifact(model, 1)))

    // Poison pills, one kind per record, at known partitions. Sent BEFORE the valid traffic
    // so the consumer meets them first: they must not block the partition.
    const valid = serde.encode(topics.requests, validRequest('poison-truncated'))
    const unknownId = Buffer.from(valid)
    unknownId.writeInt32BE(2_000_000_000, 1)
    const poison = [
      {
        key: 'poison-magic',
        partition: 0,
        value: Buffer.from('{"requestId":"not avro"}'),
        reason: 'DECODE_BAD_MAGIC',
      },
      { key: 'poison-schema', partition: 1, value: unknownId, reason: 'DECODE_UNKNOWN_SCHEMA' },
      {
        key: 'poison-truncated',
        partition: 2,
        value: valid.subarray(0, valid.length - 12),
        reason: 'DECODE_FAILED',
      },
      {
        key: 'poison-range',
        partition: 0,
        value: serde.encode(topics.requests, { ...validRequest('poison-range'), glucose: 4321 }),
        reason: 'VALIDATION_FAILED',
      },
      {
        key: 'poison-nan',
        partition: 1,
        value: serde.encode(topics.requests, { ...validRequest('poison-nan'), bmi: Number.NaN }),
        reason: 'VALIDATION_FAILED',
      },
    ]
    await h.sendRaw(poison.map(({ key, partition, value }) => ({ key, partition, value })))

    const n = 2000
    const ids = Array.from({ length: n }, (_, i) => `req-${model}-${i}`)
    const partitionOf = await h.sendRequests(ids)

    service = createInferenceService(h.deps, { modelName: model })
    await service.start()
    await service.ready()

    const predictions = await collectMessages(h.deps.kafka, topics.predictions, (m) => m.length >= n)
    // Everything consumed and committed (valid + poison) before we count what was written.
    await waitFor(() => service!.status().processed === n + poison.length, {
      message: 'all requests committed',
    })
    expect(await h.recordCount(topics.predictions)).toBe(n) // exactly N records: no duplicate, none lost

    const seen = new Map<string, number>()
    for (const m of predictions) {
      const p = await h.decodePrediction(m.value!)
      expect(m.key).toBe(p.requestId)
      expect(m.partition).toBe(partitionOf.get(p.requestId)) // co-partitioned with its request
      expect(p.modelVersion).toBe(1)
      expect(p.modelName).toBe(model)
      expect(p.shadow).toBe(false)
      // stump: glucose < 140 → 0.2, else 0.8; label at threshold 0.5
      const glucose = p.glucose as number
      expect(p.probability).toBe(glucose < 140 ? 0.2 : 0.8)
      expect(p.label).toBe(glucose < 140 ? 0 : 1)
      seen.set(p.requestId, (seen.get(p.requestId) ?? 0) + 1)
    }
    expect(seen.size).toBe(n)
    expect([...seen.values()].every((c) => c === 1)).toBe(true)

    const dead = await collectMessages(h.deps.kafka, topics.dlq.requests, (m) => m.length >= poison.length)
    expect(dead).toHaveLength(poison.length)
    for (const p of poison) {
      const d = dead.find((m) => m.key === p.key)
      expect(d, p.key).toBeDefined()
      expect(d!.headers[DLQ_HEADERS.reason]).toBe(p.reason)
      expect(d!.headers[DLQ_HEADERS.sourcePartition]).toBe(String(p.partition))
      expect(d!.headers[DLQ_HEADERS.sourceTopic]).toBe(topics.requests)
      expect(d!.headers[DLQ_HEADERS.sourceOffset]).toMatch(/^\d+$/)
      expect(d!.value?.equals(p.value)).toBe(true) // forwarded byte for byte
    }
    // Validation messages name the feature and rule, never the value.
    const range = dead.find((m) => m.key === 'poison-range')!
    expect(range.headers[DLQ_HEADERS.message]).toContain('glucose (range)')
    expect(range.headers[DLQ_HEADERS.message]).not.toContain('4321')
    expect(dead.find((m) => m.key === 'poison-nan')!.headers[DLQ_HEADERS.message]).toContain('bmi (type)')
    expect(Number(dead.find((m) => m.key === 'poison-schema')!.headers[DLQ_HEADERS.schemaId])).toBe(
      2_000_000_000,
    )

    // Metrics, as /metrics would serve them.
    const text = await service.metricsRegistry.metrics()
    expect(text).toContain(`riskstream_inference_predictions_total{model="${model}",version="1"} ${n}`)
    expect(text).toContain('riskstream_inference_dlq_total{reason="VALIDATION_FAILED"} 2')
    expect(text).toContain('riskstream_inference_dlq_total{reason="DECODE_BAD_MAGIC"} 1')
    expect(text).toContain('riskstream_inference_dlq_total{reason="DECODE_UNKNOWN_SCHEMA"} 1')
    expect(text).toContain('riskstream_inference_dlq_total{reason="DECODE_FAILED"} 1')
    expect(text).toContain(`riskstream_inference_model_version{model="${model}"} 1`)
    expect(text).toMatch(/riskstream_inference_batch_seconds_count\{model="[^"]+"\} [1-9]/)
  })

  it('does not consume until a loadable production version exists', async () => {
    const h2 = await createHarness()
    const model = uniqueId('wait-')
    let s2: InferenceService | undefined
    try {
      // Only a corrupt version on the topic at start: refused, so nothing may be consumed.
      await h2.publishVersion(versionEvent(stumpArtifact(model, 1), { artifactSha256: '0'.repeat(64) }))
      const ids = Array.from({ length: 60 }, (_, i) => `w-${model}-${i}`)
      await h2.sendRequests(ids)
      s2 = createInferenceService(h2.deps, { modelName: model })
      await s2.start() // returns once the versions topic is read and the load was attempted
      expect(s2.status()).toMatchObject({ servedVersion: null, consuming: false, processed: 0 })
      expect(
        await s2.metricsRegistry.getSingleMetricAsString('riskstream_inference_model_reload_failures_total'),
      ).toContain('reason="ARTIFACT_CORRUPT"} 1')
      expect(await h2.recordCount(h2.deps.topics.predictions)).toBe(0)

      await h2.publishVersion(versionEvent(stumpArtifact(model, 2)))
      await s2.ready()
      const out = await collectMessages(
        h2.deps.kafka,
        h2.deps.topics.predictions,
        (m) => m.length >= ids.length,
      )
      const versions = new Set<number>()
      for (const m of out) versions.add((await h2.decodePrediction(m.value!)).modelVersion)
      expect([...versions]).toEqual([2])
    } finally {
      await s2?.stop()
      await h2.close()
    }
  })
})
