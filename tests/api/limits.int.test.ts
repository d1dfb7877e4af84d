/**
 * Rate limiting, keyed reads and a real socket: apps built with a tiny limit and listening on
 * an ephemeral port, driven with fetch.
 */
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../api/app.ts'
import { createApiService } from '../../api/server.ts'
import { closeDeps } from '../../lib/runtime/index.ts'
import { API_KEY, openStack, registerVersions, type Stack, writePredictions } from './fixtures.ts'

let s: Stack
const apps: FastifyInstance[] = []

beforeAll(async () => {
  s = await openStack()
  await registerVersions(s)
  await writePredictions(s, Date.now(), 30)
})

afterAll(async () => {
  for (const a of apps) await a.close()
  if (s) await closeDeps(s.deps)
})

async function listening(deps: Stack['deps'], opts: Parameters<typeof buildApp>[1] = {}): Promise<string> {
  const app = await buildApp({ ...deps, registry: s.registry }, opts)
  apps.push(app)
  return app.listen({ host: '127.0.0.1', port: 0 })
}

describe('over a real socket', () => {
  it('serves the original routes and predict with a key', async () => {
    const base = await listening(s.deps)
    const info = await fetch(`${base}/mlops/api/model/info`)
    expect(info.status).toBe(200)
    expect(info.headers.get('x-ratelimit-limit')).toBe(String(s.deps.config.api.rateLimitMax))
    expect(((await info.json()) as { model_info: { version: number } }).model_info.version).toBe(1)

    const recent = await fetch(`${base}/mlops/api/monitoring/predictions/recent/5`)
    expect(((await recent.json()) as { count: number }).count).toBe(5)

    const predict = await fetch(`${base}/v1/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
      body: JSON.stringify({ patientId: 'sock-1', glucose: 120, bmi: 28, age: 50 }),
    })
    expect(predict.status).toBe(200)
    expect(
      ((await predict.json()) as { predictions: { probability: number }[] }).predictions[0]!.probability,
    ).toBeGreaterThan(0)

    const malformed = await fetch(`${base}/v1/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
      body: '{"patientId":',
    })
    expect(malformed.status).toBe(400)
    expect(await malformed.json()).toMatchObject({ success: false, code: 'BAD_REQUEST' })
  })

  it('answers 429 past the rate limit, in the error shape', async () => {
    const base = await listening(s.deps, { rateLimitMax: 3, rateLimitWindowMs: 60_000 })
    const statuses: number[] = []
    for (let i = 0; i < 5; i++) statuses.push((await fetch(`${base}/mlops/api/model/info`)).status)
    expect(statuses).toEqual([200, 200, 200, 429, 429])
    const limited = await fetch(`${base}/mlops/api/retrain/history`)
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBeTruthy()
    expect(await limited.json()).toMatchObject({ success: false, code: 'RATE_LIMITED' })
    // Liveness is never rate limited.
    expect((await fetch(`${base}/health`)).status).toBe(200)
  })

  it('keys read routes when API_READ_OPEN=false', async () => {
    const base = await listening({
      ...s.deps,
      config: { ...s.deps.config, api: { ...s.deps.config.api, readOpen: false } },
    })
    expect((await fetch(`${base}/mlops/api/model/info`)).status).toBe(401)
    expect(
      (await fetch(`${base}/mlops/api/model/info`, { headers: { authorization: `Bearer ${API_KEY}` } }))
        .status,
    ).toBe(200)
    expect((await fetch(`${base}/health`)).status).toBe(200)
  })

  it('the service listens on config.api.host/port and stops gracefully', async () => {
    const config = { ...s.deps.config, api: { ...s.deps.config.api, port: 0 } }
    const service = createApiService({ ...s.deps, config, registry: s.registry })
    await service.start()
    try {
      const address = service.address()!
      expect(address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect((await fetch(`${address}/health`)).status).toBe(200)
      const metrics = await (await fetch(`${address}/metrics`)).text()
      // Standard process metric names, not prefixed copies (lib/metrics).
      expect(metrics).toMatch(/^process_cpu_seconds_total /m)
      expect(metrics).not.toContain('riskstream_api_process_')
    } finally {
      await service.stop()
    }
    expect(service.address()).toBeUndefined()
  })
})
