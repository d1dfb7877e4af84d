/**
 * Real stack (Kafka + registry + embedded chDB): the monitor's exactly-once guarantees under
 * (a) a redelivery of everything by resetting the consumer group to the beginning, and
 * (b) a crash after the raw inserts but BEFORE a checkpoint, with the input spread over many
 *     small Kafka batches so that several checkpoints, a replay and a resume are exercised.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { queryRows } from '../../../lib/clickhouse/index.ts'
import { closeDeps, type Deps } from '../../../lib/runtime/index.ts'
import { createMonitorService, type MonitorService } from '../../../processors/monitors/service.ts'
import type { OutcomeEvent, PredictionEvent } from '../../../processors/monitors/sink/rows.ts'
import { collectMessages, preparedDeps, uniqueId, waitFor } from '../../helpers/index.ts'
import { pimaArtifact, pimaStream, type StreamItem } from './streams.ts'

const artifact = pimaArtifact()
const opened: Deps[] = []
const running: MonitorService[] = []

afterAll(async () => {
  for (const s of running) await s.stop().catch(() => {})
  for (const d of opened) await closeDeps(d)
})

async function setup(overrides: Record<string, string> = {}) {
  const model = uniqueId('m').toLowerCase()
  const deps = await preparedDeps({ MODEL_NAME: model, ...overrides })
  opened.push(deps)
  return { deps, model }
}

/** One produce call per `chunk` records, so the log holds many small record batches. */
async function publish(deps: Deps, items: StreamItem[], chunk: number) {
  const preds = items.filter((i) => i.type === 'prediction').map((i) => i.value as PredictionEvent)
  const outs = items.filter((i) => i.type === 'outcome').map((i) => i.value as OutcomeEvent)
  for (let i = 0; i < preds.length; i += chunk)
    await deps.producer.send({
      topic: deps.topics.predictions,
      messages: preds
        .slice(i, i + chunk)
        .map((p) => ({ key: p.requestId, value: deps.serde.encode(deps.topics.predictions, p) })),
    })
  for (let i = 0; i < outs.length; i += chunk)
    await deps.producer.send({
      topic: deps.topics.outcomes,
      messages: outs
        .slice(i, i + chunk)
        .map((o) => ({ key: o.requestId, value: deps.serde.encode(deps.topics.outcomes, o) })),
    })
  return { predictions: preds.length, outcomes: outs.length }
}

const count = async (deps: Deps, sql: string, params: Record<string, unknown>) =>
  Number((await queryRows<{ n: number }>(deps.clickhouse, sql, params))[0]?.n ?? 0)

/** Everything the monitors wrote for a model, in a canonical order (model name stripped from ids). */
async function outputs(deps: Deps, model: string) {
  const rows = await queryRows<Record<string, unknown>>(
    deps.clickhouse,
    `SELECT monitor, window_type, window_width, window_id, toUnixTimestamp64Milli(window_start) AS s,
       toUnixTimestamp64Milli(window_end) AS e, window_size, subject, metric, round(value, 12) AS v
     FROM monitor_windows FINAL WHERE model_name = {m:String}
     ORDER BY monitor, window_type, window_width, window_id, subject, metric`,
    { m: model },
  )
  const events = await queryRows<{ id: string }>(
    deps.clickhouse,
    "SELECT replaceOne(event_id, {m:String}, '') AS id FROM drift_events FINAL WHERE model_name = {m:String} ORDER BY id",
    { m: model },
  )
  return { rows, events: events.map((e) => e.id) }
}

// Small fetches: one produce call of 250 records is one record batch (~30 KB); a 16 KB limit
// makes kafkajs hand over (about) one of them per batch.
const SMALL_FETCH = { maxBytesPerPartition: 16 * 1024 }

