/**
 * End-to-end benchmark on the real stack: requests → inference → predictions → monitors →
 * ClickHouse, with a model trained by `trainOnce` and the load from a separate process
 * (bench/lib/load.ts, the "clinical system"). Two topologies (docs/topologies.md):
 *
 * - `all-in-one`: every role (monitors, trainer, inference, API) in this process on embedded
 *   chDB, as `riskstream run all` runs them;
 * - `inference-apart`: this process owns chDB and runs monitors, trainer and API;
 *   `--inference-procs N` processes of the production CLI (`riskstream run inference`, no
 *   ClickHouse) serve the requests in one consumer group.
 *
 * Phases: (a) throughput: `--offered` requests/s (or `max`, as fast as the producer goes) for
 * `--duration` s; sustained predictions/s from the predictions topic's end offsets (ramp-up
 * excluded), the slowest 5 s, the backlog when the load stops, the cores each process used;
 * (b) latency at `--rate` requests/s: prediction CreateTime − request send time for every
 * request, with where the time goes (bench/lib/load.ts) and the event-loop delay of the
 * inference processes; (c) request → window row in monitor_windows (polled every
 * --window-poll-ms). Automatic retraining is off: a retrain mid-run would measure training.
 * Prints a summary and `@@bench-result` lines for bench/run.ts, named after the topology
 * (`e2e.requests_per_s.inference-apart-2`); the all-in-one run also keeps the older names.
 *
 *   npx tsx bench/e2e.bench.ts [--topology all-in-one|inference-apart] [--inference-procs 1]
 *        [--duration 60] [--offered 20000|max] [--latency-duration 30] [--rate 2000]
 *        [--family xgboost] [--partitions 3] [--window-poll-ms 100] [--warmup-s 3]
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { Admin } from 'kafkajs'
import { Registry } from 'prom-client'
import { type Role, startRoles } from '../cli/roles.ts'
import { queryRows } from '../lib/clickhouse/index.ts'
import { configWith, REPO_ROOT } from '../lib/config/index.ts'
import { initLogging } from '../lib/log/index.ts'
import type { ModelFamily } from '../lib/model/types.ts'
import { closeDeps, createDeps, type Deps, prepare, type Service } from '../lib/runtime/index.ts'
import { TABLES } from '../lib/warehouse/index.ts'
import type { InferenceService } from '../processors/inference/index.ts'
import { trainOnce } from '../trainer/index.ts'
import { type LongChild, lastJson, runScript, spawnScript } from './lib/child.ts'
import { CpuMeter, pidsMatching } from './lib/cpu.ts'
import { type BenchResult, emitResult, percentiles } from './lib/results.ts'

const { values } = parseArgs({
  options: {
    topology: { type: 'string', default: 'all-in-one' },
    'inference-procs': { type: 'string', default: '1' },
    duration: { type: 'string', default: '60' },
    offered: { type: 'string', default: '20000' },
    'latency-duration': { type: 'string', default: '30' },
    rate: { type: 'string', default: '2000' },
    family: { type: 'string', default: 'xgboost' },
    partitions: { type: 'string' },
    'window-poll-ms': { type: 'string', default: '100' },
    'warmup-s': { type: 'string', default: '3' },
  },
})
if (values.topology !== 'all-in-one' && values.topology !== 'inference-apart')
  throw new Error(`--topology must be all-in-one or inference-apart, not ${values.topology}`)
const apart = values.topology === 'inference-apart'
const inferenceProcs = apart ? Number(values['inference-procs']) : 0
const durationS = Number(values.duration)
const offered = values.offered === 'max' ? 'max' : Number(values.offered)
const latencyS = Number(values['latency-duration'])
const rate = Number(values.rate)
const family = values.family as ModelFamily
const pollMs = Number(values['window-poll-ms'])
const warmupS = Number(values['warmup-s'])
/** Roles in this process: the inference processes run apart in the second topology. */
const localRoles: Role[] = apart
  ? ['monitors', 'trainer', 'api']
  : ['monitors', 'trainer', 'inference', 'api']

