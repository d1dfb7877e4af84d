/**
 * Honest performance estimates: metrics of predictions on rows that played no part in choosing
 * the family, the hyperparameters or the threshold (outer folds of nested CV, or the
 * out-of-time window), each with a percentile bootstrap interval. Resampling is by group
 * (byte-identical rows / one patient), so duplicated rows do not narrow the interval.
 */
import type { ModelMetrics } from '../../lib/model/types.ts'
import { bootstrapIntervals } from '../../lib/stats/bootstrap.ts'
import { type CalibrationReport, calibrationReport } from '../../lib/stats/calibration.ts'
import {
  accuracy,
  brier,
  confusion,
  f1,
  logLoss,
  precision,
  recall,
  rocAuc,
} from '../../lib/stats/metrics.ts'
import { METRIC_NAMES, type MetricName } from '../selection/cross-validate.ts'

/** The metrics an estimate reports: the same as those cross-validation ranks. */
export const ESTIMATE_KEYS = METRIC_NAMES
export type EstimateKey = MetricName

export type EvaluationKind = 'nested_cv' | 'out_of_time'

export interface Estimate {
  kind: EvaluationKind
  /** Held-out rows the estimate is computed on, and their positives. */
  rows: number
  positives: number
  /** Outer folds (nested_cv) or 1 (out_of_time). */
  outerFolds: number
  /** Point estimates on the pooled held-out predictions, each row at its own fold's threshold. */
  metrics: ModelMetrics
  /** Percentile bootstrap interval of each metric (resampled by group). */
  intervals: Record<EstimateKey, { lo: number; hi: number }>
  level: number
  /** Reliability curve, ECE and Brier of the held-out probabilities. */
  calibration: CalibrationReport
  /** The same held-out rows after Platt scaling fitted inside each fold (on inner out-of-fold rows). */
  platt: { log_loss: number; brier: number; ece: number }
  /** Decision threshold used in each outer fold (chosen inside it). */
  thresholds: number[]
  /** Per outer fold metrics (empty for out_of_time). */
  perFold: ModelMetrics[]
}

export interface EstimateOptions {
  resamples?: number
  level?: number
  seed?: number
}

/** Metrics of held-out predictions with per-row decisions `pred` (0/1). */
export function heldOutMetrics(
  y: ArrayLike<number>,
  probs: ArrayLike<number>,
  pred: ArrayLike<number>,
): ModelMetrics {
  const c = confusion(y, pred)
  return {
    roc_auc: rocAuc(y, probs),
    accuracy: accuracy(c),
    precision: precision(c),
    recall: recall(c),
    f1: f1(c),
    log_loss: logLoss(y, probs),
    brier: brier(y, probs),
    confusion: c,
  }
}

export interface HeldOut {
  /** Labels, probabilities, decisions and group ids of the held-out rows, aligned. */
  y: Uint8Array
  probs: Float64Array
  pred: Uint8Array
  groups: Int32Array
  /** Platt-calibrated probabilities (calibrator fitted inside each fold). */
  plattProbs: Float64Array
  thresholds: number[]
  perFold: ModelMetrics[]
}

export function buildEstimate(kind: EvaluationKind, h: HeldOut, opts: EstimateOptions = {}): Estimate {
  const metrics = heldOutMetrics(h.y, h.probs, h.pred)
  const level = opts.level ?? 0.95
  const intervals = bootstrapIntervals(
    h.y.length,
    (rows) => {
      const y = new Uint8Array(rows.length)
      const p = new Float64Array(rows.length)
      const d = new Uint8Array(rows.length)
      rows.forEach((i, r) => {
        y[r] = h.y[i]!
        p[r] = h.probs[i]!
        d[r] = h.pred[i]!
      })
      const m = heldOutMetrics(y, p, d)
      return ESTIMATE_KEYS.map((k) => m[k])
    },
    { resamples: opts.resamples ?? 1000, level, seed: opts.seed ?? 0, clusters: h.groups },
  )
  const platt = calibrationReport(h.y, h.plattProbs)
  let positives = 0
  for (const v of h.y) if (v === 1) positives++
  return {
    kind,
    rows: h.y.length,
    positives,
    outerFolds: kind === 'nested_cv' ? h.thresholds.length : 1,
    metrics,
    intervals: Object.fromEntries(
      ESTIMATE_KEYS.map((k, j) => [k, { lo: intervals[j]!.lo, hi: intervals[j]!.hi }]),
    ) as Estimate['intervals'],
    level,
    calibration: calibrationReport(h.y, h.probs),
    platt: { log_loss: logLoss(h.y, h.plattProbs), brier: platt.brier, ece: platt.ece },
    thresholds: h.thresholds,
    perFold: h.perFold,
  }
}
