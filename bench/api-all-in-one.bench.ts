/**
 * POST /v1/predict against `riskstream run all` (the default all-in-one topology: monitors,
 * trainer, inference and API in one process on embedded chDB), so the monitors process the
 * same traffic the API publishes. autocannon at --connections, --runs runs of --duration s
 * each after a warm-up; every request a different Pima-like row. Reports the median run's
 * requests/s and p99, each run with the load average at its start, and the monitors' lag on
 * the predictions topic at the end of each run (they kept up when it is small) and the
 * process's event-loop delay p99 during each run.
 *
 * Then, in the same sitting, the seed-style peer (bench/seed-peer: Flask + xgboost under
 * `gunicorn -w 2`, a JSONL line per prediction, as the original project served; gthread
 * workers with one thread for keep-alive, see peer.ts) under the same
 * load (connections, duration, runs, warm-up, row generator), and the ratios RiskStream / peer
 * of the median requests/s and of the median p99. Sequential, not alternating: the peer starts
 * after `run all` has exited, so neither side shares the cores with the other's process (an
 * idle `run all` still polls Kafka and the monitors may still drain). load1 is a one-minute
 * average, so the peer's first figure still carries the tail of RiskStream's runs.
 *
 *   npx tsx bench/api-all-in-one.bench.ts [--duration 20] [--runs 3] [--connections 20]
 *        [--warmup-s 5]
 *        [--family xgboost]   the served model, trained by trainOnce (budget 1, 2 folds) in a
 *                             short child; `fixture` serves the logistic test fixture instead
 *        [--no-seed-peer]     RiskStream only (also --seed-peer=false); the peer's venv is
 *                             .cache/seed-peer-venv, created on first use (pip, PyPI)
 *        [--checkout <dir>]   measure another checkout's `run all` (e.g. a git worktree of an
 *                             older commit) with the same load, in the same sitting
 *        [--profile <dir>]    V8 CPU profile of the `run all` process
 *        [--roles api,inference]  other roles in the process instead of all (results named
 *                             after them, e.g. api.predict.p99_ms.api-inference): what the
 *                             monitors and the trainer cost the API
 *
 * Its own topic prefix (deleted afterwards) and a throw-away chDB directory; the model is
 * trained (or the fixture registered) by a short child before `run all` opens the same
 * directory.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import { childEnv, configWith, REPO_ROOT } from '../lib/config/index.ts'
import { createKafka, topicNames, topicSpecs } from '../lib/kafka/index.ts'
import type { ModelFamily } from '../lib/model/types.ts'
import { createRegistry } from '../lib/registry/index.ts'
import { closeDeps, createDeps, prepare } from '../lib/runtime/index.ts'
import { linearArtifact } from '../tests/lib/registry/fixtures.ts'
import { trainOnce } from '../trainer/index.ts'
import { LEARNERS } from '../trainer/learners/index.ts'
import { emitResult } from './lib/results.ts'
import {
  ensureSeedPeerVenv,
  SEED_PEER_WORKER_CLASS,
  SEED_PEER_WORKERS,
  type SeedPeer,
  startSeedPeer,
} from './seed-peer/peer.ts'

const { values } = parseArgs({
  // --seed-peer=false / =true as spellings of --no-seed-peer / --seed-peer.
  args: process.argv
    .slice(2)
    .map((a) =>
      a === '--seed-peer=false' ? '--no-seed-peer' : a === '--seed-peer=true' ? '--seed-peer' : a,
    ),
  allowNegative: true,
  options: {
    duration: { type: 'string', default: '20' },
    runs: { type: 'string', default: '3' },
    connections: { type: 'string', default: '20' },
    'warmup-s': { type: 'string', default: '5' },
    // The checkout whose `run all` is measured (default this one): two commits in one sitting.
    checkout: { type: 'string' },
    // Writes a V8 CPU profile of the `run all` process into this folder when it stops.
    profile: { type: 'string' },
    roles: { type: 'string', default: 'all' },
    // A model family trained by trainOnce, or 'fixture' (the logistic test fixture).
    family: { type: 'string', default: 'xgboost' },
    'seed-peer': { type: 'boolean', default: true },
    // Internal: the child that registers the model in the chDB directory, then exits.
    seed: { type: 'boolean', default: false },
  },
})

const KEY = 'bench-key-0123456789'
const load1 = () => Math.round(loadavg()[0]! * 100) / 100

const family = values.family
if (family !== 'fixture' && !Object.hasOwn(LEARNERS, family)) {
  console.error(`--family: one of ${Object.keys(LEARNERS).join(', ')} or fixture, not ${family}`)
  process.exit(2)
}
if (values.seed) {
  // Env from the parent: the same prefix, chDB path and model name `run all` will use.
  const deps = await createDeps(configWith({}))
  try {
    await prepare(deps)
    if (family === 'fixture') {
      await createRegistry(deps).register(linearArtifact(deps.config.model.name), {
        stage: 'production',
        runId: 'bench',
        reason: 'bench',
      })
    } else {
      const trained = await trainOnce(deps, {
        trigger: 'bench',
        reason: 'api-all-in-one benchmark model',
        families: [family as ModelFamily],
        budget: 1,
        folds: 2,
        includeStreamed: false,
      })
      if (trained.stage !== 'production')
        throw new Error(`bench model was ${trained.stage}: ${trained.gate.reasons}`)
    }
  } finally {
    await closeDeps(deps)
  }
  process.exit(0)
}

const roles = values.roles.split(',').filter(Boolean)
// The default is the all-in-one topology; another role set names its results after its roles.
const topology = roles.join('-') === 'all' ? 'all-in-one' : roles.join('-')
const duration = Number(values.duration)
const runs = Number(values.runs)
const connections = Number(values.connections)
const warmupS = Number(values['warmup-s'])

async function freePort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res))
  const { port } = srv.address() as { port: number }
  await new Promise((res) => srv.close(res))
  return port
}

const scratch = mkdtempSync(path.join(tmpdir(), 'riskstream-api-aio-bench-'))
const chdb = path.join(scratch, 'chdb')
const checkout = path.resolve(values.checkout ?? REPO_ROOT)
const port = await freePort()
const env = {
  TOPIC_PREFIX: `bench-aio-${Date.now().toString(36)}.`,
  CLICKHOUSE_PATH: chdb,
  CLICKHOUSE_URL: '',
  // One signing key for the seeding child and `run all`, whichever checkout runs it.
  DATA_DIR: path.join(scratch, 'data'),
  MODEL_NAME: 'bench-aio',
  API_HOST: '127.0.0.1',
  API_PORT: String(port),
  API_KEYS: KEY,
  API_RATE_LIMIT_MAX: '1000000',
  // A load test must not retrain inside the measured process.
  AUTO_RETRAIN_ENABLED: 'false',
  // The bench model only has to be served, not to be good: no promotion floors.
  MIN_MODEL_ACCURACY: '0',
  MIN_MODEL_ROC_AUC: '0',
  MIN_MODEL_F1: '0',
  METRICS_PORT: '',
  LOG_LEVEL: 'warn',
}
const config = configWith(env)
const here = fileURLToPath(import.meta.url)

function run(cmd: string, args: string[], cwd = REPO_ROOT): ChildProcess {
  return spawn(cmd, args, {
    cwd,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
}

function exited(child: ChildProcess): Promise<number> {
  return new Promise((res) => child.on('exit', (code, sig) => res(code ?? (sig ? 128 : 1))))
}

/** A Pima-like row per request (bounded ranges; ids are new, so nothing is an idempotent replay). */
function body(i: number): string {
  const r = (k: number) => ((i * 2654435761 + k * 40503) % 1000) / 1000
  return JSON.stringify({
    patientId: `bench-p${i % 5000}`,
    pregnancies: Math.floor(r(1) * 10),
    glucose: Math.round(70 + r(2) * 120),
    bloodPressure: Math.round(50 + r(3) * 40),
    skinThickness: Math.round(10 + r(4) * 35),
    insulin: Math.round(20 + r(5) * 250),
    bmi: Math.round((20 + r(6) * 25) * 10) / 10,
    diabetesPedigreeFunction: Math.round((0.1 + r(7) * 1.5) * 1000) / 1000,
    age: Math.round(21 + r(8) * 50),
  })
}

