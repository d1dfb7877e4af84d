/**
 * Memory of each role at steady state, for docs/sizing.md: `riskstream run inference`,
 * `run monitors`, `run api` and `run trainer`, each its own process on the shared stack (its own
 * topic prefix), under a steady load of prediction requests for --duration seconds; the resident
 * set (VmRSS in /proc/<pid>/status) of every process is sampled every 2 s.
 *
 *   npx tsx bench/sizing-rss.bench.ts [--rate 500] [--duration 60]
 *
 * Embedded chDB admits one process per data directory, so the monitors, the API and the trainer
 * each open a copy of the directory prepared here (migrated, one trained production model);
 * inference opens none. The API gets one dashboard poll a second and the requests' load goes
 * through bench/lib/load.ts (a separate process), as in bench/e2e.bench.ts. No labels are sent:
 * the trainer idles at steady state (its retrain is measured in bench/sizing.bench.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { childEnv, configWith } from '../lib/config/index.ts'
import { topicSpecs } from '../lib/kafka/index.ts'
import { closeDeps, createDeps, prepare } from '../lib/runtime/index.ts'
import { trainOnce } from '../trainer/index.ts'
import { runScript } from './lib/child.ts'
import { emitResult, percentiles } from './lib/results.ts'

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '500' },
    duration: { type: 'string', default: '60' },
  },
})
const rate = Number(values.rate)
const durationS = Number(values.duration)
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const ROLES = ['inference', 'monitors', 'api', 'trainer'] as const
type Role = (typeof ROLES)[number]
const load1 = (): number => Math.round(loadavg()[0]! * 100) / 100
const say = (m: string) => console.log(`[rss] ${m}`)

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

/** Resident set and its peak in MiB, from /proc (Linux). */
function rssOf(pid: number): { rss: number; hwm: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN)
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 }
  } catch {
    return null
  }
}

const prefix = `bench-rss-${Date.now().toString(36)}.`
const work = mkdtempSync(path.join(tmpdir(), 'riskstream-rss-'))
const dirs: Record<Role, string> = {
  inference: path.join(work, 'unused'),
  monitors: path.join(work, 'chdb-monitors'),
  api: path.join(work, 'chdb-api'),
  trainer: path.join(work, 'chdb-trainer'),
}
const base = { TOPIC_PREFIX: prefix, LOG_LEVEL: 'warn', AUTO_RETRAIN_ENABLED: 'false' }
const config = configWith({ ...base, CLICKHOUSE_PATH: dirs.monitors })
const children = new Map<Role, ChildProcess>()

