/**
 * A row ClickHouse refuses is never an outage: against real embedded ClickHouse, the
 * analytics pipeline gets predictions of which a few carry an event time ClickHouse cannot
 * parse (the monitors' edge check is bypassed on purpose: this is the backstop). The insert
 * is bisected, exactly those rows are handed to the dead-letter callback with
 * CLICKHOUSE_ROW_REJECTED, every other row lands, the checkpoint is written, and window rows
 * keep coming after the poisoned batch. The engine's clock never passes now + the skew.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ClickHouseClient, createClickHouse, migrate, queryRows } from '../../../lib/clickhouse/index.ts'
import { insertIsolating, isRowError } from '../../../lib/clickhouse/insert-errors.ts'
import { MonitorEngine } from '../../../processors/monitors/engine/engine.ts'
import { AnalyticsPipeline, type PipelineRecord } from '../../../processors/monitors/pipeline.ts'
import type { OutcomeEvent, PredictionEvent } from '../../../processors/monitors/sink/rows.ts'
import { testConfig, uniqueId } from '../../helpers/index.ts'
import { pimaArtifact, pimaStream } from './streams.ts'

const config = testConfig()
let ch: ClickHouseClient
beforeAll(async () => {
  ch = createClickHouse(config)
  await migrate(ch)
})
afterAll(() => ch?.close())

describe('row-level insert errors', () => {
  it('insertIsolating bisects to the refused rows and inserts the rest (constraint and parse errors)', async () => {
    const table = uniqueId('iso_')
    await ch.command({
      query: `CREATE TABLE ${table} (id UInt32, o UInt8, CONSTRAINT binary CHECK o < 2) ENGINE = MergeTree ORDER BY id`,
    })
    const rows = Array.from({ length: 100 }, (_, i) => ({ id: i, o: i % 2 }))
    rows[17] = { id: 17, o: 300 } as never // stored as 44 without the constraint
    rows[64] = { id: 64, o: 'x' } as never // unparsable
    const refused = await insertIsolating(
      rows,
      async (part) => {
        await ch.insert({ table, values: part as object[], format: 'JSONEachRow' })
      },
      table,
    )
    expect(refused.map((r) => r.index)).toEqual([17, 64])
    expect(refused.every((r) => r.error.code === 'CLICKHOUSE_ROW_REJECTED' && !r.error.retriable)).toBe(true)
    const [n] = await queryRows<{ n: number }>(ch, `SELECT count() AS n FROM ${table}`)
    expect(Number(n!.n)).toBe(98)
  })

  it('a connection failure is not a row error: it is thrown, retriable', async () => {
    await expect(
      insertIsolating(
        [1, 2, 3],
        async () => {
          throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })
        },
        't',
      ),
    ).rejects.toMatchObject({ code: 'CLICKHOUSE_UNAVAILABLE', retriable: true })
    expect(isRowError({ code: '27' })).toBe(true)
    expect(isRowError({ code: '210' })).toBe(false) // NETWORK_ERROR
  })

  it('the pipeline dead-letters the refused rows and monitoring goes on', async () => {
    const modelName = uniqueId('iso-m-')
    const topic = uniqueId('iso.predictions.')
    const now = Date.now()
    const engine = new MonitorEngine({
      modelName,
      drift: config.drift,
      artifactFor: () => pimaArtifact(),
      clockLimit: () => now + config.events.maxAheadMs,
    })
    const dead: { offset: string; code: string }[] = []
    const pipeline = new AnalyticsPipeline({
      client: ch,
      engine,
      groupId: uniqueId('iso-g-'),
      topics: { predictions: topic, outcomes: `${topic}.outcomes` },
      modelName,
      ensureArtifacts: async () => {},
      publish: async () => {},
      policy: { everyEvents: 1000, everyMs: Number.POSITIVE_INFINITY, caughtUpMs: 250 },
      deadLetter: async (rs) => {
        for (const r of rs) dead.push({ offset: r.record.offset, code: r.error.code })
      },
    })
    const preds = [...pimaStream({ n: 3000, seed: 'iso', scenario: { kind: 'stable' } })]
      .filter((i) => i.type === 'prediction')
      .map((i, k) => ({ ...(i.value as PredictionEvent), modelName, requestId: `${modelName}-${k}` }))
    const poisoned = new Set([500, 501, 1234])
    const records: PipelineRecord<PredictionEvent | OutcomeEvent>[] = preds.map((value, k) => ({
      value: poisoned.has(k) ? { ...value, eventTime: 8.64e15 } : value,
      topic,
      partition: 0,
      offset: String(k),
    }))
    const half = Math.floor(records.length / 2)
    await pipeline.handle(records.slice(0, half), false)
    const cp1 = await pipeline.checkpoint()
    await pipeline.handle(records.slice(half), false)
    const cp2 = await pipeline.checkpoint()

    expect(dead.map((d) => Number(d.offset)).sort((a, b) => a - b)).toEqual([...poisoned])
    expect(dead.every((d) => d.code === 'CLICKHOUSE_ROW_REJECTED')).toBe(true)
    const [n] = await queryRows<{ n: number }>(
      ch,
      'SELECT count() AS n FROM predictions FINAL WHERE model_name = {m:String}',
      { m: modelName },
    )
    expect(Number(n!.n)).toBe(records.length - poisoned.size)
    expect(cp2.seq).toBeGreaterThan(cp1.seq)
    expect(engine.counters.outOfRange).toBe(poisoned.size)
    // Window rows written for events after the poisoned ones: monitoring went on.
    const [w] = await queryRows<{ n: number; last: number }>(
      ch,
      "SELECT count() AS n, max(window_id) AS last FROM monitor_windows FINAL WHERE model_name = {m:String} AND window_type = 'sliding'",
      { m: modelName },
    )
    expect(Number(w!.n)).toBeGreaterThan(0)
    expect(Number(w!.last)).toBeGreaterThan(1234)
    // The poisoned future time did not move the monitoring clock past now + skew.
    expect(engine.clock).toBeLessThanOrEqual(now + config.events.maxAheadMs)
  })
})
