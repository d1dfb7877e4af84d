/**
 * Every ClickHouse read the API makes. Values only ever reach SQL as server-side parameters
 * (`{name:Type}`), never by concatenation, so a path or query parameter is always a value.
 * Raw tables are read with FINAL (ReplacingMergeTree: a redelivered record must count once).
 * Times travel as epoch milliseconds (`toUnixTimestamp64Milli`) so JSON carries plain numbers.
 * Every read goes through `rows()`, and through the app's read cache when the Reader has one.
 */
import { type ClickHouseClient, queryRows } from '../lib/clickhouse/index.ts'
import { RiskStreamError } from '../lib/errors/index.ts'
import {
  countRuns,
  getRun as getTrainingRun,
  listRuns as listTrainingRuns,
  type RowSource,
  type TrainingRun,
} from '../lib/registry/index.ts'
import { FEATURE_SELECT, featuresOfRow } from '../lib/serving/index.ts'
import { ALARM_STATISTIC, MONITOR_STATISTICS } from '../lib/stats/index.ts'
import { MONITOR, TABLES, VIEWS, WINDOW_TYPE } from '../lib/warehouse/index.ts'
import type { ReadCache } from './cache.ts'
import { payloadDigest, riskLevel, type StoredPrediction } from './idempotency.ts'
import type { Alert, PerformanceSummary, RecentPrediction } from './responses.ts'

export type { PerformanceSummary, RecentPrediction }

const num = (x: unknown): number | null => {
  if (x === null || x === undefined) return null
  const n = Number(x)
  return Number.isFinite(n) ? n : null
}

/**
 * Where the reads go: a ClickHouse client, and the app's read cache when there is one (a cached
 * result is shared between callers and frozen: map it, never edit it in place).
 */
export interface Reader {
  client: ClickHouseClient
  cache?: ReadCache
}

