/**
 * The API's safe defaults against real embedded ClickHouse and Kafka: reads closed without
 * API_READ_OPEN, two key tiers, per-key rate limits, bodies never coerced, event times
 * outside the allowed skew refused naming the field, idempotent requestIds, one queued manual
 * retrain, and the read-only ClickHouse reader refusing writes.
 */
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../api/app.ts'
import { createClickHouse, queryRows } from '../../lib/clickhouse/index.ts'
import { readOnlyClickHouse } from '../../lib/clickhouse/readonly.ts'
import { configWith } from '../../lib/config/index.ts'
import { closeDeps } from '../../lib/runtime/index.ts'
import { API_KEY, openStack, registerVersions, type Stack } from './fixtures.ts'

const ADMIN = 'admin-key-0123456789'
let s: Stack
let app: FastifyInstance

beforeAll(async () => {
  // The product's defaults (no API_READ_OPEN), one API key and one admin key.
  s = await openStack({ API_READ_OPEN: 'false', API_ADMIN_KEYS: ADMIN })
  await registerVersions(s)
  app = await buildApp({ ...s.deps, registry: s.registry })
})

afterAll(async () => {
  await app?.close()
  if (s) await closeDeps(s.deps)
})

const predict = (body: unknown, key = API_KEY) =>
  app.inject({ method: 'POST', url: '/v1/predict', headers: { 'x-api-key': key }, payload: body as object })
const valid = (over: Record<string, unknown> = {}) => ({
  patientId: 'sec-1',
  glucose: 120,
  bmi: 28,
  age: 50,
  ...over,
})

describe('closed by default', () => {
  it('API_READ_OPEN defaults to false and API_ADMIN_KEYS to none', () => {
    const c = configWith({})
    expect(c.api.readOpen).toBe(false)
    expect(c.api.adminKeys).toEqual([])
  })

  it('reads of patient data need a key', async () => {
    const url = '/mlops/api/monitoring/predictions/recent/5'
    expect((await app.inject({ method: 'GET', url })).statusCode).toBe(401)
    expect((await app.inject({ method: 'GET', url, headers: { 'x-api-key': API_KEY } })).statusCode).toBe(200)
  })

  it('promote, rollback and retrain need an admin key; a scoring key gets 403', async () => {
    for (const url of ['/v1/models/1/promote', '/v1/models/1/rollback', '/mlops/api/retrain/trigger']) {
      const res = await app.inject({ method: 'POST', url, headers: { 'x-api-key': API_KEY } })
      expect(res.statusCode, url).toBe(403)
      expect(res.json()).toMatchObject({ code: 'FORBIDDEN' })
    }
    const promote = await app.inject({
      method: 'POST',
      url: '/v1/models/2/promote',
      headers: { 'x-api-key': ADMIN },
    })
    expect(promote.statusCode).toBe(200)
  })

  it('with a ClickHouse server and no read-only user, the API reader refuses to start', () => {
    const c = configWith({ CLICKHOUSE_URL: 'http://127.0.0.1:1' })
    expect(() => createClickHouse(c, { readOnly: true })).toThrow(/CLICKHOUSE_API_USER is required/)
    expect(() =>
      configWith({ CLICKHOUSE_URL: 'http://127.0.0.1:1', CLICKHOUSE_API_USER: 'default' }),
    ).toThrow(/must not be CLICKHOUSE_USER/)
  })

  it('the chDB reader refuses writes: readonly=1 per query, insert/command refused', async () => {
    const ro = readOnlyClickHouse(s.deps.clickhouse)
    const [before] = await queryRows<{ n: number }>(ro, 'SELECT count() AS n FROM predictions')
    await expect(ro.query({ query: "INSERT INTO predictions (request_id) SELECT 'ro-x'" })).rejects.toThrow(
      /readonly/i,
    )
    await expect(ro.command({ query: 'TRUNCATE TABLE predictions' })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    })
    await expect(
      ro.insert({ table: 'predictions', values: [], format: 'JSONEachRow' }),
    ).rejects.toMatchObject({
      code: 'FORBIDDEN',
    })
    await expect(ro.query({ query: 'SELECT 1; DROP TABLE predictions' })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    })
    const [after] = await queryRows<{ n: number }>(ro, 'SELECT count() AS n FROM predictions')
    expect(Number(after!.n)).toBe(Number(before!.n))
  })
})

