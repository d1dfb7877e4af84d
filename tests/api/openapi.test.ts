/**
 * The OpenAPI document is typed and true: every operation declares its request parameters, a
 * 2xx response schema and the shared error schema on 4xx and 5xx; and every route's real
 * response (over in-memory fakes, tests/api/fakes.ts) validates against what it declares.
 *
 * Each scenario runs twice, on an app serialising with the schema-compiled serializer (as
 * served) and on one with JSON.stringify (plainSerializer): the plain bodies validate against
 * the declared schemas (closed shapes: an undeclared property fails), and the served bodies
 * equal the plain ones, so declaring the schemas dropped or coerced nothing.
 */
import type { FastifyInstance } from 'fastify'
import { describe, expect, expectTypeOf, it } from 'vitest'
import type { DriftReport } from '../../api/drift.ts'
import type { RunRow } from '../../api/queries.ts'
import type { DriftReportBody, Run, VolumeBucket } from '../../api/responses.ts'
import type { ApiServices } from '../../api/services.ts'
import { ERROR_CODES } from '../../lib/errors/index.ts'
import { fakePublisher, fakeScorer, fakeServices, fakeWarehouse, runRow } from './fakes.ts'
import { declaredSchema, type OpenApiDoc, operations, responseChecker, stable } from './openapi-check.ts'
import { ADMIN_KEY, API_KEY, MODEL, registryWithHistory, unitApps, unitConfig } from './unit-app.ts'

const NOW = 1_765_000_000_000
const HOUR = 3_600_000

const config = unitConfig()

/** A warehouse answering every read with rows that use every field, nulls included. */
function richWarehouse() {
  const end = NOW - 60_000
  return fakeWarehouse({
    performanceSummary: async (_m, from, to) => ({
      total_predictions: 12,
      labelled_predictions: 8,
      label_coverage: 8 / 12,
      avg_probability: 0.4375,
      prediction_distribution: {
        positive: 5,
        negative: 7,
        positive_rate: 5 / 12,
        histogram: Array.from({ length: 10 }, (_, i) => ({ from: i / 10, to: (i + 1) / 10, count: i % 3 })),
      },
      accuracy: 0.75,
      precision: 2 / 3,
      recall: 0.8,
      f1_score: 0.7272727272727273,
      roc_auc: 0.8125,
      confusion: { tp: 4, fp: 2, tn: 2, fn: 1 },
      period_start: from,
      period_end: to,
    }),
    recentPredictions: async () => [
      {
        request_id: 'r-2',
        patient_id: 'p-2',
        model_version: 2,
        probability: 0.83,
        prediction: 1,
        threshold: 0.5,
        event_time: end,
        scored_at: end + 5,
        actual_outcome: 1,
        correct: true,
      },
      {
        request_id: 'r-1',
        patient_id: 'p-1',
        model_version: 2,
        probability: 0.12,
        prediction: 0,
        threshold: 0.5,
        event_time: end - 1,
        scored_at: end + 4,
        actual_outcome: null,
        correct: null,
      },
    ],
    latestDriftVerdicts: async () => [
      {
        model_version: 2,
        window_id: 210,
        window_width: 500,
        window_size: 500,
        window_end: end,
        subjects: {
          glucose: { psi: 0.31, ks: 0.21, psi_threshold: 0.12, psi_state: 2 },
          bmi: { psi: 0.11, psi_threshold: 0.12, psi_state: 1 },
          age: { psi: 0.02 },
          __probability: { psi: 0.05, psi_state: 0 },
        },
      },
    ],
    latestPerformanceWindows: async () => [
      {
        model_version: 2,
        window_end: end,
        window_size: 200,
        metrics: {
          accuracy: 0.668,
          expected_accuracy: 0.77,
          accuracy_drop: 0.102,
          labels: 200,
          concept_state: 2,
        },
      },
    ],
    latestEstimateWindows: async () => [
      {
        model_version: 2,
        window_end: end,
        window_size: 100,
        metrics: { estimated_accuracy: 0.749, expected_accuracy: 0.77 },
      },
    ],
    recentAlerts: async () => ({
      alerts: [
        {
          event_id: 'ev-2',
          kind: 'concept_drift',
          severity: 'significant',
          model_version: 2,
          window_type: 'sliding',
          window_start: end - HOUR,
          window_end: end,
          window_size: 200,
          features: [],
          scores: { accuracy_drop: 0.102 } as Record<string, number>,
          detected_at: end + 1,
        },
        {
          event_id: 'ev-1',
          kind: 'data_drift',
          severity: 'significant',
          model_version: 2,
          window_type: 'sliding',
          window_start: end - HOUR,
          window_end: end,
          window_size: 500,
          features: ['glucose'],
          scores: { glucose: 0.31 },
          detected_at: end,
        },
      ],
      total: 3,
    }),
    listRuns: async () => ({
      runs: [
        runRow(MODEL, 'run-b', {
          status: 'rejected',
          gate_passed: false,
          gate_reasons: ['roc_auc 0.79 < 0.80'],
          version: null,
          params: {},
          candidates: [],
        }),
        runRow(MODEL, 'run-a', { params: {}, candidates: [] }),
      ],
      total: 2,
    }),
    getRun: async (id) =>
      id === 'run-a' ? runRow(MODEL, 'run-a') : id === 'run-c' ? runRow(MODEL, 'run-c', runningRun) : null,
    windowSeries: async (_m, monitor, metrics) =>
      (monitor === 'drift' ? ['glucose', 'age', '__probability'] : metrics).flatMap((key, k) => [
        { key, version: 1, t: end - HOUR, v: 0.01 * (k + 1) },
        { key, version: 2, t: end, v: 0.7 + 0.01 * k },
      ]),
    segmentWindows: async () => [
      ...['psi', 'psi_threshold', 'psi_state'].map((metric, k) => ({
        segment: 'source=clinic-a',
        version: 2,
        monitor: 'drift',
        subject: 'glucose',
        metric,
        value: [0.3, 0.2, 2][k]!,
        t: end,
        n: 1000,
      })),
      ...['estimated_accuracy', 'estimated_f1', 'estimated_roc_auc', 'estimate_state'].map((metric, k) => ({
        segment: 'age=30-39',
        version: 2,
        monitor: 'estimate',
        subject: '',
        metric,
        value: [0.75, 0.6, 0.81, 1][k]!,
        t: end,
        n: 800,
      })),
      {
        segment: 'source=other',
        version: 2,
        monitor: 'quality',
        subject: '',
        metric: 'segment_overflow',
        value: 12,
        t: end,
        n: 17,
      },
    ],
    volumeSeries: async () => [
      { t: end - HOUR, predictions: 7, labelled: 5, positive: 3 },
      { t: end, predictions: 5, labelled: 3, positive: 2 },
    ],
  })
}
const runningRun = { status: 'running', finished_at: null, duration_ms: 0, version: null } as const