async function rows<T>(r: Reader, sql: string, params: Record<string, unknown>): Promise<T[]> {
  const load = () => queryRows<T>(r.client, sql, params)
  try {
    return await (r.cache ? r.cache.read(sql, params, load) : load())
  } catch (err) {
    if (err instanceof RiskStreamError) throw err
    const msg = err instanceof Error ? err.message : String(err)
    // A missing table means migrations were not applied: say so instead of a generic failure.
    if (/UNKNOWN_TABLE|doesn't exist|does not exist/i.test(msg))
      throw new RiskStreamError('MIGRATION_PENDING', msg, { cause: err })
    throw new RiskStreamError('CLICKHOUSE_UNAVAILABLE', 'query failed', { cause: err, retriable: true })
  }
}

// ---------------------------------------------------------------- performance (/performance/:days)

/** Predictions of `model` in [from, to) with their outcome when one was recorded (has = 1). */
const LABELLED_PREDICTIONS = `
  SELECT p.probability AS probability, p.label AS label, o.outcome AS outcome, o.has AS has
  FROM (
    SELECT request_id, probability, label FROM ${TABLES.predictions} FINAL
    WHERE model_name = {model:String}
      AND event_time >= fromUnixTimestamp64Milli({from:Int64}) AND event_time < fromUnixTimestamp64Milli({to:Int64})
  ) AS p
  LEFT JOIN (SELECT request_id, outcome, toUInt8(1) AS has FROM ${TABLES.outcomes} FINAL) AS o ON p.request_id = o.request_id`

export async function performanceSummary(
  reader: Reader,
  model: string,
  from: number,
  to: number,
): Promise<PerformanceSummary> {
  const params = { model, from, to }
  interface Agg {
    total: number
    labelled: number
    avg_probability: number | null
    positive: number
    tp: number
    fp: number
    tn: number
    fn: number
    roc_auc: number | null
  }
  const [agg] = await rows<Agg>(
    reader,
    `SELECT count() AS total, countIf(has = 1) AS labelled, if(count() = 0, NULL, avg(probability)) AS avg_probability,
       countIf(label = 1) AS positive,
       countIf(has = 1 AND label = 1 AND outcome = 1) AS tp, countIf(has = 1 AND label = 1 AND outcome = 0) AS fp,
       countIf(has = 1 AND label = 0 AND outcome = 0) AS tn, countIf(has = 1 AND label = 0 AND outcome = 1) AS fn,
       if(countIf(has = 1 AND outcome = 1) > 0 AND countIf(has = 1 AND outcome = 0) > 0,
          arrayAUC(groupArrayIf(probability, has = 1), groupArrayIf(outcome, has = 1)), NULL) AS roc_auc
     FROM (${LABELLED_PREDICTIONS})`,
    params,
  )
  const hist = await rows<{ bin: number; n: number }>(
    reader,
    `SELECT least(toUInt8(floor(probability * 10)), 9) AS bin, count() AS n FROM ${TABLES.predictions} FINAL
     WHERE model_name = {model:String}
       AND event_time >= fromUnixTimestamp64Milli({from:Int64}) AND event_time < fromUnixTimestamp64Milli({to:Int64})
     GROUP BY bin ORDER BY bin`,
    params,
  )
  const a = agg ?? {
    total: 0,
    labelled: 0,
    avg_probability: null,
    positive: 0,
    tp: 0,
    fp: 0,
    tn: 0,
    fn: 0,
    roc_auc: null,
  }
  const total = Number(a.total)
  const labelled = Number(a.labelled)
  const c = { tp: Number(a.tp), fp: Number(a.fp), tn: Number(a.tn), fn: Number(a.fn) }
  const ratio = (n: number, d: number) => (d > 0 ? n / d : null)
  const precision = ratio(c.tp, c.tp + c.fp)
  const recall = ratio(c.tp, c.tp + c.fn)
  const counts = new Map(hist.map((h) => [Number(h.bin), Number(h.n)]))
  return {
    total_predictions: total,
    labelled_predictions: labelled,
    label_coverage: ratio(labelled, total),
    avg_probability: num(a.avg_probability),
    prediction_distribution: {
      positive: Number(a.positive),
      negative: total - Number(a.positive),
      positive_rate: ratio(Number(a.positive), total),
      histogram: Array.from({ length: 10 }, (_, i) => ({
        from: i / 10,
        to: (i + 1) / 10,
        count: counts.get(i) ?? 0,
      })),
    },
    accuracy: ratio(c.tp + c.tn, labelled),
    precision,
    recall,
    // F1 from the same confusion counts; undefined (null) when precision and recall are both 0 or unknown.
    f1_score:
      precision !== null && recall !== null && precision + recall > 0
        ? (2 * precision * recall) / (precision + recall)
        : null,
    roc_auc: num(a.roc_auc),
    confusion: c,
    period_start: from,
    period_end: to,
  }
}

// ---------------------------------------------------------------- recent predictions

export async function recentPredictions(
  reader: Reader,
  model: string,
  limit: number,
): Promise<RecentPrediction[]> {
  const preds = await rows<{
    request_id: string
    patient_id: string
    model_version: number
    probability: number
    label: number
    threshold: number
    event_ms: number
    scored_ms: number
  }>(
    reader,
    `SELECT request_id, patient_id, model_version, probability, label, threshold,
       toUnixTimestamp64Milli(event_time) AS event_ms, toUnixTimestamp64Milli(scored_at) AS scored_ms
     FROM ${TABLES.predictions} FINAL WHERE model_name = {model:String}
     ORDER BY scored_at DESC, request_id LIMIT {limit:UInt32}`,
    { model, limit },
  )
  if (preds.length === 0) return []
  const outcomes = await rows<{ request_id: string; outcome: number }>(
    reader,
    `SELECT request_id, outcome FROM ${TABLES.outcomes} FINAL WHERE request_id IN {ids:Array(String)}`,
    { ids: preds.map((p) => p.request_id) },
  )
  const byId = new Map(outcomes.map((o) => [o.request_id, Number(o.outcome)]))
  return preds.map((p) => {
    const outcome = byId.get(p.request_id) ?? null
    return {
      request_id: p.request_id,
      patient_id: p.patient_id,
      model_version: Number(p.model_version),
      probability: Number(p.probability),
      prediction: Number(p.label),
      threshold: Number(p.threshold),
      event_time: Number(p.event_ms),
      scored_at: Number(p.scored_ms),
      actual_outcome: outcome,
      correct: outcome === null ? null : outcome === Number(p.label),
    }
  })
}

// ---------------------------------------------------------------- drift

export interface DriftVerdictWindow {
  model_version: number
  window_id: number
  window_width: number
  window_size: number
  window_end: number
  /**
   * Per drift subject: every monitored statistic (lib/stats/statistics) by name, and the alarm
   * statistic's calibrated threshold and detector state (`psi_threshold`, `psi_state`: 0 ok,
   * 1 pending, 2 alert).
   */
  subjects: Record<string, Record<string, number>>
}

/**
 * Per version, the newest sliding drift evaluation for which the monitors recorded their
 * detectors' verdicts (the alarm statistic's `<name>_state` rows, written with each evaluation of a full-enough window).
 * The newest window id comes from monitor_latest_windows (migrations/032), kept by a materialized
 * view, so the read does not scan every window a version ever wrote.
 */
/** The drift rows of a verdict: every monitored statistic, and the alarm statistic's threshold and state. */
const DRIFT_VERDICT_METRICS = [
  ...MONITOR_STATISTICS.map((s) => s.name),
  `${ALARM_STATISTIC.name}_threshold`,
  `${ALARM_STATISTIC.name}_state`,
]

export async function latestDriftVerdicts(reader: Reader, model: string): Promise<DriftVerdictWindow[]> {
  const r = await rows<{
    model_version: number
    window_id: number
    window_width: number
    window_size: number
    window_end_ms: number
    subject: string
    metric: string
    value: number
  }>(
    reader,
    `SELECT model_version, window_id, window_width, window_size, toUnixTimestamp64Milli(window_end) AS window_end_ms,
       subject, metric, value
     FROM ${TABLES.monitorWindows} FINAL
     WHERE model_name = {model:String} AND monitor = '${MONITOR.drift}' AND window_type = '${WINDOW_TYPE.sliding}'
       AND metric IN {metrics:Array(String)}
       AND (model_version, window_id) IN (
         SELECT model_version, max(window_id) FROM ${TABLES.monitorLatestWindows}
         WHERE model_name = {model:String} AND monitor = '${MONITOR.drift}' AND window_type = '${WINDOW_TYPE.sliding}'
           AND metric = {state:String}
         GROUP BY model_version)`,
    { model, metrics: DRIFT_VERDICT_METRICS, state: `${ALARM_STATISTIC.name}_state` },
  )
  const byVersion = new Map<number, DriftVerdictWindow>()
  for (const x of r) {
    const v = Number(x.model_version)
    const w = byVersion.get(v) ?? {
      model_version: v,
      window_id: Number(x.window_id),
      window_width: Number(x.window_width),
      window_size: Number(x.window_size),
      window_end: Number(x.window_end_ms),
      subjects: {},
    }
    const value = num(x.value)
    if (value !== null) {
      w.subjects[x.subject] ??= {}
      w.subjects[x.subject]![x.metric] = value
    }
    byVersion.set(v, w)
  }
  return [...byVersion.values()]
}

export interface LatestPerformanceWindow {
  model_version: number
  window_end: number
  window_size: number
  metrics: Record<string, number>
}

/** The newest sliding window of `monitor` per version (id from monitor_latest_windows), its metrics by name. */
async function latestSlidingWindows(
  reader: Reader,
  model: string,
  monitor: typeof MONITOR.performance | typeof MONITOR.estimate,
): Promise<LatestPerformanceWindow[]> {
  const r = await rows<{
    model_version: number
    window_end_ms: number
    window_size: number
    metric: string
    value: number
  }>(
    reader,
    `SELECT model_version, toUnixTimestamp64Milli(window_end) AS window_end_ms, window_size, metric, value
     FROM ${TABLES.monitorWindows} FINAL
     WHERE model_name = {model:String} AND monitor = '${monitor}' AND window_type = '${WINDOW_TYPE.sliding}'
       AND (model_version, window_id) IN (
         SELECT model_version, max(window_id) FROM ${TABLES.monitorLatestWindows}
         WHERE model_name = {model:String} AND monitor = '${monitor}' AND window_type = '${WINDOW_TYPE.sliding}'
         GROUP BY model_version)`,
    { model },
  )
  const byVersion = new Map<number, LatestPerformanceWindow>()
  for (const x of r) {
    const v = Number(x.model_version)
    const w = byVersion.get(v) ?? {
      model_version: v,
      window_end: Number(x.window_end_ms),
      window_size: Number(x.window_size),
      metrics: {},
    }
    const value = num(x.value)
    if (value !== null) w.metrics[x.metric] = value
    byVersion.set(v, w)
  }
  return [...byVersion.values()]
}

/** The newest sliding performance window per version (accuracy, expected_accuracy, accuracy_drop, …). */
export function latestPerformanceWindows(reader: Reader, model: string): Promise<LatestPerformanceWindow[]> {
  return latestSlidingWindows(reader, model, MONITOR.performance)
}

/**
 * The newest sliding window of performance ESTIMATED from the served probabilities (monitor
 * 'estimate': estimated_accuracy, estimated_f1, estimated_roc_auc, …), per version; available before any label.
 */
export function latestEstimateWindows(reader: Reader, model: string): Promise<LatestPerformanceWindow[]> {
  return latestSlidingWindows(reader, model, MONITOR.estimate)
}

// ---------------------------------------------------------------- alerts

/** An alert as the routes serve it (the declared `Alert` response shape). */
export type AlertRow = Alert

export async function recentAlerts(
  reader: Reader,
  model: string,
  opts: { limit: number; kind?: string; since?: number },
): Promise<{ alerts: AlertRow[]; total: number }> {
  const params = { model, limit: opts.limit, kind: opts.kind ?? '', since: opts.since ?? 0 }
  const where = `model_name = {model:String} AND ({kind:String} = '' OR kind = {kind:String})
    AND detected_at >= fromUnixTimestamp64Milli({since:Int64})`
  const list = await rows<AlertRow & { ws: number; we: number; det: number }>(
    reader,
    `SELECT event_id, kind, severity, model_version, window_type, toUnixTimestamp64Milli(window_start) AS ws,
       toUnixTimestamp64Milli(window_end) AS we, window_size, features, scores, toUnixTimestamp64Milli(detected_at) AS det
     FROM ${VIEWS.alertHistory} WHERE ${where} ORDER BY detected_at DESC, event_id LIMIT {limit:UInt32}`,
    params,
  )
  const [count] = await rows<{ n: number }>(
    reader,
    `SELECT count() AS n FROM ${VIEWS.alertHistory} WHERE ${where}`,
    params,
  )
  return {
    alerts: list.map((a) => ({
      event_id: a.event_id,
      kind: a.kind,
      severity: a.severity,
      model_version: Number(a.model_version),
      window_type: a.window_type,
      window_start: Number(a.ws),
      window_end: Number(a.we),
      window_size: Number(a.window_size),
      features: a.features,
      scores: a.scores,
      detected_at: Number(a.det),
    })),
    total: Number(count?.n ?? 0),
  }
}

// ---------------------------------------------------------------- training runs

/** `gatePassed` → `gate_passed`, as a type. */
type SnakeCase<S extends string> = S extends `${infer C}${infer Rest}`
  ? `${C extends Lowercase<C> ? C : `_${Lowercase<C>}`}${SnakeCase<Rest>}`
  : S

/** A run as the API serves it: a TrainingRun with training_runs' snake_case names, minus updatedAt. */
export type RunRow = { [K in Exclude<keyof TrainingRun, 'updatedAt'> as SnakeCase<K>]: TrainingRun[K] }

const snakeCase = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)

