/**
 * Real stack: Kafka + registry + embedded chDB. Shadow predictions published on the shadow topic
 * beside the served ones reach shadow_predictions and the shadow version's own window rows
 * ('lane=shadow' in monitor_segment_windows), apart from the champion's; their labels join through
 * the shadow lane's join; a service restarted between the labels writes the same shadow
 * performance rows as an uninterrupted one.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { queryRows } from '../../../lib/clickhouse/index.ts'
import { closeDeps, type Deps } from '../../../lib/runtime/index.ts'
import { SHADOW_SEGMENT } from '../../../lib/segments/index.ts'
import { TABLES } from '../../../lib/warehouse/index.ts'
import { createMonitorService, type MonitorService } from '../../../processors/monitors/service.ts'
import type { OutcomeEvent, PredictionEvent } from '../../../processors/monitors/sink/rows.ts'
import { preparedDeps, uniqueId, waitFor } from '../../helpers/index.ts'
import { pimaArtifact, pimaStream } from './streams.ts'

const champion = pimaArtifact(0.5)
const challenger = pimaArtifact(0.4)
const opened: Deps[] = []
const services: MonitorService[] = []

afterAll(async () => {
  for (const s of services) await s.stop()
  for (const d of opened) await closeDeps(d)
})

async function send(deps: Deps, topic: string, events: PredictionEvent[]) {
  for (let i = 0; i < events.length; i += 2000)
    await deps.producer.send({
      topic,
      messages: events
        .slice(i, i + 2000)
        .map((p) => ({ key: p.requestId, value: deps.serde.encode(topic, p) })),
    })
}

async function sendOutcomes(deps: Deps, outcomes: OutcomeEvent[]) {
  await deps.producer.send({
    topic: deps.topics.outcomes,
    messages: outcomes.map((o) => ({ key: o.requestId, value: deps.serde.encode(deps.topics.outcomes, o) })),
  })
}

const count = async (deps: Deps, sql: string, params: Record<string, unknown>) =>
  Number((await queryRows<{ n: number }>(deps.clickhouse, sql, params))[0]?.n ?? 0)

/** The shadow lane's performance rows of a model, in a canonical order. */
const performanceRows = (deps: Deps, model: string) =>
  queryRows<Record<string, unknown>>(
    deps.clickhouse,
    `SELECT model_version, window_id, toUnixTimestamp64Milli(window_end) AS e, window_size, metric,
            round(value, 12) AS v
     FROM ${TABLES.monitorSegmentWindows} FINAL
     WHERE model_name = {m:String} AND segment = {s:String} AND monitor = 'performance'
     ORDER BY window_id, metric`,
    { m: model, s: SHADOW_SEGMENT },
  )

/**
 * Served and shadow scores of 3,000 requests, then their labels once the shadow is monitored
 * (one partition, so the labels are read in one order whatever the run). With `restart`, the
 * service stops after the first 1,500 labels and a new one takes over before the rest is sent.
 */
