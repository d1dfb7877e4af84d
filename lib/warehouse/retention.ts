/**
 * Retention of the raw tables: RETENTION_DAYS_* become each table's TTL when migrations are
 * applied (`migrateWarehouse`). A TTL is a table setting, not a migration file, so it follows the
 * configuration of the deployment; it is only altered when it differs from the one in place,
 * because MODIFY TTL rewrites the parts it touches. 0 removes the TTL (rows kept for ever).
 */
import { type ClickHouseClient, migrate, queryRows } from '../clickhouse/index.ts'
import type { Config } from '../config/index.ts'
import { RiskStreamError } from '../errors/index.ts'
import { TABLES, type TableName } from './names.ts'

export type RetentionDays = Config['clickhouse']['retentionDays']

/** The table and the event-time column each retention setting applies to. */
export const RETENTION_TARGETS: Readonly<Record<keyof RetentionDays, { table: TableName; column: string }>> =
  Object.freeze({
    predictions: { table: TABLES.predictions, column: 'event_time' },
    outcomes: { table: TABLES.outcomes, column: 'labelled_at' },
    dlq: { table: TABLES.dlqRecords, column: 'failed_at' },
  })

/** The TTL expression for `days` on `column`, as ClickHouse prints it back; null for 0 (no TTL). */
export function ttlExpression(column: string, days: number): string | null {
  return days > 0 ? `toDateTime(${column}) + toIntervalDay(${days})` : null
}

/** The table's TTL expression as ClickHouse reports it (engine_full), or null when it has none. */
export async function currentTtl(client: ClickHouseClient, table: TableName): Promise<string | null> {
  const [row] = await queryRows<{ engine_full: string }>(
    client,
    'SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = {t:String}',
    { t: table },
  )
  if (!row) throw new RiskStreamError('MIGRATION_PENDING', `table ${table} does not exist`)
  return /\bTTL (.+?)(?: SETTINGS |$)/.exec(row.engine_full)?.[1]?.trim() ?? null
}

/** Sets each raw table's TTL from `days`; returns what changed, as `table: before → after`. */
export async function applyRetention(client: ClickHouseClient, days: RetentionDays): Promise<string[]> {
  const changed: string[] = []
  for (const [key, { table, column }] of Object.entries(RETENTION_TARGETS)) {
    const want = ttlExpression(column, days[key as keyof RetentionDays])
    const have = await currentTtl(client, table)
    if (want === have) continue
    try {
      await client.command({
        query: want === null ? `ALTER TABLE ${table} REMOVE TTL` : `ALTER TABLE ${table} MODIFY TTL ${want}`,
      })
    } catch (err) {
      throw new RiskStreamError('MIGRATION_FAILED', `retention of ${table}: ${(err as Error).message}`, {
        cause: err,
      })
    }
    changed.push(`${table}: ${have ?? 'kept for ever'} → ${want ?? 'kept for ever'}`)
  }
  return changed
}

/** Applies pending migrations, then the configured retention: what `migrate` and `prepare` run. */
export async function migrateWarehouse(
  client: ClickHouseClient,
  config: Pick<Config, 'clickhouse'>,
  log: (msg: string) => void = () => {},
): Promise<{ applied: number; retention: string[] }> {
  const applied = await migrate(client, { log })
  const retention = await applyRetention(client, config.clickhouse.retentionDays)
  for (const line of retention) log(`retention ${line}`)
  return { applied: applied.length, retention }
}