function toRunRow({ updatedAt: _updatedAt, ...run }: TrainingRun): RunRow {
  return Object.fromEntries(Object.entries(run).map(([k, v]) => [snakeCase(k), v])) as RunRow
}

/** Rows of `sql` through this reader (and its cache): the row source of the shared run listing. */
const rowSource =
  (reader: Reader): RowSource =>
  <T>(sql: string, params: Record<string, unknown>) =>
    rows<T>(reader, sql, params)

export async function listRuns(
  reader: Reader,
  model: string,
  limit: number,
): Promise<{ runs: RunRow[]; total: number }> {
  // Parameters and per-family candidates can be large: only the single-run route returns them.
  const src = rowSource(reader)
  const runs = await listTrainingRuns(src, { modelName: model, limit, summary: true })
  return { runs: runs.map(toRunRow), total: await countRuns(src, model) }
}

export async function getRun(reader: Reader, runId: string): Promise<RunRow | null> {
  const run = await getTrainingRun(rowSource(reader), runId)
  return run ? toRunRow(run) : null
}

// ---------------------------------------------------------------- dashboard time series

/** Sliding-window values of one monitor over time, grouped by subject (drift) or metric (performance). */
export async function windowSeries(
  reader: Reader,
  model: string,
  monitor: 'drift' | 'performance' | 'estimate',
  metrics: string[],
  since: number,
): Promise<{ key: string; version: number; t: number; v: number }[]> {
  const r = await rows<{ key: string; model_version: number; t: number; value: number }>(
    reader,
    `SELECT if({monitor:String} = '${MONITOR.drift}', subject, metric) AS key, model_version, toUnixTimestamp64Milli(window_end) AS t, value
     FROM ${TABLES.monitorWindows} FINAL
     WHERE model_name = {model:String} AND monitor = {monitor:String} AND window_type = '${WINDOW_TYPE.sliding}'
       AND metric IN {metrics:Array(String)} AND window_end >= fromUnixTimestamp64Milli({since:Int64})
     ORDER BY window_end, key LIMIT 20000`,
    { model, monitor, metrics, since },
  )
  return r.map((x) => ({ key: x.key, version: Number(x.model_version), t: Number(x.t), v: Number(x.value) }))
}

