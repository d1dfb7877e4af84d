/**
 * The sizing benchmark behind docs/sizing.md: what a volume of predictions costs in disk, read
 * latency, training time, monitor CPU and memory. Parts (all by default, or `--parts a,b`):
 *
 *   storage  predictions and labels through the monitors' real analytics pipeline (engine +
 *            sink encoding + window rows + checkpoints) into embedded chDB migrated by the real
 *            migrations; then OPTIMIZE … FINAL and bytes per table from system.parts
 *   api      the API app (buildApp, real warehouse readers, cache off) over that chDB: median and
 *            p95 of --repeat uncached calls of the dashboard and read routes, through inject()
 *   train    training time vs rows (Pima, and Pima resampled with noise): one default fit per
 *            family, the selection pipeline, and what happens beyond ml-xgboost's row cap
 *   kafka    bytes per event on the topics: the Avro contracts (schemas/) encoding realistic
 *            events, plus the wire framing and the key
 *   monitor  per-event cost of the monitors' engine vs window size, and of the drift kernel
 *            (binning + sliding window + PSI) vs window size and number of features
 *
 *   npx tsx bench/sizing.bench.ts [--parts storage,api,train,monitor] [--sizes 100000]
 *       [--train-rows 768,10000] [--repeat 15]
 *
 * Sizes grow one database: the smallest size goes through the pipeline, larger ones add copies
 * of it with fresh request ids, interleaved in time (see fillCopies). Every size is a multiple
 * of the smallest. All rows of every size lie in the last 22 hours, so the 24-hour and 30-day
 * reads cover all of them ("N predictions a day"). Role memory is measured by
 * bench/sizing-rss.bench.ts (separate processes). Every timing carries the load average.
 */
import { createHash, randomUUID } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import avro from 'avsc'
import { buildApp } from '../api/app.ts'
import { migrate, queryRows } from '../lib/clickhouse/index.ts'
import { configWith, getConfig } from '../lib/config/index.ts'
import { loadPima } from '../lib/data/pima.ts'
import { toRow } from '../lib/features/index.ts'
import { ensureTopics, topicSpecs } from '../lib/kafka/index.ts'
import type { ModelFamily } from '../lib/model/types.ts'
import { createRegistry } from '../lib/registry/index.ts'
import { closeDeps, createDeps } from '../lib/runtime/index.ts'
import { DRIFT_STATISTICS } from '../lib/stats/index.ts'
import { binIndex, binSlots, buildReference } from '../lib/stats/reference.ts'
import { SlidingBinnedWindow } from '../lib/stats/windows.ts'
import { TABLES, WINDOW_TYPE } from '../lib/warehouse/index.ts'
import { MonitorEngine } from '../processors/monitors/engine/engine.ts'
import { AnalyticsPipeline } from '../processors/monitors/pipeline.ts'
import { insertDriftEvents } from '../processors/monitors/sink/outputs.ts'
import type { OutcomeEvent, PredictionEvent } from '../processors/monitors/sink/rows.ts'
import { linearArtifact } from '../tests/lib/registry/fixtures.ts'
import { pimaArtifact, pimaStream, type StreamItem } from '../tests/processors/monitors/streams.ts'
import { gradientBoostingLearner } from '../trainer/learners/gradient-boosting.ts'
import { logisticLearner } from '../trainer/learners/logistic.ts'
import { createRng } from '../trainer/learners/random.ts'
import { randomForestLearner } from '../trainer/learners/random-forest.ts'
import type { Dataset, Learner } from '../trainer/learners/types.ts'
import { buildXGBoostRequest, closeXGBoostWorker, xgboostLearner } from '../trainer/learners/xgboost.ts'
import { xgboostMaxRows } from '../trainer/learners/xgboost-worker.ts'
import { datasetFromRows } from '../trainer/pipeline/dataset.ts'
import { trainCandidates } from '../trainer/pipeline/train.ts'
import { type BenchResult, emitResult, percentiles, type ResultConfig } from './lib/results.ts'

const { values } = parseArgs({
  options: {
    parts: { type: 'string', default: 'storage,api,train,monitor,kafka' },
    sizes: { type: 'string', default: '100000' },
    'train-rows': { type: 'string', default: '768,10000' },
    'pipeline-rows-max': { type: 'string', default: '10000' },
    repeat: { type: 'string', default: '15' },
    'monitor-events': { type: 'string', default: '100000' },
  },
})
const parts = new Set(values.parts!.split(',').map((s) => s.trim()))
const list = (s: string) =>
  s
    .split(',')
    .map((x) => Number(x.trim()))
    .filter((x) => Number.isFinite(x) && x > 0)
