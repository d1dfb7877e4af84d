/**
 * Migration 032 on real chDB: monitor_latest_windows holds the newest window id per version,
 * monitor, window type and metric, backfilled from the windows written before it and kept by
 * its materialized view for every insert after; the API's latest-window reads answer exactly
 * what the full scan of monitor_windows answered.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { createWarehouseReader } from '../../api/queries.ts'
import { chTime, createClickHouse, migrate, queryRows } from '../../lib/clickhouse/index.ts'
import { PROBABILITY_SUBJECT, TABLES } from '../../lib/warehouse/index.ts'
import { testConfig } from '../helpers/index.ts'
import { migrateUpTo } from './migrate-to.ts'

const client = createClickHouse(testConfig())
afterAll(() => client.close())
const MODEL = 'latest-windows'
const warehouse = createWarehouseReader({ client })

const T0 = Date.UTC(2026, 5, 1)

/** The window rows of one sliding evaluation: drift per subject and performance, as the monitors write them. */
function windowRows(version: number, windowId: number, value: number, withState = true) {
  const base = {
    model_name: MODEL,
    model_version: version,
    window_type: 'sliding',
    window_id: windowId,
    window_start: chTime(T0 + windowId * 1000),
    window_end: chTime(T0 + windowId * 1000 + 999),
  }
  const drift = ['glucose', PROBABILITY_SUBJECT].flatMap((subject) =>
    ['psi', 'ks', ...(withState ? ['psi_threshold', 'psi_state'] : [])].map((metric) => ({
      ...base,
      monitor: 'drift',
      window_width: 1000,
      window_size: 1000,
      subject,
      metric,
      value: metric === 'psi_state' ? 0 : value,
    })),
  )
  const performance = ['accuracy', 'expected_accuracy'].map((metric) => ({
    ...base,
    monitor: 'performance',
    window_width: 500,
    window_size: 500,
    subject: '',
    metric,
    value,
  }))
  return [...drift, ...performance]
}
const write = (rows: ReturnType<typeof windowRows>) =>
  client.insert({ table: TABLES.monitorWindows, values: rows, format: 'JSONEachRow' })

/** The newest window id per version in `table`: monitor_windows by a scan (the reads before 032), or 032's table. */
async function latestIn(table: string, monitor: string, metric?: string) {
  return queryRows<{ v: number; w: number }>(
    client,
    `SELECT model_version AS v, max(window_id) AS w FROM ${table}
     WHERE model_name = {m:String} AND monitor = {monitor:String} AND window_type = 'sliding'
       AND ({metric:String} = '' OR metric = {metric:String})
     GROUP BY v ORDER BY v`,
    { m: MODEL, monitor, metric: metric ?? '' },
  )
}
const scannedLatest = (monitor: string, metric?: string) => latestIn(TABLES.monitorWindows, monitor, metric)
const storedLatest = (monitor: string, metric?: string) =>
  latestIn(TABLES.monitorLatestWindows, monitor, metric)

describe('monitor_latest_windows (migration 032)', () => {
  it('is backfilled from the windows written before it', async () => {
    await migrateUpTo(client, 31)
    await write([...windowRows(1, 100, 0.05), ...windowRows(1, 200, 0.07), ...windowRows(2, 100, 0.2)])
    await migrate(client)
    expect(await storedLatest('drift', 'psi_state')).toEqual([
      { v: 1, w: 200 },
      { v: 2, w: 100 },
    ])
  })

  it('follows every later insert, a rewritten window and an evaluation without verdicts included', async () => {
    await write(windowRows(1, 300, 0.09))
    await write(windowRows(1, 300, 0.09)) // a rewrite after a crash: the same rows again
    await write(windowRows(2, 150, 0.3, false)) // psi and ks only: not a verdict window
    await write(windowRows(1, 250, 0.08)) // out of order: never lowers the newest id
    for (const [monitor, metric] of [
      ['drift', 'psi_state'],
      ['drift', undefined],
      ['performance', undefined],
    ] as const)
      expect(await storedLatest(monitor, metric)).toEqual(await scannedLatest(monitor, metric))
    expect(await storedLatest('drift', 'psi_state')).toEqual([
      { v: 1, w: 300 },
      { v: 2, w: 100 },
    ])
  })

  it('serves the API reads: the newest verdict window and the newest performance window per version', async () => {
    const verdicts = await warehouse.latestDriftVerdicts(MODEL)
    expect(verdicts.map((v) => [v.model_version, v.window_id]).sort()).toEqual([
      [1, 300],
      [2, 100],
    ])
    expect(verdicts.find((v) => v.model_version === 1)!.subjects.glucose).toEqual({
      psi: 0.09,
      ks: 0.09,
      psi_threshold: 0.09,
      psi_state: 0,
    })
    const perf = await warehouse.latestPerformanceWindows(MODEL)
    expect(perf.map((p) => [p.model_version, p.metrics.accuracy]).sort()).toEqual([
      [1, 0.09],
      [2, 0.3],
    ])
  })
})