interface Target {
  url: string
  path: string
  headers: Record<string, string>
}
const riskstream: Target = {
  url: `http://127.0.0.1:${port}`,
  path: '/v1/predict',
  headers: { 'content-type': 'application/json', 'x-api-key': KEY },
}

let counter = 0
function load(target: Target, seconds: number, title: string): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: target.url,
        connections,
        duration: seconds,
        title,
        requests: [
          {
            method: 'POST',
            path: target.path,
            headers: target.headers,
            setupRequest: (req) => ({ ...req, body: body(counter++) }),
          },
        ],
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    )
  })
}

interface RunResult {
  rps: number
  p50: number
  p99: number
  non2xx: number
  errors: number
  load1: number
}

/** The warm-up, then --runs runs; `around` adds per-run figures measured before and after it. */
async function measure<E extends object>(
  target: Target,
  around: { before?: () => Promise<unknown>; after: () => Promise<E> },
): Promise<{ runs: (RunResult & E)[]; ok: number }> {
  const warm = await load(target, warmupS, 'warm-up')
  let ok = warm['2xx']
  const out: (RunResult & E)[] = []
  for (let i = 0; i < runs; i++) {
    const l = load1()
    await around.before?.()
    const r = await load(target, duration, `run ${i + 1}`)
    ok += r['2xx']
    out.push({
      rps: Math.round(r.requests.average),
      p50: r.latency.p50,
      p99: r.latency.p99,
      non2xx: r.non2xx,
      errors: r.errors,
      load1: l,
      ...(await around.after()),
    })
  }
  return { runs: out, ok }
}

