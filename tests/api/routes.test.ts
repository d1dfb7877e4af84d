/**
 * Every route through app.inject() against in-memory fakes of the API's services
 * (tests/api/fakes.ts): happy paths, the key tiers (reads closed by default, an admin key for
 * promote, rollback and retrain), 400s naming the field, 404s. No Kafka, registry or ClickHouse;
 * routes.int.test.ts runs the same routes on the real stack.
 */
import type { FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import type { ApiServices } from '../../api/services.ts'
import { SCORED_BY_API, SCORED_BY_HEADER } from '../../lib/kafka/index.ts'
import { fakePublisher, fakeScorer, fakeServices, fakeWarehouse, runRow } from './fakes.ts'
import { ADMIN_KEY, API_KEY, MODEL, registryWithHistory, unitApps, unitConfig } from './unit-app.ts'

const NOW = Date.now()
const build = unitApps()
/** The app `call` talks to: the newest one started. */
let app: FastifyInstance | undefined

async function start(over: Partial<ApiServices> = {}, env: Record<string, string> = {}) {
  const services = fakeServices(unitConfig(env), { now: () => NOW, ...over })
  app = await build(services)
  return { app, services }
}

const call = async (method: 'GET' | 'POST', url: string, key?: string, payload?: unknown) => {
  const res = await app!.inject({
    method,
    url,
    payload: payload as object,
    headers: key ? { 'x-api-key': key } : {},
  })
  return {
    status: res.statusCode,
    body: String(res.headers['content-type']).includes('json') ? res.json() : res.body,
  }
}

const patient = (over: Record<string, unknown> = {}) => ({
  requestId: 'req-1',
  patientId: 'p-1',
  eventTime: NOW - 60_000,
  glucose: 150,
  bmi: 31,
  age: 50,
  ...over,
})

describe('key tiers', () => {
  it('reads are closed by default: 401 without a key, 200 with an API key', async () => {
    await start({ registry: registryWithHistory().registry })
    expect(await call('GET', '/v1/models')).toMatchObject({ status: 401, body: { code: 'UNAUTHORIZED' } })
    expect((await call('GET', '/v1/models', 'wrong-key')).status).toBe(401)
    expect((await call('GET', '/v1/models', API_KEY)).status).toBe(200)
  })

  it('API_READ_OPEN=true opens reads, not scoring', async () => {
    await start({ registry: registryWithHistory().registry }, { API_READ_OPEN: 'true' })
    expect((await call('GET', '/v1/models')).status).toBe(200)
    expect((await call('POST', '/v1/predict', undefined, patient())).status).toBe(401)
  })

  it('promote, rollback and retrain need an admin key: 403 with an API key', async () => {
    const { registry } = registryWithHistory()
    const pub = fakePublisher()
    await start({ registry, publisher: pub.publisher })
    for (const url of ['/v1/models/3/promote', '/v1/models/1/rollback', '/mlops/api/retrain/trigger']) {
      expect(await call('POST', url, API_KEY, {})).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } })
      expect((await call('POST', url)).status).toBe(401)
    }
    expect((await registry.production(MODEL))?.version).toBe(2)
    expect(pub.sent).toEqual([])
  })

  it('liveness and unknown routes need no key', async () => {
    await start()
    expect(await call('GET', '/health')).toMatchObject({ status: 200, body: { status: 'ok' } })
    expect(await call('GET', '/v1/nothing-here')).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } })
  })
})