interface Call {
  method: 'GET' | 'POST'
  /** The operation's path as the OpenAPI document spells it. */
  path: string
  url?: string
  key?: string
  payload?: unknown
  status: number
}

const get = (path: string, status = 200, url = path): Call => ({
  method: 'GET',
  path,
  url,
  key: API_KEY,
  status,
})
const post = (path: string, url: string, payload: unknown, status: number, key = API_KEY): Call => ({
  method: 'POST',
  path,
  url,
  key,
  payload,
  status,
})
const patient = (requestId: string, over: Record<string, unknown> = {}) => ({
  requestId,
  patientId: `p-${requestId}`,
  eventTime: NOW - 60_000,
  glucose: 150,
  bmi: 31.2,
  age: 50,
  ...over,
})
const DASHBOARD = ['summary', 'psi', 'performance', 'volume', 'alerts', 'versions', 'runs', 'segments'].map(
  (r) => `/v1/dashboard/${r}`,
)

/** Every route with data, and their error answers. */
const FULL: Call[] = [
  get('/mlops/api/model/info'),
  get('/mlops/api/monitoring/performance/{days}', 200, '/mlops/api/monitoring/performance/7'),
  get('/mlops/api/monitoring/performance/{days}', 400, '/mlops/api/monitoring/performance/0'),
  get('/mlops/api/monitoring/drift/check'),
  get('/mlops/api/monitoring/predictions/recent/{limit}', 200, '/mlops/api/monitoring/predictions/recent/10'),
  get(
    '/mlops/api/monitoring/alerts/recent',
    200,
    '/mlops/api/monitoring/alerts/recent?limit=5&kind=data_drift',
  ),
  get('/mlops/api/retrain/history', 200, '/mlops/api/retrain/history?limit=10'),
  post('/mlops/api/retrain/trigger', '/mlops/api/retrain/trigger', { reason: 'check' }, 403),
  post('/mlops/api/retrain/trigger', '/mlops/api/retrain/trigger', { reason: 'check' }, 202, ADMIN_KEY),
  post('/mlops/api/retrain/trigger', '/mlops/api/retrain/trigger', null, 429, ADMIN_KEY),
  post('/v1/predict', '/v1/predict', patient('a'), 200),
  post('/v1/predict', '/v1/predict', { requests: [patient('a'), patient('b', { glucose: null })] }, 200),
  post('/v1/predict', '/v1/predict', patient('a', { glucose: 151 }), 409),
  post('/v1/predict', '/v1/predict', patient('c', { eventTime: NOW + 86_400_000 }), 400),
  post('/v1/predict', '/v1/predict', patient('c', { cholesterol: 200 }), 400),
  post('/v1/predict', '/v1/predict', patient('c'), 401, ''),
  get('/v1/models'),
  get('/v1/models/{version}', 200, '/v1/models/3'),
  get('/v1/models/{version}', 404, '/v1/models/9'),
  post('/v1/models/{version}/promote', '/v1/models/3/promote', { reason: 'better' }, 200, ADMIN_KEY),
  post('/v1/models/{version}/promote', '/v1/models/9/promote', null, 404, ADMIN_KEY),
  post('/v1/models/{version}/rollback', '/v1/models/2/rollback', {}, 200, ADMIN_KEY),
  post('/v1/models/{version}/rollback', '/v1/models/2/rollback', {}, 400, ADMIN_KEY),
  get('/v1/runs/{id}', 200, '/v1/runs/run-a'),
  get('/v1/runs/{id}', 200, '/v1/runs/run-c'),
  get('/v1/runs/{id}', 404, '/v1/runs/nope'),
  get('/health'),
  get('/ready'),
  get('/metrics'),
  ...DASHBOARD.map((p) => get(p, 200, `${p}?hours=48`)),
]

