/**
 * POST /v1/predict against `riskstream run all` (the default all-in-one topology: monitors,
 * trainer, inference and API in one process on embedded chDB), so the monitors process the
 * same traffic the API publishes. autocannon at --connections, --runs runs of --duration s
 * each after a warm-up; every request a different Pima-like row. Reports the median run's
 * requests/s and p99, each run with the load average at its start, and the monitors' lag on
 * the predictions topic at the end of each run (they kept up when it is small) and the
 * process's event-loop delay p99 during each run.
 *
 *   npx tsx bench/api-all-in-one.bench.ts [--duration 20] [--runs 3] [--connections 20]
 *        [--checkout <dir>]   measure another checkout's `run all` (e.g. a git worktree of an
 *                             older commit) with the same load, in the same sitting
 *        [--profile <dir>]    V8 CPU profile of the `run all` process
 *        [--roles api,inference]  other roles in the process instead of all (results named
 *                             after them, e.g. api.predict.p99_ms.api-inference): what the
 *                             monitors and the trainer cost the API
 *
 * Its own topic prefix (deleted afterwards) and a throw-away chDB directory; the model is a
 * fixture (logistic) registered by a short child before `run all` opens the same directory.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import { childEnv, configWith, REPO_ROOT } from '../lib/config/index.ts'
import { createKafka, topicNames, topicSpecs } from '../lib/kafka/index.ts'
import { createRegistry } from '../lib/registry/index.ts'
import { closeDeps, createDeps, prepare } from '../lib/runtime/index.ts'
import { linearArtifact } from '../tests/lib/registry/fixtures.ts'
import { emitResult } from './lib/results.ts'

const { values } = parseArgs({
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
    // Internal: the child that registers the model in the chDB directory, then exits.
    seed: { type: 'boolean', default: false },
  },
})

const KEY = 'bench-key-0123456789'
const load1 = () => Math.round(loadavg()[0]! * 100) / 100

if (values.seed) {
  // Env from the parent: the same prefix, chDB path and model name `run all` will use.
  const deps = await createDeps(configWith({}))
  try {
    await prepare(deps)
    await createRegistry(deps).register(linearArtifact(deps.config.model.name), {
      stage: 'production',
      runId: 'bench',
      reason: 'bench',
    })
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

let counter = 0
function load(seconds: number, title: string): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `http://127.0.0.1:${port}`,
        connections,
        duration: seconds,
        title,
        requests: [
          {
            method: 'POST',
            path: '/v1/predict',
            headers: { 'content-type': 'application/json', 'x-api-key': KEY },
            setupRequest: (req) => ({ ...req, body: body(counter++) }),
          },
        ],
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    )
  })
}

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

const t0 = Date.now()
let server: ChildProcess | undefined
let serverOut = ''
try {
  const seed = run(process.execPath, ['--import', 'tsx', here, '--seed'])
  let seedErr = ''
  seed.stderr!.on('data', (d: Buffer) => {
    seedErr += d.toString()
  })
  if ((await exited(seed)) !== 0) throw new Error(`seeding the model failed:\n${seedErr.slice(-2000)}`)

  const profile = values.profile ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(values.profile)] : []
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
    `run ${roles.join(' ')}: started in ${((Date.now() - t0) / 1000).toFixed(1)} s; load1 ${load1()}`,
  )

  // Warm-up: scorer load, schema registration, producer metadata, JIT.
  await load(warmupS, 'warm-up')
  const results: {
    rps: number
    p50: number
    p99: number
    non2xx: number
    errors: number
    load1: number
    loopP99: number
    lag: number
  }[] = []
  for (let i = 0; i < runs; i++) {
    const l = load1()
    await loopDelayP99Ms()
    const r = await load(duration, `run ${i + 1}`)
    const loopP99 = await loopDelayP99Ms()
    // -1: no monitors in the process (nothing consumes the predictions there).
    const lag = roles.includes('all') || roles.includes('monitors') ? await monitorsLag() : -1
    results.push({
      rps: Math.round(r.requests.average),
      p50: r.latency.p50,
      p99: r.latency.p99,
      non2xx: r.non2xx,
      errors: r.errors,
      load1: l,
      loopP99,
      lag,
    })
  }
  console.log(
    `POST /v1/predict against run ${roles.join(' ')}: ${connections} connections × ${duration} s, ${runs} runs (load1 at the start of each)`,
  )
  console.table(results)
  const byRps = [...results].sort((a, b) => a.rps - b.rps)
  const median = byRps[Math.floor(byRps.length / 2)]!
  const medianP99 = [...results].sort((a, b) => a.p99 - b.p99)[Math.floor(results.length / 2)]!.p99
  const cfg = {
    topology,
    roles: roles.join(','),
    checkout: values.checkout ? checkout : 'this',
    connections,
    durationS: duration,
    runs,
    model: 'logistic (fixture)',
    load1AtStart: median.load1,
    load1PerRun: results.map((r) => r.load1).join(' / '),
    requestsPerSPerRun: results.map((r) => r.rps).join(' / '),
    p99MsPerRun: results.map((r) => r.p99).join(' / '),
    non2xx: results.reduce((s, r) => s + r.non2xx, 0),
    errors: results.reduce((s, r) => s + r.errors, 0),
    monitorsLagAtEnd: results.map((r) => r.lag).join(' / '),
    eventLoopDelayP99MsPerRun: results.map((r) => r.loopP99).join(' / '),
  }
  emitResult({
    name: `api.predict.requests_per_s.${topology}`,
    value: median.rps,
    unit: 'requests/s',
    config: cfg,
  })
  emitResult({ name: `api.predict.p99_ms.${topology}`, value: medianP99, unit: 'ms', config: cfg })
} finally {
  if (server && server.exitCode === null) {
    const done = exited(server)
    process.kill(-server.pid!, 'SIGTERM')
    const timer = setTimeout(() => process.kill(-server!.pid!, 'SIGKILL'), 15_000)
    await done
    clearTimeout(timer)
  }
  const admin = createKafka(config, { clientId: 'riskstream-bench-cleanup' }).admin()
  await admin.connect()
  await admin.deleteTopics({ topics: topicSpecs(config).map((t) => t.topic) }).catch(() => undefined)
  await admin.disconnect()
  rmSync(scratch, { recursive: true, force: true })
}
