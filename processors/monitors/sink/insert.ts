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
import { RiskStreamError } from '../../../lib/errors/index.ts'
import type { DlqRow, OutcomeRow, PredictionRow, ShadowPredictionRow } from './rows.ts'

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
    // Retriable: the consumer loop retries the batch, and the token makes the retry safe.
    throw new RiskStreamError('CLICKHOUSE_UNAVAILABLE', `insert into ${table} failed`, {
      cause: err,
      retriable: true,
    })
  }
}

/** Row objects (rows.ts) as JSONEachRow. */
export const insertRows = (client: ClickHouseClient, table: string, rows: object[], token: string) =>
  insertBatch(client, table, token, { format: 'JSONEachRow', values: rows })

export const insertPredictions = (client: ClickHouseClient, rows: PredictionRow[], token: string) =>
  insertRows(client, 'predictions', rows, token)
export const insertShadowPredictions = (
  client: ClickHouseClient,
  rows: ShadowPredictionRow[],
  token: string,
) => insertRows(client, 'shadow_predictions', rows, token)
export const insertOutcomes = (client: ClickHouseClient, rows: OutcomeRow[], token: string) =>
  insertRows(client, 'outcomes', rows, token)
export const insertDlqRecords = (client: ClickHouseClient, rows: DlqRow[], token: string) =>
  insertRows(client, 'dlq_records', rows, token)

/** Positional rows (encode.ts) as JSONCompactEachRow: ~2.5× smaller bodies than JSONEachRow. */
export const insertCompact = (
  client: ClickHouseClient,
  table: string,
  columns: readonly string[],
  rows: unknown[][],
  token: string,
): Promise<void> => insertBatch(client, table, token, { format: 'JSONCompactEachRow', values: rows, columns })