describe('monitor recovery on the real stack', () => {
  it('(a) redelivering everything by resetting the group to the beginning adds no rows, windows or events', async () => {
    const { deps, model } = await setup()
    const seed = uniqueId('r')
    const items = [
      ...pimaStream({
        n: 3000,
        seed,
        scenario: { kind: 'glucose_shift', at: 1500, sds: 1 },
        modelName: model,
      }),
    ]
    const sent = await publish(deps, items, 500)
    const total = sent.predictions + sent.outcomes
    const groupId = `${deps.config.topics.prefix}monitor-reset`
    const opts = {
      groupId,
      analyticsOnly: true,
      loadArtifact: async () => artifact,
      consumerConfig: SMALL_FETCH,
      checkpoint: { everyEvents: 1000, everyMs: 60_000 },
    }
    const first = createMonitorService(deps, opts)
    running.push(first)
    await first.start()
    await waitFor(() => first.stats.events === total && first.stats.checkpoints > 0, {
      timeoutMs: 120_000,
      message: 'first pass processed and checkpointed',
    })
    await first.stop()
    const before = await outputs(deps, model)
    const publishedBefore = first.stats.published
    expect(before.rows.length).toBeGreaterThan(0)
    expect(before.events.length).toBeGreaterThan(0)

    // Redeliver everything: the group must be empty (stopped) for an offset reset.
    const admin = deps.kafka.admin()
    await admin.connect()
    for (const topic of [deps.topics.predictions, deps.topics.outcomes]) {
      // Explicit offsets (each partition's first one) rather than resetOffsets' "earliest"
      // sentinel, so the reset can be checked below.
      const low = await admin.fetchTopicOffsets(topic)
      await admin.setOffsets({
        groupId,
        topic,
        partitions: low.map((o) => ({ partition: o.partition, offset: o.low })),
      })
    }
    const committed = await admin.fetchOffsets({
      groupId,
      topics: [deps.topics.predictions, deps.topics.outcomes],
    })
    await admin.disconnect()
    expect(committed.flatMap((t) => t.partitions.map((p) => p.offset)).every((o) => o === '0')).toBe(true)

    const second = createMonitorService(deps, opts)
    running.push(second)
    await second.start()
    await waitFor(() => second.stats.records >= total, {
      timeoutMs: 120_000,
      message: 'every record redelivered to the restarted service',
    })
    await second.stop()

    // The checkpoint covered every record: none went through the engine again…
    expect(second.stats.events).toBe(0)
    expect(second.stats.published).toBe(0)
    // …the raw tables hold each request exactly once…
    for (const table of ['predictions', 'outcomes']) {
      const mine = { p: `${seed}-` }
      const final = await count(
        deps,
        `SELECT count() AS n FROM ${table} FINAL WHERE startsWith(request_id, {p:String})`,
        mine,
      )
      const uniq = await count(
        deps,
        `SELECT uniqExact(request_id) AS n FROM ${table} WHERE startsWith(request_id, {p:String})`,
        mine,
      )
      expect(final).toBe(uniq)
      expect(final).toBe(table === 'predictions' ? sent.predictions : sent.outcomes)
    }
    // …and window rows and drift events are exactly those of the first pass, each once.
    const after = await outputs(deps, model)
    expect(after.rows).toEqual(before.rows)
    expect(after.events).toEqual(before.events)
    expect(new Set(after.events).size).toBe(after.events.length)
    const onTopic = await collectMessages(
      deps.kafka,
      deps.topics.driftEvents,
      (m) => m.length >= publishedBefore,
      {
        timeoutMs: 30_000,
      },
    )
    expect(onTopic.length).toBe(publishedBefore)
  }, 300_000)

  it('(b) a crash after the raw inserts but before a checkpoint replays to the same windows and events', async () => {
    const seed = uniqueId('b')
    const runOnce = async (crashAtCheckpoint: number | null) => {
      const { deps, model } = await setup({ TOPIC_PARTITIONS: '1' })
      const items = [
        ...pimaStream({
          n: 4000,
          seed,
          scenario: { kind: 'glucose_shift', at: 2000, sds: 1 },
          modelName: model,
        }),
      ]
      // Predictions only: across two topics the order in which their batches are read varies
      // from run to run, which changes the label join legitimately (see monitor.int.test.ts).
      const sent = await publish(
        deps,
        items.filter((i) => i.type === 'prediction'),
        250,
      )
      const groupId = `${deps.config.topics.prefix}monitor-b`
      let attempts = 0
      let crashed = false
      const base = {
        groupId,
        analyticsOnly: true,
        loadArtifact: async () => artifact,
        consumerConfig: SMALL_FETCH,
        checkpoint: { everyEvents: 600, everyMs: 60_000 },
      }
      const slidingWindows = () =>
        count(
          deps,
          'SELECT count() AS n FROM monitor_windows FINAL WHERE model_name = {m:String} AND window_type = {t:String} AND metric = {k:String}',
          { m: model, t: 'sliding', k: 'volume' },
        )
      const first = createMonitorService(deps, {
        ...base,
        beforeCheckpoint: () => {
          attempts++
          if (crashAtCheckpoint !== null && attempts === crashAtCheckpoint && !crashed) {
            crashed = true
            throw Object.assign(new Error('simulated crash before checkpoint'), { retriable: false })
          }
        },
      })
      running.push(first)
      await first.start()
      let batchesBeforeCrash = 0
      let rawAtCrash = 0
      if (crashAtCheckpoint !== null) {
        await waitFor(() => crashed, { timeoutMs: 120_000, message: 'crash' })
        batchesBeforeCrash = first.stats.batches
        await first.stop()
        rawAtCrash = await count(
          deps,
          'SELECT count() AS n FROM predictions FINAL WHERE model_name = {m:String}',
          {
            m: model,
          },
        )
        const second = createMonitorService(deps, base)
        running.push(second)
        await second.start()
        await waitFor(async () => (await slidingWindows()) === sent.predictions / 250, {
          timeoutMs: 120_000,
          message: 'all sliding windows after restart',
        })
        await second.stop()
      } else {
        await waitFor(async () => (await slidingWindows()) === sent.predictions / 250, {
          timeoutMs: 120_000,
          message: 'all sliding windows',
        })
        await first.stop()
      }
      const raw = await count(
        deps,
        'SELECT count() AS n FROM predictions FINAL WHERE model_name = {m:String}',
        {
          m: model,
        },
      )
      return { ...(await outputs(deps, model)), raw, batchesBeforeCrash, rawAtCrash, sent }
    }
    const clean = await runOnce(null)
    // Checkpoints every 600 events over 250-record batches: the 3rd attempt comes after
    // ≥ 1,800 events, so two checkpoints exist, and raw rows past the second one are written.
    const crashed = await runOnce(3)
    expect(crashed.batchesBeforeCrash).toBeGreaterThanOrEqual(3)
    expect(crashed.rawAtCrash).toBeGreaterThanOrEqual(1800)
    expect(crashed.rawAtCrash).toBeLessThan(crashed.sent.predictions)
    expect(clean.rows.length).toBeGreaterThan(0)
    expect(clean.events.length).toBeGreaterThan(0)
    expect(crashed.rows).toEqual(clean.rows)
    expect(crashed.events).toEqual(clean.events)
    expect(crashed.raw).toBe(clean.sent.predictions)
    expect(clean.raw).toBe(clean.sent.predictions)
  }, 300_000)
})