describe('POST /v1/predict', () => {
  it('scores with the production model and publishes the request and its prediction', async () => {
    const { registry } = registryWithHistory()
    const pub = fakePublisher()
    await start({ registry, scorer: fakeScorer(registry, MODEL, 0.8), publisher: pub.publisher })
    const { status, body } = await call('POST', '/v1/predict', API_KEY, patient())
    expect(status).toBe(200)
    expect(body.model).toMatchObject({ model_name: MODEL, version: 2, threshold: 0.5 })
    expect(body.predictions).toEqual([
      {
        request_id: 'req-1',
        patient_id: 'p-1',
        probability: 0.8,
        prediction: 1,
        risk_level: 'high',
        model_version: 2,
        scored_at: NOW,
      },
    ])
    expect(pub.sent.map((b) => [b.topic, b.schema])).toEqual([
      ['unit.clinical.prediction-requests', 'PredictionRequest'],
      ['unit.mlops.predictions', 'Prediction'],
    ])
    const [request, prediction] = pub.sent.map((b) => b.records[0]!)
    expect(request).toMatchObject({
      key: 'req-1',
      value: { sourceSystem: 'api', glucose: 150, insulin: null },
    })
    expect(prediction?.value).toMatchObject({ modelVersion: 2, probability: 0.8, label: 1, shadow: false })
    expect(prediction?.headers?.[SCORED_BY_HEADER]).toBe(SCORED_BY_API)
  })

  it('answers a repeated request from memory and refuses its reuse with another payload (409)', async () => {
    const { registry } = registryWithHistory()
    const pub = fakePublisher()
    await start({ registry, publisher: pub.publisher })
    const first = await call('POST', '/v1/predict', API_KEY, patient())
    expect(await call('POST', '/v1/predict', API_KEY, patient())).toEqual(first)
    expect(pub.sent).toHaveLength(2)
    expect(await call('POST', '/v1/predict', API_KEY, patient({ glucose: 151 }))).toMatchObject({
      status: 409,
      body: { code: 'IDEMPOTENCY_CONFLICT', details: [{ field: 'body.requestId', rule: 'conflict' }] },
    })
  })

  it('400 naming the field: schema bounds, the input domain, unknown fields', async () => {
    await start({ registry: registryWithHistory().registry })
    const future = await call('POST', '/v1/predict', API_KEY, patient({ eventTime: NOW + 86_400_000 }))
    expect(future).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } })
    expect(future.body.details).toEqual([
      {
        field: 'body.eventTime',
        rule: 'future',
        message: 'body.eventTime is more than 5 minutes in the future',
      },
    ])
    const batch = await call('POST', '/v1/predict', API_KEY, {
      requests: [patient(), patient({ requestId: 'req-2', patientId: ' ' })],
    })
    expect(batch.status).toBe(400)
    expect(batch.body.error).toContain('body.requests.1.patientId')
    const unknown = await call('POST', '/v1/predict', API_KEY, patient({ cholesterol: 200 }))
    expect(unknown).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST' } })
    expect(unknown.body.error).toContain('cholesterol')
  })

  it('404 without a production version; 503 when the broker does not take the events', async () => {
    await start()
    expect(await call('POST', '/v1/predict', API_KEY, patient())).toMatchObject({
      status: 404,
      body: { code: 'MODEL_NOT_FOUND' },
    })
    const pub = fakePublisher()
    pub.state.fail = true
    await start({ registry: registryWithHistory().registry, publisher: pub.publisher })
    expect(await call('POST', '/v1/predict', API_KEY, patient())).toMatchObject({
      status: 503,
      body: { code: 'KAFKA_UNAVAILABLE' },
    })
  })
})

describe('model registry routes', () => {
  it('lists versions newest first with the production version; 404 for an unknown one', async () => {
    await start({ registry: registryWithHistory().registry })
    const list = await call('GET', '/v1/models', API_KEY)
    expect(list.body).toMatchObject({ model_name: MODEL, production_version: 2 })
    expect(list.body.models.map((m: { version: number }) => m.version)).toEqual([3, 2, 1])
    expect(await call('GET', '/v1/models/3', API_KEY)).toMatchObject({
      status: 200,
      body: { model: { version: 3, stage: 'candidate', dataset_sha256: 'f'.repeat(64) } },
    })
    expect(await call('GET', '/v1/models/9', API_KEY)).toMatchObject({
      status: 404,
      body: { code: 'MODEL_NOT_FOUND' },
    })
    expect((await call('GET', '/v1/models/0', API_KEY)).body.error).toContain('params.version')
  })

  it('promotes with an admin key, and the read routes see it at once', async () => {
    const { registry } = registryWithHistory()
    await start({ registry })
    expect((await call('GET', '/mlops/api/model/info', API_KEY)).body.model_info.version).toBe(2)
    expect(await call('POST', '/v1/models/3/promote', ADMIN_KEY, { reason: 'better' })).toMatchObject({
      status: 200,
      body: { version: 3, message: 'v3 is now in production' },
    })
    expect((await call('GET', '/mlops/api/model/info', API_KEY)).body.model_info.version).toBe(3)
    expect(await call('POST', '/v1/models/9/promote', ADMIN_KEY, {})).toMatchObject({ status: 404 })
  })

  it('rolls back to a former production version; refuses the current one and a never-served one', async () => {
    const { registry, history } = registryWithHistory()
    await start({ registry })
    expect(await call('POST', '/v1/models/2/rollback', ADMIN_KEY, {})).toMatchObject({
      status: 400,
      body: { code: 'BAD_REQUEST' },
    })
    const never = await call('POST', '/v1/models/3/rollback', ADMIN_KEY, {})
    expect(never).toMatchObject({ status: 400 })
    expect(never.body.error).toContain('never in production')
    expect(await call('POST', '/v1/models/9/rollback', ADMIN_KEY, {})).toMatchObject({ status: 404 })
    expect(await call('POST', '/v1/models/1/rollback', ADMIN_KEY, {})).toMatchObject({
      status: 200,
      body: { version: 1, previous_version: 2 },
    })
    // The registry's own rollback was used: the history records a rollback.
    expect(history.at(-1)).toMatchObject({ version: 1, action: 'rollback' })
  })

  it('training runs: one run of this model, 404 for an unknown id or another model', async () => {
    const { warehouse } = fakeWarehouse({
      getRun: async (id) =>
        id === 'run-a' ? runRow(MODEL, 'run-a') : id === 'run-b' ? runRow('other', 'run-b') : null,
      listRuns: async () => ({ runs: [runRow(MODEL, 'run-a')], total: 1 }),
    })
    await start({ warehouse })
    expect(await call('GET', '/v1/runs/run-a', API_KEY)).toMatchObject({
      status: 200,
      body: { run: { run_id: 'run-a' } },
    })
    expect(await call('GET', '/v1/runs/run-b', API_KEY)).toMatchObject({
      status: 404,
      body: { code: 'NOT_FOUND' },
    })
    expect(await call('GET', '/v1/runs/nope', API_KEY)).toMatchObject({ status: 404 })
    expect(await call('GET', '/mlops/api/retrain/history', API_KEY)).toMatchObject({
      status: 200,
      body: { total_count: 1, history: [{ run_id: 'run-a' }] },
    })
  })
})

