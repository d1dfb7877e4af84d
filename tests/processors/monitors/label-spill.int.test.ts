/**
 * Real stack (Kafka + registry + embedded chDB): the label join with a small in-memory budget
 * spills to ClickHouse, joins spilled predictions when their labels arrive, and counts every
 * label it cannot join by reason; a run stopped and restarted in the middle ends with the same
 * joined labels, the same performance windows and the same counts as an uninterrupted one.
 *
 * The stream goes in phases, each produced once the previous one went through the engine, so the
 * engine sees one order in every run (across two topics the read order otherwise varies, which
 * legitimately changes a join: see recovery.int.test.ts). Batch boundaries still differ between
 * runs, and with them when predictions spill and when spilled ones are counted as expired.
 */
import { Registry } from 'prom-client'
import seedrandom from 'seedrandom'
import { afterAll, describe, expect, it } from 'vitest'
import { queryRows } from '../../../lib/clickhouse/index.ts'
import { createRoleMetrics } from '../../../lib/metrics/collect.ts'
import { METRIC } from '../../../lib/metrics/names.ts'
import { closeDeps, type Deps } from '../../../lib/runtime/index.ts'
import { TABLES } from '../../../lib/warehouse/index.ts'
import { createMonitorService, type MonitorService } from '../../../processors/monitors/service.ts'
import type { OutcomeEvent, PredictionEvent } from '../../../processors/monitors/sink/rows.ts'
import { preparedDeps, uniqueId, waitFor } from '../../helpers/index.ts'
import { EVENT_SPACING_MS, pimaArtifact, pimaStream, T0 } from './streams.ts'

const artifact = pimaArtifact()
const opened: Deps[] = []
const running: MonitorService[] = []

afterAll(async () => {
  for (const s of running) await s.stop().catch(() => {})
  for (const d of opened) await closeDeps(d)
})

const TTL_MS = 150_000
const BUDGET = 1000
/** Event time of prediction k (100 ms apart: 1,500 predictions within the TTL, over the budget). */
const at = (k: number) => T0 + k * EVENT_SPACING_MS

interface Phases {
  predictionsA: PredictionEvent[]
  outcomesB: OutcomeEvent[]
  predictionsC: PredictionEvent[]
  outcomesD: OutcomeEvent[]
  expected: {
    joined: number
    lateOutcomes: number
    duplicateOutcomes: number
    expiredOutcomes: number
    expiredPredictions: number
  }
}

function phases(seed: string, model: string): Phases {
  const preds = [
    ...pimaStream({ n: 4000, seed, scenario: { kind: 'stable' }, unlabelled: 1, modelName: model }),
  ]
    .filter((i) => i.type === 'prediction')
    .map((i) => i.value as PredictionEvent)
  const rng = seedrandom.alea(`${seed}-labels`)
  const id = (k: number) => preds[k]!.requestId
  const label = (k: number, t: number): OutcomeEvent => ({
    requestId: id(k),
    outcome: rng() < 0.4 ? 1 : 0,
    labelledAt: t,
    source: 'test',
  })
  const onTimeA: number[] = []
  const dups: number[] = []
  const late: number[] = []
  const outcomeFirst: number[] = []
  const onTimeD: number[] = []
  const outcomesB: OutcomeEvent[] = []
  // On time (5 s after the prediction), many of them for predictions that were spilled; every
  // tenth of them labelled twice.
  for (let k = 600; k < 2000; k += 3) {
    onTimeA.push(k)
    outcomesB.push(label(k, at(k) + 5000))
    if (k % 30 === 0) {
      dups.push(k)
      outcomesB.push(label(k, at(k) + 6000))
    }
  }
  // Late: 200 s after predictions that passed their 150 s TTL (some expired in memory, some spilled).
  for (let k = 1; k < 400; k += 7) {
    late.push(k)
    outcomesB.push(label(k, at(k) + 200_000))
  }
  // Unknown requests: no prediction ever comes.
  for (let u = 0; u < 40; u++)
    outcomesB.push({ requestId: `${seed}-unknown-${u}`, outcome: 1, labelledAt: at(2100), source: 'test' })
  // Labels before their prediction (phase C brings it).
  for (let k = 2000; k < 2100; k++) {
    outcomeFirst.push(k)
    outcomesB.push(label(k, at(k) - 1000))
  }
  const outcomesD: OutcomeEvent[] = []
  for (let k = 2600; k < 4000; k += 3) {
    onTimeD.push(k)
    outcomesD.push(label(k, at(k) + 5000))
  }
  const joined = onTimeA.length + outcomeFirst.length + onTimeD.length
  // Predictions older than the last event time minus the TTL expire.
  const last = Math.max(
    ...preds.map((p) => Number(p.eventTime)),
    ...[...outcomesB, ...outcomesD].map((o) => Number(o.labelledAt)),
  )
  const horizon = last - TTL_MS
  const old = preds.filter((p) => (p.eventTime as number) < horizon).length
  const joinedOld = [...onTimeA, ...outcomeFirst, ...onTimeD].filter((k) => at(k) < horizon).length
  return {
    predictionsA: preds.slice(0, 2000),
    outcomesB,
    predictionsC: preds.slice(2000),
    outcomesD,
    expected: {
      joined,
      lateOutcomes: late.length,
      duplicateOutcomes: dups.length,
      expiredOutcomes: 40,
      expiredPredictions: old - joinedOld,
    },
  }
}

