/**
 * Batched, idempotent inserts into the raw tables. Two layers of idempotency:
 *  - rows have deterministic keys (ReplacingMergeTree ORDER BY request_id, …), so a replayed
 *    record rewrites its row and `FINAL` counts stay exact;
 *  - each insert carries an `insert_deduplication_token` naming the exact Kafka records it
 *    holds (topic, partition, first and last offset), so a redelivered batch is dropped by
 *    ClickHouse before it creates even a temporary duplicate part.
 * Offsets are committed by the caller only after these promises resolve (the write is acknowledged).
 */
import type { ClickHouseClient } from '../../../lib/clickhouse/index.ts'
import {
  classifyInsertError,
  insertIsolating,
  type RejectedRow,
} from '../../../lib/clickhouse/insert-errors.ts'
import { TABLES } from '../../../lib/warehouse/index.ts'
import type { OutcomeRow, PredictionRow } from './rows.ts'

/** Token for the rows of one Kafka batch: same records → same token → deduplicated insert. */
export function batchToken(
  table: string,
  topic: string,
  partition: number,
  firstOffset: string,
  lastOffset: string,
): string {
  return `${table}:${topic}:${partition}:${firstOffset}-${lastOffset}`
}

/**
 * One insert of one batch, in either JSON format; the dedup token rides along so a redelivered
 * batch (same records → same token) is dropped by ClickHouse.
 */
async function insertBatch(
  client: ClickHouseClient,
  table: string,
  token: string,
  body:
    | { format: 'JSONEachRow'; values: object[] }
    | { format: 'JSONCompactEachRow'; values: unknown[][]; columns: readonly string[] },
): Promise<void> {
  if (body.values.length === 0) return
  try {
    await client.insert({
      table,
      values: body.values,
      format: body.format,
      // Positional rows need the column order; named rows carry their names.
      columns: 'columns' in body ? (body.columns as [string, ...string[]]) : undefined,
      clickhouse_settings: { insert_deduplication_token: token },
    })
  } catch (err) {
    // A connection failure is retriable (the token makes the retry safe); a row ClickHouse
    // refuses is CLICKHOUSE_ROW_REJECTED, which the *Isolating variants below turn into
    // dead letters instead of a batch retried for ever.
    throw classifyInsertError(err, table)
  }
}

/** Row objects (rows.ts) as JSONEachRow. */
export const insertRows = (client: ClickHouseClient, table: string, rows: object[], token: string) =>
  insertBatch(client, table, token, { format: 'JSONEachRow', values: rows })

export const insertPredictions = (client: ClickHouseClient, rows: PredictionRow[], token: string) =>
  insertRows(client, TABLES.predictions, rows, token)
export const insertOutcomes = (client: ClickHouseClient, rows: OutcomeRow[], token: string) =>
  insertRows(client, TABLES.outcomes, rows, token)

/**
 * Row objects as JSONEachRow, bisecting around rows ClickHouse refuses: the rest is inserted,
 * the refused rows are returned (see lib/clickhouse/insert-errors.ts).
 */
export const insertRowsIsolating = <R extends object>(
  client: ClickHouseClient,
  table: string,
  rows: R[],
  token: string,
): Promise<RejectedRow<R>[]> =>
  insertIsolating(rows, (part, suffix) => insertRows(client, table, part as R[], `${token}${suffix}`), table)

/** insertCompact, bisecting around rows ClickHouse refuses (returned, the rest inserted). */
export const insertCompactIsolating = (
  client: ClickHouseClient,
  table: string,
  columns: readonly string[],
  rows: unknown[][],
  token: string,
): Promise<RejectedRow<unknown[]>[]> =>
  insertIsolating(
    rows,
    (part, suffix) => insertCompact(client, table, columns, part as unknown[][], `${token}${suffix}`),
    table,
  )

/** Positional rows (encode.ts) as JSONCompactEachRow: ~2.5× smaller bodies than JSONEachRow. */
export const insertCompact = (
  client: ClickHouseClient,
  table: string,
  columns: readonly string[],
  rows: unknown[][],
  token: string,
): Promise<void> => insertBatch(client, table, token, { format: 'JSONCompactEachRow', values: rows, columns })