describe('original /mlops/api routes', () => {
  it('model/info is 404 without a production version', async () => {
    await start()
    expect(await call('GET', '/mlops/api/model/info', API_KEY)).toMatchObject({
      status: 404,
      body: { code: 'MODEL_NOT_FOUND' },
    })
  })

  it('monitoring reads answer from the warehouse; bad path parameters are a 400 naming them', async () => {
    const { warehouse, calls } = fakeWarehouse()
    await start({ registry: registryWithHistory().registry, warehouse })
    for (const url of [
      '/mlops/api/monitoring/performance/7',
      '/mlops/api/monitoring/predictions/recent/10',
      '/mlops/api/monitoring/alerts/recent',
      '/mlops/api/monitoring/drift/check',
    ])
      expect((await call('GET', url, API_KEY)).status, url).toBe(200)
    expect(calls).toEqual(
      expect.arrayContaining([
        'performanceSummary',
        'recentPredictions',
        'recentAlerts',
        'latestDriftVerdicts',
      ]),
    )
    const days = await call('GET', '/mlops/api/monitoring/performance/0', API_KEY)
    expect(days).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST' } })
    expect(days.body.details[0].field).toBe('params.days')
    expect(
      (await call('GET', '/mlops/api/monitoring/predictions/recent/5000', API_KEY)).body.details[0].field,
    ).toBe('params.limit')
  })

  it('retrain/trigger: 202 and one RetrainRequest; a second while one is queued is refused (429)', async () => {
    const pub = fakePublisher()
    await start({ publisher: pub.publisher })
    const res = await call('POST', '/mlops/api/retrain/trigger', ADMIN_KEY, { reason: 'manual check' })
    expect(res).toMatchObject({ status: 202, body: { model_name: MODEL } })
    expect(pub.sent).toHaveLength(1)
    expect(pub.sent[0]).toMatchObject({
      topic: 'unit.mlops.retrain-requests',
      schema: 'RetrainRequest',
      records: [
        { key: MODEL, value: { requestId: res.body.request_id, trigger: 'manual', reason: 'manual check' } },
      ],
    })
    expect(await call('POST', '/mlops/api/retrain/trigger', ADMIN_KEY, {})).toMatchObject({
      status: 429,
      body: { code: 'RATE_LIMITED' },
    })
  })
})

describe('dashboard and ops', () => {
  it('every dashboard series answers from the warehouse and the registry', async () => {
    await start({ registry: registryWithHistory().registry })
    for (const url of [
      '/v1/dashboard/summary',
      '/v1/dashboard/psi',
      '/v1/dashboard/performance',
      '/v1/dashboard/volume',
      '/v1/dashboard/alerts',
      '/v1/dashboard/versions',
      '/v1/dashboard/runs',
    ]) {
      expect((await call('GET', url)).status, url).toBe(401)
      expect((await call('GET', url, API_KEY)).status, url).toBe(200)
    }
  })

  it('/ready is 200 when every check answers and 503 naming the one that does not', async () => {
    await start()
    expect(await call('GET', '/ready')).toMatchObject({ status: 200, body: { status: 'ready' } })
    await start({
      ready: {
        kafka: async () => {},
        schemaRegistry: async () => {},
        clickhouse: async () => {
          throw new Error('connection refused')
        },
      },
    })
    const res = await call('GET', '/ready')
    expect(res).toMatchObject({
      status: 503,
      body: {
        status: 'not_ready',
        checks: { kafka: { status: 'up' }, clickhouse: { status: 'down', error: 'connection refused' } },
      },
    })
  })

  it('/metrics serves the API metrics as Prometheus text', async () => {
    await start()
    await call('GET', '/health')
    const res = await call('GET', '/metrics')
    expect(res.status).toBe(200)
    expect(res.body).toContain('# TYPE')
  })
})