try {
  say(`preparing ${prefix}* and a trained model (load ${load1()})`)
  const deps = await createDeps(config, { clientId: 'riskstream-bench-rss' })
  try {
    await prepare(deps)
    const trained = await trainOnce(deps, {
      trigger: 'bench',
      reason: 'sizing rss benchmark model',
      families: ['xgboost'],
      budget: 1,
      folds: 2,
      includeStreamed: false,
    })
    if (trained.stage !== 'production') throw new Error(`model not promoted: ${trained.stage}`)
  } finally {
    await closeDeps(deps)
  }
  cpSync(dirs.monitors, dirs.api, { recursive: true })
  cpSync(dirs.monitors, dirs.trainer, { recursive: true })

  const apiPort = await freePort()
  for (const role of ROLES) {
    const env = childEnv({
      ...base,
      CLICKHOUSE_PATH: dirs[role],
      API_PORT: String(apiPort),
      API_READ_OPEN: 'true',
      API_CACHE_TTL_MS: '0',
    })
    delete env.METRICS_PORT
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'bin/riskstream.ts'), 'run', role],
      {
        cwd: ROOT,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    children.set(role, child)
    let stderr = ''
    child.stderr!.on('data', (b: Buffer) => {
      stderr = (stderr + b.toString()).slice(-2000)
    })
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${role} not running after 180 s: ${stderr}`)), 180_000)
      child.stdout!.on('data', (b: Buffer) => {
        if (b.toString().includes('running:')) {
          clearTimeout(timer)
          resolve()
        }
      })
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`${role} exited with ${code}: ${stderr}`))
      })
    })
    say(`${role}: running, pid ${child.pid}, RSS ${rssOf(child.pid!)?.rss.toFixed(0)} MiB`)
  }

  const idle = Object.fromEntries(ROLES.map((r) => [r, rssOf(children.get(r)!.pid!)?.rss ?? Number.NaN]))
  const samples = new Map<Role, number[]>(ROLES.map((r) => [r, []]))
  const startLoad = load1()
  const t0 = Date.now()
  const sampler = setInterval(() => {
    for (const r of ROLES) {
      const m = rssOf(children.get(r)!.pid!)
      if (m) samples.get(r)!.push(m.rss)
    }
  }, 2000)
  let polls = 0
  let pollErrors = 0
  const poller = setInterval(() => {
    fetch(`http://127.0.0.1:${apiPort}/v1/dashboard/summary?hours=24`)
      .then((r) => (r.ok ? polls++ : pollErrors++))
      .catch(() => pollErrors++)
  }, 1000)
  say(`load: ${rate} requests/s for ${durationS} s (load average ${startLoad})`)
  const loadRun = await runScript(
    path.join(ROOT, 'bench/lib/load.ts'),
    [
      '--prefix',
      prefix,
      '--mode',
      'rate',
      '--rate',
      String(rate),
      '--duration',
      String(durationS),
      '--tag',
      'rss',
    ],
    { timeoutMs: (durationS + 120) * 1000, env: { LOG_LEVEL: 'warn' } },
  )
  clearInterval(sampler)
  clearInterval(poller)
  const elapsedS = (Date.now() - t0) / 1000
  if (loadRun.code !== 0) throw new Error(`load generator failed: ${loadRun.stderr.slice(-500)}`)
  const endLoad = load1()

  const rows: Record<string, unknown>[] = []
  for (const r of ROLES) {
    const xs = samples.get(r)!
    const steady = xs.slice(Math.floor(xs.length / 2)) // the second half of the load
    const { values: v, max } = percentiles(steady, [50])
    const peak = rssOf(children.get(r)!.pid!)?.hwm ?? Number.NaN
    emitResult({
      name: `sizing.rss_mb.${r}`,
      value: v[0]!,
      unit: 'MiB',
      config: {
        role: r,
        process: `riskstream run ${r}`,
        stat: 'median RSS over the second half of the load',
        rate,
        durationS,
        idleMiB: Math.round(idle[r]!),
        maxSampledMiB: Math.round(max),
        peakHwmMiB: Math.round(peak),
        load1: startLoad,
        load1AtEnd: endLoad,
      },
    })
    rows.push({
      role: r,
      'idle MiB': Math.round(idle[r]!),
      'steady MiB (median)': Math.round(v[0]!),
      'max sampled MiB': Math.round(max),
      'peak (VmHWM) MiB': Math.round(peak),
    })
  }
  console.table(rows)
  say(
    `${rate} requests/s × ${durationS} s (${elapsedS.toFixed(0)} s with start-up), dashboard polls ${polls} ok / ${pollErrors} failed, ` +
      `load average ${startLoad} → ${endLoad}; load generator: ${loadRun.stdout.trim().split('\n').pop()?.slice(0, 300)}`,
  )
} finally {
  for (const [role, child] of children) {
    if (child.exitCode !== null) continue
    const exited = new Promise((r) => child.once('exit', r))
    child.kill('SIGTERM')
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))])
    if (child.exitCode === null) {
      say(`${role} did not stop in 15 s: SIGKILL`)
      child.kill('SIGKILL')
    }
  }
  const cleanup = await createDeps(configWith({ ...base, CLICKHOUSE_PATH: dirs.monitors }), {
    clientId: 'riskstream-bench-rss-cleanup',
    clickhouse: false,
  })
  const admin = cleanup.kafka.admin()
  await admin.connect()
  await admin.deleteTopics({ topics: topicSpecs(cleanup.config).map((t) => t.topic) }).catch(() => undefined)
  await admin.disconnect()
  await closeDeps(cleanup)
  rmSync(work, { recursive: true, force: true })
}
process.exit(0)
