/**
 * Experiment tracking: every training run is a row in `training_runs` (ReplacingMergeTree by
 * updated_at). A run writes a `running` row when it starts and its final row when it ends, so
 * a crashed run stays visible as `running` with its start time instead of vanishing.
 */
import { type ClickHouseClient, queryRows } from '../../lib/clickhouse/index.ts'
import {
  RUN_COLUMNS,
  type RunRecord,
  type TrainingRun,
  toTrainingRun,
  trainingRunRow,
} from '../../lib/registry/index.ts'

export type { RunStatus, TrainingRun } from '../../lib/registry/index.ts'

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
    values: [trainingRunRow({ ...run, updatedAt })],
  })
  return updatedAt
}

/** Newest runs first. */
export async function listRuns(
  ch: ClickHouseClient,
  opts: { modelName?: string; limit?: number } = {},
): Promise<TrainingRun[]> {
  const rows = await queryRows<RunRecord>(
    ch,
    `SELECT ${RUN_COLUMNS} FROM training_runs FINAL
     WHERE {model:String} = '' OR model_name = {model:String}
     ORDER BY started_at DESC, run_id LIMIT {limit:UInt32}`,
    { model: opts.modelName ?? '', limit: opts.limit ?? 50 },
  )
  return rows.map(toTrainingRun)
}

export async function getRun(ch: ClickHouseClient, runId: string): Promise<TrainingRun | null> {
  const rows = await queryRows<RunRecord>(
    ch,
    `SELECT ${RUN_COLUMNS} FROM training_runs FINAL WHERE run_id = {id:String}`,
    { id: runId },
  )
  return rows[0] ? toTrainingRun(rows[0]) : null
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
