/**
 * End-to-end benchmark on the real stack: requests → inference → predictions → monitors →
 * ClickHouse, the roles run here with a model trained by `trainOnce`, the load from a separate
 * process (bench/lib/load.ts). Measures (a) sustained predictions/s (growth of the predictions
 * topic's end offsets, ramp-up excluded), (b) latency at a fixed --rate (prediction CreateTime −
 * request send time, p50/p95/p99), (c) request → window row in monitor_windows (polled every
 * --window-poll-ms). Prints a summary and `@@bench-result` lines for bench/run.ts.
 *
 *   npx tsx bench/e2e.bench.ts [--duration 60] [--latency-duration 30] [--rate 2000]
 *                              [--family xgboost] [--partitions 3] [--window-poll-ms 100]
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { Admin } from 'kafkajs'
import { Registry } from 'prom-client'
import { startRoles } from '../cli/roles.ts'
import { queryRows } from '../lib/clickhouse/index.ts'
import { configWith } from '../lib/config/index.ts'
import { initLogging } from '../lib/log/index.ts'
import type { ModelFamily } from '../lib/model/types.ts'
import { closeDeps, createDeps, type Deps, prepare, type Service } from '../lib/runtime/index.ts'
import { TABLES } from '../lib/warehouse/index.ts'
import type { InferenceService } from '../processors/inference/index.ts'
import { trainOnce } from '../trainer/index.ts'
import { lastJson, runScript } from './lib/child.ts'
import { type BenchResult, emitResult, percentiles } from './lib/results.ts'

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '60' },
    'latency-duration': { type: 'string', default: '30' },
    rate: { type: 'string', default: '2000' },
    family: { type: 'string', default: 'xgboost' },
    partitions: { type: 'string' },
    'window-poll-ms': { type: 'string', default: '100' },
    'warmup-s': { type: 'string', default: '3' },
    // Which roles run in this process: the all-in-one default, or 'inference' alone (as when
    // the monitors run in their own process) to see what the monitors cost the latency.
    roles: { type: 'string', default: 'monitors,inference' },
  },
})
const durationS = Number(values.duration)
const latencyS = Number(values['latency-duration'])
const rate = Number(values.rate)
const family = values.family as ModelFamily
const pollMs = Number(values['window-poll-ms'])
const warmupS = Number(values['warmup-s'])
const roles = values.roles!.split(',') as ('monitors' | 'inference')[]
const withMonitors = roles.includes('monitors')

const LOAD_SCRIPT = fileURLToPath(new URL('./lib/load.ts', import.meta.url))
const say = (m: string) => console.log(`[e2e] ${m}`)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface LoadReport {
  mode: string
  sent: number
  acked: number
  failed: number
  sendMs: number
  ackMs: number
  producedPerSecond: number
  latency: {
    samples: number
    missing: number
    censored: boolean
    p50: number
    p95: number
    p99: number
    p999: number
    max: number
    mean: number
  } | null
  marks: { windowId: number; sentAt: number }[]
}

/** Messages on a (fresh) topic: the sum of its partitions' end offsets. */
async function topicCount(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic)
  return offsets.reduce((s, p) => s + Number(p.high), 0)
}

async function runLoad(prefix: string, args: string[], timeoutMs: number): Promise<LoadReport> {
  const r = await runScript(LOAD_SCRIPT, ['--prefix', prefix, ...args], {
    timeoutMs,
    onLine: (l, s) => {
      if (s === 'stderr' && l.trim()) console.error(`[load] ${l}`)
    },
  })
  const report = lastJson<LoadReport>(r.stdout, 'load')
  if (!report)
    throw new Error(
      `load generator failed (code ${r.code}${r.timedOut ? ', timed out' : ''}): ${r.stderr.slice(-500)}`,
    )
  return report
}

const prefix = `bench-e2e-${Date.now().toString(36)}${randomBytes(2).toString('hex')}.`
const chPath = mkdtempSync(path.join(tmpdir(), 'riskstream-bench-e2e-'))
const config = configWith({
  TOPIC_PREFIX: prefix,
  CLICKHOUSE_PATH: chPath,
  LOG_LEVEL: 'warn',
  // The bench model only has to be served, not to be good: no promotion floors.
  MIN_MODEL_ACCURACY: '0',
  MIN_MODEL_ROC_AUC: '0',
  MIN_MODEL_F1: '0',
  ...(values.partitions ? { TOPIC_PARTITIONS: values.partitions } : {}),
})
initLogging({ level: 'warn' })
const partitions = config.topics.partitions
const evalEvery = config.drift.evalEvery
const common = { partitions, family, roles: roles.join('+'), load1: Number(loadavg()[0]!.toFixed(2)) }

