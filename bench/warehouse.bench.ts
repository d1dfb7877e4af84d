/**
 * The API's warehouse reads on the shipped layout (migrations up to 030) and after 031/032
 * (predictions ordered by event hour, monitor_latest_windows), on the same rows: one caller,
 * so the figures are the reads' own cost, not queueing. Embedded chDB in a throw-away directory.
 *
 *   npx tsx bench/warehouse.bench.ts [--predictions 300000] [--windows 20000] [--repeat 15]
 *
 * Predictions spread over 20 days, half of them labelled; windows: sliding drift (9 subjects ×
 * psi, ks, psi_threshold, psi_state) and performance (10 metrics) evaluations per version, 3 versions.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { createWarehouseReader } from '../api/queries.ts'
import {
  createClickHouse,
  MIGRATIONS_DIR,
  migrate,
  queryRows,
  readMigrations,
} from '../lib/clickhouse/index.ts'
import { configWith } from '../lib/config/index.ts'
import { FEATURE_COLUMNS, FEATURES } from '../lib/features/index.ts'
import { PROBABILITY_SUBJECT, TABLES } from '../lib/warehouse/index.ts'

const { values } = parseArgs({
  options: {
    predictions: { type: 'string', default: '300000' },
    windows: { type: 'string', default: '20000' },
    repeat: { type: 'string', default: '15' },
  },
})
const N = Number(values.predictions)
const W = Number(values.windows)
const REPEAT = Number(values.repeat)
const MODEL = 'bench-warehouse'

const dir = mkdtempSync(path.join(tmpdir(), 'riskstream-warehouse-bench-'))
const client = createClickHouse(configWith({ CLICKHOUSE_PATH: path.join(dir, 'chdb') }))
const reader = createWarehouseReader({ client })
const DAY = 86_400_000
const now = Date.now()

async function median(read: () => Promise<unknown>): Promise<number> {
  await read()
  const ms: number[] = []
  for (let i = 0; i < REPEAT; i++) {
    const t0 = performance.now()
    await read()
    ms.push(performance.now() - t0)
  }
  ms.sort((a, b) => a - b)
  return Math.round(ms[Math.floor(ms.length / 2)]! * 10) / 10
}

/** The drift-verdict read as it was on the shipped layout: the newest window by a scan. */
const SCANNED_VERDICTS = `SELECT model_version, window_id, window_width, window_size, toUnixTimestamp64Milli(window_end) AS window_end_ms,
    subject, metric, value
  FROM ${TABLES.monitorWindows} FINAL
  WHERE model_name = {model:String} AND monitor = 'drift' AND window_type = 'sliding'
    AND metric IN ('psi', 'ks', 'psi_threshold', 'psi_state')
    AND (model_version, window_id) IN (
      SELECT model_version, max(window_id) FROM ${TABLES.monitorWindows}
      WHERE model_name = {model:String} AND monitor = 'drift' AND window_type = 'sliding' AND metric = 'psi_state'
      GROUP BY model_version)`

const reads: Record<string, () => Promise<unknown>> = {
  'performance summary, 30 days (/performance/30)': () =>
    reader.performanceSummary(MODEL, now - 30 * DAY, now),
  'performance summary, 24 h (dashboard summary)': () => reader.performanceSummary(MODEL, now - DAY, now),
  'volume series, 24 h (dashboard volume)': () => reader.volumeSeries(MODEL, now - DAY, now, 1440),
  'recent predictions, 50': () => reader.recentPredictions(MODEL, 50),
}

