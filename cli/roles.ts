/**
 * Composition of the roles in one process. The order matters on start-up: monitors and the
 * trainer first (they consume what inference produces), inference once a model is loaded,
 * the API last (it reports the others' readiness). Shutdown runs in reverse.
 */
import { Registry } from 'prom-client'
import type { Config } from '../lib/config/index.ts'
import { activeLock, campaign, createKafka, type Leadership } from '../lib/kafka/index.ts'
import { getLogger } from '../lib/log/index.ts'
import { createMetricsService } from '../lib/metrics/index.ts'
import type { Deps, Service } from '../lib/runtime/index.ts'
import { createInferenceService } from '../processors/inference/index.ts'
import { createMonitorService } from '../processors/monitors/index.ts'
import { createTrainerService, type TrainerServiceOptions } from '../trainer/index.ts'

export const ROLES = ['monitors', 'trainer', 'inference', 'api'] as const
export type Role = (typeof ROLES)[number]

export interface StartOptions {
  say?: (msg: string) => void
  /** One Prometheus registry shared by the roles so the API's /metrics shows them all. */
  metrics?: Registry
  trainer?: TrainerServiceOptions
}

export async function startRoles(
  deps: Deps,
  roles: readonly Role[],
  options: StartOptions = {},
): Promise<Service[]> {
  const metrics = options.metrics ?? new Registry()
  const started: Service[] = []
  const ordered = ROLES.filter((r) => roles.includes(r))
  // Prometheus metrics of these roles, served on METRICS_PORT (when set) from before the first
  // role starts, so a scrape sees the lag start-up works off: lib/metrics.
  const observed = createMetricsService(deps, ordered, metrics)
  await observed.start()
  try {
    for (const role of ordered) {
      const service = await createRole(deps, role, metrics, options)
      await service.start()
      started.push(service)
      options.say?.(`${role}: started`)
    }
    started.push(observed) // listed last, so stopped first
    return started
  } catch (err) {
    for (const s of [...started.reverse(), observed]) await s.stop().catch(() => {})
    throw err
  }
}

/**
 * Whether a process running `roles` opens ClickHouse. Inference alone does not: it reads its
 * model versions, artifacts inline, from the compacted model-versions topic, so inference
 * processes can be added without touching the warehouse (embedded chDB admits one process).
 */
export const usesClickHouse = (roles: readonly Role[]): boolean => roles.some((r) => r !== 'inference')

async function createRole(
  deps: Deps,
  role: Role,
  metrics: Registry,
  options: StartOptions,
): Promise<Service> {
  switch (role) {
    case 'monitors':
      return createMonitorService(deps)
    case 'trainer':
      return createTrainerService(deps, options.trainer)
    case 'inference':
      return createInferenceService(deps, { metricsRegistry: metrics })
    case 'api': {
      const { createApiService } = await import('../api/index.ts')
      // The API's metrics join the process registry (served on API_PORT and METRICS_PORT); the
      // process metrics (process_*, nodejs_*) are collected on it once, by lib/metrics.
      return createApiService(
        { ...deps, metricsRegistries: [metrics] },
        { defaultMetrics: false, metricsRegistry: metrics },
      )
    }
  }
}

/**
 * The monitors run as ONE active process per deployment (topic prefix): their window state
 * lives in the process, so two active ones would each see part of the traffic and write
 * partial windows under the same keys. A process with the monitors role joins a Kafka election
 * (lib/kafka/leader.ts) before it opens ClickHouse (embedded chDB admits one process per data
 * directory) and waits as a standby until it is the active one: when the active process dies
 * (its session expires) or stops (it leaves the group), the standby takes over from the
 * monitors' last checkpoint. An active process that loses the election (its membership
 * expired while it was alive) exits at once: another one is writing now.
 */
export async function monitorsLeadership(
  config: Readonly<Config>,
  say: (msg: string) => void,
): Promise<Leadership> {
  const lock = activeLock(config.topics.prefix, 'monitors')
  const log = getLogger('cli')
  const leadership = await campaign(createKafka(config, { clientId: `${config.kafka.clientId}-active` }), {
    ...lock,
    replicationFactor: config.topics.replicationFactor,
    log,
    onLost: (why) => {
      log.error({ groupId: lock.groupId }, `no longer the active monitors process: ${why}; exiting`)
      process.exit(1)
    },
  })
  if (!leadership.isActive()) say('monitors: standby, waiting for the active monitors process to stop')
  return leadership
}