let deps: Deps | undefined
let admin: Admin | undefined
let services: Service[] = []
const results: BenchResult[] = []
try {
  deps = await createDeps(config, { clientId: 'riskstream-bench-e2e' })
  admin = deps.kafka.admin()
  await admin.connect()
  await prepare(deps, () => {})
  say(`topics ${prefix}*, ${partitions} partitions; chDB ${chPath}`)

  let t = performance.now()
  const trained = await trainOnce(deps, {
    trigger: 'bench',
    reason: 'e2e benchmark model',
    families: [family],
    budget: 1,
    folds: 2,
    includeStreamed: false,
  })
  if (trained.stage !== 'production')
    throw new Error(`bench model was ${trained.stage}: ${trained.gate.reasons}`)
  say(`trained ${trained.family} v${trained.version} in ${((performance.now() - t) / 1000).toFixed(1)} s`)

  t = performance.now()
  services = await startRoles(deps, roles, { metrics: new Registry() })
  const inference = services.find((s) => s.name === 'inference') as InferenceService
  await inference.ready()
  say(`${roles.join(' + ')} started in ${((performance.now() - t) / 1000).toFixed(1)} s`)

  const windowsSql =
    `SELECT max(window_id) AS w FROM ${TABLES.monitorWindows} WHERE model_name = {m:String} AND model_version = {v:UInt32}` +
    ` AND monitor = 'drift' AND window_type = 'sliding'`
  const maxWindow = async (): Promise<number> => {
    const [r] = await queryRows<{ w: number }>(deps!.clickhouse, windowsSql, {
      m: config.model.name,
      v: trained.version,
    })
    return Number(r?.w ?? 0)
  }
  const counts = async () => ({
    requests: await topicCount(admin!, deps!.topics.requests),
    predictions: await topicCount(admin!, deps!.topics.predictions),
  })
  /** Waits until every request has its prediction (and returns how long that took). */
  const drain = async (timeoutMs: number): Promise<{ ms: number; backlog: number }> => {
    const t0 = performance.now()
    for (;;) {
      const c = await counts()
      const backlog = c.requests - c.predictions
      if (backlog <= 0 || performance.now() - t0 > timeoutMs) return { ms: performance.now() - t0, backlog }
      await sleep(200)
    }
  }
  /** Waits until the monitors wrote the window of the last multiple of evalEvery below `n`. */
  const monitorsCatchUp = async (n: number, timeoutMs: number): Promise<{ ms: number; ok: boolean }> => {
    const target = Math.floor(n / evalEvery) * evalEvery
    const t0 = performance.now()
    while ((await maxWindow()) < target) {
      if (performance.now() - t0 > timeoutMs) return { ms: performance.now() - t0, ok: false }
      await sleep(200)
    }
    return { ms: performance.now() - t0, ok: true }
  }

  // Warm-up: group join, JIT, connections, registry look-ups, first checkpoints.
  if (warmupS > 0) {
    await runLoad(
      prefix,
      ['--mode', 'rate', '--rate', '1000', '--duration', String(warmupS), '--tag', 'w'],
      120_000,
    )
    await drain(60_000)
    say('warm-up done')
  }

  // ---------------------------------------------------------------- (a) throughput
  say(`(a) throughput: producing as fast as possible for ${durationS} s`)
  const samples: { t: number; requests: number; predictions: number }[] = []
  const base = await counts()
  const tStart = performance.now()
  const loadDone = runLoad(
    prefix,
    ['--mode', 'max', '--duration', String(durationS), '--tag', 'm'],
    (durationS + 180) * 1000,
  )
  let loadFinished = false
  loadDone.then(
    () => {
      loadFinished = true
    },
    () => {
      loadFinished = true
    },
  )
  while (!loadFinished) {
    const c = await counts()
    samples.push({ t: (performance.now() - tStart) / 1000, ...c })
    await sleep(1000)
  }
  const load = await loadDone
  const series = samples
    .slice(1)
    .map((s, i) => Math.round((s.predictions - samples[i]!.predictions) / (s.t - samples[i]!.t)))
  say(`(a) predictions/s, per ~1 s sample: ${series.join(' ')}`)
  const afterLoad = await counts()
  const drained = await drain(180_000)
  const tAllScored = (performance.now() - tStart) / 1000
  // Sustained window: after the ramp-up, up to the last sample taken while the producer was sending.
  const ramp = Math.min(5, durationS * 0.1)
  const sendEnd = load.sendMs / 1000
  const inWindow = samples.filter((s) => s.t >= ramp && s.t <= sendEnd)
  const first = inWindow[0] ?? samples[0]!
  const last = inWindow[inWindow.length - 1] ?? samples[samples.length - 1]!
  const sustained = (last.predictions - first.predictions) / Math.max(last.t - first.t, 1e-3)
  // The slowest 5-second stretch inside the window: "sustained" should hold throughout.
  let min5s = Number.POSITIVE_INFINITY
  for (let i = 0; i < inWindow.length; i++) {
    const j = inWindow.findIndex((s) => s.t >= inWindow[i]!.t + 5)
    if (j < 0) break
    min5s = Math.min(
      min5s,
      (inWindow[j]!.predictions - inWindow[i]!.predictions) / (inWindow[j]!.t - inWindow[i]!.t),
    )
  }
  const produced = afterLoad.requests - base.requests
  const overall = ((await counts()).predictions - base.predictions) / tAllScored
  say(
    `(a) produced ${produced} requests at ${load.producedPerSecond}/s; predictions sustained ${Math.round(sustained)}/s ` +
      `(slowest 5 s: ${Number.isFinite(min5s) ? Math.round(min5s) : 'n/a'}/s); backlog at end of load ${afterLoad.requests - afterLoad.predictions}, drained in ${(drained.ms / 1000).toFixed(1)} s`,
  )
  const throughputConfig = {
    ...common,
    durationS,
    rampExcludedS: ramp,
    producer: 'clinical producer (BatchSender) in a separate process, acks=all',
    producerBatchSize: 2000,
    producerLingerMs: 5,
    producedRequests: produced,
    producedPerSecond: load.producedPerSecond,
    slowest5sPerSecond: Number.isFinite(min5s) ? Math.round(min5s) : null,
    backlogAtEndOfLoad: afterLoad.requests - afterLoad.predictions,
    drainS: Number((drained.ms / 1000).toFixed(1)),
    inferenceMaxBytesPerPartition: 'service default',
  }
  results.push({ name: 'e2e.requests_per_s', value: sustained, unit: 'requests/s', config: throughputConfig })
  results.push({
    name: 'e2e.requests_per_s_incl_drain',
    value: overall,
    unit: 'requests/s',
    config: { ...throughputConfig, note: 'all produced requests / time from first send to last prediction' },
  })
  for (const r of results) emitResult(r)

  const n0 = (await counts()).predictions
  if (withMonitors) {
    const caught = await monitorsCatchUp(n0, 300_000)
    say(
      `monitors ${caught.ok ? 'caught up' : 'did NOT catch up'} with ${n0} predictions ${(caught.ms / 1000).toFixed(1)} s after inference`,
    )
    const monitorLag: BenchResult = {
      name: 'e2e.monitors_catch_up_s',
      value: caught.ms / 1000,
      unit: 's',
      config: {
        ...common,
        afterRequests: n0,
        caughtUp: caught.ok,
        note: 'time after inference drained until the last sliding window row was written',
      },
    }
    results.push(monitorLag)
    emitResult(monitorLag)
  }

  // ---------------------------------------------------- (b) latency, (c) request → window row
  say(`(b) latency at ${rate} requests/s for ${latencyS} s; (c) window rows polled every ${pollMs} ms`)
  const visibleAt = new Map<number, number>()
  let polling = true
  let lastSeen = await maxWindow()
  const poller = (async () => {
    while (polling && withMonitors) {
      const w = await maxWindow()
      const now = Date.now()
      for (let id = lastSeen + evalEvery; id <= w; id += evalEvery) visibleAt.set(id, now)
      lastSeen = Math.max(lastSeen, w)
      await sleep(pollMs)
    }
  })()
  // How long this process' event loop (the roles under test) was blocked while the load ran.
  const loopDelay = monitorEventLoopDelay({ resolution: 5 })
  loopDelay.enable()
  const lat = await runLoad(
    prefix,
    [
      '--mode',
      'rate',
      '--rate',
      String(rate),
      '--duration',
      String(latencyS),
      '--tag',
      'l',
      '--seq-start',
      String(n0),
      '--mark-every',
      String(evalEvery),
      '--batch-size',
      '500',
      '--linger-ms',
      '2',
    ],
    (latencyS + 180) * 1000,
  )
  loopDelay.disable()
  const loopMs = (q: number) => Math.round(loopDelay.percentile(q) / 1e5) / 10
  say(
    `(b) event-loop delay of the roles' process: p50 ${loopMs(50)} ms, p99 ${loopMs(99)} ms, max ${Math.round(loopDelay.max / 1e6)} ms`,
  )
  const lastMark = lat.marks[lat.marks.length - 1]?.windowId ?? 0
  const t0 = Date.now()
  while (withMonitors && lastSeen < lastMark && Date.now() - t0 < 60_000) await sleep(50)
  polling = false
  await poller
  const windowLatencies = lat.marks
    .filter((m) => visibleAt.has(m.windowId))
    .map((m) => visibleAt.get(m.windowId)! - m.sentAt)
  const w = percentiles(windowLatencies, [50, 95, 99])
  const l = lat.latency!
  say(
    `(b) ${l.samples} samples (missing ${l.missing}): p50 ${l.p50} ms, p95 ${l.p95} ms, p99 ${l.p99} ms, max ${l.max} ms; ` +
      `achieved ${Math.round(lat.acked / (lat.sendMs / 1000))} requests/s`,
  )
  say(
    `(c) ${w.n}/${lat.marks.length} windows: p50 ${w.values[0]} ms, p95 ${w.values[1]} ms, p99 ${w.values[2]} ms, max ${w.max} ms`,
  )
  const latencyConfig = {
    ...common,
    rate,
    durationS: latencyS,
    samples: l.samples,
    missing: l.missing,
    censored: l.censored,
    producerBatchSize: 500,
    producerLingerMs: 2,
    measure: 'prediction CreateTime − request send time, every request',
    eventLoopDelayP99Ms: loopMs(99),
    note: l.censored
      ? 'some predictions never arrived within 60 s after the load: counted at the time waited, so percentiles are lower bounds'
      : 'all predictions arrived',
  }
  const latencyResults: BenchResult[] = [
    { name: `e2e.p50_ms_at_${rate}rps`, value: l.p50, unit: 'ms', config: latencyConfig },
    { name: `e2e.p95_ms_at_${rate}rps`, value: l.p95, unit: 'ms', config: latencyConfig },
    { name: `e2e.p99_ms_at_${rate}rps`, value: l.p99, unit: 'ms', config: latencyConfig },
    { name: `e2e.max_ms_at_${rate}rps`, value: l.max, unit: 'ms', config: latencyConfig },
  ]
  if (w.n > 0) {
    const windowConfig = {
      ...common,
      rate,
      windows: w.n,
      windowSize: config.drift.window,
      evalEvery,
      pollMs,
      measure:
        'send of the request completing a sliding window → its monitor_windows row visible (sampled per window)',
    }
    latencyResults.push(
      { name: 'e2e.request_to_window_row_p50_ms', value: w.values[0]!, unit: 'ms', config: windowConfig },
      { name: 'e2e.request_to_window_row_p95_ms', value: w.values[1]!, unit: 'ms', config: windowConfig },
      { name: 'e2e.request_to_window_row_p99_ms', value: w.values[2]!, unit: 'ms', config: windowConfig },
    )
  }
  for (const r of latencyResults) emitResult(r)
} finally {
  for (const s of [...services].reverse())
    await s.stop().catch((err) => console.error(`stop ${s.name}: ${String(err)}`))
  if (admin && deps) {
    const topics = [
      ...Object.values(deps.topics).filter((x): x is string => typeof x === 'string'),
      ...Object.values(deps.topics.dlq),
    ]
    await admin.deleteTopics({ topics }).catch(() => undefined)
    await admin.disconnect().catch(() => undefined)
  }
  if (deps) await closeDeps(deps)
  rmSync(chPath, { recursive: true, force: true })
}
// The XGBoost worker thread and kafkajs timers would keep the process alive.
process.exit(0)