/**
 * The newest sliding value of every segment metric (monitor_segment_windows, lib/segments), per
 * model version, segment, monitor, subject and metric, within the period; `segment` narrows it
 * to one key, `family` to one family ('' = all).
 */
export async function segmentWindows(
  reader: Reader,
  model: string,
  since: number,
  filter: { segment?: string; family?: string } = {},
): Promise<
  {
    segment: string
    version: number
    monitor: string
    subject: string
    metric: string
    value: number
    t: number
    n: number
  }[]
> {
  const r = await rows<{
    segment: string
    model_version: number
    monitor: string
    subject: string
    metric: string
    value: number
    t: number
    n: number
  }>(
    reader,
    `SELECT segment, model_version, monitor, subject, metric,
            argMax(value, window_id) AS value,
            argMax(toUnixTimestamp64Milli(window_end), window_id) AS t,
            argMax(window_size, window_id) AS n
     FROM ${TABLES.monitorSegmentWindows} FINAL
     WHERE model_name = {model:String} AND window_type = '${WINDOW_TYPE.sliding}'
       AND window_end >= fromUnixTimestamp64Milli({since:Int64})
       AND ({segment:String} = '' OR segment = {segment:String})
       AND ({family:String} = '' OR startsWith(segment, concat({family:String}, '=')))
     GROUP BY segment, model_version, monitor, subject, metric
     ORDER BY model_version, segment, monitor, subject, metric
     LIMIT 50000`,
    { model, since, segment: filter.segment ?? '', family: filter.family ?? '' },
  )
  return r.map((x) => ({
    segment: x.segment,
    version: Number(x.model_version),
    monitor: x.monitor,
    subject: x.subject,
    metric: x.metric,
    value: Number(x.value),
    t: Number(x.t),
    n: Number(x.n),
  }))
}

