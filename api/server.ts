/**
 * The API as a Service: listens on config.api.host/port on start(), and on stop() stops
 * accepting connections, lets in-flight requests finish (Fastify's close) and releases what
 * buildApp opened. Deps themselves belong to the caller (closeDeps in the entry's finally).
 */
import type { FastifyInstance } from 'fastify'
import { getLogger } from '../lib/log/index.ts'
import type { Service } from '../lib/runtime/index.ts'
import { type ApiDeps, type BuildAppOptions, buildApp } from './app.ts'

export interface ApiService extends Service {
  /** The listening address once started (e.g. http://127.0.0.1:8080). */
  address(): string | undefined
  app(): FastifyInstance | undefined
}

export function createApiService(deps: ApiDeps, opts: BuildAppOptions = {}): ApiService {
  let app: FastifyInstance | undefined
  let address: string | undefined
  return {
    name: 'api',
    async start() {
      if (app) return
      app = await buildApp(deps, { defaultMetrics: true, ...opts })
      address = await app.listen({ host: deps.config.api.host, port: deps.config.api.port })
      const log = 'log' in deps ? deps.log : getLogger('api')
      log.info({ address }, 'api listening')
    },
    async stop() {
      const a = app
      app = undefined
      address = undefined
      await a?.close()
    },
    address: () => address,
    app: () => app,
  }
}
