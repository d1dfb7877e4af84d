/**
 * The metrics of a process as a Service: registers the roles' metrics on the process registry
 * and, when METRICS_PORT is set, serves them on /metrics. Started before the roles and stopped
 * after them, so a scrape during shutdown still answers.
 */
import type { Registry } from 'prom-client'
import type { Deps, Service } from '../runtime/index.ts'
import { createRoleMetrics, type RoleMetrics } from './collect.ts'
import { type MetricsServer, serveMetrics } from './server.ts'

export interface MetricsService extends Service {
  /** The /metrics server's base URL once started (undefined without METRICS_PORT). */
  url(): string | undefined
}

export function createMetricsService(
  deps: Deps,
  roles: readonly string[],
  registry: Registry,
): MetricsService {
  let metrics: RoleMetrics | undefined
  let server: MetricsServer | undefined
  return {
    name: 'metrics',
    async start() {
      metrics ??= createRoleMetrics(deps, roles, registry)
      const { host, port } = deps.config.metrics
      if (port !== undefined && !server) {
        server = await serveMetrics(registry, host, port)
        deps.log.info({ url: `${server.url}/metrics` }, 'metrics listening')
      }
    },
    async stop() {
      const s = server
      server = undefined
      await s?.close()
      await metrics?.close()
    },
    url: () => server?.url,
  }
}