/** The median run by requests/s (its load1 goes with it) and the median p99 over the runs. */
function medians(results: RunResult[]): { run: RunResult; p99: number } {
  const mid = Math.floor(results.length / 2)
  return {
    run: [...results].sort((a, b) => a.rps - b.rps)[mid]!,
    p99: [...results].sort((a, b) => a.p99 - b.p99)[mid]!.p99,
  }
}

const perRun = (results: RunResult[]) => ({
  load1PerRun: results.map((r) => r.load1).join(' / '),
  requestsPerSPerRun: results.map((r) => r.rps).join(' / '),
  p99MsPerRun: results.map((r) => r.p99).join(' / '),
  non2xx: results.reduce((s, r) => s + r.non2xx, 0),
  errors: results.reduce((s, r) => s + r.errors, 0),
})

/**
 * The process's event-loop delay p99 in ms since the previous call: prom-client resets its
 * histogram on every scrape, so a scrape before a run and one after it bound that run.
 */
async function loopDelayP99Ms(): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { 'x-api-key': KEY } })
  const m = /^nodejs_eventloop_lag_p99_seconds(?:\{[^}]*\})? ([0-9.e+-]+)$/m.exec(await res.text())
  return m ? Math.round(Number(m[1]) * 10_000) / 10 : Number.NaN
}

/** Predictions not yet consumed by the monitors' group (all partitions). */
async function monitorsLag(): Promise<number> {
  const admin = createKafka(config, { clientId: 'riskstream-bench-lag' }).admin()
  await admin.connect()
  try {
    const topic = topicNames(config.topics.prefix).predictions
    const ends = await admin.fetchTopicOffsets(topic)
    const [group] = await admin.fetchOffsets({
      groupId: `${config.topics.prefix}riskstream-monitor`,
      topics: [topic],
    })
    const committed = new Map(group?.partitions.map((p) => [p.partition, Number(p.offset)]) ?? [])
    return ends.reduce((s, e) => s + Number(e.high) - Math.max(0, committed.get(e.partition) ?? 0), 0)
  } finally {
    await admin.disconnect()
  }
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const done = exited(child)
  process.kill(-child.pid!, 'SIGTERM')
  const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 15_000)
  await done
  clearTimeout(timer)
}

const model = family === 'fixture' ? 'logistic (fixture)' : `${family} (trainOnce, budget 1, 2 folds)`
const t0 = Date.now()
let server: ChildProcess | undefined
let peer: SeedPeer | undefined
let serverOut = ''
// Ctrl-C: `run all` and the peer run in process groups of their own, so end them here (the
// peer's group on exit); topics and the scratch directory are left behind.
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => {
    if (server?.pid !== undefined && server.exitCode === null)
      try {
        process.kill(-server.pid, 'SIGKILL')
      } catch {
        // already gone
      }
    process.exit(130)
  })