/** No production version, no rows, ClickHouse not answering /ready. */
const EMPTY: Call[] = [
  get('/mlops/api/model/info', 404),
  get('/mlops/api/monitoring/performance/{days}', 200, '/mlops/api/monitoring/performance/1'),
  get('/mlops/api/monitoring/drift/check'),
  get('/mlops/api/monitoring/predictions/recent/{limit}', 200, '/mlops/api/monitoring/predictions/recent/1'),
  get('/mlops/api/monitoring/alerts/recent'),
  get('/mlops/api/retrain/history'),
  post('/v1/predict', '/v1/predict', patient('a'), 404),
  get('/v1/models'),
  post('/v1/models/{version}/rollback', '/v1/models/1/rollback', {}, 404, ADMIN_KEY),
  get('/ready', 503),
  ...DASHBOARD.map((p) => get(p)),
]

const full = (): ApiServices => {
  // v3 a shadow candidate without a dataset hash; v2 and v3 with parents and hyperparameters.
  const { registry } = registryWithHistory({
    2: { parentVersion: 1, hyperparameters: { C: 0.5, penalty: 'l2' } },
    3: { parentVersion: 2, shadow: true, dataset: { rows: 768 } },
  })
  return fakeServices(config, {
    now: () => NOW,
    registry,
    scorer: fakeScorer(registry, MODEL, 0.62),
    warehouse: richWarehouse().warehouse,
    publisher: fakePublisher().publisher,
  })
}
const empty = (): ApiServices =>
  fakeServices(config, {
    now: () => NOW,
    ready: {
      kafka: async () => {},
      schemaRegistry: async () => {},
      clickhouse: async () => {
        throw new Error('connection refused')
      },
    },
  })

const build = unitApps()
const app = (services: ApiServices, plainSerializer = false) => build(services, { plainSerializer })

async function send(a: FastifyInstance, c: Call) {
  const res = await a.inject({
    method: c.method,
    url: c.url ?? c.path,
    payload: c.payload === undefined ? undefined : JSON.stringify(c.payload),
    headers: {
      ...(c.key ? { 'x-api-key': c.key } : {}),
      ...(c.payload === undefined ? {} : { 'content-type': 'application/json' }),
    },
  })
  const mediaType = String(res.headers['content-type']).split(';')[0]!
  return { status: res.statusCode, mediaType, text: res.body }
}

async function openApi(): Promise<OpenApiDoc> {
  const a = await app(full())
  return (await a.inject({ method: 'GET', url: '/docs/json' })).json()
}

