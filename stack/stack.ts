/**
 * Local stack: Kafka (KRaft) + Apicurio Registry, natively (JVM processes, no Docker engine
 * needed: the path CI uses) or through docker compose. Natively ClickHouse is embedded in-process
 * (chDB) unless a server URL is configured, so it is only reported on, never started. In docker mode
 * the stack starts a ClickHouse server (unless CLICKHOUSE_URL names one) and hands it to the roles
 * (stack/endpoints.ts).
 */
import { dockerAvailable, dockerDown, dockerPs, dockerStart, dockerStop, dockerUp } from './docker.ts'
import { type StackEndpoints, stackEndpoints } from './endpoints.ts'
import {
  nativeDown,
  startKafka as nativeStartKafka,
  stopKafka as nativeStopKafka,
  nativeUp,
  runningPid,
} from './native.ts'
import { kafkaBrokers, registryBaseUrl, registryCcompatUrl, type StackOptions } from './options.ts'
import { isClickHouseUp, isKafkaUp, isRegistryUp, setRegistryCompatibility } from './probe.ts'

export { type StackEndpoints, stackEndpoints, withStackEndpoints } from './endpoints.ts'
export type { StackMode, StackOptions } from './options.ts'
export { kafkaBrokers, registryCcompatUrl, STACK_DEFAULTS } from './options.ts'
export { isClickHouseUp, isKafkaUp, isRegistryUp, setRegistryCompatibility }

export type ResolvedMode = 'native' | 'docker'

export interface ServiceStatus {
  name: 'kafka' | 'registry' | 'clickhouse'
  state: 'up' | 'down' | 'embedded'
  address: string
  /** Native pid, or the container name in docker mode. */
  pid?: number | string
}

export interface StackStatus {
  mode: ResolvedMode
  services: ServiceStatus[]
  /** False when any service is down (embedded ClickHouse counts as up). */
  ok: boolean
}

/** `auto` means docker when a Docker engine answers, else native. */
export async function resolveMode(opts: StackOptions): Promise<ResolvedMode> {
  if (opts.mode === 'native') return 'native'
  const docker = await dockerAvailable()
  if (opts.mode === 'docker' && !docker) {
    throw new Error('stack mode "docker" requested but `docker info` does not answer')
  }
  return docker ? 'docker' : 'native'
}

/** What `stackUp` started: its mode, and the endpoints the roles beside it must use. */
export interface StackUp {
  mode: ResolvedMode
  endpoints: StackEndpoints
}

/**
 * Starts Kafka and the registry (and, in docker mode, the ClickHouse server) and returns once they
 * answer, with the endpoints to hand to the roles (`withStackEndpoints`). Harmless when already up.
 */
export async function stackUp(opts: StackOptions): Promise<StackUp> {
  const mode = await resolveMode(opts)
  const endpoints = stackEndpoints(opts, mode)
  const t0 = Date.now()
  opts.log(`stack: up (${mode}), data in ${opts.dataDir}`)
  if (mode === 'docker') {
    await dockerUp(opts)
    await setRegistryCompatibility(opts, 'BACKWARD')
  } else {
    await nativeUp(opts)
  }
  opts.log(
    `stack: up in ${Date.now() - t0} ms: KAFKA_BROKERS=${kafkaBrokers(opts)} SCHEMA_REGISTRY_URL=${registryCcompatUrl(opts)}${
      endpoints.clickhouse
        ? ` CLICKHOUSE_URL=${endpoints.clickhouse.url} (user ${endpoints.clickhouse.username}, API user ${endpoints.clickhouse.api.username})`
        : ''
    }`,
  )
  return { mode, endpoints }
}

/**
 * The endpoints of the stack this configuration runs beside, for a process that did not start it
 * (`riskstream run`): none when CLICKHOUSE_URL is set or the stack is native; in docker mode, its
 * ClickHouse server.
 */
export async function runningStackEndpoints(opts: StackOptions): Promise<StackEndpoints> {
  if (opts.clickhouseUrl || opts.mode === 'native') return {}
  return stackEndpoints(opts, await resolveMode(opts))
}

/** Stops everything this stack started (SIGTERM, then SIGKILL after a grace period). No-op when down. */
export async function stackDown(opts: StackOptions): Promise<void> {
  const mode = await resolveMode(opts)
  opts.log(`stack: down (${mode})`)
  if (mode === 'docker') await dockerDown(opts)
  else await nativeDown(opts)
}

/** Probes every service, logs one line each, and returns the result (ok=false if any is down). */
export async function stackStatus(opts: StackOptions): Promise<StackStatus> {
  const mode = await resolveMode(opts)
  const containers = mode === 'docker' ? await dockerPs(opts).catch(() => new Map()) : new Map()
  const ident = (name: 'kafka' | 'registry' | 'clickhouse'): number | string | undefined =>
    mode === 'docker'
      ? containers.get(name)?.name
      : name === 'clickhouse'
        ? undefined
        : runningPid(opts, name)
  // The server the roles use: CLICKHOUSE_URL's, or the one the docker stack runs.
  const chUrl = opts.clickhouseUrl ?? stackEndpoints(opts, mode).clickhouse?.url
  const [kafkaUp, registryUp, chUp] = await Promise.all([
    isKafkaUp(opts),
    isRegistryUp(opts),
    chUrl ? isClickHouseUp(chUrl) : Promise.resolve(true),
  ])
  const services: ServiceStatus[] = [
    { name: 'kafka', state: kafkaUp ? 'up' : 'down', address: kafkaBrokers(opts), pid: ident('kafka') },
    {
      name: 'registry',
      state: registryUp ? 'up' : 'down',
      address: registryBaseUrl(opts),
      pid: ident('registry'),
    },
    chUrl
      ? {
          name: 'clickhouse',
          state: chUp ? 'up' : 'down',
          address: chUrl,
          pid: opts.clickhouseUrl ? undefined : ident('clickhouse'),
        }
      : { name: 'clickhouse', state: 'embedded', address: 'chDB (in-process)' },
  ]
  for (const s of services) {
    if (s.state === 'embedded') {
      opts.log('clickhouse: embedded (chDB)')
      continue
    }
    const who = s.pid === undefined ? '-' : mode === 'docker' ? `container ${s.pid}` : `pid ${s.pid}`
    opts.log(`${s.name}: ${s.state} ${s.address} ${who}`)
  }
  return { mode, services, ok: services.every((s) => s.state !== 'down') }
}

// ------------------------------------------------ broker control for the reliability tests

/** Stops the broker (graceful SIGTERM, SIGKILL after 30 s). Clients see it go away. */
export async function stopKafka(opts: StackOptions): Promise<void> {
  if ((await resolveMode(opts)) === 'docker') await dockerStop(opts, 'kafka')
  else await nativeStopKafka(opts)
}

/** Starts the broker on its existing data and returns once it answers metadata requests. */
export async function startKafka(opts: StackOptions): Promise<void> {
  if ((await resolveMode(opts)) === 'docker') await dockerStart(opts, 'kafka')
  else await nativeStartKafka(opts)
}
