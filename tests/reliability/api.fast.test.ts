/**
 * Promise 7: the API's least privilege, through a real socket (createApiService with
 * API_PORT=0, then fetch). Pass: every mutating route answers 401 without a key (or with a
 * wrong one) and changes nothing; requests past the rate limit answer 429; malformed
 * parameters answer 400; SQL in parameters is treated as data (matches nothing, breaks nothing).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiService, createApiService } from '../../api/server.ts'
import { queryRows } from '../../lib/clickhouse/index.ts'
import { closeDeps } from '../../lib/runtime/index.ts'
import {
  API_KEY,
  openStack,
  registerVersions,
  type Stack,
  writeMonitoring,
  writePredictions,
} from '../api/fixtures.ts'
import { publishTable, recordResult } from './support/results.ts'

const FILE = 'api'
let s: Stack
const services: ApiService[] = []

async function listen(opts: Parameters<typeof createApiService>[1] = {}): Promise<string> {
  const svc = createApiService({ ...s.deps, registry: s.registry }, opts)
  services.push(svc)
  await svc.start()
  return svc.address()!
}

beforeAll(async () => {
  s = await openStack({ API_HOST: '127.0.0.1', API_PORT: '0' })
  const now = Date.now()
  await registerVersions(s, now)
  await writePredictions(s, now, 30)
  await writeMonitoring(s, now)
}, 120_000)

afterAll(async () => {
  for (const svc of services) await svc.stop()
  if (s) await closeDeps(s.deps)
  publishTable()
})

const json = { 'content-type': 'application/json' }

describe('API least privilege over a real socket', () => {
  it('401 without (or with a wrong) key on every mutating route, and nothing changes', async () => {
    const base = await listen()
    const prodBefore = (await s.registry.production(s.modelName))?.version
    const routes: [string, unknown][] = [
      ['/v1/predict', { patientId: 'p-auth', glucose: 120 }],
      ['/v1/models/3/promote', { reason: 'no key' }],
      ['/v1/models/2/rollback', { reason: 'no key' }],
      ['/mlops/api/retrain/trigger', { reason: 'no key' }],
    ]
    const results: string[] = []
    for (const [route, body] of routes) {
      for (const headers of [
        json,
        { ...json, 'x-api-key': 'wrong-key' },
        { ...json, authorization: 'Bearer ' },
      ]) {
        const res = await fetch(`${base}${route}`, { method: 'POST', headers, body: JSON.stringify(body) })
        results.push(`${route}:${res.status}`)
        expect(res.status, `${route} with ${JSON.stringify(headers)}`).toBe(401)
        expect(await res.json()).toMatchObject({ success: false, code: 'UNAUTHORIZED' })
      }
    }
    expect((await s.registry.production(s.modelName))?.version).toBe(prodBefore)
    // The same route with the key works (the 401s were about the key, not the request).
    const ok = await fetch(`${base}/v1/predict`, {
      method: 'POST',
      headers: { ...json, 'x-api-key': API_KEY },
      body: JSON.stringify({ patientId: 'p-auth', glucose: 120, bmi: 30, age: 40 }),
    })
    expect(ok.status).toBe(200)
    recordResult(FILE, {
      id: '7a',
      fault: 'API: mutating routes without / with a wrong key',
      events: results.length,
      lost: 0,
      duplicated: 0,
      dlq: 0,
      recoveredS: null,
      pass: results.every((r) => r.endsWith(':401')),
      note: `${results.length} requests on ${routes.length} routes: all 401; production version unchanged (v${prodBefore})`,
    })
  })

  it('429 past the rate limit (with retry-after), /health exempt', async () => {
    const base = await listen({ rateLimitMax: 5, rateLimitWindowMs: 60_000 })
    const statuses: number[] = []
    let retryAfter: string | null = null
    for (let i = 0; i < 8; i++) {
      const res = await fetch(`${base}/mlops/api/model/info`)
      statuses.push(res.status)
      if (res.status === 429) retryAfter = res.headers.get('retry-after')
      await res.body?.cancel()
    }
    const health = await fetch(`${base}/health`)
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429])
    expect(Number(retryAfter)).toBeGreaterThan(0)
    expect(health.status).toBe(200)
    recordResult(FILE, {
      id: '7b',
      fault: 'API: 8 requests against a limit of 5 per minute',
      events: statuses.length,
      lost: 0,
      duplicated: 0,
      dlq: 0,
      recoveredS: null,
      pass: true,
      note: `statuses ${statuses.join(',')}; retry-after ${retryAfter} s; /health exempt`,
    })
  })

  it('400 on malformed parameters and bodies', async () => {
    const base = await listen()
    const gets = [
      '/mlops/api/monitoring/performance/abc',
      '/mlops/api/monitoring/performance/0',
      '/mlops/api/monitoring/performance/366',
      '/mlops/api/monitoring/performance/1.5',
      '/mlops/api/monitoring/predictions/recent/-1',
      '/mlops/api/monitoring/predictions/recent/1001',
      '/mlops/api/monitoring/alerts/recent?limit=abc',
      '/mlops/api/monitoring/alerts/recent?unknown=1',
      `/mlops/api/monitoring/alerts/recent?kind=${'x'.repeat(65)}`,
      '/v1/models/abc',
      '/v1/models/0',
    ]
    const bad: string[] = []
    for (const path of gets) {
      const res = await fetch(`${base}${path}`)
      if (res.status !== 400) bad.push(`${path} → ${res.status}`)
      else expect(await res.json()).toMatchObject({ success: false, code: 'BAD_REQUEST' })
    }
    const bodies = [
      '{"patientId":',
      JSON.stringify({ patientId: 'p', glucose: 'high' }),
      JSON.stringify({ patientId: 'p', glucose: 120, dropTable: true }),
      JSON.stringify({ patientId: 'p', glucose: 1e9 }),
    ]
    for (const body of bodies) {
      const res = await fetch(`${base}/v1/predict`, {
        method: 'POST',
        headers: { ...json, 'x-api-key': API_KEY },
        body,
      })
      if (res.status !== 400) bad.push(`predict ${body} → ${res.status}`)
    }
    recordResult(FILE, {
      id: '7c',
      fault: 'API: malformed path/query parameters and bodies',
      events: gets.length + bodies.length,
      lost: 0,
      duplicated: 0,
      dlq: 0,
      recoveredS: null,
      pass: bad.length === 0,
      note:
        bad.length === 0 ? `${gets.length + bodies.length} requests: all 400` : `not 400: ${bad.join('; ')}`,
    })
    expect(bad).toEqual([])
  })

  it('SQL in parameters is data: matches nothing, drops nothing', async () => {
    const base = await listen()
    const count = async (table: string) =>
      Number(
        (await queryRows<{ n: number }>(s.deps.clickhouse, `SELECT count() AS n FROM ${table} FINAL`))[0]
          ?.n ?? -1,
      )
    const before = { predictions: await count('predictions'), drift_events: await count('drift_events') }
    const all = (await (await fetch(`${base}/mlops/api/monitoring/alerts/recent`)).json()) as {
      total_count: number
    }
    expect(all.total_count).toBeGreaterThan(0)
    const injections = [
      "' OR '1'='1",
      "data_drift' OR 1=1 --",
      "x'; DROP TABLE predictions; --",
      "') UNION SELECT name FROM system.tables --",
    ]
    const leaks: string[] = []
    for (const inj of injections) {
      const res = await fetch(`${base}/mlops/api/monitoring/alerts/recent?kind=${encodeURIComponent(inj)}`)
      const body = (await res.json()) as { total_count?: number }
      if (res.status !== 200 || body.total_count !== 0)
        leaks.push(`kind=${inj} → ${res.status} ${body.total_count}`)
      const run = await fetch(`${base}/v1/runs/${encodeURIComponent(inj)}`)
      if (run.status !== 404) leaks.push(`runs/${inj} → ${run.status}`)
      await run.body?.cancel()
    }
    const after = { predictions: await count('predictions'), drift_events: await count('drift_events') }
    recordResult(FILE, {
      id: '7d',
      fault: 'API: SQL injection in query and path parameters',
      events: injections.length * 2,
      lost: 0,
      duplicated: 0,
      dlq: 0,
      recoveredS: null,
      pass: leaks.length === 0 && JSON.stringify(after) === JSON.stringify(before),
      note:
        leaks.length === 0
          ? `${injections.length * 2} requests: 0 rows matched (of ${all.total_count} alerts), tables intact`
          : leaks.join('; '),
    })
    expect(leaks).toEqual([])
    expect(after).toEqual(before)
  })
})
