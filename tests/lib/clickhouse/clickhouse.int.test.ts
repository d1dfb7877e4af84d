import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  createClickHouse,
  migrate,
  queryRows,
  readMigrations,
  splitStatements,
} from '../../../lib/clickhouse/index.ts'
import { RiskStreamError } from '../../../lib/errors/index.ts'
import { testConfig, uniqueId } from '../../helpers/index.ts'

const config = testConfig()
const client = createClickHouse(config)
afterAll(() => client.close())

describe('ClickHouse client factory (embedded chDB)', () => {
  it('writes rows and reads them back with server-side parameters', async () => {
    const table = uniqueId('rows_')
    await client.command({
      query: `CREATE TABLE ${table} (id UInt32, name String) ENGINE = MergeTree ORDER BY id`,
    })
    await client.insert({
      table,
      values: [
        { id: 1, name: "o'hara" },
        { id: 2, name: 'x' },
      ],
      format: 'JSONEachRow',
    })
    const rows = await queryRows<{ id: number; name: string }>(
      client,
      `SELECT id, name FROM ${table} WHERE name = {n:String}`,
      {
        n: "o'hara",
      },
    )
    expect(rows).toEqual([{ id: 1, name: "o'hara" }])
    // A parameter that looks like SQL is only ever a value.
    const none = await queryRows(client, `SELECT id FROM ${table} WHERE name = {n:String}`, {
      n: "x' OR 1=1 --",
    })
    expect(none).toEqual([])
  })

  it('drops a redelivered batch by its deduplication token', async () => {
    const table = uniqueId('dedup_')
    await client.command({
      query: `CREATE TABLE ${table} (id UInt32) ENGINE = MergeTree ORDER BY id SETTINGS non_replicated_deduplication_window = 100`,
    })
    const insert = (token: string) =>
      client.insert({
        table,
        values: [{ id: 1 }, { id: 2 }],
        format: 'JSONEachRow',
        clickhouse_settings: { insert_deduplication_token: token },
      })
    await insert('topic-0-100-101')
    await insert('topic-0-100-101')
    await insert('topic-0-102-103')
    const [row] = await queryRows<{ c: number }>(client, `SELECT count() AS c FROM ${table}`)
    expect(Number(row!.c)).toBe(4)
  })

  it('a token given to one insert does not stick to the next inserts (embedded session)', async () => {
    // Regression: chDB applied the token as a session SET, so the next token-less inserts
    // reused it and the second of them was silently dropped as a "duplicate".
    const tokened = uniqueId('tokened_')
    const plain = uniqueId('plain_')
    for (const t of [tokened, plain])
      await client.command({
        query: `CREATE TABLE ${t} (id UInt32) ENGINE = MergeTree ORDER BY id SETTINGS non_replicated_deduplication_window = 100`,
      })
    await client.insert({
      table: tokened,
      values: [{ id: 1 }],
      format: 'JSONEachRow',
      clickhouse_settings: { insert_deduplication_token: uniqueId('tok') },
    })
    await client.insert({ table: plain, values: [{ id: 1 }], format: 'JSONEachRow' })
    await client.insert({ table: plain, values: [{ id: 2 }], format: 'JSONEachRow' })
    const rows = await queryRows<{ id: number }>(client, `SELECT id FROM ${plain} ORDER BY id`)
    expect(rows.map((r) => Number(r.id))).toEqual([1, 2])
  })
})

describe('migrations', () => {
  it('apply once, then a second run applies nothing', async () => {
    const first = await migrate(client)
    expect(first.map((m) => m.version)).toEqual(readMigrations().map((m) => m.version))
    const second = await migrate(client)
    expect(second).toEqual([])
    const tables = await queryRows<{ name: string }>(
      client,
      'SELECT name FROM system.tables WHERE database = currentDatabase()',
    )
    expect(tables.map((t) => t.name)).toEqual(
      expect.arrayContaining(['predictions', 'outcomes', 'model_versions', 'schema_migrations']),
    )
  })

  it('refuses to run when a shipped migration was edited', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mig-'))
    const table = uniqueId('m_')
    // Version 001 is recorded with the repo's checksum (previous test), so a different 001 is an edit.
    writeFileSync(
      path.join(dir, '001_core_events.sql'),
      `CREATE TABLE IF NOT EXISTS ${table} (x UInt8) ENGINE = MergeTree ORDER BY x;\n`,
    )
    const err = await migrate(client, { dir }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(RiskStreamError)
    expect((err as RiskStreamError).code).toBe('MIGRATION_FAILED')
    expect((err as Error).message).toMatch(/001_core_events.sql was edited after it was applied/)
    const exists = await queryRows(client, 'SELECT name FROM system.tables WHERE name = {t:String}', {
      t: table,
    })
    expect(exists).toEqual([])
  })

  it('splits statements at line-ending semicolons and skips comments', () => {
    expect(splitStatements("-- c\nCREATE TABLE a (x String DEFAULT ';');\nSELECT 1;\n")).toEqual([
      "CREATE TABLE a (x String DEFAULT ';')",
      'SELECT 1',
    ])
  })
})
