/**
 * The dashboard: static files from api/dashboard/ (no build step) at /dashboard/, Chart.js
 * from node_modules at /dashboard/vendor/chart.umd.js (same origin, so the CSP stays
 * 'self'), and the JSON it plots under /v1/dashboard/* — time series read from ClickHouse.
 */
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance } from 'fastify'
import { REPO_ROOT } from '../../lib/config/index.ts'
import { SHADOW_SEGMENT } from '../../lib/segments/index.ts'
import { PSI_BANDS } from '../../lib/stats/index.ts'
import { PROBABILITY_SUBJECT } from '../../lib/warehouse/index.ts'
import type { ApiContext } from '../context.ts'
import { driftReport } from '../drift.ts'
import {
  AlertsResponse,
  DashboardPerformanceResponse,
  DashboardPsiResponse,
  DashboardRunsResponse,
  DashboardSegmentsResponse,
  DashboardSummaryResponse,
  DashboardVersionsResponse,
  DashboardVolumeResponse,
  responses,
  type SegmentReport,
} from '../responses.ts'
import { RangeQuery, SegmentsQuery } from '../schemas.ts'
import { modelInfo } from './mlops.ts'

const DASHBOARD_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dashboard')
const CHART_JS = path.join(REPO_ROOT, 'node_modules', 'chart.js', 'dist', 'chart.umd.js')
const HOUR_MS = 3_600_000
const PROBABILITY = PROBABILITY_SUBJECT

/** Bucket width giving ~60 buckets over the range, at least one minute. */
const bucketSeconds = (hours: number) => Math.max(60, Math.ceil((hours * 3600) / 60))

