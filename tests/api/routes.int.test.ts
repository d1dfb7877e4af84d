/**
 * Every route through app.inject() against real embedded ClickHouse (fixtures written by the
 * monitors' and trainer's own ingestion code) and real Kafka for the mutating routes.
 */
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../api/app.ts'
import { queryRows } from '../../lib/clickhouse/index.ts'
import { FEATURES } from '../../lib/features/index.ts'
import { closeDeps } from '../../lib/runtime/index.ts'
import { SHADOW_SEGMENT } from '../../lib/segments/index.ts'
import { insertWindowRows } from '../../processors/monitors/sink/outputs.ts'
import { collectMessages } from '../helpers/index.ts'
import {
  API_KEY,
  openStack,
  type PredictionFixture,
  registerVersions,
  type Stack,
  writeMonitoring,
  writePredictions,
  writeRuns,
} from './fixtures.ts'
import { type OpenApiDoc, responseChecker, stable } from './openapi-check.ts'

let s: Stack
let app: FastifyInstance
let preds: PredictionFixture
let mon: Awaited<ReturnType<typeof writeMonitoring>>
let runIds: string[]
const NOW = Date.now()
const auth = { 'x-api-key': API_KEY }

beforeAll(async () => {
  s = await openStack()
  await registerVersions(s, NOW)
  preds = await writePredictions(s, NOW)
  mon = await writeMonitoring(s, NOW)
  runIds = await writeRuns(s, NOW)
  app = await buildApp({ ...s.deps, registry: s.registry, now: () => NOW }, { scorerRefreshMs: 60_000 })
})

afterAll(async () => {
  await app?.close()
  if (s) await closeDeps(s.deps)
})

const get = async (url: string, headers: Record<string, string> = {}) => {
  const res = await app.inject({ method: 'GET', url, headers })
  return { status: res.statusCode, body: res.json(), headers: res.headers }
}

describe('segments (lib/segments)', () => {
  it("reports each segment's newest estimate and drift verdict, filtered by key or family, apart from the population", async () => {
    const all = await get('/v1/dashboard/segments?hours=24')
    expect(all.status).toBe(200)
    const keys = all.body.segments.map((x: { segment: string }) => x.segment).sort()
    expect(keys).toEqual(['age=30-39', 'source=clinic-a', 'source=clinic-b'])
    const b = all.body.segments.find((x: { segment: string }) => x.segment === 'source=clinic-b')
    expect(b).toMatchObject({
      model_version: 1,
      window_size: 100,
      drift: { state: 'alert', alerting: ['glucose'] },
    })
    expect(b.drift.psi.glucose).toBeCloseTo(0.05 + 11 * 0.03, 9)
    expect(b.estimated).toMatchObject({ accuracy: 0.74, f1: 0.61, state: 'ok' })
    expect(b.estimated.roc_auc).toBeCloseTo(0.811, 9)
    // Age bands only estimate: no drift verdict.
    expect(all.body.segments.find((x: { segment: string }) => x.segment === 'age=30-39').drift).toBeNull()
    const one = await get('/v1/dashboard/segments?hours=24&segment=source%3Dclinic-a')
    expect(one.body.segments.map((x: { segment: string }) => x.segment)).toEqual(['source=clinic-a'])
    expect(one.body.segments[0].drift.state).toBe('ok')
    const age = await get('/v1/dashboard/segments?hours=24&family=age')
    expect(age.body.segments.map((x: { segment: string }) => x.segment)).toEqual(['age=30-39'])
    expect((await get('/v1/dashboard/segments?family=clinic')).status).toBe(400)
    // The population's drift check is untouched by the drifting segment's rows.
    const d = (await get('/mlops/api/monitoring/drift/check')).body.drift
    expect(d.data_drift.window_id).toBe(210)
    expect(all.body.segments.every((x: { lane: string }) => x.lane === 'champion')).toBe(true)
    expect(all.body.segments.every((x: { realised: unknown }) => x.realised === null)).toBe(true)
  })

  it("reports a shadow version's rows in their own lane, apart from the champion rows of the same version", async () => {
    const win = {
      modelName: s.modelName,
      modelVersion: 1,
      windowType: 'sliding' as const,
      windowWidth: 1000,
      windowId: 500,
      windowStart: NOW - 30 * 60_000,
      windowEnd: NOW - 60_000,
      windowSize: 1000,
      segment: SHADOW_SEGMENT,
    }
    await insertWindowRows(s.deps.clickhouse, [
      { ...win, monitor: 'drift', subject: 'glucose', metric: 'psi', value: 0.03 },
      { ...win, monitor: 'drift', subject: 'glucose', metric: 'psi_state', value: 0 },
      { ...win, monitor: 'estimate', subject: '', metric: 'estimated_accuracy', value: 0.71 },
      // A labelled window: its ids count labels, and its end does not move the newest window.
      {
        ...win,
        windowId: 300,
        windowEnd: NOW - 30_000,
        windowSize: 300,
        monitor: 'performance',
        subject: '',
        metric: 'accuracy',
        value: 0.69,
      },
      {
        ...win,
        windowId: 300,
        windowEnd: NOW - 30_000,
        windowSize: 300,
        monitor: 'performance',
        subject: '',
        metric: 'labels',
        value: 300,
      },
    ])
    const lane = await get('/v1/dashboard/segments?hours=24&family=lane')
    expect(lane.status).toBe(200)
    expect(lane.body.segments).toEqual([
      expect.objectContaining({
        segment: SHADOW_SEGMENT,
        lane: 'shadow',
        model_version: 1,
        window_size: 1000,
        estimated: expect.objectContaining({ accuracy: 0.71 }),
        drift: expect.objectContaining({ state: 'ok', psi: { glucose: 0.03 } }),
        realised: { accuracy: 0.69, f1: null, roc_auc: null, labels: 300 },
      }),
    ])
    // The champion's own drift check of version 1 is not moved by the shadow's rows.
    const d = (await get('/mlops/api/monitoring/drift/check')).body.drift
    expect(d.data_drift.window_id).toBe(210)
  })
})

