/**
 * The original project's seven MLOps routes under /mlops/api, with their response keys kept
 * so existing users can switch (see api/README.md for the key mapping). Every response has
 * `success`; errors answer `{ success: false, error, code }`.
 */
import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { RiskStreamError, toRiskStreamError } from '../../lib/errors/index.ts'
import type { ModelVersionRow } from '../../lib/registry/index.ts'
import { type ApiContext, KEYED } from '../context.ts'
import { driftReport } from '../drift.ts'
import {
  AlertsResponse,
  DriftCheckResponse,
  type ModelInfo,
  ModelInfoResponse,
  PerformanceResponse,
  RecentPredictionsResponse,
  RetrainHistoryResponse,
  RetrainTriggerResponse,
  responses,
} from '../responses.ts'
import { AlertsQuery, DaysParams, HistoryQuery, LimitParams, RetrainBody } from '../schemas.ts'

const DAY_MS = 86_400_000

/** The snake_case view of a registry row used by /model/info and /v1/models. */
export function modelInfo(v: ModelVersionRow): ModelInfo {
  return {
    model_name: v.modelName,
    version: v.version,
    stage: v.stage,
    family: v.family,
    threshold: v.threshold,
    metrics: v.metrics,
    dataset: v.dataset,
    dataset_sha256: typeof v.dataset.sha256 === 'string' ? v.dataset.sha256 : null,
    hyperparameters: v.hyperparameters,
    parent_version: v.parentVersion,
    run_id: v.runId,
    reason: v.reason,
    shadow: v.shadow,
    created_at: v.createdAt,
    updated_at: v.updatedAt,
  }
}

export function mlopsRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const read = { preHandler: ctx.readGuard }
  const tags = ['mlops']

  app.get(
    '/mlops/api/model/info',
    {
      ...read,
      schema: { tags, summary: 'Current production model', response: responses(ModelInfoResponse) },
    },
    async () => {
      const prod = await ctx.registry.production(ctx.modelName)
      if (!prod) throw new RiskStreamError('MODEL_NOT_FOUND', `${ctx.modelName} has no production version`)
      return { success: true, model_info: modelInfo(prod) }
    },
  )

  app.get<{ Params: DaysParams }>(
    '/mlops/api/monitoring/performance/:days',
    {
      ...read,
      schema: {
        tags,
        summary: 'Prediction volume and accuracy over the last :days days',
        params: DaysParams,
        response: responses(PerformanceResponse),
      },
    },
    async (request) => {
      const to = ctx.readNow()
      const from = to - request.params.days * DAY_MS
      const performance = await ctx.warehouse.performanceSummary(ctx.modelName, from, to)
      return { success: true, days: request.params.days, model_name: ctx.modelName, performance }
    },
  )

  app.get(
    '/mlops/api/monitoring/drift/check',
    {
      ...read,
      schema: {
        tags,
        summary: 'Latest data- and concept-drift verdicts',
        response: responses(DriftCheckResponse),
      },
    },
    async () => {
      const drift = await driftReport(ctx)
      return { success: true, drift }
    },
  )

  app.get<{ Params: LimitParams }>(
    '/mlops/api/monitoring/predictions/recent/:limit',
    {
      ...read,
      schema: {
        tags,
        summary: 'Most recent predictions with outcomes when known',
        params: LimitParams,
        response: responses(RecentPredictionsResponse),
      },
    },
    async (request) => {
      const predictions = await ctx.warehouse.recentPredictions(ctx.modelName, request.params.limit)
      return { success: true, count: predictions.length, predictions }
    },
  )

  app.get<{ Querystring: AlertsQuery }>(
    '/mlops/api/monitoring/alerts/recent',
    {
      ...read,
      schema: {
        tags,
        summary: 'Recent drift events',
        querystring: AlertsQuery,
        response: responses(AlertsResponse),
      },
    },
    async (request) => {
      const { alerts, total } = await ctx.warehouse.recentAlerts(ctx.modelName, {
        limit: request.query.limit,
        kind: request.query.kind,
      })
      return { success: true, alerts, total_count: total }
    },
  )

  app.get<{ Querystring: HistoryQuery }>(
    '/mlops/api/retrain/history',
    {
      ...read,
      schema: {
        tags,
        summary: 'Training runs and their results',
        querystring: HistoryQuery,
        response: responses(RetrainHistoryResponse),
      },
    },
    async (request) => {
      const { runs, total } = await ctx.warehouse.listRuns(ctx.modelName, request.query.limit)
      return { success: true, history: runs, total_count: total }
    },
  )

  app.post<{ Body: RetrainBody }>(
    '/mlops/api/retrain/trigger',
    {
      preHandler: ctx.adminGuard,
      schema: {
        tags,
        summary: 'Ask the trainer to retrain (202 + request id)',
        body: RetrainBody,
        security: KEYED,
        response: responses(RetrainTriggerResponse, 202),
      },
    },
    async (request, reply) => {
      const topic = ctx.services.topics.retrainRequests
      const requestId = randomUUID()
      const body = request.body ?? {}
      // One manual retrain queued at a time; the rest are refused (429) and counted.
      const queued = await ctx.retrainGate.tryQueue(requestId, ctx.now(), (id) =>
        ctx.warehouse.retrainRequestSeen(id),
      )
      if (!queued) {
        ctx.metrics.refused.inc({ route: '/mlops/api/retrain/trigger', reason: 'retrain_pending' })
        throw new RiskStreamError('RATE_LIMITED', 'a manual retrain is already queued')
      }
      const event = {
        requestId,
        modelName: ctx.modelName,
        trigger: 'manual',
        triggerEventId: null,
        reason: body.reason ?? 'requested through the API',
        requestedBy: body.requested_by ?? 'api',
        requestedAt: ctx.now(),
      }
      try {
        await ctx.services.publisher.publish([
          { topic, schema: 'RetrainRequest', records: [{ key: ctx.modelName, value: event }] },
        ])
      } catch (err) {
        ctx.retrainGate.release(requestId)
        throw toRiskStreamError(err, 'KAFKA_UNAVAILABLE')
      }
      request.log.info({ requestId, model: ctx.modelName, keyId: request.apiKey?.keyId }, 'retrain requested')
      reply.status(202)
      return {
        success: true,
        message: 'Retraining requested; the trainer will pick it up',
        request_id: requestId,
        model_name: ctx.modelName,
      }
    },
  )
}