async function send(deps: Deps, topic: string, values: (PredictionEvent | OutcomeEvent)[]) {
  for (let i = 0; i < values.length; i += 250)
    await deps.producer.send({
      topic,
      messages: values
        .slice(i, i + 250)
        .map((v) => ({ key: v.requestId, value: deps.serde.encode(topic, v) })),
    })
}

async function run(seed: string, restartAfterB: boolean) {
  const model = uniqueId('m').toLowerCase()
  const deps = await preparedDeps({
    MODEL_NAME: model,
    TOPIC_PARTITIONS: '1',
    LABEL_JOIN_TTL_MS: String(TTL_MS),
    LABEL_JOIN_MAX_PENDING: String(BUDGET),
    DRIFT_DETECTION_WINDOW: '200',
  })
  opened.push(deps)
  const s = phases(seed, model)
  const opts = {
    groupId: `${deps.config.topics.prefix}monitor-spill`,
    analyticsOnly: true,
    loadArtifact: async () => artifact,
    // Small fetches: many batches, so the spill happens at many batch ends.
    consumerConfig: { maxBytesPerPartition: 16 * 1024 },
    checkpoint: { everyEvents: 500, everyMs: 60_000 },
  }
  let svc = createMonitorService(deps, opts)
  running.push(svc)
  await svc.start()
  let base = 0
  const phase = async (topic: string, values: (PredictionEvent | OutcomeEvent)[], name: string) => {
    await send(deps, topic, values)
    base += values.length
    const target = base
    await waitFor(() => svc.stats.events === target, {
      timeoutMs: 120_000,
      message: `phase ${name} processed`,
    })
  }
  await phase(deps.topics.predictions, s.predictionsA, 'A')
  await phase(deps.topics.outcomes, s.outcomesB, 'B')
  if (restartAfterB) {
    await svc.stop()
    svc = createMonitorService(deps, opts)
    running.push(svc)
    await svc.start()
    base = 0
  }
  await phase(deps.topics.predictions, s.predictionsC, 'C')
  await phase(deps.topics.outcomes, s.outcomesD, 'D')
  await svc.stop()
  const performance = await queryRows<Record<string, unknown>>(
    deps.clickhouse,
    `SELECT window_type, window_width, window_id, toUnixTimestamp64Milli(window_start) AS s,
       toUnixTimestamp64Milli(window_end) AS e, window_size, metric, round(value, 12) AS v
     FROM ${TABLES.monitorWindows} FINAL WHERE model_name = {m:String} AND monitor = 'performance'
     ORDER BY window_type, window_width, window_id, metric`,
    { m: model },
  )
  const spill = await queryRows<{ state: string; n: number }>(
    deps.clickhouse,
    `SELECT state, count() AS n FROM ${TABLES.labelJoinSpill} WHERE group_id = {g:String} GROUP BY state`,
    { g: opts.groupId },
  )
  return {
    stats: { ...svc.engine.join.stats },
    performance,
    spill: Object.fromEntries(spill.map((r) => [r.state, Number(r.n)])),
    expected: s.expected,
    deps,
  }
}

/** The label join's loss counter as the monitors' /metrics exports it: `version/side/reason` → value. */
async function exportedLosses(deps: Deps): Promise<Record<string, number>> {
  const registry = new Registry()
  const metrics = createRoleMetrics(deps, ['monitors'], registry)
  try {
    const m = await registry.getSingleMetric(METRIC.labelJoinLost)!.get()
    return Object.fromEntries(
      m.values.map((v) => [`${v.labels.version}/${v.labels.side}/${v.labels.reason}`, v.value]),
    )
  } finally {
    await metrics.close()
  }
}

describe('label join spill on the real stack', () => {
  it('joins spilled predictions, counts every lost label by reason, and a restart changes nothing', async () => {
    const seed = uniqueId('ls')
    const whole = await run(seed, false)
    // Every count is the one the stream was built to give: nothing lost without a reason.
    expect(whole.stats).toEqual({
      ...whole.expected,
      evictedPredictions: 0,
      evictedOutcomes: 0,
    })
    // The budget was exceeded: predictions went to ClickHouse, came back for their labels, and
    // some expired there.
    expect(whole.spill.pending ?? 0).toBeGreaterThan(0)
    expect(whole.spill.restored ?? 0).toBeGreaterThan(0)
    expect(whole.spill.expired ?? 0).toBeGreaterThan(0)
    expect(whole.performance.length).toBeGreaterThan(0)
    // Losses reach Prometheus with their reason and the version of their prediction (rows
    // written at every checkpoint, so exact after the last one): late and duplicate labels and
    // expired predictions under version 1 (every prediction's), outcomes of unknown requests under
    // 'unknown'.
    expect(await exportedLosses(whole.deps)).toEqual({
      '1/outcome/late': whole.expected.lateOutcomes,
      '1/outcome/duplicate': whole.expected.duplicateOutcomes,
      '1/prediction/expired': whole.expected.expiredPredictions,
      'unknown/outcome/expired': whole.expected.expiredOutcomes,
    })

    const restarted = await run(seed, true)
    expect(restarted.stats).toEqual(whole.stats)
    expect(restarted.performance).toEqual(whole.performance)
    expect(restarted.spill.restored ?? 0).toBeGreaterThan(0)
  }, 600_000)
})