describe('original /mlops/api routes keep their keys', () => {
  it('model/info: the production version with metrics, threshold, dataset fingerprint, stage, created time', async () => {
    const { status, body } = await get('/mlops/api/model/info')
    expect(status).toBe(200)
    expect(Object.keys(body).sort()).toEqual(['model_info', 'success'])
    expect(body.success).toBe(true)
    // v1 → v2 → rollback to v1: v1 serves.
    expect(body.model_info).toMatchObject({
      model_name: s.modelName,
      version: 1,
      stage: 'production',
      threshold: 0.5,
      dataset_sha256: 'f'.repeat(64),
    })
    expect(body.model_info.metrics.roc_auc).toBeCloseTo(0.83, 6)
    expect(body.model_info.created_at).toBe(NOW - 6 * 3_600_000)
  })

  it('monitoring/performance/:days: volume, labels, metrics from ClickHouse', async () => {
    const { status, body } = await get('/mlops/api/monitoring/performance/1')
    expect(status).toBe(200)
    expect(Object.keys(body).sort()).toEqual(['days', 'model_name', 'performance', 'success'])
    const p = body.performance
    expect(p.total_predictions).toBe(preds.total)
    expect(p.labelled_predictions).toBe(preds.labelled)
    expect(p.avg_probability).toBeCloseTo(preds.avgProbability, 9)
    expect(p.prediction_distribution.positive).toBe(preds.positives)
    expect(
      p.prediction_distribution.histogram.reduce((a: number, b: { count: number }) => a + b.count, 0),
    ).toBe(preds.total)
    expect(p.accuracy).toBeCloseTo((preds.tp + preds.tn) / preds.labelled, 9)
    expect(p.precision).toBeCloseTo(preds.tp / (preds.tp + preds.fp), 9)
    expect(p.recall).toBeCloseTo(preds.tp / (preds.tp + preds.fn), 9)
    const prec = preds.tp / (preds.tp + preds.fp)
    const rec = preds.tp / (preds.tp + preds.fn)
    expect(p.f1_score).toBeCloseTo((2 * prec * rec) / (prec + rec), 9)
    expect(p.roc_auc).toBeCloseTo(preds.rocAuc, 6)
  })

  it('performance covers all months: the 400-day-old prediction counts only in a period that reaches it', async () => {
    const year = await get('/mlops/api/monitoring/performance/365')
    expect(year.body.performance.total_predictions).toBe(preds.total)
  })

  it("monitoring/drift/check: the monitors' own verdicts with evidence, concept drift and a retraining recommendation", async () => {
    const { status, body } = await get('/mlops/api/monitoring/drift/check')
    expect(status).toBe(200)
    expect(Object.keys(body).sort()).toEqual(['drift', 'success'])
    const d = body.drift
    expect(d.decided_by).toBe('monitors')
    expect(Object.keys(d.data_drift.feature_psi).sort()).toEqual([...FEATURES].sort())
    expect(d.data_drift.feature_psi.glucose.psi).toBeCloseTo(mon.latestGlucosePsi, 9)
    // The monitors' state, not a re-decision: the detector is in alert (psi_state 2) at threshold 0.12.
    expect(d.data_drift.feature_psi.glucose).toMatchObject({ state: 'alert', threshold: 0.12, drift: true })
    expect(d.data_drift.verdict).toBe('alert')
    expect(d.data_drift.window_id).toBe(210)
    expect(d.data_drift.last_event).toMatchObject({ severity: 'significant', features: ['glucose'] })
    expect(d.concept_drift.verdict).toBe('alert')
    expect(d.concept_drift.last_event).toMatchObject({ severity: 'significant' })
    expect(d.concept_drift.estimated).toMatchObject({ f1: 0.6, events: 100 })
    expect(d.concept_drift.estimated.accuracy).toBeCloseTo(0.76 - 11 * 0.001, 9)
    expect(d.concept_drift.estimated.roc_auc).toBeCloseTo(0.82 - 11 * 0.001, 9)
    expect(d.data_drift.feature_psi.age.drift).toBe(false)
    expect(d.data_drift.drifted_features).toEqual(['glucose'])
    expect(d.data_drift.prediction_psi).toBeCloseTo(0.05, 9)
    expect(d.concept_drift.recent_accuracy).toBeCloseTo(mon.latestAccuracy, 9)
    expect(d.concept_drift.expected_accuracy).toBeCloseTo(mon.expectedAccuracy, 9)
    expect(d.concept_drift.accuracy_drop).toBeCloseTo(mon.expectedAccuracy - mon.latestAccuracy, 9)
    // 0.77 − 0.668 = 0.102 > 0.1 (default CONCEPT_DRIFT_THRESHOLD) with 200 ≥ 100 labels.
    expect(d.concept_drift.drift_detected).toBe(true)
    expect(d.retraining_recommended).toBe(true)
    expect(d.reason).toContain('glucose')
  })

  it('monitoring/predictions/recent/:limit: newest first, pseudonymous ids, outcomes when known, no features', async () => {
    const { status, body } = await get('/mlops/api/monitoring/predictions/recent/10')
    expect(status).toBe(200)
    expect(Object.keys(body).sort()).toEqual(['count', 'predictions', 'success'])
    expect(body.count).toBe(10)
    expect(body.predictions.map((p: { request_id: string }) => p.request_id)).toEqual(
      preds.newestIds.slice(0, 10),
    )
    const first = body.predictions[0]
    expect(first.patient_id).toMatch(/^p-\d+$/)
    for (const f of FEATURES) expect(first).not.toHaveProperty(f)
    // i = 119 → labelled (119 % 3 ≠ 0); i = 117 → unlabelled.
    expect(first.actual_outcome).not.toBeNull()
    expect(body.predictions[2].actual_outcome).toBeNull()
    expect(body.predictions[2].correct).toBeNull()
  })

  it('monitoring/alerts/recent: newest first with the total count', async () => {
    const { status, body } = await get('/mlops/api/monitoring/alerts/recent?limit=2')
    expect(status).toBe(200)
    expect(Object.keys(body).sort()).toEqual(['alerts', 'success', 'total_count'])
    expect(body.total_count).toBe(4)
    expect(body.alerts).toHaveLength(2)
    expect(body.alerts[0]).toMatchObject({ kind: 'concept_drift', severity: 'significant' })
    expect(body.alerts[1]).toMatchObject({ kind: 'data_drift', features: ['glucose'] })
  })

  it('retrain/history: runs newest first', async () => {
    const { status, body } = await get('/mlops/api/retrain/history')
    expect(status).toBe(200)
    expect(Object.keys(body).sort()).toEqual(['history', 'success', 'total_count'])
    expect(body.total_count).toBe(2)
    expect(body.history.map((r: { run_id: string }) => r.run_id)).toEqual([runIds[1], runIds[0]])
    expect(body.history[1]).toMatchObject({
      status: 'succeeded',
      version: 2,
      gate_passed: true,
      chosen_family: 'xgboost',
    })
    expect(body.history[0].gate_reasons).toEqual(['roc_auc 0.79 < 0.80'])
  })

  it('retrain/trigger: 202 with a request id, and the RetrainRequest lands on the topic', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/mlops/api/retrain/trigger',
      headers: auth,
      payload: { reason: 'test run', requested_by: 'vitest' },
    })
    expect(res.statusCode).toBe(202)
    const body = res.json()
    expect(Object.keys(body).sort()).toEqual(['message', 'model_name', 'request_id', 'success'])
    const topic = s.deps.topics.retrainRequests
    const msgs = await collectMessages(s.deps.kafka, topic, (m) => m.length >= 1)
    const decoded = await Promise.all(
      msgs.map(
        async (m) => (await s.deps.serde.decode<Record<string, unknown>>(m.value!, 'RetrainRequest')).value,
      ),
    )
    const mine = decoded.find((d) => d.requestId === body.request_id)
    expect(mine).toMatchObject({
      modelName: s.modelName,
      trigger: 'manual',
      reason: 'test run',
      requestedBy: 'vitest',
    })
  })
})