try {
  const upTo030 = path.join(dir, 'migrations-030')
  mkdirSync(upTo030)
  for (const m of readMigrations().filter((x) => x.version <= 30))
    copyFileSync(path.join(MIGRATIONS_DIR, m.name), path.join(upTo030, m.name))
  await migrate(client, { dir: upTo030 })

  const features = FEATURES.map((f) => FEATURE_COLUMNS[f]).join(', ')
  await client.command({
    query: `INSERT INTO ${TABLES.predictions} (request_id, patient_id, model_name, model_version, probability, label, threshold,
        event_time, scored_at, ${features}, kafka_partition, kafka_offset)
      SELECT concat('w', toString(number)), concat('p', toString(number % 5000)), '${MODEL}', 1,
        (number * 7919 % 1000) / 1000, if(number * 7919 % 1000 >= 500, 1, 0), 0.5,
        fromUnixTimestamp64Milli(toInt64(${now} - (number % 480) * 3600000 - number % 3600000)), now64(3),
        ${FEATURES.map(() => '1').join(', ')}, 0, number
      FROM numbers(${N})`,
  })
  await client.command({
    query: `INSERT INTO ${TABLES.outcomes} (request_id, outcome, labelled_at, source, kafka_partition, kafka_offset)
      SELECT concat('w', toString(number)), if(number % 3 = 0, 1, 0), now64(3), 'bench', 0, number
      FROM numbers(${N}) WHERE number % 2 = 0`,
  })
  const subjects = `['glucose', 'bmi', 'age', 'insulin', 'pregnancies', 'blood_pressure', 'skin_thickness', 'diabetes_pedigree_function', '${PROBABILITY_SUBJECT}']`
  await client.command({
    query: `INSERT INTO ${TABLES.monitorWindows} (model_name, model_version, monitor, window_type, window_width, window_id,
        window_start, window_end, window_size, subject, metric, value)
      SELECT '${MODEL}', 1 + intDiv(number, ${W * 36}), 'drift', 'sliding', 1000, intDiv(number % ${W * 36}, 36) * 250 + 1000,
        now64(3), now64(3), 1000, ${subjects}[intDiv(number % 36, 4) + 1],
        ['psi', 'ks', 'psi_threshold', 'psi_state'][number % 4 + 1], (number % 97) / 1000
      FROM numbers(${W * 36 * 3})`,
  })
  await client.command({
    query: `INSERT INTO ${TABLES.monitorWindows} (model_name, model_version, monitor, window_type, window_width, window_id,
        window_start, window_end, window_size, subject, metric, value)
      SELECT '${MODEL}', 1 + intDiv(number, ${W * 10}), 'performance', 'sliding', 500, intDiv(number % ${W * 10}, 10) * 50 + 500,
        now64(3), now64(3), 500, '',
        ['accuracy', 'precision', 'recall', 'f1', 'roc_auc', 'brier', 'prevalence', 'labels', 'expected_accuracy', 'accuracy_drop'][number % 10 + 1],
        (number % 89) / 100
      FROM numbers(${W * 10 * 3})`,
  })

  const before: Record<string, number> = {}
  for (const [name, read] of Object.entries(reads)) before[name] = await median(read)
  before['drift verdicts (dashboard summary)'] = await median(() =>
    queryRows(client, SCANNED_VERDICTS, { model: MODEL }),
  )

  const t0 = performance.now()
  await migrate(client)
  const migrateS = Math.round((performance.now() - t0) / 100) / 10

  const after: Record<string, number> = {}
  for (const [name, read] of Object.entries(reads)) after[name] = await median(read)
  after['drift verdicts (dashboard summary)'] = await median(() => reader.latestDriftVerdicts(MODEL))

  const [windows] = await queryRows<{ n: number }>(
    client,
    `SELECT count() AS n FROM ${TABLES.monitorWindows}`,
  )
  const load1 = Math.round(loadavg()[0]! * 100) / 100
  console.log(
    `warehouse bench: ${N} predictions (half labelled) over 20 days, ${windows?.n} window rows; ` +
      `median of ${REPEAT} reads, one caller; migrations 031-032 took ${migrateS} s; load1 at the end ${load1}`,
  )
  const rows = Object.keys(before).map((read) => ({
    read,
    'shipped layout ms': before[read],
    'after 031/032 ms': after[read],
  }))
  console.table(rows)
  console.log(
    JSON.stringify({ bench: 'warehouse', predictions: N, windows: windows?.n, migrateS, load1, rows }),
  )
} finally {
  await client.close()
  rmSync(dir, { recursive: true, force: true })
}