try {
  // Installed first, so a failing install costs no `run all` and pip never overlaps a run.
  const gunicorn = values['seed-peer'] ? await ensureSeedPeerVenv() : undefined

  const seed = run(process.execPath, ['--import', 'tsx', here, '--seed', '--family', family])
  let seedErr = ''
  seed.stderr!.on('data', (d: Buffer) => {
    seedErr += d.toString()
  })
  if ((await exited(seed)) !== 0) throw new Error(`seeding the model failed:\n${seedErr.slice(-2000)}`)
  console.log(`model ${model} registered in ${((Date.now() - t0) / 1000).toFixed(1)} s`)

  const profile = values.profile ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(values.profile)] : []
  const t1 = Date.now()
  server = run(
    process.execPath,
    [...profile, '--import', 'tsx', 'bin/riskstream.ts', 'run', ...roles],
    checkout,
  )
  const proc = server
  const started = new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      serverOut += d.toString()
      if (/running: /.test(serverOut)) resolve()
    }
    proc.stdout!.on('data', onData)
    proc.stderr!.on('data', onData)
    proc.on('exit', (code) => reject(new Error(`run all exited (${code}):\n${serverOut.slice(-3000)}`)))
  })
  await started
  console.log(
    `run ${roles.join(' ')}: started in ${((Date.now() - t1) / 1000).toFixed(1)} s; load1 ${load1()}`,
  )

  // Warm-up: scorer load, schema registration, producer metadata, JIT.
  const { runs: results } = await measure(riskstream, {
    before: loopDelayP99Ms,
    after: async () => ({
      loopP99: await loopDelayP99Ms(),
      // -1: no monitors in the process (nothing consumes the predictions there).
      lag: roles.includes('all') || roles.includes('monitors') ? await monitorsLag() : -1,
    }),
  })
  console.log(
    `POST /v1/predict against run ${roles.join(' ')}: ${connections} connections × ${duration} s, ${runs} runs (load1 at the start of each)`,
  )
  console.table(results)
  const rs = medians(results)
  const cfg = {
    topology,
    roles: roles.join(','),
    checkout: values.checkout ? checkout : 'this',
    connections,
    durationS: duration,
    runs,
    model,
    load1AtStart: rs.run.load1,
    ...perRun(results),
    monitorsLagAtEnd: results.map((r) => r.lag).join(' / '),
    eventLoopDelayP99MsPerRun: results.map((r) => r.loopP99).join(' / '),
  }
  emitResult({
    name: `api.predict.requests_per_s.${topology}`,
    value: rs.run.rps,
    unit: 'requests/s',
    config: cfg,
  })
  emitResult({ name: `api.predict.p99_ms.${topology}`, value: rs.p99, unit: 'ms', config: cfg })

  if (gunicorn) {
    await stopServer(server)
    const logFile = path.join(scratch, 'seed-peer-predictions.jsonl')
    const t2 = Date.now()
    peer = await startSeedPeer({
      gunicorn,
      port: await freePort(),
      pimaCsv: config.data.pimaCsvPath,
      logFile,
    })
    console.log(
      `seed peer (gunicorn -w ${SEED_PEER_WORKERS}): ready in ${((Date.now() - t2) / 1000).toFixed(1)} s; load1 ${load1()}`,
    )
    const peerTarget: Target = {
      url: peer.url,
      path: '/predict',
      headers: { 'content-type': 'application/json' },
    }
    const { runs: peerResults, ok } = await measure(peerTarget, { after: async () => ({}) })
    console.log(
      `POST /predict against the seed-style peer: ${connections} connections × ${duration} s, ${runs} runs (load1 at the start of each)`,
    )
    console.table(peerResults)
    const sp = medians(peerResults)
    const peerCfg = {
      peer: `flask + gunicorn -w ${SEED_PEER_WORKERS} ${SEED_PEER_WORKER_CLASS.join(' ')}, xgboost-cpu (nthread 1), a JSONL line per prediction`,
      connections,
      durationS: duration,
      runs,
      model: 'xgboost (250 rounds, depth 2: the trainer defaults)',
      order: 'after run all exited',
      load1AtStart: sp.run.load1,
      ...perRun(peerResults),
      // Predictions answered (warm-up included) and JSONL lines logged: the log may hold up to
      // `connections` more per load, the requests in flight when autocannon stopped.
      answered2xx: ok,
      loggedLines: readFileSync(logFile, 'utf8').split('\n').length - 1,
    }
    emitResult({
      name: 'api.predict.requests_per_s.seed-peer',
      value: sp.run.rps,
      unit: 'requests/s',
      config: peerCfg,
    })
    emitResult({ name: 'api.predict.p99_ms.seed-peer', value: sp.p99, unit: 'ms', config: peerCfg })
    const ratioCfg = {
      riskstream: `${topology}, ${model}`,
      peer: 'seed-peer',
      connections,
      durationS: duration,
      runs,
      requestsPerS: `${rs.run.rps} / ${sp.run.rps}`,
      p99Ms: `${rs.p99} / ${sp.p99}`,
      load1AtStart: `${rs.run.load1} / ${sp.run.load1}`,
    }
    emitResult({
      name: `api.predict.throughput_ratio.${topology}_vs_seed-peer`,
      value: rs.run.rps / sp.run.rps,
      unit: 'ratio',
      config: ratioCfg,
    })
    emitResult({
      name: `api.predict.p99_ratio.${topology}_vs_seed-peer`,
      value: rs.p99 / sp.p99,
      unit: 'ratio',
      config: ratioCfg,
    })
  }
} finally {
  if (server) await stopServer(server)
  await peer?.stop()
  const admin = createKafka(config, { clientId: 'riskstream-bench-cleanup' }).admin()
  await admin.connect()
  await admin.deleteTopics({ topics: topicSpecs(config).map((t) => t.topic) }).catch(() => undefined)
  await admin.disconnect()
  rmSync(scratch, { recursive: true, force: true })
}