/** Predictions and labelled predictions per time bucket. */
export async function volumeSeries(
  reader: Reader,
  model: string,
  since: number,
  to: number,
  bucketSeconds: number,
) {
  const r = await rows<{ t: number; predictions: number; labelled: number; positive: number }>(
    reader,
    `SELECT toUnixTimestamp64Milli(toDateTime64(toStartOfInterval(p.event_time, toIntervalSecond({bucket:UInt32})), 3)) AS t,
       count() AS predictions, countIf(o.has = 1) AS labelled, countIf(p.label = 1) AS positive
     FROM (
       SELECT request_id, event_time, label FROM ${TABLES.predictions} FINAL
       WHERE model_name = {model:String} AND event_time >= fromUnixTimestamp64Milli({from:Int64}) AND event_time < fromUnixTimestamp64Milli({to:Int64})
     ) AS p
     LEFT JOIN (SELECT request_id, toUInt8(1) AS has FROM ${TABLES.outcomes} FINAL) AS o ON p.request_id = o.request_id
     GROUP BY t ORDER BY t`,
    { model, from: since, to, bucket: bucketSeconds },
  )
  return r.map((x) => ({
    t: Number(x.t),
    predictions: Number(x.predictions),
    labelled: Number(x.labelled),
    positive: Number(x.positive),
  }))
}

