/**
 * Liveness (/health: the process answers), readiness (/ready: Kafka, the schema registry and
 * ClickHouse each answer within a short timeout; 503 when any does not) and Prometheus
 * metrics (/metrics). Readiness checks run in parallel, so /ready answers within one timeout.
 */
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { ApiContext } from '../context.ts'
import { metricsText } from '../metrics.ts'
import { type CheckResult, errorResponses, HealthResponse, ReadyResponse, responses } from '../responses.ts'

async function timed(
  timeoutMs: number,
  check: (signal: AbortSignal) => Promise<unknown>,
): Promise<CheckResult> {
  const started = performance.now()
  const controller = new AbortController()
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      check(controller.signal),
      new Promise((_, reject) => {
        timer = setTimeout(() => {
          controller.abort()
          reject(new Error(`no answer within ${timeoutMs} ms`))
        }, timeoutMs)
      }),
    ])
    return { status: 'up', latency_ms: Math.round((performance.now() - started) * 10) / 10 }
  } catch (err) {
    return {
      status: 'down',
      latency_ms: Math.round(performance.now() - started),
      error: err instanceof Error ? err.message : String(err),
    }
  } finally {
    clearTimeout(timer)
  }
}

export function opsRoutes(app: FastifyInstance, ctx: ApiContext, opts: { readyTimeoutMs: number }): void {
  const tags = ['ops']
  const probes = ctx.services.ready

  app.get(
    '/health',
    { schema: { tags, summary: 'Liveness', response: responses(HealthResponse) } },
    async () => ({
      success: true,
      status: 'ok',
      uptime_s: Math.round(process.uptime()),
    }),
  )

  app.get(
    '/ready',
    {
      schema: {
        tags,
        summary: 'Readiness: Kafka, schema registry and ClickHouse reachable',
        // 503 answers the same shape (success false, the failing check named), not the error body.
        response: responses(ReadyResponse, 200, { 503: ReadyResponse }),
      },
    },
    async (_request, reply) => {
      const t = opts.readyTimeoutMs
      const [kafka, schemaRegistry, clickhouse] = await Promise.all([
        timed(t, probes.kafka),
        timed(t, probes.schemaRegistry),
        timed(t, probes.clickhouse),
      ])
      const checks = { kafka, schema_registry: schemaRegistry, clickhouse }
      const ready = Object.values(checks).every((c) => c.status === 'up')
      reply.status(ready ? 200 : 503)
      return { success: ready, status: ready ? 'ready' : 'not_ready', checks }
    },
  )

  app.get(
    '/metrics',
    {
      schema: {
        tags,
        summary: 'Prometheus metrics',
        // Sent as text (a string with its own content type), never through a JSON serializer.
        response: {
          200: {
            description: 'Prometheus text exposition format',
            content: { 'text/plain': { schema: Type.String() } },
          },
          ...errorResponses,
        },
      },
    },
    async (_request, reply) => {
      ctx.metrics.productionVersion.set({ model: ctx.modelName }, ctx.scorer.currentVersion())
      reply.header('content-type', ctx.metrics.registry.contentType)
      return metricsText(ctx.metrics.registry, ctx.services.metricsRegistries ?? [])
    },
  )
}
