/**
 * A registered drift statistic flows from the engine to the API without code naming it: the
 * monitors' window rows for a glucose shift go through the real sink into chDB, the API's reader
 * (latestDriftVerdicts) reads them back, and the drift report shows every monitored statistic of
 * the registry per feature, with the values the engine computed.
 */
import { afterAll, expect, it } from 'vitest'
import type { ApiContext } from '../../../api/context.ts'
import { driftReport } from '../../../api/drift.ts'
import { createWarehouseReader } from '../../../api/queries.ts'
import { createClickHouse, migrate } from '../../../lib/clickhouse/index.ts'
import { MONITOR_STATISTICS } from '../../../lib/stats/index.ts'
import { insertWindowRows } from '../../../processors/monitors/sink/outputs.ts'
import { fakeRegistry } from '../../api/fakes.ts'
import { testConfig } from '../../helpers/index.ts'
import { feed, fixedStream, newEngine } from './golden/scenarios.ts'

const config = testConfig()
const client = createClickHouse(config)
afterAll(() => client.close())

it('writes, reads back and reports every monitored statistic per feature', async () => {
  await migrate(client)
  const modelName = `stats-flow-${process.pid}-${Date.now()}`
  const out = feed(newEngine(), [...fixedStream('glucose')])
  const rows = out.rows.map((r) => ({ ...r, modelName }))
  await insertWindowRows(client, rows)

  // The newest sliding evaluation with detector states, as the engine wrote it.
  const states = rows.filter((r) => r.windowType === 'sliding' && r.metric === 'psi_state')
  const lastId = Math.max(...states.map((r) => r.windowId))
  const value = (subject: string, metric: string) =>
    rows.find(
      (r) =>
        r.windowType === 'sliding' &&
        r.monitor === 'drift' &&
        r.windowId === lastId &&
        r.subject === subject &&
        r.metric === metric,
    )?.value ?? null

  const ctx = {
    config,
    modelName,
    warehouse: createWarehouseReader({ client }),
    registry: fakeRegistry(modelName).registry,
    now: () => 0,
  } as unknown as ApiContext
  const report = await driftReport(ctx)
  expect(report.data_drift.window_id).toBe(lastId)
  expect(report.data_drift.statistics.map((s) => s.name)).toEqual(MONITOR_STATISTICS.map((s) => s.name))
  const glucose = report.data_drift.feature_psi.glucose!
  for (const stat of MONITOR_STATISTICS) {
    expect(glucose.statistics[stat.name], stat.name).toBeCloseTo(value('glucose', stat.name)!, 9)
  }
  expect(glucose.statistics.wasserstein).toBeGreaterThan(0.5)
  expect(glucose.threshold).toBeCloseTo(value('glucose', 'psi_threshold')!, 9)
  expect(glucose.state).toBe('alert')
})
