import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureTopics } from '../../lib/kafka/index.ts'
import { closeDeps, createDeps, type Deps } from '../../lib/runtime/index.ts'
import { createClinicalProducer } from '../../producers/index.ts'
import { replay } from '../../producers/replay.ts'
import { testConfig } from '../helpers/index.ts'
import { readAll } from './streams.ts'

let deps: Deps

beforeAll(async () => {
  deps = await createDeps(testConfig(), { clickhouse: false })
  const admin = deps.kafka.admin()
  await admin.connect()
  await ensureTopics(admin, deps.config)
  await admin.disconnect()
})
afterAll(async () => {
  await closeDeps(deps)
})

describe('replay through the real broker', () => {
  it('publishes keyed, co-partitioned requests and late labels for the declared share', async () => {
    const count = 1500
    const delay = 400
    const summary = await replay(deps, { count, rate: 0, labelShare: 0.6, labelDelayMs: delay, seed: 5 })
    expect(summary).toMatchObject({ sent: count, rejected: 0, failed: 0 })

    const requests = await readAll(deps.kafka, deps.topics.requests)
    const outcomes = await readAll(deps.kafka, deps.topics.outcomes)
    expect(requests).toHaveLength(count)
    expect(outcomes).toHaveLength(summary.outcomesSent)
    expect(summary.outcomesSent / count).toBeGreaterThan(0.55)
    expect(summary.outcomesSent / count).toBeLessThan(0.65)

    const byId = new Map<string, { partition: number; timestamp: number }>()
    for (const m of requests) {
      const { value } = await deps.serde.decode<{ requestId: string; patientId: string }>(
        m.value,
        'PredictionRequest',
      )
      expect(m.key).toBe(value.requestId)
      expect(value.patientId).not.toBe(value.requestId)
      byId.set(value.requestId, { partition: m.partition, timestamp: m.timestamp })
    }
    expect(new Set(requests.map((m) => m.partition)).size).toBe(deps.config.topics.partitions)
    for (const m of outcomes) {
      const { value } = await deps.serde.decode<{ requestId: string; outcome: number }>(
        m.value,
        'OutcomeLabel',
      )
      const req = byId.get(value.requestId)
      expect(req, 'every outcome follows a published request').toBeDefined()
      expect(m.key).toBe(value.requestId)
      expect(m.partition).toBe(req!.partition)
      expect(m.timestamp - req!.timestamp).toBeGreaterThanOrEqual(delay)
      expect([0, 1]).toContain(value.outcome)
    }
  })

  it('holds the target rate', async () => {
    const summary = await replay(deps, { count: 150, rate: 300, labelShare: 0, seed: 6 })
    expect(summary.sent).toBe(150)
    // 150 events at 300/s with a 15-token burst cannot take less than (150 − 15) / 300 s.
    expect(summary.durationMs).toBeGreaterThanOrEqual(((150 - 15) / 300) * 1000 - 20)
  })

  it('the library producer refuses invalid rows per row and sends the rest', async () => {
    const producer = createClinicalProducer(deps, { sourceSystem: 'ward-7' })
    const now = Date.now()
    const rows = [
      { requestId: `ok-${now}`, patientId: 'p1', eventTime: now, glucose: 120, bmi: 30 },
      { requestId: `bad-${now}`, patientId: 'p2', eventTime: now, glucose: 'high' },
      { requestId: `far-${now}`, patientId: 'p3', eventTime: now, bmi: 400 },
    ]
    const result = await producer.sendRequests(rows as never)
    expect(result.sent).toBe(1)
    expect(result.rejected.map((r) => [r.index, r.error.code, r.error.details.issues])).toEqual([
      [1, 'VALIDATION_FAILED', [{ feature: 'glucose', rule: 'type' }]],
      [2, 'VALIDATION_FAILED', [{ feature: 'bmi', rule: 'range' }]],
    ])
    await producer.sendOutcome({ requestId: `ok-${now}`, outcome: 1, labelledAt: now })
    await producer.close()
    expect(producer.stats).toMatchObject({ sent: 1, rejected: 2, failed: 0, outcomesSent: 1 })
  })
})
