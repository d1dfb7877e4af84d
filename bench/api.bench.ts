/**
 * API throughput and latency with the real stack: POST /v1/predict (with a key; each call
 * scores one request and publishes request + prediction to Kafka, acks=all) and three reads,
 * each with the read cache off (API_CACHE_TTL_MS=0: one ClickHouse query per read) and on
 * (`… cached`, --cache-ttl-ms):
 *   GET /mlops/api/monitoring/performance/30  a ClickHouse join over the predictions (2 queries)
 *   GET /v1/dashboard/summary?hours=24        the dashboard's heaviest poll (registry + drift + performance)
 *   GET /mlops/api/model/info                 one registry read
 * Every connection asks the same URL, as a dashboard open in many browsers does.
 *
 *   npx tsx bench/api.bench.ts [--duration 10] [--connections 20] [--predictions 5000] [--cache-ttl-ms 1000]
 *
 * Local apps on ephemeral ports, its own topic prefix (deleted afterwards) and a throw-away
 * chDB directory. Prints a table and one JSON line (for bench/run.ts to collect).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import { buildApp } from '../api/app.ts'
import { migrate } from '../lib/clickhouse/index.ts'
import { configWith } from '../lib/config/index.ts'
import { FEATURES } from '../lib/features/index.ts'
import { ensureTopics, topicSpecs } from '../lib/kafka/index.ts'
import { createRegistry } from '../lib/registry/index.ts'
import { closeDeps, createDeps } from '../lib/runtime/index.ts'
import { insertOutcomes, insertPredictions } from '../processors/monitors/sink/insert.ts'
import { outcomeRow, predictionRow } from '../processors/monitors/sink/rows.ts'
import { linearArtifact } from '../tests/lib/registry/fixtures.ts'

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '20' },
    predictions: { type: 'string', default: '5000' },
    'cache-ttl-ms': { type: 'string', default: '1000' },
  },
})
const duration = Number(values.duration)
const connections = Number(values.connections)
const nPredictions = Number(values.predictions)
const cacheTtlMs = Number(values['cache-ttl-ms'])

const KEY = 'bench-key'
const chdb = mkdtempSync(path.join(tmpdir(), 'riskstream-api-bench-'))
const config = configWith({
  TOPIC_PREFIX: `bench-api-${Date.now().toString(36)}.`,
  CLICKHOUSE_PATH: chdb,
  LOG_LEVEL: 'warn',
  MODEL_NAME: 'bench-api',
  API_KEYS: KEY,
  // The read routes are measured without a key, as before reads were closed by default.
  API_READ_OPEN: 'true',
  API_RATE_LIMIT_MAX: '1000000',
})
const deps = await createDeps(config, { clientId: 'riskstream-bench' })
const admin = deps.kafka.admin()
await admin.connect()
try {
  await ensureTopics(admin, config)
  await migrate(deps.clickhouse)
  const registry = createRegistry(deps)
  await registry.register(linearArtifact(config.model.name), {
    stage: 'production',
    runId: 'bench',
    reason: 'bench',
  })

  // Monitoring data through the monitors' own row mappers and inserts.
  const now = Date.now()
  const preds = []
  const outs = []
  for (let i = 0; i < nPredictions; i++) {
    const p = ((i * 7919) % 1000) / 1000
    const t = now - (i % (20 * 24)) * 3_600_000
    const f = Object.fromEntries(FEATURES.map((x, j) => [x, j + 1])) as Record<
      (typeof FEATURES)[number],
      number
    >
    preds.push(
      predictionRow(
        {
          requestId: `b${i}`,
          patientId: `p${i % 500}`,
          modelName: config.model.name,
          modelVersion: 1,
          shadow: false,
          probability: p,
          label: p >= 0.5 ? 1 : 0,
          threshold: 0.5,
          eventTime: t,
          scoredAt: t,
          ...f,
        },
        { partition: 0, offset: String(i) },
      ),
    )
    if (i % 2 === 0)
      outs.push(
        outcomeRow(
          { requestId: `b${i}`, outcome: i % 3 === 0 ? 1 : 0, labelledAt: t, source: 'bench' },
          { partition: 0, offset: String(i) },
        ),
      )
  }
  await insertPredictions(deps.clickhouse, preds, 'bench-p')
  await insertOutcomes(deps.clickhouse, outs, 'bench-o')

  // Two apps on the same stack: reads without and with the cache (one cache per app).
  const withTtl = (ttl: number) => ({ ...config, api: { ...config.api, cacheTtlMs: ttl } })
  const app = await buildApp({ ...deps, config: withTtl(0), registry })
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  const cachedApp = await buildApp({ ...deps, config: withTtl(cacheTtlMs), registry })
  const cachedBase = await cachedApp.listen({ host: '127.0.0.1', port: 0 })
  const body = JSON.stringify({
    patientId: 'bench-patient',
    glucose: 140,
    bmi: 31,
    age: 45,
    pregnancies: 2,
    bloodPressure: 72,
    insulin: 90,
    skinThickness: 25,
    diabetesPedigreeFunction: 0.4,
  })

  const run = (title: string, opts: autocannon.Options) =>
    new Promise<autocannon.Result>((resolve, reject) => {
      autocannon({ ...opts, connections, duration, title }, (err, res) => (err ? reject(err) : resolve(res)))
    })
  // Warm-up: scorer load, schema registration, producer metadata, ClickHouse caches.
  await run('warm-up', {
    url: `${base}/v1/predict`,
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': KEY },
    body,
    duration: 2,
  } as autocannon.Options)

  const reads = [
    '/mlops/api/monitoring/performance/30',
    '/v1/dashboard/summary?hours=24',
    '/mlops/api/model/info',
  ]
  const results: { result: autocannon.Result; cacheMs: number }[] = [
    {
      cacheMs: 0,
      result: await run('POST /v1/predict', {
        url: `${base}/v1/predict`,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': KEY },
        body,
      }),
    },
  ]
  for (const url of reads) {
    results.push({ cacheMs: 0, result: await run(`GET ${url}`, { url: `${base}${url}` }) })
    results.push({
      cacheMs: cacheTtlMs,
      result: await run(`GET ${url} cached`, { url: `${cachedBase}${url}` }),
    })
  }
  await app.close()
  await cachedApp.close()

  const rows = results.map(({ result: r, cacheMs }) => ({
    route: r.title ?? '',
    'cache ms': cacheMs,
    'req/s': Math.round(r.requests.average),
    'p50 ms': r.latency.p50,
    'p99 ms': r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors,
  }))
  const load1 = Math.round(loadavg()[0]! * 100) / 100
  console.log(
    `api bench: ${connections} connections × ${duration} s each, ${nPredictions} stored predictions, ` +
      `cache ${cacheTtlMs} ms on "cached" rows, load1 at the end ${load1}`,
  )
  console.table(rows)
  console.log(JSON.stringify({ bench: 'api', connections, duration, cacheTtlMs, load1, results: rows }))
} finally {
  await admin.deleteTopics({ topics: topicSpecs(config).map((t) => t.topic) }).catch(() => undefined)
  await admin.disconnect()
  await closeDeps(deps)
  rmSync(chdb, { recursive: true, force: true })
}
