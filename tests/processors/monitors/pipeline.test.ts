/**
 * The analytics pipeline's durability rules against a recording fake ClickHouse client (no
 * services): when checkpoints happen, that every raw and window row is acknowledged before a
 * checkpoint is written, that a failed insert blocks the checkpoint until a retry succeeds,
 * and that redelivered records rewrite raw rows without reaching the engine twice.
 */
import { describe, expect, it } from 'vitest'
import type { ClickHouseClient } from '../../../lib/clickhouse/index.ts'
import { configWith } from '../../../lib/config/index.ts'
import { MonitorEngine } from '../../../processors/monitors/engine/engine.ts'
import { AnalyticsPipeline, type PipelineRecord } from '../../../processors/monitors/pipeline.ts'
import type { OutcomeEvent, PredictionEvent } from '../../../processors/monitors/sink/rows.ts'
import { pimaArtifact, pimaStream } from './streams.ts'

const drift = configWith({}).drift
const artifact = pimaArtifact()
const TOPICS = { predictions: 'u.predictions', outcomes: 'u.outcomes' }

interface Call {
  table: string
  rows: number
  /** Completion order (acknowledgements), not start order. */
  ack: number
}

function fakeClient(failTimes: Record<string, number> = {}) {
  const acks: Call[] = []
  let n = 0
  const client = {
    insert: async (p: { table: string; values: unknown[] }) => {
      await Promise.resolve()
      if ((failTimes[p.table] ?? 0) > 0) {
        failTimes[p.table]!--
        throw new Error(`injected failure on ${p.table}`)
      }
      acks.push({ table: p.table, rows: p.values.length, ack: n++ })
    },
  } as unknown as ClickHouseClient
  return { client, acks }
}

function setup(client: ClickHouseClient, everyEvents: number, seed: string) {
  const clock = { t: 0 }
  const engine = new MonitorEngine({ modelName: 'diabetes-risk', drift, artifactFor: () => artifact })
  const published: string[] = []
  const pipeline = new AnalyticsPipeline({
    client,
    engine,
    groupId: `g-${seed}`,
    topics: TOPICS,
    modelName: 'diabetes-risk',
    ensureArtifacts: async () => {},
    publish: async (events) => {
      published.push(...events.map((e) => e.eventId))
    },
    policy: { everyEvents, everyMs: Number.POSITIVE_INFINITY, caughtUpMs: 250 },
    now: () => clock.t,
  })
  const preds = [...pimaStream({ n: 3000, seed, scenario: { kind: 'stable' } })]
    .filter((i) => i.type === 'prediction')
    .map((i) => i.value as PredictionEvent)
  const batch = (from: number, to: number): PipelineRecord<PredictionEvent | OutcomeEvent>[] =>
    preds.slice(from, to).map((value, j) => ({
      value,
      topic: TOPICS.predictions,
      partition: 0,
      offset: String(from + j),
    }))
  return { engine, pipeline, batch, published, clock }
}

