/**
 * Local stack: Kafka (KRaft) + Apicurio Registry, natively (JVM processes, no Docker engine
 * needed: the path CI uses) or through docker compose. ClickHouse is embedded in-process (chDB)
 * unless a server URL is configured, so it is only reported on, never started natively.
 */
import { dockerAvailable, dockerDown, dockerPs, dockerStart, dockerStop, dockerUp } from './docker.ts'
import {
  nativeDown,
  startKafka as nativeStartKafka,
  stopKafka as nativeStopKafka,
  nativeUp,
  runningPid,
} from './native.ts'
import { kafkaBrokers, registryBaseUrl, registryCcompatUrl, type StackOptions } from './options.ts'
import { isClickHouseUp, isKafkaUp, isRegistryUp, setRegistryCompatibility } from './probe.ts'

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

/** Starts Kafka and the registry and returns once both answer. Harmless when already up. */
export async function stackUp(opts: StackOptions): Promise<ResolvedMode> {
  const mode = await resolveMode(opts)
  const t0 = Date.now()
  opts.log(`stack: up (${mode}), data in ${opts.dataDir}`)
  if (mode === 'docker') {
    await dockerUp(opts)
    await setRegistryCompatibility(opts, 'BACKWARD')
  } else {
    await nativeUp(opts)
  }
  opts.log(
    `stack: up in ${Date.now() - t0} ms: KAFKA_BROKERS=${kafkaBrokers(opts)} SCHEMA_REGISTRY_URL=${registryCcompatUrl(opts)}`,
  )
  return mode
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
  const ident = (name: 'kafka' | 'registry'): number | string | undefined =>
    mode === 'docker' ? containers.get(name)?.name : runningPid(opts, name)
  const [kafkaUp, registryUp, chUp] = await Promise.all([
    isKafkaUp(opts),
    isRegistryUp(opts),
    opts.clickhouseUrl ? isClickHouseUp(opts.clickhouseUrl) : Promise.resolve(true),
  ])
  const services: ServiceStatus[] = [
    { name: 'kafka', state: kafkaUp ? 'up' : 'down', address: kafkaBrokers(opts), pid: ident('kafka') },
    {
      name: 'registry',
      state: registryUp ? 'up' : 'down',
      address: registryBaseUrl(opts),
      pid: ident('registry'),
    },
    opts.clickhouseUrl
      ? { name: 'clickhouse', state: chUp ? 'up' : 'down', address: opts.clickhouseUrl }
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
