/**
 * The API's read cache against real embedded ClickHouse: ClickHouse queries are counted
 * through a reader that wraps the real client (ApiDeps.readClickhouse), so "one query for two
 * identical concurrent requests" is observed, not inferred. Registry reads are not counted
 * (the registry reads through deps.clickhouse).
 */
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../api/app.ts'
import type { ClickHouseClient } from '../../lib/clickhouse/index.ts'
import { FEATURES } from '../../lib/features/index.ts'
import { closeDeps } from '../../lib/runtime/index.ts'
import { insertPredictions } from '../../processors/monitors/sink/insert.ts'
import { predictionRow } from '../../processors/monitors/sink/rows.ts'
import { API_KEY, openStack, registerVersions, type Stack, writePredictions } from './fixtures.ts'

let s: Stack
const apps: FastifyInstance[] = []
const NOW = Date.now()
/** Queries that reached ClickHouse through the API's reader. */
const queries: string[] = []
/** Long enough that a loaded machine cannot expire an entry between two requests of a test. */
const LONG_TTL_MS = 60_000
const PERFORMANCE = '/mlops/api/monitoring/performance/1'

/** The real client, with every query() counted. */
function countingReader(ch: ClickHouseClient): ClickHouseClient {
  return new Proxy(ch, {
    get(target, prop, receiver) {
      if (prop === 'query') {
        return (params: Parameters<ClickHouseClient['query']>[0]) => {
          queries.push(params.query)
          return target.query(params)
        }
      }
      const value = Reflect.get(target, prop, receiver)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

async function app(cacheTtlMs: number): Promise<FastifyInstance> {
  const config = { ...s.deps.config, api: { ...s.deps.config.api, cacheTtlMs } }
  const a = await buildApp({
    ...s.deps,
    config,
    registry: s.registry,
    readClickhouse: countingReader(s.deps.clickhouse),
    // Pinned: the period bounds (and so the cache keys) do not move between requests.
    now: () => NOW,
  })
  apps.push(a)
  return a
}

/** Runs `fn` and returns how many ClickHouse queries it made through the reader. */
async function counting<T>(fn: () => Promise<T>): Promise<{ value: T; queries: number }> {
  const before = queries.length
  const value = await fn()
  return { value, queries: queries.length - before }
}

const get = (a: FastifyInstance, url: string) => a.inject({ method: 'GET', url })

/** One more prediction inside the 1-day period, so performance/1 counts one more. */
async function writeOnePrediction(id: string, offset: number): Promise<void> {
  const t = NOW - 60_000
  const row = predictionRow(
    {
      requestId: `${s.modelName}-${id}`,
      patientId: 'p-extra',
      modelName: s.modelName,
      modelVersion: 1,
      probability: 0.7,
      label: 1,
      threshold: 0.5,
      shadow: false,
      eventTime: t,
      scoredAt: t,
      ...Object.fromEntries(FEATURES.map((f) => [f, 1])),
    } as never,
    { partition: 0, offset: String(offset) },
  )
  await insertPredictions(s.deps.clickhouse, [row], `cache-test:${s.modelName}:${id}`)
}

beforeAll(async () => {
  s = await openStack()
  await registerVersions(s, NOW)
  await writePredictions(s, NOW, 30)
})

afterAll(async () => {
  for (const a of apps) await a.close()
  if (s) await closeDeps(s.deps)
})

describe('API read cache', () => {
  it('two identical concurrent requests run each ClickHouse query once; a repeat within the TTL runs none', async () => {
    const a = await app(LONG_TTL_MS)
    const both = await counting(() => Promise.all([get(a, PERFORMANCE), get(a, PERFORMANCE)]))
    expect(both.value.map((r) => r.statusCode)).toEqual([200, 200])
    expect(both.value[0]!.json()).toEqual(both.value[1]!.json())
    expect(both.value[0]!.json().performance.total_predictions).toBe(30)
    // performanceSummary makes two queries (aggregates, histogram): two in all, not four.
    expect(both.queries).toBe(2)
    const again = await counting(() => get(a, PERFORMANCE))
    expect(again.value.statusCode).toBe(200)
    expect(again.queries).toBe(0)

    // Another app in the same process has its own cache.
    const other = await counting(async () => get(await app(LONG_TTL_MS), PERFORMANCE))
    expect(other.queries).toBe(2)
  })

  it('ttl 0: every request queries, and a read after a write sees it', async () => {
    const a = await app(0)
    const both = await counting(() => Promise.all([get(a, PERFORMANCE), get(a, PERFORMANCE)]))
    expect(both.queries).toBe(4)
    const before = (await get(a, PERFORMANCE)).json().performance.total_predictions
    await writeOnePrediction('ttl0', 10_001)
    expect((await get(a, PERFORMANCE)).json().performance.total_predictions).toBe(before + 1)
  })

  it('a promotion through the API clears the cache: the next read shows the new production version', async () => {
    const a = await app(LONG_TTL_MS)
    const version = async () => (await get(a, '/mlops/api/model/info')).json().model_info.version
    expect(await version()).toBe(1)
    const versions = (await get(a, '/v1/dashboard/versions')).json()
    expect(versions.versions.find((v: { stage: string }) => v.stage === 'production').version).toBe(1)

    const promote = await a.inject({
      method: 'POST',
      url: '/v1/models/3/promote',
      headers: { 'x-api-key': API_KEY },
      payload: { reason: 'cache test' },
    })
    expect(promote.statusCode).toBe(200)
    expect(await version()).toBe(3)
    const after = (await get(a, '/v1/dashboard/versions')).json()
    expect(after.versions.find((v: { stage: string }) => v.stage === 'production').version).toBe(3)

    const back = await a.inject({
      method: 'POST',
      url: '/v1/models/1/rollback',
      headers: { 'x-api-key': API_KEY },
      payload: {},
    })
    expect(back.statusCode).toBe(200)
    expect(await version()).toBe(1)
  })

  it('with a TTL, a write outside the API shows once the entry expires (here: a new app, a fresh cache)', async () => {
    const a = await app(LONG_TTL_MS)
    const before = (await get(a, PERFORMANCE)).json().performance.total_predictions
    await writeOnePrediction('ttl', 10_002)
    // Within the TTL the cached answer stands: the documented "up to API_CACHE_TTL_MS old".
    expect((await get(a, PERFORMANCE)).json().performance.total_predictions).toBe(before)
    expect((await get(await app(LONG_TTL_MS), PERFORMANCE)).json().performance.total_predictions).toBe(
      before + 1,
    )
  })
})
