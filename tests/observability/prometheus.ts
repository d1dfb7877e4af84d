/**
 * A real Prometheus for tests: Debian's `prometheus` binary (PROMETHEUS_PATH, PATH or
 * /usr/bin/prometheus) started on a free local port with a generated configuration and its own
 * temporary TSDB, like the native stack starts Kafka. `query` runs PromQL over the HTTP API.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { waitFor } from '../helpers/index.ts'

export const PROMETHEUS_INSTALL = 'apt-get install -y prometheus'

/** A binary of the Debian package: `prometheus` or `promtool`. */
export function prometheusBinary(name: 'prometheus' | 'promtool'): string {
  const env = name === 'prometheus' ? process.env.PROMETHEUS_PATH : process.env.PROMTOOL_PATH
  if (env && existsSync(env)) return env
  const which = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' })
  const found = which.stdout.trim()
  if (which.status === 0 && found) return found
  if (existsSync(`/usr/bin/${name}`)) return `/usr/bin/${name}`
  throw new Error(`${name} not found: install it with \`${PROMETHEUS_INSTALL}\``)
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })
}

export interface PromSample {
  metric: Record<string, string>
  value: [number, string]
}

export interface Prometheus {
  url: string
  /** Instant PromQL query; throws on a query error. */
  query(promql: string): Promise<PromSample[]>
  /** Targets' health as Prometheus sees it. */
  targets(): Promise<{ health: string; lastError: string; scrapeUrl: string }[]>
  stop(): Promise<void>
  logs(): string
}

export async function startPrometheus(opts: {
  targets: string[]
  scrapeIntervalS?: number
  job?: string
}): Promise<Prometheus> {
  const bin = prometheusBinary('prometheus')
  const dir = mkdtempSync(path.join(tmpdir(), 'riskstream-prometheus-'))
  const port = await freePort()
  const interval = opts.scrapeIntervalS ?? 1
  const config = [
    'global:',
    `  scrape_interval: ${interval}s`,
    `  scrape_timeout: ${interval}s`,
    `  evaluation_interval: ${interval}s`,
    'scrape_configs:',
    `  - job_name: ${opts.job ?? 'riskstream'}`,
    '    static_configs:',
    `      - targets: [${opts.targets.map((t) => `'${t}'`).join(', ')}]`,
    '',
  ].join('\n')
  writeFileSync(path.join(dir, 'prometheus.yml'), config)
  let output = ''
  const child: ChildProcess = spawn(
    bin,
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  child.stdout!.on('data', (d: Buffer) => {
    output += d.toString()
  })
  child.stderr!.on('data', (d: Buffer) => {
    output += d.toString()
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const url = `http://127.0.0.1:${port}`
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`prometheus exited: ${output.slice(-2000)}`)
      const r = await fetch(`${url}/-/ready`).catch(() => undefined)
      return r?.ok === true
    },
    { timeoutMs: 60_000, intervalMs: 200, message: 'prometheus ready' },
  )
  const api = async <T>(p: string): Promise<T> => {
    const res = await fetch(`${url}${p}`)
    const body = (await res.json()) as { status: string; data: T; error?: string }
    if (body.status !== 'success') throw new Error(`prometheus ${p}: ${body.error}`)
    return body.data
  }
  return {
    url,
    query: async (promql) =>
      (await api<{ result: PromSample[] }>(`/api/v1/query?query=${encodeURIComponent(promql)}`)).result,
    targets: async () =>
      (
        await api<{ activeTargets: { health: string; lastError: string; scrapeUrl: string }[] }>(
          '/api/v1/targets',
        )
      ).activeTargets,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM')
        await exited
      }
      rmSync(dir, { recursive: true, force: true })
    },
    logs: () => output,
  }
}
