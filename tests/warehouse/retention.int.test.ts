/**
 * Retention on real chDB: RETENTION_DAYS_* become the raw tables' TTL at migrate time, rows
 * older than it disappear once merged (OPTIMIZE … FINAL), 0 keeps rows for ever, and applying
 * the same settings again alters nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chTime, createClickHouse, queryRows } from '../../lib/clickhouse/index.ts'
import { configWith } from '../../lib/config/index.ts'
import { applyRetention, currentTtl, migrateWarehouse, TABLES } from '../../lib/warehouse/index.ts'
import { testConfig } from '../helpers/index.ts'

const config = testConfig()
const client = createClickHouse(config)
afterAll(() => client.close())

const DAY = 86_400_000

const ids = async (table: string) =>
  (await queryRows<{ id: string }>(client, `SELECT request_id AS id FROM ${table} FINAL ORDER BY id`)).map(
    (r) => r.id,
  )

describe('retention (RETENTION_DAYS_*)', () => {
  beforeAll(async () => {
    // The defaults: predictions and outcomes kept for ever, dead letters 30 days (as shipped).
    const result = await migrateWarehouse(client, config)
    expect(result.retention).toEqual([])
  })

  it('defaults to keeping clinical rows and 30 days of dead letters', async () => {
    expect(configWith({}).clickhouse.retentionDays).toEqual({ predictions: 0, outcomes: 0, dlq: 30 })
    expect(await currentTtl(client, TABLES.predictions)).toBeNull()
    expect(await currentTtl(client, TABLES.outcomes)).toBeNull()
    expect(await currentTtl(client, TABLES.dlqRecords)).toBe('toDateTime(failed_at) + toIntervalDay(30)')
    expect(() => configWith({ RETENTION_DAYS_PREDICTIONS: '-1' })).toThrow(/RETENTION_DAYS_PREDICTIONS/)
  })

  it('drops predictions older than the TTL once merged, and keeps outcomes at 0', async () => {
    const now = Date.now()
    await client.insert({
      table: TABLES.predictions,
      values: ['old', 'new'].map((id) => ({
        request_id: `ret-${id}`,
        patient_id: 'p',
        model_name: 'retention',
        model_version: 1,
        probability: 0.3,
        label: 0,
        threshold: 0.5,
        event_time: chTime(id === 'old' ? now - 40 * DAY : now - DAY),
        scored_at: chTime(now),
        kafka_partition: 0,
        kafka_offset: 0,
      })),
      format: 'JSONEachRow',
    })
    await client.insert({
      table: TABLES.outcomes,
      values: [
        {
          request_id: 'ret-old',
          outcome: 1,
          labelled_at: chTime(now - 400 * DAY),
          source: 'test',
          kafka_partition: 0,
          kafka_offset: 0,
        },
      ],
      format: 'JSONEachRow',
    })
    const changed = await applyRetention(client, { predictions: 30, outcomes: 0, dlq: 30 })
    expect(changed).toEqual(['predictions: kept for ever → toDateTime(event_time) + toIntervalDay(30)'])
    expect(await currentTtl(client, TABLES.predictions)).toBe('toDateTime(event_time) + toIntervalDay(30)')
    // The same settings again: nothing to alter (MODIFY TTL rewrites parts, so it is not repeated).
    expect(await applyRetention(client, { predictions: 30, outcomes: 0, dlq: 30 })).toEqual([])

    await client.command({ query: `OPTIMIZE TABLE ${TABLES.predictions} FINAL` })
    await client.command({ query: `OPTIMIZE TABLE ${TABLES.outcomes} FINAL` })
    expect(await ids(TABLES.predictions)).toEqual(['ret-new'])
    expect(await ids(TABLES.outcomes)).toEqual(['ret-old'])
  })

  it('applies outcome and dead-letter retention, and 0 removes a TTL', async () => {
    const changed = await applyRetention(client, { predictions: 0, outcomes: 365, dlq: 0 })
    expect(changed).toEqual([
      'predictions: toDateTime(event_time) + toIntervalDay(30) → kept for ever',
      'outcomes: kept for ever → toDateTime(labelled_at) + toIntervalDay(365)',
      'dlq_records: toDateTime(failed_at) + toIntervalDay(30) → kept for ever',
    ])
    expect(await currentTtl(client, TABLES.predictions)).toBeNull()
    expect(await currentTtl(client, TABLES.dlqRecords)).toBeNull()
    await client.command({ query: `OPTIMIZE TABLE ${TABLES.outcomes} FINAL` })
    expect(await ids(TABLES.outcomes)).toEqual([])
  })
})
