/**
 * `riskstream train --report`: one row per family, out-of-fold metrics at each family's own
 * threshold, "± std" over the CV folds; the chosen family is marked with "*".
 */
import type { TrainResult } from './train.ts'

const COLUMNS = [
  'family',
  'AUC',
  'accuracy',
  'F1',
  'precision',
  'recall',
  'log-loss',
  'Brier',
  'threshold',
  'duration',
] as const

function pm(mean: number, std: number): string {
  return `${mean.toFixed(3)} ± ${std.toFixed(3)}`
}

export function formatReport(result: Pick<TrainResult, 'candidates' | 'summary'>): string {
  const rows: string[][] = result.candidates.map((c) => [
    `${c.family === result.summary.chosenFamily ? '*' : ' '} ${c.family}`,
    pm(c.metrics.roc_auc, c.std.roc_auc.std),
    pm(c.metrics.accuracy, c.std.accuracy.std),
    pm(c.metrics.f1, c.std.f1.std),
    pm(c.metrics.precision, c.std.precision.std),
    pm(c.metrics.recall, c.std.recall.std),
    pm(c.metrics.log_loss, c.std.log_loss.std),
    pm(c.metrics.brier, c.std.brier.std),
    c.threshold.threshold.toFixed(3),
    `${(c.durationMs / 1000).toFixed(1)} s`,
  ])
  const header = [...COLUMNS]
  const widths = header.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j]!.length)))
  const line = (cells: string[]) =>
    cells.map((c, j) => (j === 0 ? c.padEnd(widths[j]!) : c.padStart(widths[j]!))).join('  ')
  const s = result.summary
  return [
    line(header),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.map(line),
    '',
    `${s.rows} rows (${s.positives} positive), ${s.k}-fold stratified CV, seed ${s.seed}, selected by ${s.primaryMetric}: ` +
      `${s.chosenFamily} at threshold ${s.threshold.toFixed(3)}; total ${(s.durationMs / 1000).toFixed(1)} s`,
    'Metrics: pooled out-of-fold predictions at the threshold shown; ± is the std over folds.',
    'Durations are wall time; families are searched concurrently (XGBoost in its worker), so they overlap.',
  ].join('\n')
}
