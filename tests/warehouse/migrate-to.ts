/** Brings a database to an earlier schema: the shipped migrations up to `version`, from a copy of them. */
import { copyFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { type ClickHouseClient, MIGRATIONS_DIR, migrate, readMigrations } from '../../lib/clickhouse/index.ts'

export async function migrateUpTo(client: ClickHouseClient, version: number) {
  const dir = mkdtempSync(path.join(tmpdir(), `riskstream-migrations-${version}-`))
  for (const m of readMigrations().filter((x) => x.version <= version))
    copyFileSync(path.join(MIGRATIONS_DIR, m.name), path.join(dir, m.name))
  return migrate(client, { dir })
}
