/**
 * Real stack: Kafka + registry + embedded chDB. Predictions and outcomes go through real topics
 * into the monitor service; rows, drift events and crash recovery are checked in ClickHouse.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { queryRows } from '../../../lib/clickhouse/index.ts'
import { closeDeps, type Deps } from '../../../lib/runtime/index.ts'
import { createMonitorService, type MonitorService } from '../../../processors/monitors/service.ts'
import type { OutcomeEvent, PredictionEvent } from '../../../processors/monitors/sink/rows.ts'
import { collectMessages, preparedDeps, uniqueId, waitFor } from '../../helpers/index.ts'
import { pimaArtifact, pimaStream } from './streams.ts'

const artifact = pimaArtifact()
const opened: Deps[] = []

async function setup(overrides: Record<string, string> = {}) {
  const model = uniqueId('m').toLowerCase()
  const deps = await preparedDeps({ MODEL_NAME: model, ...overrides })
  opened.push(deps)
  return { deps, model }
}

async function publish(deps: Deps, items: { type: string; value: PredictionEvent | OutcomeEvent }[]) {
  const preds = items.filter((i) => i.type === 'prediction').map((i) => i.value as PredictionEvent)
  const outs = items.filter((i) => i.type === 'outcome').map((i) => i.value as OutcomeEvent)
  for (let i = 0; i < preds.length; i += 2000) {
    await deps.producer.send({
      topic: deps.topics.predictions,
      messages: preds
        .slice(i, i + 2000)
        .map((p) => ({ key: p.requestId, value: deps.serde.encode(deps.topics.predictions, p) })),
    })
  }
  for (let i = 0; i < outs.length; i += 2000) {
    await deps.producer.send({
      topic: deps.topics.outcomes,
      messages: outs
        .slice(i, i + 2000)
        .map((o) => ({ key: o.requestId, value: deps.serde.encode(deps.topics.outcomes, o) })),
    })
  }
  return { predictions: preds.length, outcomes: outs.length }
}

const count = async (deps: Deps, sql: string, params: Record<string, unknown>) =>
  Number((await queryRows<{ n: number }>(deps.clickhouse, sql, params))[0]?.n ?? 0)

afterAll(async () => {
  for (const d of opened) await closeDeps(d)
})

describe('monitor service on the real stack', () => {
  let svc: MonitorService | undefined
  afterAll(async () => {
    await svc?.stop()
  })

  it('lands predictions and outcomes exactly once, survives redelivery, and raises a drift event', async () => {
    const { deps, model } = await setup()
    const items = [
      ...pimaStream({
        n: 6000,
        seed: uniqueId('s'),
        scenario: { kind: 'glucose_shift', at: 3000, sds: 1 },
        modelName: model,
      }),
    ]
    const sent = await publish(deps, items)
    svc = createMonitorService(deps, { loadArtifact: async () => artifact })
    await svc.start()
    const countPreds = () =>
      count(deps, 'SELECT count() AS n FROM predictions FINAL WHERE model_name = {m:String}', { m: model })
    await waitFor(async () => (await countPreds()) === sent.predictions, {
      timeoutMs: 90_000,
      message: 'all predictions in ClickHouse',
    })
    const uniq = await count(
      deps,
      'SELECT uniqExact(request_id) AS n FROM predictions WHERE model_name = {m:String}',
      { m: model },
    )
    expect(uniq).toBe(sent.predictions)

    // The whole population's drift event in the table and on the topic, with a deterministic id
    // naming glucose. Segment events share the topic: these predictions carry no source system, so
    // 'source=unknown' sees the same traffic from its 200th event on (SEGMENT_MIN_EVENTS), on an
    // evaluation grid of its own, and may alarm first.
    const id = await waitFor(
      async () =>
        (
          await queryRows<{ event_id: string }>(
            deps.clickhouse,
            `SELECT event_id FROM drift_events FINAL WHERE model_name = {m:String} AND kind = 'data_drift'
              ORDER BY event_id LIMIT 1`,
            { m: model },
          )
        )[0]?.event_id,
      { timeoutMs: 90_000, message: 'a data_drift event recorded' },
    )
    // Events are published before they are recorded: every recorded one is on the topic.
    const recorded = await count(
      deps,
      'SELECT count() AS n FROM drift_events FINAL WHERE model_name = {m:String}',
      { m: model },
    )
    const msgs = await collectMessages(deps.kafka, deps.topics.driftEvents, (m) => m.length >= recorded, {
      timeoutMs: 90_000,
    })
    const published = await Promise.all(
      msgs.map((m) =>
        deps.serde.decode<{ eventId: string; kind: string; features: string[] }>(m.value, 'DriftEvent'),
      ),
    )
    const decoded = published.find((d) => d.value.eventId === id)!
    expect(decoded.value.kind).toBe('data_drift')
    expect(decoded.value.features).toContain('glucose')
    const inTable = await count(
      deps,
      'SELECT count() AS n FROM drift_events FINAL WHERE event_id = {id:String}',
      { id: decoded.value.eventId },
    )
    expect(inTable).toBe(1)

    // Redelivery: publish the same batch again → same request ids → no new rows.
    await publish(deps, items.slice(0, 3000))
    await waitFor(
      async () =>
        (await count(deps, 'SELECT count() AS n FROM predictions WHERE model_name = {m:String}', {
          m: model,
        })) >= 0,
      { message: 'query' },
    )
    await waitFor(async () => svc!.stats.events >= sent.predictions + sent.outcomes + 1500, {
      timeoutMs: 60_000,
      message: 'replayed batch processed',
    })
    expect(await countPreds()).toBe(sent.predictions)
    const rawUniq = await count(
      deps,
      'SELECT uniqExact(request_id) AS n FROM predictions WHERE model_name = {m:String}',
      { m: model },
    )
    expect(rawUniq).toBe(sent.predictions)
    await svc.stop()
    svc = undefined
  }, 240_000)

  it('after a crash before commit, a restart produces the same window rows and events as an uninterrupted run', async () => {
    const seed = uniqueId('c')
    const runOnce = async (crashAfterBatches: number | null) => {
      const { deps, model } = await setup({ TOPIC_PARTITIONS: '1' })
      const items = [
        ...pimaStream({
          n: 5000,
          seed,
          scenario: { kind: 'glucose_shift', at: 2500, sds: 1 },
          modelName: model,
          labelDelay: 20,
        }),
      ]
      // Predictions only for the exact comparison: cross-topic interleaving (which outcome
      // batch is read before which prediction batch) changes the label-join order; see the report.
      const sent = await publish(
        deps,
        items.filter((i) => i.type === 'prediction'),
      )
      let batches = 0
      let crashed = false
      const groupId = `${deps.config.topics.prefix}monitor`
      const first = createMonitorService(deps, {
        groupId,
        analyticsOnly: true,
        loadArtifact: async () => artifact,
        beforeCommit: () => {
          batches++
          if (crashAfterBatches !== null && batches === crashAfterBatches && !crashed) {
            crashed = true
            throw Object.assign(new Error('simulated crash before commit'), { retriable: false })
          }
        },
      })
      await first.start()
      if (crashAfterBatches !== null) {
        await waitFor(() => crashed, { timeoutMs: 60_000, message: 'crash' })
        await first.stop()
        const second = createMonitorService(deps, {
          groupId,
          analyticsOnly: true,
          loadArtifact: async () => artifact,
        })
        await second.start()
        await waitFor(
          async () =>
            (await count(
              deps,
              'SELECT count() AS n FROM monitor_windows FINAL WHERE model_name = {m:String} AND window_type = {t:String} AND metric = {k:String}',
              { m: model, t: 'sliding', k: 'volume' },
            )) ===
            sent.predictions / 250,
          { timeoutMs: 90_000, message: 'all sliding windows after restart' },
        )
        await second.stop()
      } else {
        await waitFor(
          async () =>
            (await count(
              deps,
              'SELECT count() AS n FROM monitor_windows FINAL WHERE model_name = {m:String} AND window_type = {t:String} AND metric = {k:String}',
              { m: model, t: 'sliding', k: 'volume' },
            )) ===
            sent.predictions / 250,
          { timeoutMs: 90_000, message: 'all sliding windows' },
        )
        await first.stop()
      }
      const rows = await queryRows<Record<string, unknown>>(
        deps.clickhouse,
        `SELECT monitor, window_type, window_width, window_id, toUnixTimestamp64Milli(window_start) AS s, toUnixTimestamp64Milli(window_end) AS e, window_size, subject, metric, round(value, 12) AS v
         FROM monitor_windows FINAL WHERE model_name = {m:String} ORDER BY monitor, window_type, window_width, window_id, subject, metric`,
        { m: model },
      )
      const events = await queryRows<{ id: string }>(
        deps.clickhouse,
        "SELECT replaceOne(event_id, {m:String}, '') AS id FROM drift_events FINAL WHERE model_name = {m:String} ORDER BY id",
        { m: model },
      )
      const published = await collectMessages(
        deps.kafka,
        deps.topics.driftEvents,
        (m) => m.length >= events.length,
        { timeoutMs: 30_000 },
      )
      return { rows, events: events.map((e) => e.id), published: published.length }
    }
    const clean = await runOnce(null)
    const crashed = await runOnce(1)
    expect(clean.rows.length).toBeGreaterThan(0)
    expect(clean.events.length).toBeGreaterThan(0)
    expect(crashed.rows).toEqual(clean.rows)
    expect(crashed.events).toEqual(clean.events)
    expect(crashed.published).toBe(clean.published)
  }, 300_000)
})
