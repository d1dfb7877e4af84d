/**
 * Experiment tracking: every training run is a row in `training_runs` (ReplacingMergeTree by
 * updated_at). A run writes a `running` row when it starts and its final row when it ends, so
 * a crashed run stays visible as `running` with its start time instead of vanishing. With
 * MLFLOW_TRACKING_URI set, the final row is also mirrored to MLflow (lib/registry/mlflow.ts).
 */
import { type ClickHouseClient, chTime, queryRows } from '../../lib/clickhouse/index.ts'
import type { Config } from '../../lib/config/index.ts'
import { getLogger } from '../../lib/log/index.ts'
import { mirrorSafely, type TrainingRun, trainingRunRow } from '../../lib/registry/index.ts'
import { TABLES } from '../../lib/warehouse/index.ts'

// A run's rows must order by updated_at even when start and end fall in the same millisecond.
let lastUpdate = 0
const tick = () => {
  lastUpdate = Math.max(Date.now(), lastUpdate + 1)
  return lastUpdate
}

/** Where a run is recorded: ClickHouse, or ClickHouse plus the config that may name an MLflow server. */
export type RunTarget = ClickHouseClient | { clickhouse: ClickHouseClient; config: Pick<Config, 'mlflow'> }

/**
 * Inserts (or supersedes) the run's row; returns the updated_at it was written with. Given the
 * config, a finished run is then mirrored to MLflow; a failure there is a warning and a count,
 * never this function's failure.
 */
export async function recordRun(target: RunTarget, run: Omit<TrainingRun, 'updatedAt'>): Promise<number> {
  const withConfig = 'clickhouse' in target && 'config' in target
  const ch = withConfig ? target.clickhouse : target
  const updatedAt = tick()
  await ch.insert({
    table: TABLES.trainingRuns,
    format: 'JSONEachRow',
    values: [trainingRunRow({ ...run, updatedAt })],
  })
  if (withConfig && run.status !== 'running')
    await mirrorSafely(
      { clickhouse: ch, config: target.config, log: getLogger('mlflow') },
      'run',
      async (m) => {
        await m.syncRun({ ...run, updatedAt })
        await m.syncModel(run.modelName)
      },
    )
  return updatedAt
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

/** What a run decided about production, stored in `promotion_decisions` (migrations/030). */
export interface PromotionDecision {
  decision: 'promoted' | 'not_promoted' | 'initial' | 'initial_below_gate'
  reason: string
  championVersion: number | null
  evaluation: 'nested_cv' | 'out_of_time'
  /** The DeLong test on the fresh out-of-time rows, or null when none could be run. */
  test: {
    name: 'delong_roc_auc'
    alpha: number
    margin: number
    z: number
    pValue: number
    candidateAuc: number
    championAuc: number
    difference: number
    interval: { lo: number; hi: number }
    positives: number
  } | null
  /** The rows the comparison used (request ids of streamed rows) and their event-time range. */
  rows: number
  requestIds: string[]
  timeRange: { from: number; to: number } | null
}

const finiteOr = (x: number, fallback = Number.NaN) => (Number.isFinite(x) ? x : fallback)

export async function recordPromotion(
  ch: ClickHouseClient,
  p: {
    runId: string
    modelName: string
    candidateVersion: number | null
    decidedAt: number
    decision: PromotionDecision
  },
): Promise<void> {
  const d = p.decision
  await ch.insert({
    table: TABLES.promotionDecisions,
    format: 'JSONEachRow',
    values: [
      {
        run_id: p.runId,
        model_name: p.modelName,
        candidate_version: p.candidateVersion,
        champion_version: d.championVersion,
        decision: d.decision,
        reason: d.reason,
        evaluation: d.evaluation,
        test: d.test?.name ?? '',
        alpha: d.test?.alpha ?? 0,
        margin: d.test?.margin ?? 0,
        // JSONEachRow has no NaN: a missing statistic is written as 0 with p = 1.
        statistic: finiteOr(d.test?.z ?? 0, 0),
        p_value: finiteOr(d.test?.pValue ?? 1, 1),
        candidate_auc: finiteOr(d.test?.candidateAuc ?? 0, 0),
        champion_auc: finiteOr(d.test?.championAuc ?? 0, 0),
        auc_gain_lo: finiteOr(d.test?.interval.lo ?? 0, 0),
        auc_gain_hi: finiteOr(d.test?.interval.hi ?? 0, 0),
        rows: d.rows,
        positives: d.test?.positives ?? 0,
        rows_from: d.timeRange ? chTime(d.timeRange.from) : null,
        rows_to: d.timeRange ? chTime(d.timeRange.to) : null,
        request_ids: d.requestIds,
        detail_json: JSON.stringify(d),
        decided_at: chTime(p.decidedAt),
      },
    ],
  })
}

/** A row of `promotion_decisions` as getPromotion returns it. */
export interface StoredPromotion {
  decision: string
  test: string
  statistic: number
  p_value: number
  rows: number
  request_ids: string[]
  champion_version: number | null
}

/** The stored decision of a run, or null. */
export async function getPromotion(ch: ClickHouseClient, runId: string): Promise<StoredPromotion | null> {
  const rows = await queryRows<StoredPromotion>(
    ch,
    `SELECT decision, test, statistic, p_value, rows, request_ids, champion_version
     FROM ${TABLES.promotionDecisions} FINAL WHERE run_id = {id:String}`,
    { id: runId },
  )
  const r = rows[0]
  return r
    ? {
        ...r,
        statistic: Number(r.statistic),
        p_value: Number(r.p_value),
        rows: Number(r.rows),
        champion_version: r.champion_version === null ? null : Number(r.champion_version),
      }
    : null
}