describe('/v1 routes', () => {
  it('POST /v1/predict scores with the production model and publishes request + prediction', async () => {
    const requests = [
      {
        requestId: `${s.modelName}-live-1`,
        patientId: 'pseudo-1',
        glucose: 150,
        bmi: 31.2,
        age: 45,
        pregnancies: 2,
        bloodPressure: 70,
        skinThickness: 20,
        insulin: 80,
        diabetesPedigreeFunction: 0.5,
      },
      { requestId: `${s.modelName}-live-2`, patientId: 'pseudo-2', glucose: null, bmi: 22, age: 30 },
    ]
    const res = await app.inject({
      method: 'POST',
      url: '/v1/predict',
      headers: { authorization: `Bearer ${API_KEY}` },
      payload: { requests },
    })
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body.model).toMatchObject({ version: 1, threshold: 0.5 })
    // linearArtifact: weights 0.1·(i+1), intercept −1, missing imputed as 0.
    const x = [2, 150, 70, 20, 80, 31.2, 0.5, 45]
    const m = -1 + x.reduce((a, v, i) => a + 0.1 * (i + 1) * v, 0)
    expect(body.predictions[0].probability).toBeCloseTo(1 / (1 + Math.exp(-m)), 12)
    expect(body.predictions).toHaveLength(2)

    const ids = new Set(requests.map((r) => r.requestId))
    const p = await collectMessages(
      s.deps.kafka,
      s.deps.topics.predictions,
      (msgs) => msgs.filter((x) => ids.has(x.key ?? '')).length >= 2,
    )
    const decoded = await Promise.all(
      p
        .filter((x) => ids.has(x.key ?? ''))
        .map(async (x) => (await s.deps.serde.decode<Record<string, unknown>>(x.value!, 'Prediction')).value),
    )
    expect(decoded.find((d) => d.requestId === requests[0]!.requestId)).toMatchObject({
      modelVersion: 1,
      patientId: 'pseudo-1',
      glucose: 150,
    })
    expect(p.find((x) => ids.has(x.key ?? ''))!.headers['riskstream-scored-by']).toBe('api')
    const r = await collectMessages(
      s.deps.kafka,
      s.deps.topics.requests,
      (msgs) => msgs.filter((x) => ids.has(x.key ?? '')).length >= 2,
    )
    const req = await s.deps.serde.decode<Record<string, unknown>>(
      r.find((x) => x.key === requests[1]!.requestId)!.value!,
      'PredictionRequest',
    )
    expect(req.value).toMatchObject({ patientId: 'pseudo-2', glucose: null, bmi: 22, sourceSystem: 'api' })
  })

  it('POST /v1/predict rejects out-of-bounds features with 400 naming field and rule', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/predict',
      headers: auth,
      payload: { patientId: 'x', glucose: 5000 },
    })
    expect(res.statusCode).toBe(400)
    const body = res.json()
    expect(body).toMatchObject({ success: false, code: 'VALIDATION_FAILED' })
    expect(body.details).toEqual([expect.objectContaining({ field: 'body.glucose', rule: 'range' })])
    expect(body.error).not.toContain('5000')
  })

  it('POST /v1/predict rejects unknown fields and wrong types via the schema', async () => {
    const unknown = await app.inject({
      method: 'POST',
      url: '/v1/predict',
      headers: auth,
      payload: { patientId: 'x', glucoze: 100 },
    })
    expect(unknown.statusCode).toBe(400)
    expect(unknown.json().code).toBe('BAD_REQUEST')
    const wrong = await app.inject({
      method: 'POST',
      url: '/v1/predict',
      headers: auth,
      payload: { patientId: 'x', glucose: 'high' },
    })
    expect(wrong.statusCode).toBe(400)
  })

  it('GET /v1/models lists versions; GET /v1/models/:version shows one; 404 for an unknown one', async () => {
    const list = await get('/v1/models')
    expect(list.status).toBe(200)
    expect(list.body.production_version).toBe(1)
    expect(list.body.models.map((m: { version: number }) => m.version)).toEqual([3, 2, 1])
    const one = await get('/v1/models/2')
    expect(one.body.model).toMatchObject({ version: 2, stage: 'archived', run_id: 'run-2' })
    const missing = await get('/v1/models/99')
    expect(missing.status).toBe(404)
    expect(missing.body).toEqual({ success: false, error: expect.any(String), code: 'MODEL_NOT_FOUND' })
  })

  it('promote and rollback change production, and /v1/predict follows at once', async () => {
    const promote = await app.inject({
      method: 'POST',
      url: '/v1/models/3/promote',
      headers: auth,
      payload: { reason: 'challenger wins' },
    })
    expect(promote.statusCode).toBe(200)
    expect((await get('/mlops/api/model/info')).body.model_info.version).toBe(3)
    const scored = await app.inject({
      method: 'POST',
      url: '/v1/predict',
      headers: auth,
      payload: { patientId: 'pseudo-3', glucose: 100 },
    })
    expect(scored.json().model.version).toBe(3)

    const back = await app.inject({
      method: 'POST',
      url: '/v1/models/1/rollback',
      headers: auth,
      payload: {},
    })
    expect(back.statusCode).toBe(200)
    expect(back.json()).toMatchObject({ version: 1, previous_version: 3 })
    expect((await get('/mlops/api/model/info')).body.model_info.version).toBe(1)
    const history = await s.registry.history(s.modelName)
    expect(history.at(-1)).toMatchObject({ version: 1, stage: 'production', action: 'rollback' })

    // Rolling back to the production version, or to one never in production, is a 400.
    expect(
      (await app.inject({ method: 'POST', url: '/v1/models/1/rollback', headers: auth })).statusCode,
    ).toBe(400)
    expect(
      (await app.inject({ method: 'POST', url: '/v1/models/99/promote', headers: auth })).statusCode,
    ).toBe(404)
  })

  it('GET /v1/runs/:id returns a run with parameters; unknown id → 404', async () => {
    const { status, body } = await get(`/v1/runs/${runIds[0]}`)
    expect(status).toBe(200)
    expect(body.run).toMatchObject({
      run_id: runIds[0],
      params: { k: 5 },
      candidates: [{ family: 'xgboost' }],
    })
    expect((await get('/v1/runs/nope')).status).toBe(404)
  })

  it('dashboard JSON routes return series with points', async () => {
    const psi = await get('/v1/dashboard/psi?hours=24')
    expect(psi.body.series.glucose).toHaveLength(12)
    expect(psi.body.series).not.toHaveProperty('__probability')
    const perf = await get('/v1/dashboard/performance?hours=24')
    expect(perf.body.series.accuracy).toHaveLength(12)
    expect(perf.body.thresholds.concept_drift_accuracy).toBeCloseTo(
      mon.expectedAccuracy - s.deps.config.drift.conceptDropThreshold,
      9,
    )
    const vol = await get('/v1/dashboard/volume?hours=24')
    const sum = vol.body.buckets.reduce((a: number, b: { predictions: number }) => a + b.predictions, 0)
    expect(sum).toBeGreaterThanOrEqual(preds.total)
    const alerts = await get('/v1/dashboard/alerts?hours=24')
    expect(alerts.body.alerts).toHaveLength(4)
    const versions = await get('/v1/dashboard/versions')
    expect(versions.body.events.some((e: { action: string }) => e.action === 'rollback')).toBe(true)
    const summary = await get('/v1/dashboard/summary?hours=24')
    expect(summary.body.performance.total_predictions).toBeGreaterThanOrEqual(preds.total)
    expect((await get('/v1/dashboard/runs')).body.runs).toHaveLength(2)
  })
})

