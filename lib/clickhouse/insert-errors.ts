/**
 * What a failed insert means. ClickHouse answers a row it cannot parse or a violated
 * constraint with an exception code; that is the data's fault, never an outage: retrying
 * it would fail for ever and stall everything behind it. Those codes make the error
 * CLICKHOUSE_ROW_REJECTED (non-retriable) and `insertIsolating` bisects the batch down to the
 * rows ClickHouse refuses, inserts the rest and hands the refused ones back (for the DLQ).
 * Everything else (connection refused, timeouts, server overload) is CLICKHOUSE_UNAVAILABLE,
 * retriable.
 */
import { RiskStreamError } from '../errors/index.ts'

/**
 * ClickHouse error codes caused by the content of a row (src/Common/ErrorCodes.cpp):
 * parse failures, type/range errors, constraint violations.
 */
export const ROW_ERROR_CODES = new Set([
  6, // CANNOT_PARSE_TEXT
  25, // CANNOT_PARSE_ESCAPE_SEQUENCE
  26, // CANNOT_PARSE_QUOTED_STRING
  27, // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  32, // ATTEMPT_TO_READ_AFTER_EOF
  33, // CANNOT_READ_ALL_DATA
  38, // CANNOT_PARSE_DATE
  41, // CANNOT_PARSE_DATETIME
  53, // TYPE_MISMATCH
  69, // ARGUMENT_OUT_OF_BOUND
  70, // CANNOT_CONVERT_TYPE
  72, // CANNOT_PARSE_NUMBER
  117, // INCORRECT_DATA
  131, // TOO_LARGE_STRING_SIZE
  252, // TOO_MANY_PARTS (too many partitions for a single insert block: event times spread over years)
  321, // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
  349, // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
  407, // DECIMAL_OVERFLOW
  469, // VIOLATED_CONSTRAINT
  1001, // STD_EXCEPTION (e.g. a date outside the supported range)
])

/** The ClickHouse exception code of an error, if it is one. */
export function clickhouseCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code
  const n = typeof code === 'string' ? Number(code) : typeof code === 'number' ? code : Number.NaN
  return Number.isInteger(n) ? n : undefined
}

export function isRowError(err: unknown): boolean {
  const code = clickhouseCode(err)
  return code !== undefined && ROW_ERROR_CODES.has(code)
}

/** A failed insert as a RiskStreamError: row-level → CLICKHOUSE_ROW_REJECTED, else CLICKHOUSE_UNAVAILABLE. */
export function classifyInsertError(err: unknown, table: string): RiskStreamError {
  if (err instanceof RiskStreamError) return err
  const code = clickhouseCode(err)
  if (isRowError(err)) {
    return new RiskStreamError('CLICKHOUSE_ROW_REJECTED', `insert into ${table}: ClickHouse code ${code}`, {
      cause: err,
      details: { table, clickhouseCode: code },
    })
  }
  return new RiskStreamError('CLICKHOUSE_UNAVAILABLE', `insert into ${table} failed`, {
    cause: err,
    retriable: true,
    details: { table, clickhouseCode: code },
  })
}

export interface RejectedRow<R> {
  row: R
  index: number
  error: RiskStreamError
}

/**
 * Inserts `rows` with `insert`; when ClickHouse refuses the batch for a row-level reason,
 * bisects it (each half under its own deterministic token suffix, so a retry of the same
 * rows is still deduplicated) until the refused rows are alone, inserts everything else and
 * returns the refused rows. A connection failure at any depth throws (retriable).
 */
export async function insertIsolating<R>(
  rows: readonly R[],
  insert: (rows: readonly R[], tokenSuffix: string) => Promise<void>,
  table: string,
): Promise<RejectedRow<R>[]> {
  const rejected: RejectedRow<R>[] = []
  async function go(from: number, to: number, suffix: string): Promise<void> {
    if (from >= to) return
    try {
      await insert(rows.slice(from, to), suffix)
    } catch (err) {
      const e = classifyInsertError(err, table)
      if (e.code !== 'CLICKHOUSE_ROW_REJECTED') throw e
      if (to - from === 1) {
        rejected.push({ row: rows[from]!, index: from, error: e })
        return
      }
      const mid = from + Math.floor((to - from) / 2)
      await go(from, mid, `${suffix}.l`)
      await go(mid, to, `${suffix}.r`)
    }
  }
  await go(0, rows.length, '')
  return rejected
}