// ---------------------------------------------------------------- reads that decide a write (never cached)

/** Stored predictions of `ids` (predictions FINAL), with the digest of their payload. */
export async function storedPredictions(
  reader: Reader,
  model: string,
  ids: string[],
): Promise<{ request_id: string; digest: string; answer: StoredPrediction }[]> {
  const rows = await queryRows<Record<string, unknown>>(
    reader.client,
    `SELECT request_id, patient_id, toUnixTimestamp64Milli(event_time) AS event_ms, probability, label,
            model_version, toUnixTimestamp64Milli(scored_at) AS scored_ms, ${FEATURE_SELECT}
     FROM ${TABLES.predictions} FINAL WHERE request_id IN {ids:Array(String)} AND model_name = {model:String}`,
    { ids, model },
  )
  return rows.map((r) => {
    const probability = Number(r.probability)
    return {
      request_id: String(r.request_id),
      digest: payloadDigest({
        patientId: String(r.patient_id),
        eventTime: Number(r.event_ms),
        ...featuresOfRow(r),
      }),
      answer: {
        request_id: String(r.request_id),
        patient_id: String(r.patient_id),
        probability,
        prediction: Number(r.label),
        risk_level: riskLevel(probability),
        model_version: Number(r.model_version),
        scored_at: Number(r.scored_ms),
      },
    }
  })
}

/** Has the trainer recorded the manual retrain request `id` (retrain_triggers)? */
export async function retrainRequestSeen(reader: Reader, id: string): Promise<boolean> {
  const rows = await queryRows<{ n: number }>(
    reader.client,
    `SELECT count() AS n FROM ${TABLES.retrainTriggers} FINAL WHERE trigger_id = {id:String}`,
    { id: `request:${id}` },
  )
  return Number(rows[0]?.n ?? 0) > 0
}

// ---------------------------------------------------------------- the reader the routes see

const READS = {
  performanceSummary,
  recentPredictions,
  latestDriftVerdicts,
  latestPerformanceWindows,
  latestEstimateWindows,
  recentAlerts,
  listRuns,
  getRun,
  windowSeries,
  segmentWindows,
  volumeSeries,
  storedPredictions,
  retrainRequestSeen,
}

type WithoutReader<F> = F extends (reader: Reader, ...args: infer A) => infer R ? (...args: A) => R : never

/**
 * Every warehouse read of the routes, bound to one Reader: what a route needs from ClickHouse,
 * narrow enough for an in-memory fake in the unit tests.
 */
export type WarehouseReader = { [K in keyof typeof READS]: WithoutReader<(typeof READS)[K]> }

export function createWarehouseReader(reader: Reader): WarehouseReader {
  return Object.fromEntries(
    Object.entries(READS).map(([name, read]) => [
      name,
      (...args: unknown[]) => (read as (r: Reader, ...a: unknown[]) => unknown)(reader, ...args),
    ]),
  ) as WarehouseReader
}
