/**
 * Migrations 031 and 033 on real chDB: a database at 030 with predictions (a redelivered duplicate
 * among them) is migrated; every row survives the copy and the swap, the table keeps its name,
 * a period read can use the primary key, a lookup by request id its skip index, and a replayed
 * prediction still collapses by request_id.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { chTime, createClickHouse, migrate, queryRows } from '../../lib/clickhouse/index.ts'
import { TABLES } from '../../lib/warehouse/index.ts'
import { testConfig } from '../helpers/index.ts'
import { migrateUpTo } from './migrate-to.ts'

const client = createClickHouse(testConfig())
afterAll(() => client.close())

const DAY = 86_400_000
const NOW = Date.UTC(2026, 5, 15, 12, 30)

function prediction(id: string, eventMs: number, probability: number, ingestedMs: number) {
  return {
    request_id: id,
    patient_id: `p-${id}`,
    model_name: 'time-order',
    model_version: 1,
    probability,
    label: probability >= 0.5 ? 1 : 0,
    threshold: 0.5,
    event_time: chTime(eventMs),
    scored_at: chTime(eventMs + 5),
    glucose: 120,
    kafka_partition: 0,
    kafka_offset: 1,
    ingested_at: chTime(ingestedMs),
  }
}
const insert = (rows: ReturnType<typeof prediction>[]) =>
  client.insert({ table: TABLES.predictions, values: rows, format: 'JSONEachRow' })

const finalRows = () =>
  queryRows<{ request_id: string; probability: number; event_time: string }>(
    client,
    `SELECT request_id, probability, toString(event_time) AS event_time FROM ${TABLES.predictions} FINAL ORDER BY request_id`,
  )
const rawCount = async () =>
  Number((await queryRows<{ n: number }>(client, `SELECT count() AS n FROM ${TABLES.predictions}`))[0]!.n)
const sortingKey = async () =>
  (
    await queryRows<{ sorting_key: string }>(
      client,
      "SELECT sorting_key FROM system.tables WHERE database = currentDatabase() AND name = 'predictions'",
    )
  )[0]?.sorting_key

/** A one-day read that must use the primary key (force_primary_key fails the query otherwise). */
const periodRead = () =>
  queryRows<{ n: number }>(
    client,
    `SELECT count() AS n FROM ${TABLES.predictions} FINAL
     WHERE event_time >= fromUnixTimestamp64Milli({from:Int64}) AND event_time < fromUnixTimestamp64Milli({to:Int64})
     SETTINGS force_primary_key = 1`,
    { from: NOW - DAY, to: NOW + DAY },
  )

describe('predictions ordered by event time (migration 031)', () => {
  it('starts from the shipped layout (030): keyed by request_id, no period read by key', async () => {
    await migrateUpTo(client, 30)
    expect(await sortingKey()).toBe('request_id')
    await insert([
      prediction('r-old', NOW - 60 * DAY, 0.2, NOW - 60 * DAY),
      prediction('r-a', NOW - 2 * 3_600_000, 0.7, NOW),
      prediction('r-b', NOW, 0.4, NOW),
    ])
    // A redelivery of r-a in another batch: a second raw row until a merge, one row with FINAL.
    await insert([prediction('r-a', NOW - 2 * 3_600_000, 0.7, NOW + 1000)])
    expect(await rawCount()).toBe(4)
    await expect(periodRead()).rejects.toThrow(/primary key|INDEX_NOT_USED/i)
  })

  it('copies every row into the time-ordered table under the same name', async () => {
    const before = await finalRows()
    const applied = await migrate(client)
    expect(applied.map((m) => m.version)).toContain(31)
    expect(await sortingKey()).toBe('toStartOfHour(event_time), request_id')
    expect(await finalRows()).toEqual(before)
    // The copy is one insert, merged as it is written (optimize_on_insert): the duplicate of r-a
    // is already collapsed to its newest copy, as a background merge would have done.
    expect(await rawCount()).toBe(3)
    const scratch = await queryRows(
      client,
      "SELECT name FROM system.tables WHERE database = currentDatabase() AND name = 'predictions_by_time'",
    )
    expect(scratch).toEqual([])
    expect(await periodRead()).toEqual([{ n: 2 }])
    // A lookup by request id alone (the API's idempotency check) uses the bloom-filter index (033).
    const byId = await queryRows<{ request_id: string }>(
      client,
      `SELECT request_id FROM ${TABLES.predictions} FINAL WHERE request_id IN {ids:Array(String)}
       ORDER BY request_id SETTINGS force_data_skipping_indices = 'request_id_bloom'`,
      { ids: ['r-a', 'r-old', 'r-none'] },
    )
    expect(byId.map((r) => r.request_id)).toEqual(['r-a', 'r-old'])
  })

  it('still collapses a replayed prediction (same event time, same request_id)', async () => {
    await insert([
      prediction('r-b', NOW, 0.4, NOW + 5000),
      prediction('r-old', NOW - 60 * DAY, 0.2, NOW + 5000),
    ])
    expect(await rawCount()).toBe(5)
    expect((await finalRows()).map((r) => r.request_id)).toEqual(['r-a', 'r-b', 'r-old'])
    await client.command({ query: `OPTIMIZE TABLE ${TABLES.predictions} FINAL` })
    expect(await rawCount()).toBe(3)
  })
})
