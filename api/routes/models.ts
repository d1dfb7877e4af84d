/**
 * Routes beyond the original project: synchronous scoring, the model registry, training runs.
 *
 * POST /v1/predict scores with the production model (see scoring.ts for the cache) and then
 * publishes each request and its prediction to the request and prediction topics, keyed by
 * requestId, so the monitors see API traffic like any other. The records carry the header
 * `riskstream-scored-by: api`: a streaming inference consumer should skip requests with it
 * (they are already scored), otherwise the same request is scored twice (the predictions
 * table keeps one row per request id, but the topic would hold two records).
 *
 * Rollback (POST /v1/models/:version/rollback) re-promotes :version, which must have been in
 * production before and not be the current one. When :version is the registry's own rollback
 * target (the production version before the current one) `registry.rollback` is used, so the
 * stage history records a 'rollback'; an older former production version is re-promoted with
 * `setStage` and the reason "rollback to v<N>".
 */
import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { RiskStreamError, toRiskStreamError } from '../../lib/errors/index.ts'
import { FEATURES, validateFeatures } from '../../lib/features/index.ts'
import { SCORED_BY_API, SCORED_BY_HEADER } from '../../lib/kafka/index.ts'
import { rollbackTarget } from '../../lib/registry/index.ts'
import { type ApiContext, KEYED } from '../context.ts'
import { getRun } from '../queries.ts'
import { PredictBody, type PredictRequest, RunParams, StageChangeBody, VersionParams } from '../schemas.ts'
import { toMatrix } from '../scoring.ts'
import { modelInfo } from './mlops.ts'