const LOAD_SCRIPT = fileURLToPath(new URL('./lib/load.ts', import.meta.url))
const say = (m: string) => console.log(`[e2e] ${m}`)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface Stage {
  p50: number
  p99: number
  max: number
  mean: number
}

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
  stages: {
    produce: Stage
    toScore: Stage
    toPublish: Stage
    slowest1pct: { n: number; fromMs: number; produce: number; toScore: number; toPublish: number }
  } | null
  marks: { windowId: number; sentAt: number }[]
}

/** Messages on a (fresh) topic: the sum of its partitions' end offsets. */
async function topicCount(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic)
  return offsets.reduce((s, p) => s + Number(p.high), 0)
}

async function runLoad(
  prefix: string,
  args: string[],
  timeoutMs: number,
  onSpawn?: (pid: number) => void,
): Promise<LoadReport> {
  const r = await runScript(LOAD_SCRIPT, ['--prefix', prefix, ...args], {
    timeoutMs,
    onSpawn,
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

async function freePort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()))
  const port = (srv.address() as { port: number }).port
  await new Promise<void>((r) => srv.close(() => r()))
  return port
}

/** One inference process: the production CLI, its Prometheus metrics on its own port. */
interface InferenceProc {
  child: LongChild
  metricsPort: number
}

/** p99 and max event-loop delay (ms) since the previous scrape (prom-client resets it per scrape). */
async function scrapeLoopDelay(port: number): Promise<{ p99: number; max: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  const read = (name: string) => {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm').exec(text)
    return m ? Math.round(Number(m[1]) * 10_000) / 10 : Number.NaN
  }
  return { p99: read('nodejs_eventloop_lag_p99_seconds'), max: read('nodejs_eventloop_lag_max_seconds') }
}

const prefix = `bench-e2e-${Date.now().toString(36)}${randomBytes(2).toString('hex')}.`
const chPath = mkdtempSync(path.join(tmpdir(), 'riskstream-bench-e2e-'))
const settings: Record<string, string> = {
  TOPIC_PREFIX: prefix,
  LOG_LEVEL: 'warn',
  AUTO_RETRAIN_ENABLED: 'false',
  // The bench model only has to be served, not to be good: no promotion floors.
  MIN_MODEL_ACCURACY: '0',
  MIN_MODEL_ROC_AUC: '0',
  MIN_MODEL_F1: '0',
  ...(values.partitions ? { TOPIC_PARTITIONS: values.partitions } : {}),
}
const config = configWith({ ...settings, CLICKHOUSE_PATH: chPath, API_PORT: String(await freePort()) })
initLogging({ level: 'warn' })
const partitions = config.topics.partitions
const evalEvery = config.drift.evalEvery
/** The result names' suffix: the topology, with its process count and any non-default partitions. */
const topology = apart
  ? `inference-apart-${inferenceProcs}${partitions === 3 ? '' : `-${partitions}p`}`
  : `all-in-one${partitions === 3 ? '' : `-${partitions}p`}`
const common = {
  topology,
  inferenceProcesses: apart ? inferenceProcs : 'in-process',
  partitions,
  family,
  roles: apart ? `${localRoles.join('+')} here; inference × ${inferenceProcs} apart` : localRoles.join('+'),
  load1: Number(loadavg()[0]!.toFixed(2)),
}
const CLI = path.join(REPO_ROOT, 'bin', 'riskstream.ts')
/** Thrown to end the measurements early (the clean-up in `finally` still runs). */
class SkipRest extends Error {}

