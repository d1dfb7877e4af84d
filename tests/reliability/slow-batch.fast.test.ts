/**
 * Promise 6, the other side of a short session: a batch whose handler awaits longer than the
 * session (a slow ClickHouse flush, a checkpoint, a stalled send) must not cost the member its
 * place in the group, or every slow batch would start a rebalance (a storm under load).
 * Pass: the shared consume loop (lib/kafka/consumer.ts) handles two batches of 2 × the session
 * each with one group join and commits them. Negative control: a plain kafkajs consumer of
 * the same client and session, whose handler awaits as long, is dropped and joins again.
 */
import type { Consumer } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { configWith } from '../../lib/config/index.ts'
import {
  createStreamConsumer,
  ensureTopics,
  registerContracts,
  TOPIC_SCHEMAS,
} from '../../lib/kafka/index.ts'
import { closeDeps, createDeps, type Deps } from '../../lib/runtime/index.ts'
import { uniqueId, waitFor } from '../helpers/index.ts'
import { committed, requestEvent } from './support/load.ts'
import { publishTable, recordResult } from './support/results.ts'

const FILE = 'slow-batch'
const SESSION_MS = 6_000
const SLOW_MS = 2 * SESSION_MS
let deps: Deps
const cleanup: (() => Promise<void>)[] = []

beforeAll(async () => {
  deps = await createDeps(
    configWith({
      TOPIC_PREFIX: `${uniqueId('slow')}.`,
      TOPIC_PARTITIONS: '2',
      KAFKA_SESSION_TIMEOUT_MS: String(SESSION_MS),
      KAFKA_HEARTBEAT_INTERVAL_MS: '1000',
      LOG_LEVEL: 'warn',
    }),
    { clickhouse: false },
  )
  const admin = deps.kafka.admin()
  await admin.connect()
  cleanup.push(() => admin.disconnect())
  await ensureTopics(admin, deps.config)
  await registerContracts(deps.serde, deps.topics, TOPIC_SCHEMAS)
  // One request per partition: two batches, each handled for 2 × the session.
  const runId = uniqueId('sb')
  await deps.producer.send({
    topic: deps.topics.requests,
    acks: -1,
    messages: [0, 1].map((i) => ({
      key: `${runId}-${i}`,
      partition: i,
      value: deps.serde.encode(deps.topics.requests, requestEvent(runId, i)),
    })),
  })
}, 120_000)

afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined)
  if (deps) await closeDeps(deps)
  publishTable()
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Counts the group joins of a consumer (one per generation it takes part in). */
function countJoins(consumer: Consumer): { joins: number } {
  const seen = { joins: 0 }
  consumer.on(consumer.events.GROUP_JOIN, () => seen.joins++)
  return seen
}

describe('a batch slower than the session', () => {
  it('keeps its member: two batches of 2 × the session, one group join, offsets committed', async () => {
    const groupId = uniqueId('slow-g-')
    let handled = 0
    const stream = createStreamConsumer({
      kafka: deps.kafka,
      groupId,
      topics: [deps.topics.requests],
      serde: deps.serde,
      readerSchema: 'PredictionRequest',
      dlqProducer: deps.producer,
      dlqTopic: () => deps.topics.dlq.requests,
      log: deps.log,
      handleBatch: async () => {
        await sleep(SLOW_MS)
        handled++
        return []
      },
    })
    cleanup.push(() => stream.stop())
    const seen = countJoins(stream.consumer)
    const admin = deps.kafka.admin()
    await admin.connect()
    cleanup.push(() => admin.disconnect())
    const t0 = Date.now()
    await stream.start()
    await waitFor(async () => (await committed(admin, groupId, deps.topics.requests)) === 2, {
      timeoutMs: 120_000,
      intervalMs: 250,
      message: 'both slow batches committed',
    })
    const tookS = (Date.now() - t0) / 1000
    recordResult(FILE, {
      id: '6d',
      fault: `batches handled for 2 × the session (${SLOW_MS / 1000} s each, ${SESSION_MS / 1000} s session)`,
      events: 2,
      lost: 0,
      duplicated: handled - 2,
      dlq: 0,
      recoveredS: null,
      pass: seen.joins === 1 && handled === 2,
      note: `${seen.joins} group join(s), ${handled} batch(es) handled in ${tookS.toFixed(1)} s; the loop heartbeats while a batch is in hand`,
    })
    expect(handled).toBe(2)
    expect(seen.joins).toBe(1)
  }, 180_000)

  it('negative control: a plain kafkajs handler as slow loses its member and joins again', async () => {
    const consumer = deps.kafka.consumer({ groupId: uniqueId('slow-ctl-') })
    cleanup.push(() => consumer.disconnect())
    const seen = countJoins(consumer)
    const slowOnce = new Set<number>()
    await consumer.connect()
    await consumer.subscribe({ topic: deps.topics.requests, fromBeginning: true })
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        if (slowOnce.has(batch.partition)) return
        slowOnce.add(batch.partition)
        await sleep(SLOW_MS)
      },
    })
    await waitFor(() => seen.joins >= 2, {
      timeoutMs: 120_000,
      intervalMs: 250,
      message: 'the slow member to be dropped and join again',
    })
    expect(seen.joins).toBeGreaterThanOrEqual(2)
  }, 180_000)
})
