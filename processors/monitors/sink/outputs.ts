/**
 * The monitors' outputs into ClickHouse: window rows (positional JSONCompactEachRow) and drift
 * events, and which events a replay already recorded. Every query uses server-side parameters.
 */
import { type ClickHouseClient, chTime, queryRows } from '../../../lib/clickhouse/index.ts'
import { RiskStreamError } from '../../../lib/errors/index.ts'
import { TABLES } from '../../../lib/warehouse/index.ts'
import type { DriftEventRecord, WindowRow } from '../engine/types.ts'
import { chSeconds } from './encode.ts'

/** JSONEachRow insert; a failure is CLICKHOUSE_UNAVAILABLE, retriable. */
export async function insertJsonRows(
  client: ClickHouseClient,
  table: string,
  values: object[],
): Promise<void> {
  if (values.length === 0) return
  try {
    await client.insert({ table, values, format: 'JSONEachRow' })
  } catch (err) {
    throw new RiskStreamError('CLICKHOUSE_UNAVAILABLE', `insert into ${table} failed`, {
      cause: err,
      retriable: true,
    })
  }
}

const WINDOW_COLUMNS = [
  'model_name',
  'model_version',
  'monitor',
  'window_type',
  'window_width',
  'window_id',
  'window_start',
  'window_end',
  'window_size',
  'subject',
  'metric',
  'value',
] as const

/** A window row as a positional JSONCompactEachRow row, in WINDOW_COLUMNS order (times as unix seconds, see encode.ts). */
export function windowRowValues(r: WindowRow): (string | number)[] {
  return [
    r.modelName,
    r.modelVersion,
    r.monitor,
    r.windowType,
    r.windowWidth,
    r.windowId,
    chSeconds(r.windowStart),
    chSeconds(r.windowEnd),
    r.windowSize,
    r.subject,
    r.metric,
    r.value,
  ]
}

/**
 * Rows are keyed deterministically, so a replay simply rewrites them (no token needed).
 * Positional rows: ~3× less text for chDB to parse than JSONEachRow objects. The whole
 * population's rows go to monitor_windows, the segments' (lib/segments) to
 * monitor_segment_windows with their key.
 */
export async function insertWindowRows(client: ClickHouseClient, rows: WindowRow[]): Promise<void> {
  const population: (string | number)[][] = []
  const segments: (string | number)[][] = []
  for (const r of rows) {
    if (r.segment === undefined) population.push(windowRowValues(r))
    else segments.push([r.segment, ...windowRowValues(r)])
  }
  await insertPositional(
    client,
    TABLES.monitorWindows,
    [...WINDOW_COLUMNS] as [string, ...string[]],
    population,
  )
  await insertPositional(client, TABLES.monitorSegmentWindows, ['segment', ...WINDOW_COLUMNS], segments)
}

async function insertPositional(
  client: ClickHouseClient,
  table: string,
  columns: [string, ...string[]],
  values: (string | number)[][],
): Promise<void> {
  if (values.length === 0) return
  try {
    await client.insert({ table, columns, values, format: 'JSONCompactEachRow' })
  } catch (err) {
    throw new RiskStreamError('CLICKHOUSE_UNAVAILABLE', `insert into ${table} failed`, {
      cause: err,
      retriable: true,
    })
  }
}

export function driftEventRecord(e: DriftEventRecord) {
  return {
    event_id: e.eventId,
    kind: e.kind,
    severity: e.severity,
    model_name: e.modelName,
    model_version: e.modelVersion,
    window_type: e.windowType,
    window_start: chTime(e.windowStart),
    window_end: chTime(e.windowEnd),
    window_size: e.windowSize,
    features: e.features,
    scores: e.scores,
    evidence_json: e.evidenceJson,
    detected_at: chTime(e.detectedAt),
  }
}

export const insertDriftEvents = (client: ClickHouseClient, events: DriftEventRecord[]) =>
  insertJsonRows(client, TABLES.driftEvents, events.map(driftEventRecord))

/** Which of these event ids are already recorded (a replay must not publish them again). */
export async function existingEventIds(client: ClickHouseClient, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set()
  const rows = await queryRows<{ event_id: string }>(
    client,
    `SELECT DISTINCT event_id FROM ${TABLES.driftEvents} WHERE event_id IN {ids:Array(String)}`,
    { ids },
  )
  return new Set(rows.map((r) => r.event_id))
}
