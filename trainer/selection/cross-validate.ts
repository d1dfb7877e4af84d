/**
 * k-fold cross-validation of one learner with one parameter set. Each fold's model is fitted on
 * that fold's training rows only — the learner learns its preprocessing (imputation, scaling)
 * inside `fit`, so nothing from the held-out rows leaks into the model.
 */
import { type ClassificationMetrics, classificationMetrics, meanStd } from '../../lib/stats/metrics.ts'
import type { Dataset, Learner } from '../learners/types.ts'
import { subsetDataset } from './dataset.ts'
import { type Fold, stratifiedKFold } from './folds.ts'

/** The metrics we rank and report; `log_loss` and `brier` are lower-is-better. */
export type MetricName = 'roc_auc' | 'accuracy' | 'f1' | 'precision' | 'recall' | 'log_loss' | 'brier'
export const METRIC_NAMES: readonly MetricName[] = [
  'roc_auc',
  'accuracy',
  'f1',
  'precision',
  'recall',
  'log_loss',
  'brier',
]

export function lowerIsBetter(metric: MetricName): boolean {
  return metric === 'log_loss' || metric === 'brier'
}

/** Reads a metric (snake_case name) from lib/stats' ClassificationMetrics. */
export function metricValue(m: ClassificationMetrics, metric: MetricName): number {
  switch (metric) {
    case 'roc_auc':
      return m.rocAuc
    case 'log_loss':
      return m.logLoss
    default:
      return m[metric]
  }
}

export interface CrossValidationResult {
  /** Out-of-fold P(y=1) for every row: each row scored by the model that never saw it. */
  oof: Float64Array
  folds: Fold[]
  /** Per-fold metrics on the held-out rows at threshold 0.5 (AUC is threshold-free). */
  foldMetrics: ClassificationMetrics[]
  /** Mean and sample std of each metric over the folds. */
  summary: Record<MetricName, { mean: number; std: number }>
  /** Metrics of the pooled out-of-fold predictions at 0.5. */
  pooled: ClassificationMetrics
  durationMs: number
}

export interface CrossValidateOptions {
  k: number
  seed: number
  /** Pre-computed folds (so every trial of a search uses the same split). */
  folds?: Fold[]
}

export async function crossValidate<P>(
  learner: Learner<P>,
  data: Dataset,
  params: P,
  opts: CrossValidateOptions,
): Promise<CrossValidationResult> {
  const started = performance.now()
  const folds = opts.folds ?? stratifiedKFold(data.y, opts.k, opts.seed)
  const oof = new Float64Array(data.nRows)
  const foldMetrics: ClassificationMetrics[] = []
  for (const fold of folds) {
    const model = await learner.fit(subsetDataset(data, fold.train), params, opts.seed)
    try {
      const test = subsetDataset(data, fold.test)
      const probs = model.predictProba(test.X, test.nRows)
      fold.test.forEach((row, r) => {
        oof[row] = probs[r]!
      })
      foldMetrics.push(classificationMetrics(test.y, probs, 0.5))
    } finally {
      model.free?.()
    }
    // Pure-JS learners fit synchronously; yielding between folds lets timers and I/O run
    // (Kafka heartbeats in the trainer process) and lets concurrent searches interleave.
    await yieldToEventLoop()
  }
  return {
    oof,
    folds,
    foldMetrics,
    summary: summarise(foldMetrics),
    pooled: classificationMetrics(data.y, oof, 0.5),
    durationMs: performance.now() - started,
  }
}

export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

export function summarise(
  foldMetrics: ClassificationMetrics[],
): Record<MetricName, { mean: number; std: number }> {
  const out = {} as Record<MetricName, { mean: number; std: number }>
  for (const name of METRIC_NAMES) out[name] = meanStd(foldMetrics.map((m) => metricValue(m, name)))
  return out
}