let deps: Deps | undefined
let admin: Admin | undefined
let services: Service[] = []
const inference: InferenceProc[] = []
const results: BenchResult[] = []
const emit = (r: BenchResult) => {
  results.push(r)
  emitResult(r)
}
try {
  deps = await createDeps(config, { clientId: 'riskstream-bench-e2e' })
  admin = deps.kafka.admin()
  await admin.connect()
  await prepare(deps, () => {})
  say(`topology ${topology}: topics ${prefix}*, ${partitions} partitions; chDB ${chPath}`)

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
  services = await startRoles(deps, localRoles, { metrics: new Registry() })
  const local = services.find((s) => s.name === 'inference') as InferenceService | undefined
  await local?.ready()
  for (let i = 0; i < inferenceProcs; i++) {
    const metricsPort = await freePort()
    const child = spawnScript(CLI, ['run', 'inference'], {
      cwd: REPO_ROOT,
      env: { ...settings, METRICS_PORT: String(metricsPort) },
      onLine: (l) => {
        if (/error|warn/i.test(l)) console.error(`[inference ${i + 1}] ${l}`)
      },
    })
    inference.push({ child, metricsPort })
  }
  // `running:` is printed once the process has joined its group and loaded the model.
  await Promise.all(inference.map((p) => p.child.waitForLine(/^running:/, 120_000)))
  say(
    `${localRoles.join(' + ')} here${apart ? `, inference × ${inferenceProcs} apart` : ''} started in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  )

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
      ['--mode', 'rate', '--rate', '1000', '--latency', 'false', '--duration', String(warmupS), '--tag', 'w'],
      120_000,
    )
    await drain(60_000)
    say('warm-up done')
  }

  // ---------------------------------------------------------------- (a) throughput
  say(
    `(a) throughput: offering ${offered === 'max' ? 'as many requests as the producer can' : `${offered} requests/s`} for ${durationS} s`,
  )
  const loadPid: number[] = []
  const meter = new CpuMeter({
    [`this process (${localRoles.join(', ')})`]: () => [process.pid],
    ...(apart ? { [`inference × ${inferenceProcs}`]: () => inference.map((p) => p.child.pid) } : {}),
    'load generator': () => loadPid,
    'Kafka broker': () => pidsMatching(/ kafka\.Kafka /),
    'schema registry': () => pidsMatching(/quarkus-run\.jar/),
  })
  const samples: { t: number; requests: number; predictions: number }[] = []
  const base = await counts()
  const tStart = performance.now()
  let loadFinished = false
  const loadDone = runLoad(
    prefix,
    offered === 'max'
      ? ['--mode', 'max', '--duration', String(durationS), '--tag', 'm']
      : [
          '--mode',
          'rate',
          '--rate',
          String(offered),
          '--latency',
          'false',
          '--duration',
          String(durationS),
          '--tag',
          'm',
        ],
    (durationS + 180) * 1000,
    (pid) => {
      loadPid.push(pid)
      meter.start()
    },
  ).finally(() => {
    loadFinished = true
  })
  let cores: Record<string, number> | undefined
  while (!loadFinished) {
    const c = await counts()
    const now = (performance.now() - tStart) / 1000
    samples.push({ t: now, ...c })
    meter.sample()
    // The cores are read over the sending period, not the drain after it.
    if (!cores && now >= durationS) cores = meter.stop()
    await sleep(1000)
  }
  const load = await loadDone
  cores ??= meter.stop()
  const series = samples
    .slice(1)
    .map((s, i) => Math.round((s.predictions - samples[i]!.predictions) / (s.t - samples[i]!.t)))
  say(`(a) predictions/s, per ~1 s sample: ${series.join(' ')}`)
  say(
    `(a) cores used while sending: ${Object.entries(cores)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  )
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
  // Backlog when the load stopped (the last sample while it was sending), in seconds of the offered traffic.
  const backlogAtEnd = Math.max(0, last.requests - last.predictions) // two reads: predictions may be newer
  const lagS = offered === 'max' ? null : Math.round((backlogAtEnd / offered) * 100) / 100
  say(
    `(a) produced ${produced} requests at ${load.producedPerSecond}/s; predictions sustained ${Math.round(sustained)}/s ` +
      `(slowest 5 s: ${Number.isFinite(min5s) ? Math.round(min5s) : 'n/a'}/s); backlog when the load stopped ${backlogAtEnd}` +
      `${lagS === null ? '' : ` (${lagS} s of traffic)`}, drained in ${(drained.ms / 1000).toFixed(1)} s`,
  )
  const throughputConfig = {
    ...common,
    durationS,
    offeredPerSecond: offered,
    rampExcludedS: ramp,
    producer: 'clinical producer (BatchSender) in a separate process, acks=all',
    producerBatchSize: 2000,
    producerLingerMs: 5,
    producedRequests: produced,
    producedPerSecond: load.producedPerSecond,
    slowest5sPerSecond: Number.isFinite(min5s) ? Math.round(min5s) : null,
    backlogWhenLoadStopped: backlogAtEnd,
    lagS,
    drainS: Number((drained.ms / 1000).toFixed(1)),
    cores: Object.entries(cores)
      .map(([k, v]) => `${k} ${v}`)
      .join('; '),
  }
  // Offered as fast as the producer goes, the figure is the topology's capacity, not whether
  // it keeps up with a given rate: named apart so the two never overwrite each other.
  const kind = offered === 'max' ? 'capacity' : 'requests'
  const throughputResults: BenchResult[] = [
    {
      name: `e2e.${kind}_per_s.${topology}`,
      value: sustained,
      unit: 'requests/s',
      config: throughputConfig,
    },
    {
      name: `e2e.${offered === 'max' ? 'capacity_' : ''}slowest5s_per_s.${topology}`,
      value: Number.isFinite(min5s) ? min5s : 0,
      unit: 'requests/s',
      config: throughputConfig,
    },
  ]
  if (lagS !== null)
    throughputResults.push({
      name: `e2e.lag_s_at_end.${topology}`,
      value: lagS,
      unit: 's',
      config: throughputConfig,
    })
  if (!apart && offered !== 'max') {
    throughputResults.push(
      { name: 'e2e.requests_per_s', value: sustained, unit: 'requests/s', config: throughputConfig },
      {
        name: 'e2e.requests_per_s_incl_drain',
        value: overall,
        unit: 'requests/s',
        config: {
          ...throughputConfig,
          note: 'all produced requests / time from first send to last prediction',
        },
      },
    )
  }
  for (const r of throughputResults) emit(r)

  const n0 = (await counts()).predictions
  const caught = await monitorsCatchUp(n0, 300_000)
  say(
    `monitors ${caught.ok ? 'caught up' : 'did NOT catch up'} with ${n0} predictions ${(caught.ms / 1000).toFixed(1)} s after inference`,
  )
  emit({
    name: `e2e.${offered === 'max' ? 'capacity_' : ''}monitors_catch_up_s.${topology}`,
    value: caught.ms / 1000,
    unit: 's',
    config: {
      ...common,
      afterRequests: n0,
      caughtUp: caught.ok,
      note: 'time after inference drained until the last sliding window row was written',
    },
  })

  if (latencyS <= 0) {
    say('(b), (c) skipped: --latency-duration 0')
    throw new SkipRest()
  }
  // ---------------------------------------------------- (b) latency, (c) request → window row
  say(`(b) latency at ${rate} requests/s for ${latencyS} s; (c) window rows polled every ${pollMs} ms`)
  const visibleAt = new Map<number, number>()
  let polling = true
  let lastSeen = await maxWindow()
  const poller = (async () => {
    while (polling) {
      const w = await maxWindow()
      const now = Date.now()
      for (let id = lastSeen + evalEvery; id <= w; id += evalEvery) visibleAt.set(id, now)
      lastSeen = Math.max(lastSeen, w)
      await sleep(pollMs)
    }
  })()
  // How long the event loops serving the requests were blocked while the load ran: this
  // process's when inference runs here, the inference processes' (prom-client's monitor, reset
  // by each scrape: one now, one at the end) when it runs apart.
  const loopDelay = monitorEventLoopDelay({ resolution: 5 })
  loopDelay.enable()
  await Promise.all(inference.map((p) => scrapeLoopDelay(p.metricsPort)))
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
  const load1AfterLatency = Number(loadavg()[0]!.toFixed(2))
  loopDelay.disable()
  const inferenceLoops = await Promise.all(inference.map((p) => scrapeLoopDelay(p.metricsPort)))
  const loopMs = (q: number) => Math.round(loopDelay.percentile(q) / 1e5) / 10
  const hereLoop = { p99: loopMs(99), max: Math.round(loopDelay.max / 1e5) / 10 }
  const servingLoop = apart
    ? {
        p99: Math.max(...inferenceLoops.map((l) => l.p99)),
        max: Math.max(...inferenceLoops.map((l) => l.max)),
      }
    : hereLoop
  say(
    `(b) event-loop delay: this process (${localRoles.join(', ')}) p99 ${hereLoop.p99} ms, max ${hereLoop.max} ms` +
      (apart
        ? `; inference processes p99 ${inferenceLoops.map((l) => l.p99).join('/')} ms, max ${inferenceLoops.map((l) => l.max).join('/')} ms`
        : ''),
  )
  const lastMark = lat.marks[lat.marks.length - 1]?.windowId ?? 0
  const t0 = Date.now()
  while (lastSeen < lastMark && Date.now() - t0 < 60_000) await sleep(50)
  polling = false
  await poller
  const windowLatencies = lat.marks
    .filter((m) => visibleAt.has(m.windowId))
    .map((m) => visibleAt.get(m.windowId)! - m.sentAt)
  const w = percentiles(windowLatencies, [50, 95, 99])
  const l = lat.latency!
  const st = lat.stages!
  say(
    `(b) ${l.samples} samples (missing ${l.missing}): p50 ${l.p50} ms, p95 ${l.p95} ms, p99 ${l.p99} ms, p99.9 ${l.p999} ms, max ${l.max} ms; ` +
      `achieved ${Math.round(lat.acked / (lat.sendMs / 1000))} requests/s; load average ${common.load1} → ${load1AfterLatency}`,
  )
  const stage = (x: Stage) => `p50 ${x.p50}, p99 ${x.p99}, max ${x.max} (mean ${x.mean})`
  say(
    `(b) where the time goes (ms): produce ${stage(st.produce)}; acknowledged → scored ${stage(st.toScore)}; ` +
      `scored → published ${stage(st.toPublish)}; the slowest 1 % (≥ ${st.slowest1pct.fromMs} ms, ${st.slowest1pct.n}): ` +
      `produce ${st.slowest1pct.produce} + to score ${st.slowest1pct.toScore} + to publish ${st.slowest1pct.toPublish} on average`,
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
    load1AtEnd: load1AfterLatency,
    producerBatchSize: 500,
    producerLingerMs: 2,
    measure: 'prediction CreateTime − request send time, every request',
    servingEventLoopDelayP99Ms: servingLoop.p99,
    servingEventLoopDelayMaxMs: servingLoop.max,
    chdbProcessEventLoopDelayP99Ms: hereLoop.p99,
    breakdownMs:
      `produce p50 ${st.produce.p50}/p99 ${st.produce.p99}; acknowledged→scored p50 ${st.toScore.p50}/p99 ${st.toScore.p99}; ` +
      `scored→published p50 ${st.toPublish.p50}/p99 ${st.toPublish.p99}; slowest 1 % on average: produce ${st.slowest1pct.produce}, ` +
      `to score ${st.slowest1pct.toScore}, to publish ${st.slowest1pct.toPublish}`,
    note: l.censored
      ? 'some predictions never arrived within 60 s after the load: counted at the time waited, so percentiles are lower bounds'
      : 'all predictions arrived',
  }
  const latencyResults: BenchResult[] = [
    { name: `e2e.p50_ms_at_${rate}rps.${topology}`, value: l.p50, unit: 'ms', config: latencyConfig },
    { name: `e2e.p99_ms_at_${rate}rps.${topology}`, value: l.p99, unit: 'ms', config: latencyConfig },
    { name: `e2e.p999_ms_at_${rate}rps.${topology}`, value: l.p999, unit: 'ms', config: latencyConfig },
    { name: `e2e.max_ms_at_${rate}rps.${topology}`, value: l.max, unit: 'ms', config: latencyConfig },
  ]
  if (!apart)
    latencyResults.push(
      { name: `e2e.p50_ms_at_${rate}rps`, value: l.p50, unit: 'ms', config: latencyConfig },
      { name: `e2e.p95_ms_at_${rate}rps`, value: l.p95, unit: 'ms', config: latencyConfig },
      { name: `e2e.p99_ms_at_${rate}rps`, value: l.p99, unit: 'ms', config: latencyConfig },
      { name: `e2e.max_ms_at_${rate}rps`, value: l.max, unit: 'ms', config: latencyConfig },
    )
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
    const suffix = apart ? `.${topology}` : ''
    latencyResults.push(
      {
        name: `e2e.request_to_window_row_p50_ms${suffix}`,
        value: w.values[0]!,
        unit: 'ms',
        config: windowConfig,
      },
      {
        name: `e2e.request_to_window_row_p99_ms${suffix}`,
        value: w.values[2]!,
        unit: 'ms',
        config: windowConfig,
      },
    )
  }
  for (const r of latencyResults) emit(r)
} catch (err) {
  if (!(err instanceof SkipRest)) throw err
} finally {
  await Promise.all(inference.map((p) => p.child.stop()))
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