export async function dashboardRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const read = { preHandler: ctx.readGuard }
  const tags = ['dashboard']
  const range = { tags, querystring: RangeQuery }

  await app.register(fastifyStatic, {
    root: DASHBOARD_DIR,
    prefix: '/dashboard/',
    index: 'index.html',
    redirect: true,
  })
  app.get('/dashboard', { schema: { hide: true } }, async (_req, reply) => reply.redirect('/dashboard/'))
  let chartJs: Promise<Buffer> | undefined
  app.get('/dashboard/vendor/chart.umd.js', { schema: { hide: true } }, async (_req, reply) => {
    chartJs ??= readFile(CHART_JS)
    reply
      .header('content-type', 'application/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=3600')
    return chartJs
  })

  app.get<{ Querystring: RangeQuery }>(
    '/v1/dashboard/summary',
    {
      ...read,
      schema: {
        ...range,
        summary: 'Production model, drift verdict, period totals',
        response: responses(DashboardSummaryResponse),
      },
    },
    async (request) => {
      const to = ctx.readNow()
      const [prod, drift, performance] = await Promise.all([
        ctx.registry.production(ctx.modelName),
        driftReport(ctx),
        ctx.warehouse.performanceSummary(ctx.modelName, to - request.query.hours * HOUR_MS, to),
      ])
      return {
        success: true,
        model: prod ? modelInfo(prod) : null,
        drift,
        performance,
        hours: request.query.hours,
      }
    },
  )

  app.get<{ Querystring: RangeQuery }>(
    '/v1/dashboard/psi',
    {
      ...read,
      schema: { ...range, summary: 'PSI per feature over time', response: responses(DashboardPsiResponse) },
    },
    async (request) => {
      const points = await ctx.warehouse.windowSeries(
        ctx.modelName,
        'drift',
        ['psi'],
        ctx.readNow() - request.query.hours * HOUR_MS,
      )
      const series: Record<string, { t: number; v: number; version: number }[]> = {}
      for (const p of points) {
        if (p.key === PROBABILITY) continue
        const list = series[p.key] ?? []
        list.push({ t: p.t, v: p.v, version: p.version })
        series[p.key] = list
      }
      return {
        success: true,
        bands: PSI_BANDS,
        threshold: ctx.config.drift.threshold,
        series,
      }
    },
  )

  app.get<{ Querystring: RangeQuery }>(
    '/v1/dashboard/performance',
    {
      ...read,
      schema: {
        ...range,
        summary: 'Accuracy, F1 and ROC-AUC over time, realised and estimated before labels',
        response: responses(DashboardPerformanceResponse),
      },
    },
    async (request) => {
      const metrics = ['accuracy', 'f1', 'roc_auc', 'expected_accuracy']
      // Estimated from the served probabilities (CBPE), so available before any label arrives.
      const estimated = ['estimated_accuracy', 'estimated_f1', 'estimated_roc_auc']
      const since = ctx.readNow() - request.query.hours * HOUR_MS
      const [points, estimates] = await Promise.all([
        ctx.warehouse.windowSeries(ctx.modelName, 'performance', metrics, since),
        ctx.warehouse.windowSeries(ctx.modelName, 'estimate', estimated, since),
      ])
      const series: Record<string, { t: number; v: number; version: number }[]> = Object.fromEntries(
        [...metrics, ...estimated].map((m) => [m, []]),
      )
      for (const p of [...points, ...estimates]) series[p.key]?.push({ t: p.t, v: p.v, version: p.version })
      const expected = series.expected_accuracy!.at(-1)?.v ?? null
      return {
        success: true,
        series,
        thresholds: {
          min_accuracy: ctx.config.training.minAccuracy,
          min_f1: ctx.config.training.minF1,
          min_roc_auc: ctx.config.training.minRocAuc,
          // Below this accuracy the concept-drift detector fires (expected − allowed drop).
          concept_drift_accuracy: expected === null ? null : expected - ctx.config.drift.conceptDropThreshold,
        },
      }
    },
  )

  app.get<{ Querystring: SegmentsQuery }>(
    '/v1/dashboard/segments',
    {
      ...read,
      schema: {
        tags,
        querystring: SegmentsQuery,
        summary:
          'Per segment (source system, age band) and per shadow version (lane=shadow): newest estimated performance and drift verdict',
        response: responses(DashboardSegmentsResponse),
      },
    },
    async (request) => {
      const since = ctx.readNow() - request.query.hours * HOUR_MS
      const rows = await ctx.warehouse.segmentWindows(ctx.modelName, since, {
        segment: request.query.segment,
        family: request.query.family,
      })
      const STATES = ['ok', 'pending', 'alert'] as const
      const state = (v: number | undefined) => (v === undefined ? null : (STATES[v] ?? null))
      const bySegment = new Map<string, SegmentReport>()
      for (const r of rows) {
        const key = `${r.version}\u0000${r.segment}`
        let s = bySegment.get(key)
        if (!s) {
          s = {
            segment: r.segment,
            lane: r.segment === SHADOW_SEGMENT ? 'shadow' : 'champion',
            model_version: r.version,
            window_end: r.t,
            window_size: r.n,
            estimated: { accuracy: null, f1: null, roc_auc: null, state: null },
            drift: null,
            overflow: null,
            realised: null,
          }
          bySegment.set(key, s)
        }
        if (r.monitor === 'performance') {
          // Labelled windows count labels, not events: they do not move the newest window.
          s.realised ??= { accuracy: null, f1: null, roc_auc: null, labels: 0 }
          if (r.metric === 'accuracy') s.realised.accuracy = r.value
          else if (r.metric === 'f1') s.realised.f1 = r.value
          else if (r.metric === 'roc_auc') s.realised.roc_auc = r.value
          else if (r.metric === 'labels') s.realised.labels = r.value
          continue
        }
        if (r.t > s.window_end) {
          s.window_end = r.t
          s.window_size = r.n
        }
        if (r.monitor === 'estimate') {
          if (r.metric === 'estimated_accuracy') s.estimated.accuracy = r.value
          else if (r.metric === 'estimated_f1') s.estimated.f1 = r.value
          else if (r.metric === 'estimated_roc_auc') s.estimated.roc_auc = r.value
          else if (r.metric === 'estimate_state') s.estimated.state = state(r.value)
        } else if (r.monitor === 'drift') {
          s.drift ??= { state: 'ok', alerting: [], psi: {}, psi_threshold: {} }
          if (r.metric === 'psi') s.drift.psi[r.subject] = r.value
          else if (r.metric === 'psi_threshold') s.drift.psi_threshold[r.subject] = r.value
          else if (r.metric === 'psi_state') {
            if (r.value === 2) s.drift.alerting.push(r.subject)
            if (r.value > STATES.indexOf(s.drift.state)) s.drift.state = state(r.value) ?? s.drift.state
          }
        } else if (r.metric === 'segment_overflow') s.overflow = r.value
      }
      return { success: true, segments: [...bySegment.values()] }
    },
  )

  app.get<{ Querystring: RangeQuery }>(
    '/v1/dashboard/volume',
    {
      ...read,
      schema: {
        ...range,
        summary: 'Predictions and labelled predictions per bucket',
        response: responses(DashboardVolumeResponse),
      },
    },
    async (request) => {
      const to = ctx.readNow()
      const bucket = bucketSeconds(request.query.hours)
      const buckets = await ctx.warehouse.volumeSeries(
        ctx.modelName,
        to - request.query.hours * HOUR_MS,
        to,
        bucket,
      )
      return { success: true, bucket_seconds: bucket, buckets }
    },
  )

  app.get<{ Querystring: RangeQuery }>(
    '/v1/dashboard/alerts',
    {
      ...read,
      schema: { ...range, summary: 'Drift events in the period', response: responses(AlertsResponse) },
    },
    async (request) => {
      const { alerts, total } = await ctx.warehouse.recentAlerts(ctx.modelName, {
        limit: 1000,
        since: ctx.readNow() - request.query.hours * HOUR_MS,
      })
      return { success: true, alerts, total_count: total }
    },
  )

  app.get(
    '/v1/dashboard/versions',
    {
      ...read,
      schema: {
        tags,
        summary: 'Model versions and their stage transitions (promotions, rollbacks)',
        response: responses(DashboardVersionsResponse),
      },
    },
    async () => {
      const [versions, history] = await Promise.all([
        ctx.registry.listVersions(ctx.modelName),
        ctx.registry.history(ctx.modelName),
      ])
      return {
        success: true,
        versions: versions.map((v) => ({
          version: v.version,
          stage: v.stage,
          family: v.family,
          created_at: v.createdAt,
          metrics: v.metrics,
        })),
        events: history.map((e) => ({
          version: e.version,
          stage: e.stage,
          action: e.action,
          previous_version: e.previousVersion,
          reason: e.reason,
          at: e.at,
        })),
      }
    },
  )

  app.get(
    '/v1/dashboard/runs',
    {
      ...read,
      schema: { tags, summary: 'Recent training runs', response: responses(DashboardRunsResponse) },
    },
    async () => {
      const { runs, total } = await ctx.warehouse.listRuns(ctx.modelName, 50)
      return { success: true, runs, total_count: total }
    },
  )
}
