/** Routes beyond the original project: synchronous scoring, the model registry, training runs. */
import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { RiskStreamError, toRiskStreamError } from '../../lib/errors/index.ts'
import { predictionRequestIssues } from '../../lib/events/domain.ts'
import { SCORED_BY_API, SCORED_BY_HEADER, SCORED_BY_MAC_HEADER, scoredByMac } from '../../lib/kafka/index.ts'
import { rollbackTarget } from '../../lib/registry/index.ts'
import { toMatrix, toPrediction, toRequestEvent } from '../../lib/serving/index.ts'
import { type ApiContext, KEYED } from '../context.ts'
import { domainProblems, validationFailed } from '../errors.ts'
import { payloadDigest, riskLevel, type StoredPrediction } from '../idempotency.ts'
import {
  ModelListResponse,
  ModelResponse,
  PredictResponse,
  PromoteResponse,
  RollbackResponse,
  RunResponse,
  responses,
} from '../responses.ts'
import {
  batchShapeHints,
  PredictBody,
  type PredictRequest,
  RunParams,
  StageChangeBody,
  VersionParams,
} from '../schemas.ts'
import { modelInfo } from './mlops.ts'

export function modelRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const read = { preHandler: ctx.readGuard }
  const tags = ['models']
  const { topics, publisher } = ctx.services

  // Scores with the production model (scoring.ts caches it), then publishes each request and its
  // prediction keyed by requestId, so the monitors see API traffic like any other. The records
  // carry `riskstream-scored-by: api`: a streaming inference consumer skips them (already
  // scored), otherwise the prediction topic would hold two records for one request.
  app.post<{ Body: PredictBody }>(
    '/v1/predict',
    {
      preHandler: ctx.writeGuard,
      config: { validationHints: batchShapeHints },
      schema: {
        tags,
        summary: 'Score one request or a batch with the production model',
        body: PredictBody,
        security: KEYED,
        response: responses(PredictResponse),
      },
    },
    async (request) => {
      const batched = 'requests' in request.body
      const batch = batched
        ? (request.body as { requests: PredictRequest[] }).requests
        : [request.body as PredictRequest]
      const scoredAt = ctx.now()
      const domain = ctx.domain()
      // The events as they will be published (defaults applied), checked against the shared
      // input domain: ids, lengths, event time within the allowed skew, feature bounds.
      const reqs = batch.map((r) => ({
        clientId: r.requestId !== undefined,
        req: toRequestEvent(
          {
            requestId: r.requestId ?? randomUUID(),
            patientId: r.patientId,
            eventTime: r.eventTime ?? scoredAt,
            sourceSystem: r.sourceSystem ?? 'api',
          },
          r,
        ),
      }))
      const at = (i: number) => (batched ? `body.requests.${i}` : 'body')
      const problems = reqs.flatMap(({ req }, i) =>
        domainProblems(predictionRequestIssues(req, domain), at(i), domain.skew),
      )
      if (problems.length > 0) throw validationFailed(problems)

      // Idempotency (idempotency.ts): a known requestId answers its stored prediction when
      // the payload is the same and is refused (409) when it is not.
      const digests = reqs.map(({ req }) => payloadDigest(req))
      const answers: (StoredPrediction | null)[] = reqs.map(() => null)
      const unknown: string[] = []
      const seenInBatch = new Map<string, string>()
      reqs.forEach(({ req, clientId }, i) => {
        if (!clientId) return
        const earlier = seenInBatch.get(req.requestId)
        if (earlier !== undefined && earlier !== digests[i]) conflict(i)
        seenInBatch.set(req.requestId, digests[i]!)
        const known = ctx.idempotency.get(req.requestId)
        if (known) {
          if (known.digest !== digests[i]) conflict(i)
          answers[i] = known.answer
        } else unknown.push(req.requestId)
      })
      if (unknown.length > 0) {
        for (const row of await ctx.warehouse.storedPredictions(ctx.modelName, unknown)) {
          reqs.forEach(({ req, clientId }, i) => {
            if (!clientId || req.requestId !== row.request_id || answers[i]) return
            if (row.digest !== digests[i]) conflict(i)
            answers[i] = row.answer
          })
        }
      }
      const fresh = reqs.flatMap((r, i) => (answers[i] ? [] : [{ ...r, i }]))
      // The same new requestId twice in one batch is scored once.
      const firstOf = new Map<string, number>()
      const toScore = fresh.filter((f) => {
        if (firstOf.has(f.req.requestId)) return false
        firstOf.set(f.req.requestId, f.i)
        return true
      })

      const model = await ctx.scorer.get()
      ctx.metrics.productionVersion.set({ model: model.modelName }, model.version)
      const probs = model.scorer.scoreBatch(
        toMatrix(
          toScore.map((f) => f.req),
          model.columns,
        ),
        toScore.length,
      )
      const unscorable = toScore.flatMap((f, k) => (Number.isFinite(probs[k]!) ? [] : [f.i]))
      if (unscorable.length > 0) {
        throw validationFailed(
          unscorable.map((i) => ({
            field: at(i),
            rule: 'too_few_features',
            message: `${at(i)} has too few measured features for model v${model.version} to score`,
          })),
        )
      }

      const events = toScore.map((f, k) => ({
        req: f.req,
        prediction: toPrediction(f.req, model, probs[k]!, scoredAt, false),
      }))

      if (events.length > 0) {
        try {
          // scored-by + its MAC: inference skips exactly these records (an outsider cannot forge the MAC).
          const headersOf = (requestId: string) => ({
            [SCORED_BY_HEADER]: SCORED_BY_API,
            [SCORED_BY_MAC_HEADER]: scoredByMac(ctx.signer, requestId),
          })
          await publisher.publish([
            {
              topic: topics.requests,
              schema: 'PredictionRequest',
              records: events.map((e) => ({
                key: e.req.requestId,
                value: e.req,
                headers: headersOf(e.req.requestId),
              })),
            },
            {
              topic: topics.predictions,
              schema: 'Prediction',
              records: events.map((e) => ({
                key: e.req.requestId,
                value: e.prediction,
                headers: headersOf(e.req.requestId),
              })),
            },
          ])
        } catch (err) {
          throw toRiskStreamError(err, 'KAFKA_UNAVAILABLE')
        }
        ctx.metrics.predictions.inc({ model: model.modelName, version: String(model.version) }, events.length)
      }

      const byId = new Map<string, StoredPrediction>()
      events.forEach((e, k) => {
        const answer: StoredPrediction = {
          request_id: e.prediction.requestId,
          patient_id: e.prediction.patientId,
          probability: e.prediction.probability,
          prediction: e.prediction.label,
          risk_level: riskLevel(e.prediction.probability),
          model_version: e.prediction.modelVersion,
          scored_at: e.prediction.scoredAt,
        }
        byId.set(answer.request_id, answer)
        if (toScore[k]!.clientId) ctx.idempotency.set(answer.request_id, digests[toScore[k]!.i]!, answer)
      })

      return {
        success: true,
        model: {
          model_name: model.modelName,
          version: model.version,
          threshold: model.threshold,
          family: model.family,
        },
        predictions: reqs.map(({ req }, i) => answers[i] ?? byId.get(req.requestId)!),
      }

      function conflict(i: number): never {
        ctx.metrics.refused.inc({ route: '/v1/predict', reason: 'idempotency_conflict' })
        const field = `${at(i)}.requestId`
        const message = `${field} was already used with a different payload`
        throw new RiskStreamError('IDEMPOTENCY_CONFLICT', field, {
          details: { issues: [{ field, rule: 'conflict', message }] },
        })
      }
    },
  )

  app.get(
    '/v1/models',
    {
      ...read,
      schema: {
        tags,
        summary: 'All versions of the served model, newest first',
        response: responses(ModelListResponse),
      },
    },
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
    {
      ...read,
      schema: {
        tags,
        summary: 'One model version',
        params: VersionParams,
        response: responses(ModelResponse),
      },
    },
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
      preHandler: ctx.adminGuard,
      schema: {
        ...stageChange,
        summary: 'Make :version the production version',
        response: responses(PromoteResponse),
      },
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
      request.log.info({ model: ctx.modelName, version, keyId: request.apiKey?.keyId }, 'model promoted')
      return {
        success: true,
        message: `v${version} is now in production`,
        model_name: ctx.modelName,
        version,
        event_id: event.eventId,
      }
    },
  )

  // Re-promotes :version, which must have been in production before and not be the current one.
  // The registry's own rollback target (the production version before the current one) goes
  // through `registry.rollback`, so the stage history records a 'rollback'; an older former
  // production version is re-promoted with `setStage` and the reason "rollback to v<N>".
  app.post<{ Params: VersionParams; Body: StageChangeBody }>(
    '/v1/models/:version/rollback',
    {
      preHandler: ctx.adminGuard,
      schema: {
        ...stageChange,
        summary: 'Re-promote :version, a former production version',
        response: responses(RollbackResponse),
      },
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
      request.log.info({ model: ctx.modelName, version, keyId: request.apiKey?.keyId }, 'model rolled back')
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
    {
      ...read,
      schema: { tags, summary: 'One training run', params: RunParams, response: responses(RunResponse) },
    },
    async (request) => {
      const run = await ctx.warehouse.getRun(request.params.id)
      if (!run || run.model_name !== ctx.modelName)
        throw new RiskStreamError('NOT_FOUND', 'no such training run')
      return { success: true, run }
    },
  )
}
