/**
 * The RiskStream HTTP API (Fastify), built separately from listening so tests drive it with
 * `app.inject()` and the service (server.ts) owns the socket.
 */
import fastifyHelmet from '@fastify/helmet'
import fastifyRateLimit from '@fastify/rate-limit'
import fastifySwagger from '@fastify/swagger'
import fastifySwaggerUi from '@fastify/swagger-ui'
import { Ajv } from 'ajv'
import Fastify, { type FastifyInstance, LogController } from 'fastify'
import type { Registry } from 'prom-client'
import { getLogger } from '../lib/log/index.ts'
import { signerFor } from '../lib/model/signing.ts'
import type { ModelRegistry } from '../lib/registry/index.ts'
import { createKeyChecker, presentedKey, requireKey } from './auth.ts'
import { createReadCache, type ReadCache } from './cache.ts'
import type { ApiContext } from './context.ts'
import { errorHandler, notFoundHandler } from './errors.ts'
import { createIdempotencyStore } from './idempotency.ts'
import { createApiMetrics } from './metrics.ts'
import { sharedSchemas } from './responses.ts'
import { createRetrainGate } from './retrain-gate.ts'
import { dashboardRoutes } from './routes/dashboard.ts'
import { mlopsRoutes } from './routes/mlops.ts'
import { modelRoutes } from './routes/models.ts'
import { opsRoutes } from './routes/ops.ts'
import { validationSchema } from './schemas.ts'
import { createProductionScorer } from './scoring.ts'
import { type ApiDeps, coreServices, isApiServices } from './services.ts'

export type { ApiDeps, ApiServices } from './services.ts'

export interface BuildAppOptions {
  /** Overrides config.api.rateLimitMax / rateLimitWindowMs (tests use a tiny limit). */
  rateLimitMax?: number
  rateLimitWindowMs?: number
  /** How often the production version is re-checked before scoring (default 1000 ms). */
  scorerRefreshMs?: number
  /** Collect Node process metrics into the API registry (the service turns this on). */
  defaultMetrics?: boolean
  /** Register the API's metrics on this registry instead of a registry of its own. */
  metricsRegistry?: Registry
  /** Per-check timeout of /ready (default 1500 ms). */
  readyTimeoutMs?: number
  /**
   * Serialise responses with JSON.stringify instead of the serializers compiled from the
   * response schemas. Tests compare the two: the compiled one drops undeclared properties.
   */
  plainSerializer?: boolean
}

/**
 * The registry as read routes see it: reads through the app's cache (the dashboard polls the
 * production version, versions and history as often as its series), writes to `registry` and
 * then a cleared cache, so a client that promotes and then reads sees the change. Cleared even
 * after a failed write: it may have written part of the transition, and a reload is cheap.
 */
function cachedRegistry(registry: ModelRegistry, cache: ReadCache): ModelRegistry {
  const thenClear = async <T>(write: () => Promise<T>): Promise<T> => {
    try {
      return await write()
    } finally {
      cache.clear()
    }
  }
  return {
    register: (artifact, opts) => thenClear(() => registry.register(artifact, opts)),
    setStage: (model, version, stage, reason) =>
      thenClear(() => registry.setStage(model, version, stage, reason)),
    rollback: (model, reason) => thenClear(() => registry.rollback(model, reason)),
    loadArtifact: (event) => registry.loadArtifact(event),
    listVersions: (model) => cache.read('registry.listVersions', [model], () => registry.listVersions(model)),
    getVersion: (model, version) =>
      cache.read('registry.getVersion', [model, version], () => registry.getVersion(model, version)),
    production: (model) => cache.read('registry.production', [model], () => registry.production(model)),
    history: (model) => cache.read('registry.history', [model], () => registry.history(model)),
  }
}

/**
 * The app over `deps`: the narrow services (tests pass in-memory fakes), or the core Deps, from
 * which the app wires its own services and releases them when it closes. Plugins in order:
 * helmet (CSP allows the dashboard's own scripts and Chart.js from this origin), rate limit per
 * client IP, swagger (OpenAPI 3.1 at /docs/json, every route's schemas) and swagger-ui (/docs),
 * then the route modules (routes/mlops.ts: the original /mlops/api routes, shapes kept;
 * routes/models.ts; routes/ops.ts; routes/dashboard.ts). Reads go through one read cache per
 * app (cache.ts). Request bodies are never logged: one debug line per response carries method,
 * route, status and latency only.
 */