describe('the OpenAPI document', () => {
  it('is 3.1 and every operation declares a 2xx schema and the error schema on 4xx and 5xx', async () => {
    const doc = await openApi()
    expect(doc.openapi).toBe('3.1.0')
    const ops = operations(doc)
    expect(ops.length).toBeGreaterThanOrEqual(23)
    const codes = Object.keys(ERROR_CODES).sort()
    // One ErrorResponse, published once and referred to by every 4xx and 5xx.
    expect(doc.components?.schemas?.ErrorResponse).toMatchObject({
      required: ['success', 'error', 'code'],
      additionalProperties: false,
    })
    const error = doc.components!.schemas!.ErrorResponse as { properties: { code: { enum: string[] } } }
    expect(error.properties.code.enum.slice().sort()).toEqual(codes)
    for (const { key, method, path, op } of ops) {
      const statuses = Object.keys(op.responses ?? {})
      const ok = statuses.filter((s) => /^2\d\d$/.test(s))
      expect(ok, key).toHaveLength(1)
      const success = op.responses![ok[0]!]!.content!
      const media = Object.keys(success)
      expect(media.length, key).toBe(1)
      expect(declaredSchema(doc, method, path, Number(ok[0]), media[0]), key).toMatchObject({
        type: expect.any(String),
      })
      for (const klass of ['4XX', '5XX']) {
        expect(op.responses![klass]?.content?.['application/json']?.schema, `${key} ${klass}`).toEqual({
          $ref: '#/components/schemas/ErrorResponse',
        })
      }
    }
  })

  it('declares the path and query parameters of every route that takes them', async () => {
    const doc = await openApi()
    for (const { key, path, op } of operations(doc)) {
      const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1])
      const declared = (op.parameters ?? []).filter((p) => p.in === 'path')
      expect(
        declared.map((p) => p.name),
        key,
      ).toEqual(inPath)
      for (const p of declared)
        expect(p.schema, `${key} ${p.name}`).toMatchObject({ type: expect.any(String) })
    }
    const query = (key: string) =>
      (operations(doc).find((o) => o.key === key)?.op.parameters ?? [])
        .filter((p) => p.in === 'query')
        .map((p) => p.name)
    expect(query('GET /mlops/api/monitoring/alerts/recent')).toEqual(['limit', 'kind'])
    expect(query('GET /mlops/api/retrain/history')).toEqual(['limit'])
    for (const p of DASHBOARD.slice(0, 5)) expect(query(`GET ${p}`), p).toEqual(['hours'])
    for (const key of operations(doc).filter((o) => o.method === 'post')) {
      expect(key.op.requestBody?.content?.['application/json']?.schema, key.key).toBeDefined()
    }
  })

  it('declares response shapes equal to the types the readers return', () => {
    // Compile-time (tsc): a reader or report that changes shape without its schema fails here.
    expectTypeOf<DriftReportBody>().toEqualTypeOf<DriftReport>()
    expectTypeOf<Run>().toEqualTypeOf<RunRow>()
    expectTypeOf<VolumeBucket[]>().toEqualTypeOf<
      Awaited<ReturnType<ApiServices['warehouse']['volumeSeries']>>
    >()
  })
})

describe('real responses validate against the declared schemas, and the compiled serializer changes nothing', () => {
  it.each([
    ['with data', full, FULL],
    ['empty, ClickHouse down', empty, EMPTY],
  ] as const)('%s', async (_name, services, calls) => {
    const doc = await openApi()
    const check = responseChecker(doc)
    const served = await app(services())
    const plain = await app(services(), true)
    const covered = new Set<string>()
    for (const c of calls) {
      const what = `${c.method} ${c.url ?? c.path}`
      const [s, p] = [await send(served, c), await send(plain, c)]
      expect([s.status, p.status], what).toEqual([c.status, c.status])
      expect(s.mediaType, what).toBe(p.mediaType)
      if (c.status < 300) covered.add(`${c.method} ${c.path}`)
      if (s.mediaType !== 'application/json') {
        // /metrics: Prometheus text, declared as text/plain.
        expect(declaredSchema(doc, c.method, c.path, c.status, s.mediaType), what).toEqual({ type: 'string' })
        continue
      }
      const body = JSON.parse(p.text)
      expect(check(c.method, c.path, c.status, body), what).toEqual([])
      expect(check(c.method, c.path, c.status, JSON.parse(s.text)), what).toEqual([])
      expect(stable(JSON.parse(s.text)), what).toEqual(stable(body))
    }
    if (calls === FULL) {
      // Every operation of the document answered with data at least once.
      expect([...covered].sort()).toEqual(
        operations(doc)
          .map((o) => o.key)
          .sort(),
      )
    }
  })
})