describe('operations', () => {
  it('/health answers; /ready reports each dependency with its latency', async () => {
    expect((await get('/health')).body).toMatchObject({ success: true, status: 'ok' })
    const ready = await get('/ready')
    expect(ready.status).toBe(200)
    for (const c of ['kafka', 'schema_registry', 'clickhouse']) {
      expect(ready.body.checks[c].status).toBe('up')
      expect(ready.body.checks[c].latency_ms).toBeGreaterThanOrEqual(0)
    }
  })

  it('/metrics serves Prometheus text with request counters and latency histograms', async () => {
    const res = await app.inject({ method: 'GET', url: '/metrics' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toContain('text/plain')
    expect(res.body).toContain(
      'riskstream_api_requests_total{method="GET",route="/mlops/api/model/info",status="200"}',
    )
    expect(res.body).toContain('riskstream_api_request_duration_seconds_bucket')
    expect(res.body).toMatch(/riskstream_api_predictions_total\{model="[^"]+",version="1"\} [1-9]/)
  })

  it('OpenAPI document lists the routes; /docs serves the interactive page with security headers', async () => {
    const doc = await get('/docs/json')
    expect(doc.body.openapi).toMatch(/^3\./)
    for (const p of [
      '/mlops/api/model/info',
      '/mlops/api/monitoring/performance/{days}',
      '/v1/predict',
      '/v1/models/{version}/rollback',
      '/ready',
    ]) {
      expect(doc.body.paths).toHaveProperty([p])
    }
    const page = await app.inject({ method: 'GET', url: '/docs' })
    expect([200, 302]).toContain(page.statusCode)
    const dash = await app.inject({ method: 'GET', url: '/dashboard/' })
    expect(dash.statusCode).toBe(200)
    expect(dash.headers['content-security-policy']).toContain("script-src 'self'")
    expect(dash.headers['x-content-type-options']).toBe('nosniff')
    expect(
      (await app.inject({ method: 'GET', url: '/dashboard/vendor/chart.umd.js' })).body.length,
    ).toBeGreaterThan(100_000)
  })
})

describe('bad input', () => {
  it.each([
    ['/mlops/api/monitoring/predictions/recent/1001', 'params.limit', 'maximum'],
    ['/mlops/api/monitoring/predictions/recent/0', 'params.limit', 'minimum'],
    ['/mlops/api/monitoring/predictions/recent/ten', 'params.limit', 'type'],
    ['/mlops/api/monitoring/performance/0', 'params.days', 'minimum'],
    ['/mlops/api/monitoring/performance/366', 'params.days', 'maximum'],
    ['/mlops/api/monitoring/performance/1.5', 'params.days', 'type'],
    ['/mlops/api/monitoring/alerts/recent?limit=5000', 'querystring.limit', 'maximum'],
  ])('%s → 400 naming %s and rule %s', async (url, field, rule) => {
    const { status, body } = await get(url)
    expect(status).toBe(400)
    expect(body).toMatchObject({ success: false, code: 'BAD_REQUEST' })
    expect(body.details[0]).toMatchObject({ field, rule })
  })

  it('mutating routes need a key: 401 without one or with a wrong one', async () => {
    for (const [url, payload] of [
      ['/v1/predict', { patientId: 'x', glucose: 100 }],
      ['/mlops/api/retrain/trigger', {}],
      ['/v1/models/2/promote', {}],
      ['/v1/models/2/rollback', {}],
    ] as const) {
      const none = await app.inject({ method: 'POST', url, payload })
      expect(none.statusCode, url).toBe(401)
      expect(none.json()).toMatchObject({ success: false, code: 'UNAUTHORIZED' })
      const wrong = await app.inject({
        method: 'POST',
        url,
        payload,
        headers: { 'x-api-key': `${API_KEY}x` },
      })
      expect(wrong.statusCode, url).toBe(401)
    }
    expect((await get('/mlops/api/model/info')).body.model_info.version).toBe(1)
  })

  it('SQL in parameters is a value: 400/404, and the tables are still there', async () => {
    const sql = "'; DROP TABLE predictions; --"
    expect((await get(`/v1/models/${encodeURIComponent(sql)}`)).status).toBe(400)
    expect((await get(`/v1/runs/${encodeURIComponent(sql)}`)).status).toBe(404)
    const alerts = await get(`/mlops/api/monitoring/alerts/recent?kind=${encodeURIComponent(sql)}`)
    expect(alerts.status).toBe(200)
    expect(alerts.body.total_count).toBe(0)
    const [row] = await queryRows<{ n: number }>(
      s.deps.clickhouse,
      'SELECT count() AS n FROM predictions FINAL WHERE model_name = {m:String}',
      { m: s.modelName },
    )
    expect(Number(row!.n)).toBeGreaterThanOrEqual(preds.total)
  })

  it('unknown routes answer 404 in the error shape', async () => {
    expect(await get('/nope')).toMatchObject({ status: 404, body: { success: false, code: 'NOT_FOUND' } })
  })
})

describe('responses match the OpenAPI document on real data', () => {
  // A second app over the same stack serialising with JSON.stringify: its bodies are what the
  // handlers return, so they must validate against the declared schemas (closed shapes: an
  // undeclared property fails), and the served app's bodies must equal them.
  let plain: FastifyInstance
  beforeAll(async () => {
    plain = await buildApp(
      { ...s.deps, registry: s.registry, now: () => NOW },
      { scorerRefreshMs: 60_000, plainSerializer: true },
    )
  })
  afterAll(async () => {
    await plain?.close()
  })

  it('every read route, its 404s and the mutating routes', async () => {
    const doc: OpenApiDoc = (await get('/docs/json')).body
    const check = responseChecker(doc)
    const reads: [path: string, url: string, status: number][] = [
      ['/mlops/api/model/info', '/mlops/api/model/info', 200],
      ['/mlops/api/monitoring/performance/{days}', '/mlops/api/monitoring/performance/1', 200],
      ['/mlops/api/monitoring/drift/check', '/mlops/api/monitoring/drift/check', 200],
      [
        '/mlops/api/monitoring/predictions/recent/{limit}',
        '/mlops/api/monitoring/predictions/recent/50',
        200,
      ],
      ['/mlops/api/monitoring/alerts/recent', '/mlops/api/monitoring/alerts/recent', 200],
      ['/mlops/api/retrain/history', '/mlops/api/retrain/history', 200],
      ['/v1/models', '/v1/models', 200],
      ['/v1/models/{version}', '/v1/models/2', 200],
      ['/v1/models/{version}', '/v1/models/99', 404],
      ['/v1/runs/{id}', `/v1/runs/${runIds[0]}`, 200],
      ['/v1/runs/{id}', '/v1/runs/nope', 404],
      ['/health', '/health', 200],
      ['/ready', '/ready', 200],
      ...['summary', 'psi', 'performance', 'volume', 'alerts', 'versions', 'runs', 'segments'].map(
        (r) => [`/v1/dashboard/${r}`, `/v1/dashboard/${r}?hours=24`, 200] as [string, string, number],
      ),
    ]
    for (const [path, url, status] of reads) {
      const [served, bare] = await Promise.all([
        app.inject({ method: 'GET', url }),
        plain.inject({ method: 'GET', url }),
      ])
      expect([served.statusCode, bare.statusCode], url).toEqual([status, status])
      expect(check('GET', path, status, bare.json()), url).toEqual([])
      expect(stable(served.json()), url).toEqual(stable(bare.json()))
    }

    const post = async (path: string, url: string, payload: unknown, status: number) => {
      const res = await plain.inject({ method: 'POST', url, headers: auth, payload: payload as object })
      expect(res.statusCode, url).toBe(status)
      expect(check('POST', path, status, res.json()), url).toEqual([])
      return res.json()
    }
    const scored = await post(
      '/v1/predict',
      '/v1/predict',
      { requestId: `${s.modelName}-schema-1`, patientId: 'pseudo-9', glucose: 120, bmi: 28 },
      200,
    )
    expect(scored.predictions).toHaveLength(1)
    await post('/v1/predict', '/v1/predict', { patientId: 'x', glucose: 5000 }, 400)
    await post('/v1/models/{version}/promote', '/v1/models/3/promote', { reason: 'schema check' }, 200)
    await post('/v1/models/{version}/rollback', '/v1/models/1/rollback', {}, 200)
    await post('/mlops/api/retrain/trigger', '/mlops/api/retrain/trigger', { reason: 'schema check' }, 202)
    expect((await get('/mlops/api/model/info')).body.model_info.version).toBe(1)
  })
})