export function modelRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const read = { preHandler: ctx.readGuard }
  const tags = ['models']
  const { topics, serde, producer } = ctx.deps

  app.post<{ Body: PredictBody }>(
    '/v1/predict',
    {
      preHandler: ctx.writeGuard,
      schema: {
        tags,
        summary: 'Score one request or a batch with the production model',
        body: PredictBody,
        security: KEYED,
      },
    },
    async (request) => {
      const batch =
        'requests' in request.body
          ? (request.body.requests as PredictRequest[])
          : [request.body as PredictRequest]
      // Physiological bounds (the schema only checks types): every problem, naming field and rule, never the value.
      const issues = batch.flatMap((r, i) =>
        validateFeatures(r as Record<string, unknown>).map((x) => ({
          field: `body${batch.length > 1 || 'requests' in request.body ? `.requests.${i}` : ''}.${x.feature}`,
          rule: x.rule,
          message: x.message,
        })),
      )
      if (issues.length > 0) {
        throw new RiskStreamError(
          'VALIDATION_FAILED',
          issues.map((x) => `${x.field} (${x.rule})`).join(', '),
          { details: { issues } },
        )
      }

      const model = await ctx.scorer.get()
      ctx.metrics.productionVersion.set({ model: model.modelName }, model.version)
      const probs = model.scorer.scoreBatch(toMatrix(batch, model.columns), batch.length)
      const scoredAt = ctx.now()
      const unscorable = batch.flatMap((_, i) => (Number.isFinite(probs[i]!) ? [] : [i]))
      if (unscorable.length > 0) {
        throw new RiskStreamError(
          'VALIDATION_FAILED',
          `model v${model.version} cannot score request(s) ${unscorable.join(', ')}: too many missing features`,
        )
      }

      const events = batch.map((r, i) => {
        const features = Object.fromEntries(FEATURES.map((f) => [f, r[f] ?? null]))
        const requestId = r.requestId ?? randomUUID()
        const eventTime = r.eventTime ?? scoredAt
        const req = {
          requestId,
          patientId: r.patientId,
          eventTime,
          sourceSystem: r.sourceSystem ?? 'api',
          notes: null,
          ...features,
        }
        const probability = probs[i]!
        const prediction = {
          requestId,
          patientId: r.patientId,
          modelName: model.modelName,
          modelVersion: model.version,
          probability,
          label: probability >= model.threshold ? 1 : 0,
          threshold: model.threshold,
          eventTime,
          scoredAt,
          shadow: false,
          ...features,
        }
        return { req, prediction }
      })

      try {
        await Promise.all([
          ctx.ensureSchema(topics.requests, 'PredictionRequest'),
          ctx.ensureSchema(topics.predictions, 'Prediction'),
        ])
        const headers = { [SCORED_BY_HEADER]: SCORED_BY_API }
        await producer.sendBatch({
          topicMessages: [
            {
              topic: topics.requests,
              messages: events.map((e) => ({
                key: e.req.requestId,
                value: serde.encode(topics.requests, e.req),
                headers,
              })),
            },
            {
              topic: topics.predictions,
              messages: events.map((e) => ({
                key: e.req.requestId,
                value: serde.encode(topics.predictions, e.prediction),
                headers,
              })),
            },
          ],
        })
      } catch (err) {
        throw toRiskStreamError(err, 'KAFKA_UNAVAILABLE')
      }
      ctx.metrics.predictions.inc({ model: model.modelName, version: String(model.version) }, batch.length)

      return {
        success: true,
        model: {
          model_name: model.modelName,
          version: model.version,
          threshold: model.threshold,
          family: model.family,
        },
        predictions: events.map((e) => ({
          request_id: e.prediction.requestId,
          patient_id: e.prediction.patientId,
          probability: e.prediction.probability,
          prediction: e.prediction.label,
          risk_level:
            e.prediction.probability >= 0.7 ? 'high' : e.prediction.probability >= 0.3 ? 'medium' : 'low',
          model_version: e.prediction.modelVersion,
          scored_at: e.prediction.scoredAt,
        })),
      }
    },
  )

  app.get(
    '/v1/models',
    { ...read, schema: { tags, summary: 'All versions of the served model, newest first' } },
    async () => {
      const versions = await ctx.registry.listVersions(ctx.modelName)
      const prod = versions.find((v) => v.stage === 'production')
      return {
        success: true,
        model_name: ctx.modelName,
        production_version: prod?.version ?? null,
        // A copy: the list may be the cache's shared (frozen) result.
        models: [...versions].sort((a, b) => b.version - a.version).map(modelInfo),
      }
    },
  )

  app.get<{ Params: VersionParams }>(
    '/v1/models/:version',
    { ...read, schema: { tags, summary: 'One model version', params: VersionParams } },
    async (request) => {
      const v = await ctx.registry.getVersion(ctx.modelName, request.params.version)
      if (!v) throw new RiskStreamError('MODEL_NOT_FOUND', `${ctx.modelName} v${request.params.version}`)
      return { success: true, model: modelInfo(v) }
    },
  )

  const stageChange = { tags, params: VersionParams, body: StageChangeBody, security: KEYED }

  app.post<{ Params: VersionParams; Body: StageChangeBody }>(
    '/v1/models/:version/promote',
    {
      preHandler: ctx.writeGuard,
      schema: { ...stageChange, summary: 'Make :version the production version' },
    },
    async (request) => {
      const { version } = request.params
      // Through ctx.registry, whose writes clear the read cache: the next read sees the promotion.
      const event = await ctx.registry.setStage(
        ctx.modelName,
        version,
        'production',
        request.body?.reason ?? 'promoted through the API',
      )
      ctx.scorer.invalidate()
      request.log.info({ model: ctx.modelName, version }, 'model promoted')
      return {
        success: true,
        message: `v${version} is now in production`,
        model_name: ctx.modelName,
        version,
        event_id: event.eventId,
      }
    },
  )

  app.post<{ Params: VersionParams; Body: StageChangeBody }>(
    '/v1/models/:version/rollback',
    {
      preHandler: ctx.writeGuard,
      schema: { ...stageChange, summary: 'Re-promote :version, a former production version' },
    },
    async (request) => {
      const { version } = request.params
      // Fresh reads: a cached (up to API_CACHE_TTL_MS old) stage must not decide a write.
      const fresh = ctx.freshRegistry
      const target = await fresh.getVersion(ctx.modelName, version)
      if (!target) throw new RiskStreamError('MODEL_NOT_FOUND', `${ctx.modelName} v${version}`)
      const prod = await fresh.production(ctx.modelName)
      if (prod?.version === version)
        throw new RiskStreamError('BAD_REQUEST', `v${version} is already the production version`)
      const history = await fresh.history(ctx.modelName)
      if (!history.some((e) => e.version === version && e.stage === 'production')) {
        throw new RiskStreamError('BAD_REQUEST', `v${version} was never in production; promote it instead`)
      }
      const reason = request.body?.reason ?? `rollback to v${version}`
      // registry.rollback records the transition as a rollback, but only knows "the previous one".
      const viaRollback = prod !== null && rollbackTarget(history, prod.version) === version
      const event = viaRollback
        ? await ctx.registry.rollback(ctx.modelName, reason)
        : await ctx.registry.setStage(ctx.modelName, version, 'production', reason)
      if (event.version !== version)
        throw new RiskStreamError('INTERNAL', `registry rolled back to v${event.version}, not v${version}`)
      ctx.scorer.invalidate()
      request.log.info({ model: ctx.modelName, version }, 'model rolled back')
      return {
        success: true,
        message: `rolled back to v${version}`,
        model_name: ctx.modelName,
        version,
        previous_version: prod?.version ?? null,
        event_id: event.eventId,
      }
    },
  )

  app.get<{ Params: RunParams }>(
    '/v1/runs/:id',
    { ...read, schema: { tags, summary: 'One training run', params: RunParams } },
    async (request) => {
      const run = await getRun(ctx.reader, request.params.id)
      if (!run || run.model_name !== ctx.modelName)
        throw new RiskStreamError('NOT_FOUND', 'no such training run')
      return { success: true, run }
    },
  )
}