describe('request bodies', () => {
  it('bad event times get 400 naming body.eventTime', async () => {
    for (const eventTime of [
      0,
      86_400_000,
      1_765_000_000,
      4_102_444_800_000,
      8.64e15,
      Date.now() + 3_600_000,
    ]) {
      const res = await predict(valid({ eventTime }))
      expect(res.statusCode, String(eventTime)).toBe(400)
      expect(res.json().error).toContain('body.eventTime')
    }
    expect((await predict(valid({ eventTime: Date.now() - 3_600_000 }))).statusCode).toBe(200)
  })

  it('no coercion: "120", "" and a numeric patientId are type errors, not values', async () => {
    for (const body of [valid({ glucose: '120' }), valid({ glucose: '' }), valid({ patientId: 123 })]) {
      const res = await predict(body)
      expect(res.statusCode).toBe(400)
      expect(res.json().code).toBe('BAD_REQUEST')
    }
  })

  it('over-long ids and control characters in ids are refused naming the field', async () => {
    const long = await predict(valid({ patientId: 'p'.repeat(129) }))
    expect(long.statusCode).toBe(400)
    expect(long.json().error).toContain('patientId')
    const ctrl = await predict(valid({ requestId: 'a\u0000b' }))
    expect(ctrl.statusCode).toBe(400)
    expect(ctrl.json().details).toMatchObject([{ field: 'body.requestId', rule: 'chars' }])
  })
})

describe('idempotency', () => {
  it('same requestId + same payload → the stored prediction; different payload → 409', async () => {
    const requestId = `idem-${Date.now()}`
    const eventTime = Date.now() - 1000
    const first = await predict(valid({ requestId, eventTime }))
    expect(first.statusCode).toBe(200)
    const again = await predict(valid({ requestId, eventTime }))
    expect(again.statusCode).toBe(200)
    expect(again.json().predictions[0]).toEqual(first.json().predictions[0])
    const other = await predict(valid({ requestId, eventTime, glucose: 180 }))
    expect(other.statusCode).toBe(409)
    expect(other.json()).toMatchObject({ code: 'IDEMPOTENCY_CONFLICT' })
  })
})

describe('bounds', () => {
  it('50 retrain triggers in a row: one queued (202), 49 refused with 429 and counted', async () => {
    const gateApp = await buildApp({ ...s.deps, registry: s.registry }, { rateLimitMax: 1000 })
    try {
      const statuses = await Promise.all(
        Array.from({ length: 50 }, () =>
          gateApp.inject({
            method: 'POST',
            url: '/mlops/api/retrain/trigger',
            headers: { 'x-api-key': ADMIN },
          }),
        ),
      ).then((rs) => rs.map((r) => r.statusCode))
      expect(statuses.filter((x) => x === 202)).toHaveLength(1)
      expect(statuses.filter((x) => x === 429)).toHaveLength(49)
      const metrics = (await gateApp.inject({ method: 'GET', url: '/metrics' })).body
      expect(metrics).toContain(
        'riskstream_api_refused_total{route="/mlops/api/retrain/trigger",reason="retrain_pending"} 49',
      )
    } finally {
      await gateApp.close()
    }
  })

  it('rate limits are per key: one key over its limit does not starve another', async () => {
    const limited = await buildApp(
      { ...s.deps, registry: s.registry },
      { rateLimitMax: 2, rateLimitWindowMs: 60_000 },
    )
    try {
      const get = (key: string) =>
        limited.inject({ method: 'GET', url: '/mlops/api/model/info', headers: { 'x-api-key': key } })
      const a = [await get(API_KEY), await get(API_KEY), await get(API_KEY)].map((r) => r.statusCode)
      expect(a).toEqual([200, 200, 429])
      expect((await get(ADMIN)).statusCode).toBe(200)
    } finally {
      await limited.close()
    }
  })
})
