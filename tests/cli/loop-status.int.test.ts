/**
 * The demo's loop status reads PSI per feature from v_latest_drift (migrations/050) and bands it
 * with lib/stats (PSI_BANDS), for the newest version's latest sliding window.
 */
import { afterAll, expect, it } from 'vitest'
import { loopStatus } from '../../cli/loop-status.ts'
import { createClickHouse, migrate } from '../../lib/clickhouse/index.ts'
import { FEATURES } from '../../lib/features/index.ts'
import { bandOf, DRIFT_STATISTICS } from '../../lib/stats/index.ts'
import { PROBABILITY_SUBJECT } from '../../lib/warehouse/index.ts'
import { insertWindowRows } from '../../processors/monitors/sink/outputs.ts'
import { testConfig } from '../helpers/index.ts'
import { feed, fixedStream, newEngine } from '../processors/monitors/golden/scenarios.ts'

const client = createClickHouse(testConfig())
afterAll(() => client.close())

it('reports the newest PSI per drift subject with its band', async () => {
  await migrate(client)
  const modelName = `loop-status-${process.pid}-${Date.now()}`
  const rows = feed(newEngine(), [...fixedStream('glucose')]).rows.map((r) => ({ ...r, modelName }))
  await insertWindowRows(client, rows)
  const newest = (subject: string) => {
    const psi = rows.filter((r) => r.windowType === 'sliding' && r.subject === subject && r.metric === 'psi')
    return psi.reduce((a, b) => (b.windowId > a.windowId ? b : a)).value
  }
  const s = await loopStatus(client, modelName)
  expect(s.latestPsi.map((r) => r.feature).sort()).toEqual([...FEATURES, PROBABILITY_SUBJECT].sort())
  for (const r of s.latestPsi) {
    expect(r.psi, r.feature).toBeCloseTo(newest(r.feature), 12)
    expect(r.band).toBe(bandOf(DRIFT_STATISTICS.psi, r.psi))
    expect(r.version).toBe(1)
  }
  expect(s.latestPsi.find((r) => r.feature === 'glucose')!.band).toBe('significant')
})
