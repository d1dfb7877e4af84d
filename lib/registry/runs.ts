/**
 * The `training_runs` table (migrations/010) as one mapping, shared by the trainer (which writes
 * and lists runs) and the API (which serves them): the SELECT column list, the raw record it
 * yields, that record as a `TrainingRun`, and the run listing both read with.
 * ReplacingMergeTree by updated_at, so reads use FINAL.
 */
import { type ClickHouseClient, chTime, queryRows } from '../clickhouse/index.ts'
import { TABLES } from '../warehouse/index.ts'

export type RunStatus = 'running' | 'succeeded' | 'rejected' | 'failed'

export interface TrainingRun {
  runId: string
  modelName: string
  /** manual | drift | data_volume | schedule | cli | test */
  trigger: string
  triggerEventId: string
  status: RunStatus
  startedAt: number
  finishedAt: number | null
  durationMs: number
  chosenFamily: string
  gatePassed: boolean
  gateReasons: string[]
  version: number | null
  metrics: Record<string, unknown>
  dataset: Record<string, unknown>
  /** k, seed, budget, families, thresholds… everything that shaped the run. */
  params: Record<string, unknown>
  /** Per-family CV summary (metrics, std, best params, trials). */
  candidates: unknown[]
  error: string
  updatedAt: number
}

/** A row as RUN_COLUMNS selects it (times as epoch ms so they need no date parsing). */
export interface RunRecord {
  run_id: string
  model_name: string
  trigger: string
  trigger_event_id: string
  status: string
  started_ms: number
  finished_ms: number | null
  duration_ms: number
  params_json: string
  candidates_json: string
  chosen_family: string
  gate_passed: number
  gate_reasons: string[]
  version: number | null
  metrics_json: string
  dataset_json: string
  error: string
  updated_ms: number
}

const columns = (detail: string) => `run_id, model_name, trigger, trigger_event_id, status,
  toUnixTimestamp64Milli(started_at) AS started_ms, toUnixTimestamp64Milli(finished_at) AS finished_ms, duration_ms,
  ${detail}, chosen_family, gate_passed, gate_reasons, version, metrics_json, dataset_json, error,
  toUnixTimestamp64Milli(updated_at) AS updated_ms`

/** Every column of a run, for `SELECT ${RUN_COLUMNS} FROM training_runs FINAL …` into RunRecord. */
export const RUN_COLUMNS = columns('params_json, candidates_json')

/**
 * RUN_COLUMNS with params and candidates left empty (they map to {} and []): both can be large,
 * and a listing that does not show them should not ship them out of ClickHouse.
 */
export const RUN_SUMMARY_COLUMNS = columns(`'' AS params_json, '' AS candidates_json`)

/** JSON text or `fallback` when empty or unparseable: one bad row must not fail a whole listing. */
export function parseJsonOr<T>(text: string, fallback: T): T {
  try {
    return text ? (JSON.parse(text) as T) : fallback
  } catch {
    return fallback
  }
}

/**
 * Numbers go through Number() because ClickHouse's JSON output quotes 64-bit integers. The
 * field order is the order of the API's run JSON (api/queries.ts snake-cases these keys).
 */
export function toTrainingRun(r: RunRecord): TrainingRun {
  return {
    runId: r.run_id,
    modelName: r.model_name,
    trigger: r.trigger,
    triggerEventId: r.trigger_event_id,
    status: r.status as RunStatus,
    startedAt: Number(r.started_ms),
    finishedAt: r.finished_ms === null ? null : Number(r.finished_ms),
    durationMs: Number(r.duration_ms),
    chosenFamily: r.chosen_family,
    gatePassed: Number(r.gate_passed) === 1,
    gateReasons: r.gate_reasons,
    version: r.version === null ? null : Number(r.version),
    metrics: parseJsonOr(r.metrics_json, {}),
    dataset: parseJsonOr(r.dataset_json, {}),
    params: parseJsonOr(r.params_json, {}),
    candidates: parseJsonOr(r.candidates_json, []),
    error: r.error,
    updatedAt: Number(r.updated_ms),
  }
}

/** The JSONEachRow row that writes `run` (the inverse of toTrainingRun, with DateTime64 text). */
export function trainingRunRow(run: TrainingRun): Record<string, unknown> {
  return {
    run_id: run.runId,
    model_name: run.modelName,
    trigger: run.trigger,
    trigger_event_id: run.triggerEventId,
    status: run.status,
    started_at: chTime(run.startedAt),
    finished_at: run.finishedAt === null ? null : chTime(run.finishedAt),
    duration_ms: Math.max(0, Math.round(run.durationMs)),
    params_json: JSON.stringify(run.params),
    candidates_json: JSON.stringify(run.candidates),
    chosen_family: run.chosenFamily,
    gate_passed: run.gatePassed ? 1 : 0,
    gate_reasons: run.gateReasons,
    version: run.version,
    metrics_json: JSON.stringify(run.metrics),
    dataset_json: JSON.stringify(run.dataset),
    error: run.error,
    updated_at: chTime(run.updatedAt),
  }
}

/** Rows for a parameterised query: a ClickHouse client, or a reader of its own (the API's cache). */
export type RowSource = ClickHouseClient | (<T>(sql: string, params: Record<string, unknown>) => Promise<T[]>)

const rowsOf = <T>(src: RowSource, sql: string, params: Record<string, unknown>): Promise<T[]> =>
  typeof src === 'function' ? src<T>(sql, params) : queryRows<T>(src, sql, params)

export interface ListRunsOptions {
  /** Only this model's runs (default: every model). */
  modelName?: string
  /** Default 50. */
  limit?: number
  /** Leave params and candidates out (RUN_SUMMARY_COLUMNS): a listing that does not show them. */
  summary?: boolean
}

/** Newest runs first. */
export async function listRuns(src: RowSource, opts: ListRunsOptions = {}): Promise<TrainingRun[]> {
  const rows = await rowsOf<RunRecord>(
    src,
    `SELECT ${opts.summary ? RUN_SUMMARY_COLUMNS : RUN_COLUMNS} FROM ${TABLES.trainingRuns} FINAL
     WHERE {model:String} = '' OR model_name = {model:String}
     ORDER BY started_at DESC, run_id LIMIT {limit:UInt32}`,
    { model: opts.modelName ?? '', limit: opts.limit ?? 50 },
  )
  return rows.map(toTrainingRun)
}

/** How many runs `modelName` has. */
export async function countRuns(src: RowSource, modelName: string): Promise<number> {
  const [count] = await rowsOf<{ n: number }>(
    src,
    `SELECT count() AS n FROM ${TABLES.trainingRuns} FINAL WHERE model_name = {model:String}`,
    { model: modelName },
  )
  return Number(count?.n ?? 0)
}

export async function getRun(src: RowSource, runId: string): Promise<TrainingRun | null> {
  const rows = await rowsOf<RunRecord>(
    src,
    `SELECT ${RUN_COLUMNS} FROM ${TABLES.trainingRuns} FINAL WHERE run_id = {id:String}`,
    { id: runId },
  )
  return rows[0] ? toTrainingRun(rows[0]) : null
}