describe('analytics pipeline (fake ClickHouse)', () => {
  it('checkpoints every N events or when caught up, after all raw and window rows are acknowledged', async () => {
    const { client, acks } = fakeClient()
    const { pipeline, batch, clock } = setup(client, 1000, 'policy')
    const cps = []
    for (let i = 0; i < 2400; i += 300) cps.push(await pipeline.handle(batch(i, i + 300), false))
    // 300-record batches, N = 1000: the 4th batch (1,200 events) and the 8th (2,400) checkpoint.
    expect(cps.map((c) => (c ? c.offsets['u.predictions:0'] : null))).toEqual([
      null,
      null,
      null,
      '1200',
      null,
      null,
      null,
      '2400',
    ])
    // Caught up, but within caughtUpMs of the last checkpoint: no checkpoint yet …
    clock.t += 100
    expect(await pipeline.handle(batch(2400, 2450), true)).toBeNull()
    // … once caughtUpMs passed, a caught-up batch checkpoints even though N is not reached …
    clock.t += 150
    const last = await pipeline.handle(batch(2450, 2500), true)
    expect(last?.offsets).toEqual({ 'u.predictions:0': '2500' })
    expect(pipeline.durable).toEqual({ 'u.predictions:0': '2500' })
    // … and when the stream stops right after a batch, the idle flush writes what it holds.
    expect(await pipeline.handle(batch(2500, 2550), true)).toBeNull()
    expect(pipeline.dirty).toBe(true)
    expect((await pipeline.flushIdle())?.offsets).toEqual({ 'u.predictions:0': '2550' })
    expect(pipeline.dirty).toBe(false)
    expect(await pipeline.flushIdle()).toBeNull()

    // Before each checkpoint, every raw row processed so far was acknowledged.
    const checkpoints = acks.filter((a) => a.table === 'monitor_checkpoints')
    expect(checkpoints).toHaveLength(4)
    const expectedRaw = [1200, 2400, 2500, 2550]
    checkpoints.forEach((cp, i) => {
      const raw = acks
        .filter((a) => a.table === 'predictions' && a.ack < cp.ack)
        .reduce((s, a) => s + a.rows, 0)
      expect(raw).toBe(expectedRaw[i])
    })
    // Window rows: sliding windows are evaluated every 250 events, so 10 evaluations by 2,500.
    const windowRows = acks.filter((a) => a.table === 'monitor_windows')
    expect(windowRows.length).toBeGreaterThan(0)
    expect(windowRows.every((w) => w.ack < checkpoints[checkpoints.length - 1]!.ack)).toBe(true)
  })

  it('does not checkpoint past a failed raw insert until a retry succeeds', async () => {
    // The first two attempts on predictions fail: the inline retry fails too, so the first
    // checkpoint attempt throws; the next attempt retries the same rows and succeeds.
    const { client, acks } = fakeClient({ predictions: 2 })
    const { pipeline, batch } = setup(client, 500, 'retry')
    await expect(pipeline.handle(batch(0, 600), false)).rejects.toThrow(/predictions/)
    expect(acks.some((a) => a.table === 'monitor_checkpoints')).toBe(false)
    expect(pipeline.durable).toEqual({})
    // In memory the engine already has the 600 events; a redelivery must not add them again.
    expect(pipeline.processed).toEqual({ 'u.predictions:0': '600' })
    const cp = await pipeline.checkpoint()
    expect(cp.offsets).toEqual({ 'u.predictions:0': '600' })
    const raw = acks.filter((a) => a.table === 'predictions').reduce((s, a) => s + a.rows, 0)
    expect(raw).toBe(600)
  })

  it('rewrites raw rows of a redelivered batch but feeds the engine each record once', async () => {
    const { client, acks } = fakeClient()
    const { engine, pipeline, batch } = setup(client, 10_000, 'redeliver')
    await pipeline.handle(batch(0, 400), true)
    await pipeline.flushIdle()
    expect(engine.counters.predictions).toBe(400)
    // Redelivery of offsets 200..599: 200 already processed, 200 new.
    await pipeline.handle(batch(200, 600), true)
    await pipeline.flushIdle()
    expect(engine.counters.predictions).toBe(600)
    expect(pipeline.stats.events).toBe(600)
    const raw = acks.filter((a) => a.table === 'predictions').reduce((s, a) => s + a.rows, 0)
    expect(raw).toBe(800)
    // A batch entirely below `processed` still lands its raw rows, without a new checkpoint.
    const before = acks.filter((a) => a.table === 'monitor_checkpoints').length
    expect(await pipeline.handle(batch(0, 100), true)).toBeNull()
    expect(await pipeline.flushIdle()).toBeNull()
    expect(engine.counters.predictions).toBe(600)
    expect(acks.filter((a) => a.table === 'monitor_checkpoints').length).toBe(before)
    expect(acks.filter((a) => a.table === 'predictions').reduce((s, a) => s + a.rows, 0)).toBe(900)
  })
})