const SIZES = list(values.sizes!).sort((a, b) => a - b)
const TRAIN_ROWS = list(values['train-rows']!)
const PIPELINE_ROWS_MAX = Number(values['pipeline-rows-max'])
const REPEAT = Number(values.repeat)
const MONITOR_EVENTS = Number(values['monitor-events'])
const MODEL = 'diabetes-risk'

const load1 = (): number => Math.round(loadavg()[0]! * 100) / 100
const emit = (name: string, value: number, unit: string, config: ResultConfig) =>
  emitResult({ name, value, unit, config: { ...config, load1: load1() } } satisfies BenchResult)
const slug = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_|_$/g, '')

// ── storage + api ───────────────────────────────────────────────────────────────────────────

/** A UUID-shaped id derived from a stream id: real request and patient ids are UUIDs. */
function uuidOf(s: string): string {
  const h = createHash('md5').update(s).digest('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`
}

/**
 * pimaStream with production-shaped ids and times: UUID request and patient ids (3,000
 * patients), events evenly spaced over the last 22 hours (`spacingMs` apart, the newest a few
 * minutes ago), labels for half of the predictions, 20 events after their prediction.
 */
function* productionStream(n: number, spacingMs: number, end: number): Generator<StreamItem> {
  let k = -1
  const timeOf = (i: number) => Math.round(end - (n - i) * spacingMs)
  for (const it of pimaStream({ n, seed: 'sizing', scenario: { kind: 'stable' }, unlabelled: 0.5 })) {
    if (it.type === 'prediction') {
      k++
      const t = timeOf(k)
      const patient = Number(it.value.patientId.slice(1)) * 4 + (k % 4)
      yield {
        type: 'prediction',
        value: {
          ...it.value,
          requestId: uuidOf(it.value.requestId),
          patientId: uuidOf(`patient-${patient}`),
          eventTime: t,
          scoredAt: t + 3,
        },
      }
    } else {
      yield {
        type: 'outcome',
        value: { ...it.value, requestId: uuidOf(it.value.requestId), labelledAt: timeOf(k) },
      }
    }
  }
}

async function fillWithPipeline(
  client: Awaited<ReturnType<typeof createDeps>>['clickhouse'],
  n: number,
  spacingMs: number,
  end: number,
  drift: ReturnType<typeof configWith>['drift'],
): Promise<{ seconds: number; events: number; checkpoints: number }> {
  const artifact = pimaArtifact()
  const engine = new MonitorEngine({ modelName: MODEL, drift, artifactFor: () => artifact })
  const pipeline = new AnalyticsPipeline({
    client,
    engine,
    groupId: 'sizing',
    topics: { predictions: 'sizing.predictions', outcomes: 'sizing.outcomes' },
    modelName: MODEL,
    ensureArtifacts: async () => {},
    publish: (events) => insertDriftEvents(client, events),
  })
  // As bench/monitors.bench.ts: Kafka replaced by in-memory batches of 5,000 stream items.
  const BATCH = 5000
  const offsets = { predictions: 0, outcomes: 0 }
  const asRecords = (topic: 'predictions' | 'outcomes', vs: (PredictionEvent | OutcomeEvent)[]) =>
    vs.map((value) => ({ value, topic: `sizing.${topic}`, partition: 0, offset: String(offsets[topic]++) }))
  const t0 = performance.now()
  let preds: PredictionEvent[] = []
  let outs: OutcomeEvent[] = []
  let events = 0
  const flush = async (last: boolean) => {
    if (preds.length > 0) await pipeline.handle(asRecords('predictions', preds), last)
    if (outs.length > 0) await pipeline.handle(asRecords('outcomes', outs), last)
    preds = []
    outs = []
  }
  for (const it of productionStream(n, spacingMs, end)) {
    events++
    if (it.type === 'prediction') preds.push(it.value)
    else outs.push(it.value)
    if (preds.length + outs.length >= BATCH) await flush(false)
    if (events % 200_000 === 0) console.log(`  pipeline: ${events} events (load ${load1()})`)
  }
  await flush(true)
  if (pipeline.dirty) await pipeline.checkpoint()
  return { seconds: (performance.now() - t0) / 1000, events, checkpoints: pipeline.stats.checkpoints }
}

/** Insertable columns of a table (no MATERIALIZED/ALIAS), in table order. */
async function insertableColumns(
  client: Awaited<ReturnType<typeof createDeps>>['clickhouse'],
  table: string,
): Promise<string[]> {
  const rows = await queryRows<{ name: string }>(
    client,
    `SELECT name FROM system.columns WHERE database = currentDatabase() AND table = {t:String}
       AND default_kind NOT IN ('MATERIALIZED', 'ALIAS') ORDER BY position`,
    { t: table },
  )
  return rows.map((r) => r.name)
}

/**
 * Copy `copy` of the pipeline's rows: fresh request ids, times moved by a fraction of the
 * spacing so the copies interleave with the originals (same time range, denser traffic),
 * sliding window ids moved past the originals'. Tumbling windows are time-bound: a denser
 * stream has the same number of them, so they are not copied. Other tables (monitor_segment_windows
 * among them) are not copied either: their bytes per million come from the pipeline's size.
 */
async function fillCopies(
  client: Awaited<ReturnType<typeof createDeps>>['clickhouse'],
  copy: number,
  shiftMs: number,
  base: number,
): Promise<void> {
  // A fresh UUID per copied request, the same in both tables (so labels still join). A new id
  // must share nothing with the original's: the key is (hour, request_id), and ids with a common
  // prefix would sit side by side and compress far better than real traffic.
  const newId = `UUIDNumToString(toFixedString(MD5(concat(request_id, '#${copy}')), 16))`
  const shifted: Record<string, Record<string, string>> = {
    [TABLES.predictions]: {
      request_id: newId,
      event_time: `event_time + toIntervalMillisecond(${shiftMs})`,
      scored_at: `scored_at + toIntervalMillisecond(${shiftMs})`,
      kafka_offset: `kafka_offset + ${copy * base}`,
    },
    [TABLES.outcomes]: {
      request_id: newId,
      labelled_at: `labelled_at + toIntervalMillisecond(${shiftMs})`,
      kafka_offset: `kafka_offset + ${copy * base}`,
    },
    [TABLES.monitorWindows]: {
      window_id: `window_id + ${copy * base}`,
      window_start: `window_start + toIntervalMillisecond(${shiftMs})`,
      window_end: `window_end + toIntervalMillisecond(${shiftMs})`,
    },
  }
  const originals: Record<string, string> = {
    [TABLES.predictions]: 'kafka_offset < {base:UInt64}',
    [TABLES.outcomes]: 'kafka_offset < {base:UInt64}',
    [TABLES.monitorWindows]: `window_type = '${WINDOW_TYPE.sliding}' AND window_id <= {base:UInt64}`,
  }
  for (const [table, exprs] of Object.entries(shifted)) {
    const cols = await insertableColumns(client, table)
    await client.command({
      query: `INSERT INTO ${table} (${cols.join(', ')}) SETTINGS insert_deduplicate = 0
        SELECT ${cols.map((c) => exprs[c] ?? c).join(', ')} FROM ${table} FINAL WHERE ${originals[table]}`,
      query_params: { base },
    })
  }
}

interface TableBytes {
  table: string
  rows: number
  compressed: number
  uncompressed: number
  onDisk: number
}

async function tableBytes(
  client: Awaited<ReturnType<typeof createDeps>>['clickhouse'],
): Promise<TableBytes[]> {
  const tables = await queryRows<{ name: string }>(
    client,
    `SELECT name FROM system.tables WHERE database = currentDatabase() AND engine LIKE '%MergeTree'`,
  )
  for (const t of tables) await client.command({ query: `OPTIMIZE TABLE ${t.name} FINAL` })
  return queryRows<TableBytes>(
    client,
    `SELECT table, toUInt64(sum(rows)) AS rows, toUInt64(sum(data_compressed_bytes)) AS compressed,
       toUInt64(sum(data_uncompressed_bytes)) AS uncompressed, toUInt64(sum(bytes_on_disk)) AS onDisk
     FROM system.parts WHERE database = currentDatabase() AND active
     GROUP BY table ORDER BY table`,
  ).then((rows) =>
    rows.map((r) => ({
      ...r,
      rows: Number(r.rows),
      compressed: Number(r.compressed),
      uncompressed: Number(r.uncompressed),
      onDisk: Number(r.onDisk),
    })),
  )
}

/** The dashboard's polls and the read routes, as a browser or client calls them. */
const READ_ROUTES = [
  '/v1/dashboard/summary?hours=24',
  '/v1/dashboard/psi?hours=24',
  '/v1/dashboard/performance?hours=24',
  '/v1/dashboard/volume?hours=24',
  '/v1/dashboard/alerts?hours=24',
  '/v1/dashboard/versions',
  '/mlops/api/monitoring/performance/30',
  '/mlops/api/monitoring/predictions/recent/50',
  '/mlops/api/model/info',
]

async function storageAndApi(): Promise<void> {
  const base = SIZES[0]!
  const bad = SIZES.filter((s) => s % base !== 0)
  if (bad.length > 0) throw new Error(`sizes ${bad.join(', ')} are not multiples of ${base}`)
  const maxCopies = SIZES[SIZES.length - 1]! / base
  const dir = mkdtempSync(path.join(tmpdir(), 'riskstream-sizing-'))
  const config = configWith({
    TOPIC_PREFIX: `bench-sizing-${Date.now().toString(36)}.`,
    CLICKHOUSE_PATH: path.join(dir, 'chdb'),
    LOG_LEVEL: 'warn',
    MODEL_NAME: MODEL,
    API_READ_OPEN: 'true',
    API_CACHE_TTL_MS: '0',
    API_RATE_LIMIT_MAX: '1000000',
  })
  const deps = await createDeps(config, { clientId: 'riskstream-bench-sizing' })
  const admin = deps.kafka.admin()
  await admin.connect()
  try {
    await ensureTopics(admin, config)
    await migrate(deps.clickhouse)
    const registry = createRegistry(deps)
    await registry.register(linearArtifact(MODEL), { stage: 'production', runId: 'sizing', reason: 'bench' })

    const end = Date.now() - 5 * 60_000
    const spacingMs = (22 * 3_600_000) / base
    const l0 = load1()
    const filled = await fillWithPipeline(deps.clickhouse, base, spacingMs, end, config.drift)
    console.log(
      `pipeline: ${base} predictions, ${filled.events} events in ${filled.seconds.toFixed(1)} s ` +
        `(${Math.round(filled.events / filled.seconds)} events/s, ${filled.checkpoints} checkpoints, load ${l0} → ${load1()})`,
    )
    emit('sizing.fill_events_per_s', filled.events / filled.seconds, 'events/s', {
      predictions: base,
      path: 'monitors analytics pipeline (engine + sink + window rows + checkpoints), chDB, no Kafka',
    })

    const app = await buildApp({ ...deps, config, registry })
    let copies = 1
    try {
      for (const size of SIZES) {
        const t0 = performance.now()
        for (; copies < size / base; copies++)
          await fillCopies(deps.clickhouse, copies, Math.round((copies * spacingMs) / maxCopies), base)
        if (size > base) console.log(`copies to ${size}: ${((performance.now() - t0) / 1000).toFixed(1)} s`)

        const bytes = await tableBytes(deps.clickhouse)
        const [p] = await queryRows<{ n: number }>(
          deps.clickhouse,
          `SELECT count() AS n FROM ${TABLES.predictions}`,
        )
        const predictions = Number(p?.n ?? 0)
        console.log(`\n${size} predictions (${predictions} rows after OPTIMIZE FINAL):`)
        console.table(
          bytes.map((b) => ({
            table: b.table,
            rows: b.rows,
            'compressed MB': +(b.compressed / 1e6).toFixed(2),
            'uncompressed MB': +(b.uncompressed / 1e6).toFixed(2),
            'on disk MB': +(b.onDisk / 1e6).toFixed(2),
            'compressed MB per 1M predictions': +(((b.compressed / predictions) * 1e6) / 1e6).toFixed(2),
          })),
        )
        // Where the bytes of the two big tables go, column by column.
        const columns = await queryRows<{ table: string; name: string; c: number; u: number }>(
          deps.clickhouse,
          `SELECT table, name, data_compressed_bytes AS c, data_uncompressed_bytes AS u FROM system.columns
           WHERE database = currentDatabase() AND table IN ({p:String}, {o:String}) ORDER BY table, c DESC`,
          { p: TABLES.predictions, o: TABLES.outcomes },
        )
        console.table(
          columns.map((c) => ({
            table: c.table,
            column: c.name,
            'compressed bytes/row': +(Number(c.c) / predictions).toFixed(2),
            'uncompressed bytes/row': +(Number(c.u) / predictions).toFixed(2),
          })),
        )
        const total = { compressed: 0, uncompressed: 0, onDisk: 0 }
        for (const b of bytes) {
          total.compressed += b.compressed
          total.uncompressed += b.uncompressed
          total.onDisk += b.onDisk
          const cfg = {
            predictions,
            rows: b.rows,
            uncompressedBytesPerMillion: Math.round((b.uncompressed / predictions) * 1e6),
            labelledShare: 0.5,
          }
          emit(
            `sizing.clickhouse_bytes_per_million.${b.table}.${size}`,
            (b.compressed / predictions) * 1e6,
            'bytes',
            cfg,
          )
        }
        emit(
          `sizing.clickhouse_bytes_per_million.total.${size}`,
          (total.compressed / predictions) * 1e6,
          'bytes',
          {
            predictions,
            uncompressedBytesPerMillion: Math.round((total.uncompressed / predictions) * 1e6),
            onDiskBytesPerMillion: Math.round((total.onDisk / predictions) * 1e6),
          },
        )

        if (!parts.has('api')) continue
        const rows: Record<string, unknown>[] = []
        for (const url of READ_ROUTES) {
          const first = await app.inject({ method: 'GET', url })
          if (first.statusCode !== 200)
            throw new Error(`GET ${url}: ${first.statusCode} ${first.body.slice(0, 300)}`)
          const ms: number[] = []
          const l = load1()
          for (let i = 0; i < REPEAT; i++) {
            const t = performance.now()
            const r = await app.inject({ method: 'GET', url })
            ms.push(performance.now() - t)
            if (r.statusCode !== 200) throw new Error(`GET ${url}: ${r.statusCode}`)
          }
          const { values: v, max } = percentiles(ms, [50, 95])
          const route = slug(url.replace(/^\/(v1|mlops\/api)\//, ''))
          const cfg = {
            route: `GET ${url}`,
            calls: REPEAT,
            cache: 'off',
            via: 'inject',
            predictions,
            loadAtStart: l,
          }
          emit(`sizing.api_read_ms.${route}.${size}`, v[0]!, 'ms', { ...cfg, stat: 'median' })
          emit(`sizing.api_read_p95_ms.${route}.${size}`, v[1]!, 'ms', { ...cfg, stat: 'p95' })
          rows.push({
            route: url,
            'median ms': +v[0]!.toFixed(1),
            'p95 ms': +v[1]!.toFixed(1),
            'max ms': +max.toFixed(1),
            load: l,
          })
        }
        console.table(rows)
      }
    } finally {
      await app.close()
    }
  } finally {
    await admin.deleteTopics({ topics: topicSpecs(config).map((t) => t.topic) }).catch(() => undefined)
    await admin.disconnect()
    await closeDeps(deps)
    rmSync(dir, { recursive: true, force: true })
  }
}

// ── train ───────────────────────────────────────────────────────────────────────────────────

const pima = loadPima(getConfig().data.pimaCsvPath)

/** Pima rows resampled with replacement, ±5 % of each feature's std as noise (as retrain.bench). */
function resampledPima(n: number, seed: number): Dataset {
  const base = pima.rows.map(toRow)
  const p = 8
  if (n === base.length)
    return { X: Float64Array.from(base.flat()), y: Uint8Array.from(pima.labels), nRows: n, nFeatures: p }
  const std = Array.from({ length: p }, (_, j) => {
    const v = base.map((r) => r[j]!).filter((x) => !Number.isNaN(x))
    const m = v.reduce((a, b) => a + b, 0) / v.length
    return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length)
  })
  const rng = createRng(seed)
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next())
  const X = new Float64Array(n * p)
  const y = new Uint8Array(n)
  for (let i = 0; i < n; i++) {
    const src = rng.int(base.length)
    for (let j = 0; j < p; j++) {
      const v = base[src]![j]!
      X[i * p + j] = Number.isNaN(v) ? v : Math.max(0, v + 0.05 * std[j]! * gauss())
    }
    y[i] = pima.labels[src]!
  }
  return { X, y, nRows: n, nFeatures: p }
}

async function timed<T>(
  fn: () => T | Promise<T>,
): Promise<{ s: number; cpuS: number; out: T; load: number }> {
  const load = load1()
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const out = await fn()
  const cpu = process.cpuUsage(cpu0) // whole process: includes the xgboost worker thread
  return { s: (performance.now() - t0) / 1000, cpuS: (cpu.user + cpu.system) / 1e6, out, load }
}

async function train(): Promise<void> {
  // biome-ignore lint/suspicious/noExplicitAny: heterogeneous learners
  const learners: Learner<any>[] = [
    xgboostLearner,
    gradientBoostingLearner,
    randomForestLearner,
    logisticLearner,
  ]
  for (const l of learners) await l.fit(resampledPima(768, 1), l.defaults, 0) // warm-up (JIT, WASM)
  const rows: Record<string, unknown>[] = []
  for (const n of TRAIN_ROWS) {
    const data = resampledPima(n, 42)
    for (const l of learners) {
      const r = await timed(() => l.fit(data, l.defaults, 1))
      emit(`sizing.train_s.${n}.${l.family}`, r.s, 's', {
        rows: n,
        family: l.family,
        params: 'defaults',
        cpuS: +r.cpuS.toFixed(2),
        loadAtStart: r.load,
        data: n === 768 ? 'Pima' : 'Pima resampled with 5 % noise',
      })
      rows.push({
        rows: n,
        what: `${l.family} fit, defaults`,
        'wall s': +r.s.toFixed(2),
        'cpu s': +r.cpuS.toFixed(2),
        load: r.load,
      })
    }
    if (n > PIPELINE_ROWS_MAX) continue
    const opts = { k: 3, budget: 1, outerFolds: 2 }
    const r = await timed(() =>
      trainCandidates(data, {
        families: learners.map((l) => l.family as ModelFamily),
        k: opts.k,
        seed: 42,
        budget: opts.budget,
        outerFolds: opts.outerFolds,
        primaryMetric: 'roc_auc',
        minAccuracy: 0.7,
      }),
    )
    emit(`sizing.train_s.${n}`, r.s, 's', {
      rows: n,
      families: learners.map((l) => l.family).join('+'),
      cvFolds: opts.k,
      budget: opts.budget,
      outerFolds: opts.outerFolds,
      path: 'trainCandidates (search, nested-CV estimate, threshold, refit, references)',
      cpuS: +r.cpuS.toFixed(2),
      loadAtStart: r.load,
    })
    rows.push({
      rows: n,
      what: `pipeline, 4 families, k=${opts.k}, budget ${opts.budget}, outer ${opts.outerFolds}`,
      'wall s': +r.s.toFixed(2),
      'cpu s': +r.cpuS.toFixed(2),
      load: r.load,
    })
  }
  console.table(rows)

  // Beyond the cap: the learner refuses, the pipeline's dataset step subsamples first.
  const cap = xgboostMaxRows(8)
  emit('sizing.xgboost_max_rows', cap, 'rows', {
    features: 8,
    source: 'trainer/learners/xgboost-worker.ts (5 MiB WASM stack)',
  })
  const over = resampledPima(cap + 1, 7)
  try {
    buildXGBoostRequest(over, xgboostLearner.defaults, 1)
    console.log(`xgboost with ${cap + 1} rows: accepted (unexpected)`)
  } catch (err) {
    const e = err as Error & { code?: string }
    console.log(`xgboost with ${cap + 1} rows (cap + 1): refused: ${e.code ?? e.name}: ${e.message}`)
  }
  const bigN = 200_000
  const big = resampledPima(bigN, 9)
  const vectors = Array.from({ length: bigN }, (_, i) => {
    const r = big.X.subarray(i * 8, i * 8 + 8)
    const v = (x: number) => (Number.isNaN(x) ? null : x)
    return {
      pregnancies: v(r[0]!),
      glucose: v(r[1]!),
      bloodPressure: v(r[2]!),
      skinThickness: v(r[3]!),
      insulin: v(r[4]!),
      bmi: v(r[5]!),
      diabetesPedigreeFunction: v(r[6]!),
      age: v(r[7]!),
    }
  })
  const maxRows = getConfig().training.maxRows
  const { data, fingerprint } = datasetFromRows(vectors, [...big.y], ['bench'], { maxRows, seed: 42 })
  console.log(
    `dataset of ${bigN} labelled rows with TRAIN_MAX_ROWS=${maxRows}: ${data.nRows} rows trained on ` +
      `(stratified subsample; fingerprint.subsampledFrom=${fingerprint.subsampledFrom})`,
  )
  const r = await timed(() => xgboostLearner.fit(data, xgboostLearner.defaults, 1))
  emit(`sizing.train_s.${bigN}.xgboost`, r.s, 's', {
    rows: bigN,
    trainedOn: data.nRows,
    family: 'xgboost',
    params: 'defaults',
    note: `subsampled to TRAIN_MAX_ROWS=${maxRows} by the dataset step`,
    cpuS: +r.cpuS.toFixed(2),
    loadAtStart: r.load,
  })
  console.log(
    `xgboost fit on the subsample: ${r.s.toFixed(2)} s wall, ${r.cpuS.toFixed(2)} s cpu (load ${r.load})`,
  )
  await closeXGBoostWorker()
}

// ── monitor ─────────────────────────────────────────────────────────────────────────────────

/**
 * CPU and wall time of a synchronous run. On a loaded machine the wall time includes waiting for
 * a core; the process's CPU time is what sizing needs (how much of a core the work takes).
 */
function cpuAndWall(fn: () => void): { cpuMs: number; wallMs: number } {
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  fn()
  const wallMs = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  return { cpuMs: (cpu.user + cpu.system) / 1000, wallMs }
}

const bestOf3 = (run: () => { cpuMs: number; wallMs: number }) =>
  [run(), run(), run()].reduce((a, b) => (b.cpuMs < a.cpuMs ? b : a))

/** Keeps the kernel's results alive (printed), so the timed loop cannot be optimised away. */
let kernelChecksum = 0

function monitor(): void {
  const WINDOWS = [250, 1000, 5000]
  const items = [...pimaStream({ n: MONITOR_EVENTS, seed: 'sizing-monitor', scenario: { kind: 'stable' } })]
  const artifact = pimaArtifact()
  const rows: Record<string, unknown>[] = []
  for (const w of WINDOWS) {
    const drift = configWith({ DRIFT_DETECTION_WINDOW: String(w), LOG_LEVEL: 'warn' }).drift
    // The first window of a version calibrates its PSI thresholds for the window size
    // (lib/stats/drift-null.ts, simulated null replicates): a one-off cost per version and
    // window size, timed apart from the per-event cost that follows.
    const head = items.slice(0, 2 * w + 1000)
    const tail = items.slice(head.length)
    const feed = (e: MonitorEngine, xs: StreamItem[]) => {
      for (const it of xs) it.type === 'prediction' ? e.onPrediction(it.value) : e.onOutcome(it.value)
      e.takeOutputs()
    }
    let firstWindow = { cpuMs: 0, wallMs: 0 }
    const run = () => {
      const e = new MonitorEngine({ modelName: MODEL, drift, artifactFor: () => artifact })
      firstWindow = cpuAndWall(() => feed(e, head))
      return cpuAndWall(() => feed(e, tail))
    }
    run() // warm-up (JIT)
    const l = load1()
    const best = bestOf3(run)
    const us = (best.cpuMs * 1000) / tail.length
    emit(`sizing.monitor_us_per_event.w${w}_f8`, us, 'µs/event', {
      wallUsPerEvent: +((best.wallMs * 1000) / tail.length).toFixed(2),
      window: w,
      features: 8,
      evalEvery: drift.evalEvery,
      events: tail.length,
      firstEventsCpuMs: Math.round(firstWindow.cpuMs),
      firstEvents: head.length,
      path: 'MonitorEngine: drift + quality + label join + performance (no ClickHouse), after the first window',
      stat: 'CPU time, best of 3',
      loadAtStart: l,
    })
    emit(`sizing.monitor_first_window_cpu_ms.w${w}_f8`, firstWindow.cpuMs, 'ms', {
      window: w,
      events: head.length,
      note: 'the first 2 windows + 1,000 events of a new engine, including the PSI threshold calibration for the window size',
      loadAtStart: l,
    })
    rows.push({
      what: 'engine (8 features)',
      window: w,
      features: 8,
      'cpu µs/event': +us.toFixed(2),
      'wall µs/event': +((best.wallMs * 1000) / tail.length).toFixed(2),
      'first events cpu ms': Math.round(firstWindow.cpuMs),
      load: l,
    })
  }

  // The engine's feature set is the model's (8 Pima features); the drift kernel scales with it.
  const BINS = 10
  const EVAL_EVERY = 250
  const rng = createRng('sizing-kernel')
  for (const w of WINDOWS) {
    for (const f of [8, 16, 32]) {
      const series = f + 1 // + the predicted probability
      const refs = Array.from({ length: series }, () =>
        buildReference(
          Array.from({ length: 768 }, () => rng.next() * 100),
          BINS,
        ),
      )
      const POOL = 32_768
      const raw = new Float64Array(POOL * series)
      for (let i = 0; i < raw.length; i++) raw[i] = rng.next() < 0.02 ? Number.NaN : rng.next() * 110 - 5
      const window = new SlidingBinnedWindow({
        size: w,
        features: series,
        binsPerFeature: refs.map(binSlots),
      })
      const idx = new Array<number>(series)
      const psi = DRIFT_STATISTICS.psi
      const ks = DRIFT_STATISTICS.ks
      let sink = 0
      const run = (events: number) => {
        return cpuAndWall(() => {
          for (let e = 0; e < events; e++) {
            const b = (e % POOL) * series
            for (let j = 0; j < series; j++) idx[j] = binIndex(refs[j]!.edges, raw[b + j]!)
            window.push(idx)
            if ((e + 1) % EVAL_EVERY === 0)
              for (let j = 0; j < series; j++) {
                sink += psi.compute(refs[j]!, window.counts(j))
                sink += ks.compute(refs[j]!, window.counts(j))
              }
          }
        })
      }
      run(50_000)
      const l = load1()
      const events = 4 * MONITOR_EVENTS
      const best = bestOf3(() => run(events))
      const us = (best.cpuMs * 1000) / events
      emit(`sizing.monitor_us_per_event.w${w}_f${f}_kernel`, us, 'µs/event', {
        wallUsPerEvent: +((best.wallMs * 1000) / events).toFixed(3),
        window: w,
        features: f,
        series,
        bins: BINS,
        evalEvery: EVAL_EVERY,
        events,
        path: 'drift kernel: binning + SlidingBinnedWindow + PSI and KS per series every 250 events',
        stat: 'CPU time, best of 3',
        loadAtStart: l,
      })
      kernelChecksum += sink
      rows.push({
        what: 'drift kernel',
        window: w,
        features: f,
        'cpu µs/event': +us.toFixed(3),
        'wall µs/event': +((best.wallMs * 1000) / events).toFixed(3),
        load: l,
      })
    }
  }
  console.table(rows)
  console.log(`drift kernel checksum ${kernelChecksum.toFixed(3)}`)
}

// ── kafka ───────────────────────────────────────────────────────────────────────────────────

/**
 * Bytes of one record's value and key: Confluent framing (magic byte + 4-byte schema id) + the
 * Avro body, keyed by the request id (UUID). The batcher sends uncompressed batches
 * (lib/kafka/batcher.ts), so this is what the broker stores per record, before Kafka's own
 * per-record overhead (a few bytes in a v2 batch) and replication.
 */
function kafka(): void {
  const schema = (name: string) =>
    avro.Type.forSchema(
      JSON.parse(readFileSync(fileURLToPath(new URL(`../schemas/${name}.avsc`, import.meta.url)), 'utf8')),
    )
  const features = {
    pregnancies: 2,
    glucose: 148,
    bloodPressure: 72,
    skinThickness: 35,
    insulin: null,
    bmi: 33.6,
    diabetesPedigreeFunction: 0.627,
    age: 50,
  }
  const at = Date.now() // timestamp-millis as a long (no logical-type mapping here)
  const events: Record<string, [string, Record<string, unknown>]> = {
    prediction_requests: [
      'PredictionRequest',
      {
        requestId: randomUUID(),
        patientId: randomUUID(),
        eventTime: at,
        sourceSystem: 'ehr-hospital-01',
        ...features,
        notes: null,
      },
    ],
    predictions: [
      'Prediction',
      {
        requestId: randomUUID(),
        patientId: randomUUID(),
        modelName: MODEL,
        modelVersion: 3,
        probability: 0.4213,
        label: 0,
        threshold: 0.5,
        eventTime: at,
        scoredAt: at,
        ...features,
        shadow: false,
      },
    ],
    outcomes: [
      'OutcomeLabel',
      { requestId: randomUUID(), outcome: 1, labelledAt: at, source: 'lab-results' },
    ],
  }
  const KEY = 36
  const rows: Record<string, unknown>[] = []
  for (const [topic, [name, value]] of Object.entries(events)) {
    const bytes = 5 + schema(name).toBuffer(value).length + KEY
    emit(`sizing.kafka_bytes_per_event.${topic}`, bytes, 'bytes', {
      schema: `schemas/${name}.avsc`,
      framing: 5,
      keyBytes: KEY,
      compression: 'none',
      note: 'value + key; 7 of 8 features present',
    })
    rows.push({ topic, schema: name, 'bytes (value + key)': bytes })
  }
  console.table(rows)
}

console.log(
  `sizing bench: parts ${[...parts].join(',')}, sizes ${SIZES.join(',')}, load ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ')}`,
)
if (parts.has('kafka')) kafka()
if (parts.has('monitor')) monitor()
if (parts.has('train')) await train()
if (parts.has('storage') || parts.has('api')) await storageAndApi()
console.log(
  `load at the end: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ')}`,
)
process.exit(0)
