/**
 * The training set: the Pima CSV plus every labelled outcome joined with the features that
 * were scored for it (predictions FINAL ⋈ outcomes FINAL on request_id). Shadow predictions
 * live in their own table, so they can never add a row twice. Rows are de-duplicated by
 * requestId (FINAL already collapses redelivered records; the Set guards the join).
 */
import { type ClickHouseClient, queryRows } from '../../lib/clickhouse/index.ts'
import type { Config } from '../../lib/config/index.ts'
import { loadPima } from '../../lib/data/pima.ts'
import { FEATURE_COLUMNS, FEATURES, type FeatureVector } from '../../lib/features/index.ts'
import type { DatasetFingerprint } from '../../lib/model/types.ts'
import { TABLES } from '../../lib/warehouse/index.ts'
import type { Dataset } from '../learners/types.ts'
import { datasetFromRows } from '../pipeline/dataset.ts'

interface StreamedRecord {
  request_id: string
  patient_id: string
  outcome: number
  event_ms: number
  kafka_partition: number
  kafka_offset: number
  [column: string]: number | string | null
}

export interface StreamedRows {
  rows: FeatureVector[]
  labels: number[]
  requestIds: string[]
  patientIds: string[]
  eventTimes: number[]
  timeRange?: { from: number; to: number }
  offsets: { topic: string; partition: number; from: string; to: string }[]
}

/** Every labelled, scored request, oldest first (so the row order — and the hash — is stable). */
export async function loadStreamedRows(
  ch: ClickHouseClient,
  predictionsTopic: string,
): Promise<StreamedRows> {
  const features = FEATURES.map((f) => `p.${FEATURE_COLUMNS[f]} AS ${FEATURE_COLUMNS[f]}`).join(', ')
  const records = await queryRows<StreamedRecord>(
    ch,
    `SELECT p.request_id AS request_id, p.patient_id AS patient_id, o.outcome AS outcome, toUnixTimestamp64Milli(p.event_time) AS event_ms,
            p.kafka_partition AS kafka_partition, p.kafka_offset AS kafka_offset, ${features}
     FROM (SELECT * FROM ${TABLES.predictions} FINAL) AS p
     INNER JOIN (SELECT request_id, outcome FROM ${TABLES.outcomes} FINAL) AS o ON p.request_id = o.request_id
     ORDER BY p.event_time, p.request_id`,
  )
  const seen = new Set<string>()
  const out: StreamedRows = {
    rows: [],
    labels: [],
    requestIds: [],
    patientIds: [],
    eventTimes: [],
    offsets: [],
  }
  const ranges = new Map<number, { from: bigint; to: bigint }>()
  for (const r of records) {
    if (seen.has(r.request_id)) continue
    seen.add(r.request_id)
    const v = {} as FeatureVector
    for (const f of FEATURES) {
      const x = r[FEATURE_COLUMNS[f]]
      v[f] = x === null || x === undefined ? null : Number(x)
    }
    out.rows.push(v)
    out.labels.push(Number(r.outcome))
    out.requestIds.push(r.request_id)
    out.patientIds.push(r.patient_id)
    const t = Number(r.event_ms)
    out.eventTimes.push(t)
    out.timeRange = out.timeRange
      ? { from: Math.min(out.timeRange.from, t), to: Math.max(out.timeRange.to, t) }
      : { from: t, to: t }
    const off = BigInt(r.kafka_offset)
    const range = ranges.get(r.kafka_partition)
    if (!range) ranges.set(r.kafka_partition, { from: off, to: off })
    else {
      if (off < range.from) range.from = off
      if (off > range.to) range.to = off
    }
  }
  out.offsets = [...ranges.entries()]
    .sort(([a], [b]) => a - b)
    .map(([partition, r]) => ({
      topic: predictionsTopic,
      partition,
      from: r.from.toString(),
      to: r.to.toString(),
    }))
  return out
}

/** Labelled outcomes that have a scored prediction (what `loadStreamedRows` would return). */
export async function countLabelled(ch: ClickHouseClient): Promise<number> {
  const rows = await queryRows<{ n: number }>(
    ch,
    `SELECT count() AS n FROM (SELECT request_id FROM ${TABLES.predictions} FINAL) AS p
     INNER JOIN (SELECT request_id FROM ${TABLES.outcomes} FINAL) AS o ON p.request_id = o.request_id`,
  )
  return Number(rows[0]?.n ?? 0)
}

export interface TrainingSet {
  data: Dataset
  fingerprint: DatasetFingerprint
  /** Rows that came from the stream (the rest are the Pima CSV). */
  streamedRows: number
  /**
   * Event time of each row of `data` (null for Pima rows), or null when rows were subsampled
   * and no longer line up with their sources. The gate uses it to find rows a champion never saw.
   */
  eventTimes: (number | null)[] | null
  /** Request id / patient id of each row of `data` (null for Pima rows), or null when subsampled. */
  requestIds: (string | null)[] | null
  patientIds: (string | null)[] | null
}

export interface AssembleOptions {
  /** Include streamed labelled outcomes (default true). */
  includeStreamed?: boolean
}

/** Pima + streamed rows → the pipeline's Dataset and a fingerprint naming both sources. */
export async function assembleTrainingSet(
  deps: { config: Readonly<Config>; clickhouse: ClickHouseClient },
  predictionsTopic: string,
  opts: AssembleOptions = {},
): Promise<TrainingSet> {
  const pima = loadPima(deps.config.data.pimaCsvPath)
  const streamed =
    opts.includeStreamed === false ? null : await loadStreamedRows(deps.clickhouse, predictionsTopic)
  const rows = [...pima.rows, ...(streamed?.rows ?? [])]
  const times = [...pima.rows.map(() => null), ...(streamed?.eventTimes ?? [])]
  const labels = [...pima.labels, ...(streamed?.labels ?? [])]
  const sources = [`pima:${pima.sha256}`]
  if (streamed && streamed.rows.length > 0)
    sources.push(`clickhouse:predictions⋈outcomes (${streamed.rows.length} rows)`)
  const { data, fingerprint } = datasetFromRows(rows, labels, sources, {
    maxRows: deps.config.training.maxRows,
    seed: deps.config.training.seed,
  })
  if (streamed && streamed.rows.length > 0) {
    fingerprint.timeRange = streamed.timeRange
    fingerprint.offsets = streamed.offsets
  }
  const aligned = fingerprint.subsampledFrom === undefined
  const pimaNulls = pima.rows.map(() => null)
  return {
    data,
    fingerprint,
    streamedRows: streamed?.rows.length ?? 0,
    eventTimes: aligned ? times : null,
    requestIds: aligned ? [...pimaNulls, ...(streamed?.requestIds ?? [])] : null,
    patientIds: aligned ? [...pimaNulls, ...(streamed?.patientIds ?? [])] : null,
  }
}
