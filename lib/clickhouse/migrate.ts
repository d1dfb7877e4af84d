import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { REPO_ROOT } from '../config/index.ts'
import { RiskStreamError } from '../errors/index.ts'
import type { ClickHouseClient } from './client.ts'
import { queryRows } from './client.ts'

export const MIGRATIONS_DIR = path.join(REPO_ROOT, 'migrations')
const LEDGER = 'schema_migrations'

export interface Migration {
  version: number
  name: string
  sql: string
  checksum: string
}

/** Migrations are files named `NNN_description.sql`, applied in numeric order. */
export function readMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{3,}_[\w-]+\.sql$/.test(f))
    .map((f) => {
      const sql = readFileSync(path.join(dir, f), 'utf8')
      return {
        version: Number(f.split('_')[0]),
        name: f,
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      }
    })
    .sort((a, b) => a.version - b.version)
}

/** Splits a file into statements at semicolons that end a line, ignoring `--` comment lines. */
export function splitStatements(sql: string): string[] {
  const withoutComments = sql
    .split('\n')
    .filter((l) => !l.trim().startsWith('--'))
    .join('\n')
  return withoutComments
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter(Boolean)
}

async function ensureLedger(client: ClickHouseClient) {
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${LEDGER} (
      version UInt32, name String, checksum String, applied_at DateTime64(3) DEFAULT now64(3)
    ) ENGINE = MergeTree ORDER BY version`,
  })
}

export async function appliedMigrations(
  client: ClickHouseClient,
): Promise<{ version: number; name: string; checksum: string }[]> {
  await ensureLedger(client)
  return queryRows(client, `SELECT version, name, checksum FROM ${LEDGER} ORDER BY version`)
}

/**
 * Applies pending migrations in order and records each; never re-applies one. A shipped
 * migration whose file changed is an error: history in ClickHouse would no longer match the repo.
 */
export async function migrate(
  client: ClickHouseClient,
  options: { dir?: string; log?: (msg: string) => void } = {},
): Promise<Migration[]> {
  const all = readMigrations(options.dir)
  const applied = new Map((await appliedMigrations(client)).map((m) => [m.version, m]))
  for (const m of all) {
    const done = applied.get(m.version)
    if (done && done.checksum !== m.checksum) {
      throw new RiskStreamError(
        'MIGRATION_FAILED',
        `${m.name} was edited after it was applied (shipped migrations are immutable)`,
      )
    }
  }
  const pending = all.filter((m) => !applied.has(m.version))
  for (const m of pending) {
    for (const statement of splitStatements(m.sql)) {
      try {
        await client.command({ query: statement })
      } catch (err) {
        throw new RiskStreamError('MIGRATION_FAILED', `${m.name}: ${(err as Error).message}`, { cause: err })
      }
    }
    await client.insert({
      table: LEDGER,
      values: [{ version: m.version, name: m.name, checksum: m.checksum }],
      format: 'JSONEachRow',
    })
    options.log?.(`applied migration ${m.name}`)
  }
  return pending
}