async function scenario(seed: string, restart: boolean) {
  const model = uniqueId('m').toLowerCase()
  const deps = await preparedDeps({ MODEL_NAME: model, TOPIC_PARTITIONS: '1' })
  opened.push(deps)
  const served = [...pimaStream({ n: 3000, seed, scenario: { kind: 'stable' }, modelName: model })]
    .filter((i) => i.type === 'prediction')
    .map((i) => i.value as PredictionEvent)
  const shadows = served.map((p) => {
    const q = 0.1 + 0.8 * p.probability
    return { ...p, modelVersion: 2, probability: q, label: q >= 0.4 ? 1 : 0, threshold: 0.4, shadow: true }
  })
  const labels: OutcomeEvent[] = served.map((p) => ({
    requestId: p.requestId,
    outcome: p.probability > 0.45 ? 1 : 0,
    labelledAt: Number(p.eventTime) + 60_000,
    source: 'test',
  }))
  await send(deps, deps.topics.predictions, served)
  await send(deps, deps.topics.shadowPredictions, shadows)
  const start = async () => {
    const svc = createMonitorService(deps, {
      loadArtifact: async (_name, v) => (v === 1 ? champion : v === 2 ? challenger : null),
    })
    services.push(svc)
    await svc.start()
    return svc
  }
  const svc = await start()
  const m = { m: model }
  await waitFor(
    async () =>
      (await count(
        deps,
        `SELECT count() AS n FROM ${TABLES.shadowPredictions} FINAL WHERE model_name = {m:String}`,
        m,
      )) === shadows.length,
    { timeoutMs: 90_000, message: 'every shadow prediction in shadow_predictions' },
  )
  const shadowRows = () =>
    queryRows<{ v: number; monitor: string; n: number; last: number }>(
      deps.clickhouse,
      `SELECT model_version AS v, monitor, count() AS n, max(window_id) AS last
       FROM ${TABLES.monitorSegmentWindows} FINAL
       WHERE model_name = {m:String} AND segment = {s:String}
       GROUP BY v, monitor ORDER BY v, monitor`,
      { ...m, s: SHADOW_SEGMENT },
    )
  await waitFor(
    async () => (await shadowRows()).some((r) => r.monitor === 'drift' && Number(r.last) === shadows.length),
    { timeoutMs: 90_000, message: 'shadow window rows up to the last shadow prediction' },
  )
  const rows = await shadowRows()
  expect(rows.map((r) => [Number(r.v), r.monitor])).toEqual([
    [2, 'drift'],
    [2, 'estimate'],
    [2, 'quality'],
  ])
  // The champion's rows are its own version's only; nothing of the shadow lands among them.
  // (The consumer reads the served and the shadow topics in batches of its own: the champion's
  // rows may land after the shadow's, so wait until they are there before comparing.)
  const versions = () =>
    queryRows<{ v: number }>(
      deps.clickhouse,
      `SELECT DISTINCT model_version AS v FROM ${TABLES.monitorWindows} FINAL WHERE model_name = {m:String}`,
      m,
    )
  await waitFor(async () => (await versions()).some((r) => Number(r.v) !== 0), {
    timeoutMs: 90_000,
    message: 'the champion window rows',
  })
  const championVersions = await versions()
  // (Version 0 holds the label spill's model-level counts, performance/spill.ts.)
  expect(championVersions.map((r) => Number(r.v)).filter((v) => v !== 0)).toEqual([1])
  expect(svc.engine.counters.shadowPredictions).toBe(shadows.length)
  expect(svc.engine.counters.predictions).toBe(served.length)

  const lastLabelWindow = async () =>
    Math.max(0, ...(await shadowRows()).filter((r) => r.monitor === 'performance').map((r) => Number(r.last)))
  if (!restart) {
    await sendOutcomes(deps, labels)
    await waitFor(async () => svc.engine.shadowJoin.stats.joined === labels.length, {
      timeoutMs: 90_000,
      message: 'every label joined to its shadow score',
    })
    expect(svc.engine.join.stats.joined).toBe(labels.length)
  } else {
    const first = labels.slice(0, 1500)
    await sendOutcomes(deps, first)
    await waitFor(async () => svc.engine.shadowJoin.stats.joined === first.length, {
      timeoutMs: 90_000,
      message: 'the first labels joined to their shadow scores',
    })
    // The stop checkpoints; the new service resumes the shadow monitor from it and rebuilds the
    // shadow join from ClickHouse: the labels sent after it join shadow scores read before it.
    await svc.stop()
    services.splice(services.indexOf(svc), 1)
    const again = await start()
    expect(again.engine.shadowVersions).toEqual([2])
    expect(again.engine.counters.shadowPredictions).toBe(shadows.length)
    expect(again.engine.shadowJoin.predictions.size).toBe(shadows.length - first.length)
    const rest = labels.slice(1500)
    await sendOutcomes(deps, rest)
    await waitFor(async () => again.engine.shadowJoin.stats.joined === rest.length, {
      timeoutMs: 90_000,
      message: 'labels after the restart joined to shadow scores read before it',
    })
  }
  await waitFor(async () => (await lastLabelWindow()) === labels.length, {
    timeoutMs: 60_000,
    message: 'shadow performance rows up to the last label',
  })
  return performanceRows(deps, model)
}

describe('shadow monitoring on the real stack', () => {
  it('turns shadow scores on the shadow topic into shadow window rows apart from the champion, joins their labels, and a restart changes nothing', async () => {
    const seed = uniqueId('s')
    const whole = await scenario(seed, false)
    const restarted = await scenario(seed, true)
    expect(whole.length).toBeGreaterThan(50)
    expect(new Set(whole.map((r) => Number(r.model_version)))).toEqual(new Set([2]))
    expect(restarted).toEqual(whole)
  }, 400_000)
})