export async function buildApp(deps: ApiDeps, opts: BuildAppOptions = {}): Promise<FastifyInstance> {
  const owned = !isApiServices(deps)
  const services = isApiServices(deps) ? deps : coreServices(deps)
  const config = services.config
  const log = getLogger('api')
  const app = Fastify({
    loggerInstance: log,
    // No per-request log lines: bodies and URLs can carry patient data; one debug line per response instead.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    // Ajv: coerce path/query strings to numbers, fill defaults; do NOT strip unknown properties
    // (removeAdditional would make `anyOf` bodies pass silently): unknown fields are a 400.
    ajv: {
      customOptions: { coerceTypes: 'array', useDefaults: true, removeAdditional: false, allErrors: false },
    },
  })
  // Bodies are JSON and are never coerced: "120" is not 120, "" is not null, 123 is not "123".
  // (Path and query strings still are: they only ever arrive as text.)
  const ajvOptions = { useDefaults: true, removeAdditional: false, allErrors: false, strict: false } as const
  const bodyAjv = new Ajv({ ...ajvOptions, coerceTypes: false })
  const textAjv = new Ajv({ ...ajvOptions, coerceTypes: 'array' })
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? bodyAjv : textAjv).compile(validationSchema(schema) as object),
  )
  if (opts.plainSerializer) app.setSerializerCompiler(() => (data) => JSON.stringify(data))

  const registry = services.registry
  const now = services.now ?? Date.now
  // One cache per app, never module-wide: two apps in one process must not share results.
  const cacheTtlMs = config.api.cacheTtlMs
  const cache = services.cache ?? createReadCache({ ttlMs: cacheTtlMs })
  const readNow = cacheTtlMs > 0 ? () => Math.floor(now() / cacheTtlMs) * cacheTtlMs : now
  const metrics = createApiMetrics({ defaultMetrics: opts.defaultMetrics, registry: opts.metricsRegistry })
  const checkKey = createKeyChecker(config.api.keys, config.api.adminKeys)
  const keyed = requireKey(checkKey)
  const adminKeyed = requireKey(checkKey, 'admin')

  const ctx: ApiContext = {
    services,
    config,
    modelName: config.model.name,
    warehouse: services.warehouse,
    registry: cachedRegistry(registry, cache),
    freshRegistry: registry,
    // The scorer has its own refresh (scorerRefreshMs) and is invalidated by promote/rollback.
    scorer:
      services.scorer ??
      createProductionScorer({
        registry,
        modelName: config.model.name,
        refreshMs: opts.scorerRefreshMs ?? 1000,
        now,
      }),
    metrics,
    now,
    readNow,
    readGuard: config.api.readOpen ? [] : [keyed],
    writeGuard: [keyed],
    adminGuard: [adminKeyed],
    domain: () => ({ now: now(), skew: config.events }),
    signer: signerFor(config),
    idempotency: createIdempotencyStore(),
    retrainGate: createRetrainGate(config.api.retrainPendingMs),
  }

  app.setErrorHandler(errorHandler)
  app.setNotFoundHandler(notFoundHandler)

  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: true,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        // swagger-ui sets inline styles; the dashboard's charts draw on canvas and need none.
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        // Served over plain HTTP on localhost in development: upgrading would break every load.
        upgradeInsecureRequests: null,
      },
    },
    // HSTS belongs to the TLS terminator in front of the API, not to a plain-HTTP dev server.
    hsts: false,
  })

  await app.register(fastifyRateLimit, {
    max: opts.rateLimitMax ?? config.api.rateLimitMax,
    timeWindow: opts.rateLimitWindowMs ?? config.api.rateLimitWindowMs,
    // Liveness and scrapes must not be starved by a busy client sharing the IP.
    allowList: (request) => request.url === '/health' || request.url === '/metrics',
    // Per key: a valid key is its own bucket (by key id, never the key); without one, the IP.
    keyGenerator: (request) => {
      const grant = checkKey(presentedKey(request))
      return grant ? `key:${grant.keyId}` : `ip:${request.ip}`
    },
  })

  // Named response schemas (ModelInfo, Run, ErrorResponse, …): components/schemas under their $id.
  for (const schema of sharedSchemas) app.addSchema(schema)
  await app.register(fastifySwagger, {
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === 'string' ? json.$id : `def-${i}`,
    },
    openapi: {
      // 3.1: its schemas are JSON Schema, so nullable values are `null` unions as declared.
      openapi: '3.1.0',
      info: {
        title: 'RiskStream API',
        version: '1.0.0',
        description:
          'Diabetes-risk scoring and MLOps monitoring. Mutating routes need an API key (x-api-key or Authorization: Bearer). ' +
          'Errors answer {success:false, error, code} (ErrorResponse) on every 4xx and 5xx.',
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
          bearer: { type: 'http', scheme: 'bearer' },
        },
      },
      tags: [
        { name: 'mlops', description: 'Original project routes (response shapes kept)' },
        { name: 'models', description: 'Scoring, model registry and training runs' },
        { name: 'dashboard', description: 'Time series for the dashboard' },
        { name: 'ops', description: 'Health, readiness, metrics' },
      ],
    },
  })
  await app.register(fastifySwaggerUi, { routePrefix: '/docs', staticCSP: true })

  // Request rate and latency per route template (never the raw URL: unbounded label values).
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched'
    const seconds = reply.elapsedTime / 1000
    metrics.requests.inc({ method: request.method, route, status: String(reply.statusCode) })
    metrics.latency.observe({ method: request.method, route }, seconds)
    request.log.debug(
      { method: request.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      'request',
    )
  })

  await app.register(async (scope) => mlopsRoutes(scope, ctx))
  await app.register(async (scope) => modelRoutes(scope, ctx))
  await app.register(async (scope) => opsRoutes(scope, ctx, { readyTimeoutMs: opts.readyTimeoutMs ?? 1500 }))
  await app.register(async (scope) => dashboardRoutes(scope, ctx))

  app.addHook('onClose', async () => {
    if (owned) await services.close?.()
  })
  // The instance is typed with our pino Logger; callers only need the generic FastifyInstance.
  return app as unknown as FastifyInstance
}
