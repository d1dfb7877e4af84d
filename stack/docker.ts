/**
 * Docker path: the same services from docker-compose.yml at the repo root, for machines with a
 * Docker engine. Only the infrastructure services are started here; the project's roles
 * (inference, monitors, trainer, api) run from the host with the ClickHouse server handed to them
 * (stack/endpoints.ts), or via `docker compose up` by hand.
 */
import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { childEnv } from '../lib/config/index.ts'
import { RiskStreamError } from '../lib/errors/index.ts'
import { DOCKER_CLICKHOUSE, dockerClickHousePasswords, stackRunsClickHouse } from './endpoints.ts'
import type { StackOptions } from './options.ts'

const COMPOSE_FILE = join(dirname(fileURLToPath(import.meta.url)), '..', 'docker-compose.yml')
export const INFRA_SERVICES = ['kafka', 'registry', 'clickhouse'] as const
export type InfraService = (typeof INFRA_SERVICES)[number]

interface Result {
  status: number | null
  stdout: string
  stderr: string
}

/**
 * Variables docker-compose.yml reads: host ports from the stack options, and the ClickHouse port
 * and passwords set explicitly, so the server and the roles it is handed to agree.
 */
export function composeEnv(opts: StackOptions): Record<string, string> {
  const pw = dockerClickHousePasswords(opts)
  return {
    KAFKA_PORT: String(opts.kafkaPort),
    REGISTRY_PORT: String(opts.registryPort),
    CLICKHOUSE_HTTP_PORT: String(DOCKER_CLICKHOUSE.httpPort),
    CLICKHOUSE_PASSWORD: pw.password,
    CLICKHOUSE_API_PASSWORD: pw.api,
  }
}

function docker(args: string[], opts?: StackOptions, timeoutMs = 300_000): Promise<Result> {
  return new Promise((resolve) => {
    const env = childEnv(opts ? composeEnv(opts) : {})
    const child = spawn('docker', args, { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => {
      stdout += d
    })
    child.stderr.on('data', (d) => {
      stderr += d
    })
    child.on('error', (err) => resolve({ status: null, stdout, stderr: stderr + err.message }))
    child.on('close', (status) => resolve({ status, stdout, stderr }))
  })
}

/** True when a Docker engine answers (not merely when the CLI is installed). */
export async function dockerAvailable(): Promise<boolean> {
  const r = await docker(['info', '--format', '{{.ServerVersion}}'], undefined, 10_000)
  return r.status === 0 && r.stdout.trim().length > 0
}

async function compose(opts: StackOptions, args: string[], what: string): Promise<string> {
  opts.log(`docker: docker compose ${args.join(' ')}`)
  const r = await docker(['compose', '-f', COMPOSE_FILE, ...args], opts)
  if (r.status !== 0) {
    throw new RiskStreamError(
      'STACK_FAILED',
      `${what} failed (exit ${r.status}): ${r.stderr.trim().slice(-2000)}`,
    )
  }
  return r.stdout
}

/** The services `stack up` starts in docker mode: no ClickHouse server when CLICKHOUSE_URL names one. */
export function dockerServicesToStart(opts: Pick<StackOptions, 'clickhouseUrl'>): InfraService[] {
  return stackRunsClickHouse(opts, 'docker') ? [...INFRA_SERVICES] : ['kafka', 'registry']
}

export async function dockerUp(
  opts: StackOptions,
  services: readonly InfraService[] = dockerServicesToStart(opts),
): Promise<void> {
  // --wait returns once every healthcheck passes, so "up" means "answers" here too.
  await compose(opts, ['up', '-d', '--wait', ...services], 'docker compose up')
}

export async function dockerDown(opts: StackOptions): Promise<void> {
  await compose(opts, ['down'], 'docker compose down')
}

export async function dockerStop(opts: StackOptions, service: InfraService): Promise<void> {
  await compose(opts, ['stop', service], `docker compose stop ${service}`)
}

export async function dockerStart(opts: StackOptions, service: InfraService): Promise<void> {
  await compose(opts, ['up', '-d', '--wait', service], `docker compose up ${service}`)
}

/** Container state per compose service (e.g. "running", "exited"); missing ones are absent. */
export async function dockerPs(opts: StackOptions): Promise<Map<string, { state: string; name: string }>> {
  const out = await compose(opts, ['ps', '--all', '--format', 'json'], 'docker compose ps')
  const rows: Array<{ Service?: string; State?: string; Name?: string }> = []
  // Compose v2 prints one JSON object per line (newer) or one JSON array (older).
  const text = out.trim()
  if (text.startsWith('[')) rows.push(...JSON.parse(text))
  else for (const line of text.split('\n').filter(Boolean)) rows.push(JSON.parse(line))
  return new Map(rows.map((r) => [r.Service ?? '', { state: r.State ?? 'unknown', name: r.Name ?? '' }]))
}
