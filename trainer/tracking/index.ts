/**
 * Experiment tracking: every training run is a row in `training_runs` (ReplacingMergeTree by
 * updated_at). A run writes a `running` row when it starts and its final row when it ends, so
 * a crashed run stays visible as `running` with its start time instead of vanishing.
 */
import { type ClickHouseClient, queryRows } from '../../lib/clickhouse/index.ts'

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
  /** k, seed, budget, families, thresholds… everything that shaped the run. */
  params: Record<string, unknown>
  /** Per-family CV summary (metrics, std, best params, trials). */
  candidates: unknown[]
  chosenFamily: string
  gatePassed: boolean
  gateReasons: string[]
  version: number | null
  metrics: Record<string, unknown>
  dataset: Record<string, unknown>
  error: string
  updatedAt: number
}

const chTime = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace('Z', '')

// A run's rows must order by updated_at even when start and end fall in the same millisecond.
let lastUpdate = 0
const tick = () => {
  lastUpdate = Math.max(Date.now(), lastUpdate + 1)
  return lastUpdate
}

/** Inserts (or supersedes) the run's row; returns the updated_at it was written with. */
export async function recordRun(ch: ClickHouseClient, run: Omit<TrainingRun, 'updatedAt'>): Promise<number> {
  const updatedAt = tick()
  await ch.insert({
    table: 'training_runs',
    format: 'JSONEachRow',
    values: [
      {
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
        updated_at: chTime(updatedAt),
      },
    ],
  })
  return updatedAt
}

interface RunRecord {
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

const COLUMNS = `run_id, model_name, trigger, trigger_event_id, status,
  toUnixTimestamp64Milli(started_at) AS started_ms, toUnixTimestamp64Milli(finished_at) AS finished_ms, duration_ms,
  params_json, candidates_json, chosen_family, gate_passed, gate_reasons, version, metrics_json, dataset_json, error,
  toUnixTimestamp64Milli(updated_at) AS updated_ms`

const parse = <T>(text: string, fallback: T): T => {
  try {
    return text ? (JSON.parse(text) as T) : fallback
  } catch {
    return fallback
  }
}

function toRun(r: RunRecord): TrainingRun {
  return {
    runId: r.run_id,
    modelName: r.model_name,
    trigger: r.trigger,
    triggerEventId: r.trigger_event_id,
    status: r.status as RunStatus,
    startedAt: Number(r.started_ms),
    finishedAt: r.finished_ms === null ? null : Number(r.finished_ms),
    durationMs: Number(r.duration_ms),
    params: parse(r.params_json, {}),
    candidates: parse(r.candidates_json, []),
    chosenFamily: r.chosen_family,
    gatePassed: Number(r.gate_passed) === 1,
    gateReasons: r.gate_reasons,
    version: r.version === null ? null : Number(r.version),
    metrics: parse(r.metrics_json, {}),
    dataset: parse(r.dataset_json, {}),
    error: r.error,
    updatedAt: Number(r.updated_ms),
  }
}

/** Newest runs first. */
export async function listRuns(
  ch: ClickHouseClient,
  opts: { modelName?: string; limit?: number } = {},
): Promise<TrainingRun[]> {
  const rows = await queryRows<RunRecord>(
    ch,
    `SELECT ${COLUMNS} FROM training_runs FINAL
     WHERE {model:String} = '' OR model_name = {model:String}
     ORDER BY started_at DESC, run_id LIMIT {limit:UInt32}`,
    { model: opts.modelName ?? '', limit: opts.limit ?? 50 },
  )
  return rows.map(toRun)
}

export async function getRun(ch: ClickHouseClient, runId: string): Promise<TrainingRun | null> {
  const rows = await queryRows<RunRecord>(
    ch,
    `SELECT ${COLUMNS} FROM training_runs FINAL WHERE run_id = {id:String}`,
    { id: runId },
  )
  return rows[0] ? toRun(rows[0]) : null
}

const num = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(3) : '-')

/** A fixed-width table for `riskstream runs` (newest first, as given). */
export function formatRunsTable(runs: TrainingRun[]): string {
  const header = [
    'RUN',
    'STARTED (UTC)',
    'TRIGGER',
    'STATUS',
    'FAMILY',
    'VERSION',
    'ROC_AUC',
    'F1',
    'ACC',
    'SECONDS',
    'GATE',
  ]
  const lines = runs.map((r) => [
    r.runId,
    new Date(r.startedAt).toISOString().slice(0, 19).replace('T', ' '),
    r.trigger,
    r.status,
    r.chosenFamily || '-',
    r.version === null ? '-' : `v${r.version}`,
    num(r.metrics.roc_auc),
    num(r.metrics.f1),
    num(r.metrics.accuracy),
    (r.durationMs / 1000).toFixed(1),
    r.status === 'failed'
      ? r.error.slice(0, 60)
      : r.gatePassed
        ? 'passed'
        : r.gateReasons.join('; ').slice(0, 80) || '-',
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)))
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')
  if (runs.length === 0) return 'no training runs yet'
  return [fmt(header), ...lines.map(fmt)].join('\n')
}
