/**
 * The training pipeline, pure (no Kafka, no ClickHouse): search every family with stratified
 * CV, pick the best by the primary metric, choose its threshold on out-of-fold predictions,
 * refit it on all rows, and assemble a `ModelArtifact` the registry only has to number.
 */
import { FEATURES } from '../../lib/features/index.ts'
import { getLogger } from '../../lib/log/index.ts'
import type { DatasetFingerprint, ModelArtifact, ModelFamily, ModelMetrics } from '../../lib/model/types.ts'
import { DRIFT_GRID_BINS } from '../../lib/stats/drift.ts'
import {
  type ClassificationMetrics,
  classificationMetrics,
  meanStd,
  type ThresholdChoice,
} from '../../lib/stats/metrics.ts'
import { buildReference, type ReferenceDistribution } from '../../lib/stats/reference.ts'
import { getLearner, LEARNERS } from '../learners/index.ts'
import type { Dataset } from '../learners/types.ts'
import type { MetricName } from '../selection/cross-validate.ts'
import { betterScore, searchHyperparameters, type Trial } from '../selection/search.ts'
import { chooseThreshold } from '../selection/threshold.ts'
import { fingerprintDataset } from './dataset.ts'

const log = getLogger('trainer.pipeline')

type Params = Record<string, number | string | boolean>

export interface TrainProgress {
  family: ModelFamily
  phase: 'search' | 'refit'
  /** 1-based trial number within the family's search (0 for the refit). */
  trial: number
  of: number
  score?: number
}

export interface TrainCandidatesOptions {
  /** Families to try; default every registered learner. */
  families?: ModelFamily[]
  k: number
  seed: number
  /** Trials per family, or per family by name (families not named get `default`). */
  budget: number | (Partial<Record<ModelFamily, number>> & { default: number })
  primaryMetric: Extract<MetricName, 'roc_auc' | 'f1' | 'accuracy' | 'log_loss'>
  /** Accuracy floor for the threshold choice (config MIN_MODEL_ACCURACY). */
  minAccuracy: number
  onProgress?: (p: TrainProgress) => void
  /** Fingerprint from datasetFromRows (keeps sources/subsampling); computed from `data` if absent. */
  fingerprint?: DatasetFingerprint
  modelName?: string
  codeVersion?: string
  /** Bins of the drift reference distributions (default 10). */
  referenceBins?: number
  now?: () => number
}

/** Mean ± std over folds of the metrics we report. */
export type FoldSummary = Record<
  'roc_auc' | 'accuracy' | 'f1' | 'precision' | 'recall' | 'log_loss' | 'brier',
  { mean: number; std: number }
>

export interface CandidateResult {
  family: ModelFamily
  bestParams: Params
  /** Primary metric, mean over folds, of the best trial. */
  score: number
  /** Best trial's out-of-fold metrics at the family's own F1-optimal threshold. */
  threshold: ThresholdChoice
  metrics: ModelMetrics
  folds: Partial<ModelMetrics>[]
  std: FoldSummary
  trials: { index: number; params: Params; score: number; durationMs: number }[]
  durationMs: number
}

export interface RunSummary {
  startedAt: number
  durationMs: number
  rows: number
  positives: number
  k: number
  seed: number
  primaryMetric: string
  chosenFamily: ModelFamily
  threshold: number
  candidates: {
    family: ModelFamily
    score: number
    params: Params
    metrics: ModelMetrics
    std: FoldSummary
    threshold: number
    trials: number
    durationMs: number
  }[]
}

export interface TrainResult {
  /** Complete but unregistered: version 0, stage 'candidate', parentVersion null. */
  artifact: ModelArtifact
  candidates: CandidateResult[]
  best: CandidateResult
  /** The evaluation rows' labels and the chosen model's out-of-fold probabilities. */
  evaluation: { y: Uint8Array; probs: Float64Array }
  summary: RunSummary
}

export function toModelMetrics(m: ClassificationMetrics): ModelMetrics {
  return {
    roc_auc: m.rocAuc,
    accuracy: m.accuracy,
    precision: m.precision,
    recall: m.recall,
    f1: m.f1,
    log_loss: m.logLoss,
    brier: m.brier,
    confusion: { ...m.confusion },
  }
}

const SUMMARY_KEYS = ['roc_auc', 'accuracy', 'f1', 'precision', 'recall', 'log_loss', 'brier'] as const

/** Out-of-fold metrics at `threshold`: pooled over all rows, per fold, and std over folds. */
export function evaluateOutOfFold(
  y: Uint8Array,
  oof: Float64Array,
  folds: { test: number[] }[],
  threshold: number,
): { metrics: ModelMetrics; folds: ModelMetrics[]; std: FoldSummary } {
  const perFold = folds.map((f) =>
    toModelMetrics(
      classificationMetrics(
        f.test.map((i) => y[i]!),
        f.test.map((i) => oof[i]!),
        threshold,
      ),
    ),
  )
  const std = {} as FoldSummary
  for (const key of SUMMARY_KEYS) std[key] = meanStd(perFold.map((m) => m[key]))
  return { metrics: toModelMetrics(classificationMetrics(y, oof, threshold)), folds: perFold, std }
}

function budgetFor(budget: TrainCandidatesOptions['budget'], family: ModelFamily): number {
  return typeof budget === 'number' ? budget : (budget[family] ?? budget.default)
}

export async function trainCandidates(data: Dataset, opts: TrainCandidatesOptions): Promise<TrainResult> {
  const now = opts.now ?? Date.now
  const startedAt = now()
  const t0 = performance.now()
  const families = opts.families ?? (Object.keys(LEARNERS) as ModelFamily[])
  const candidates: CandidateResult[] = []
  const oofByFamily = new Map<ModelFamily, Trial<Params>>()

  /**
   * Families are searched CONCURRENTLY: XGBoost fits in its worker thread while the pure-JS
   * learners fit on this one (cross-validation yields between folds so both make progress),
   * which uses a second core. Results do not depend on the interleaving: every fit is seeded
   * and independent, and candidates keep the order of `families`.
   */
  const searchFamily = async (family: ModelFamily): Promise<CandidateResult> => {
    const learner = getLearner(family)
    const started = performance.now()
    const budget = budgetFor(opts.budget, family)
    const search = await searchHyperparameters<Params>(learner, data, {
      budget,
      k: opts.k,
      seed: opts.seed,
      primaryMetric: opts.primaryMetric,
      onTrial: (trial, of) =>
        opts.onProgress?.({ family, phase: 'search', trial: trial.index + 1, of, score: trial.score }),
    })
    const best = search.best
    const threshold = chooseThreshold(data.y, best.cv.oof, opts.minAccuracy)
    const ev = evaluateOutOfFold(data.y, best.cv.oof, best.cv.folds, threshold.threshold)
    oofByFamily.set(family, best)
    log.info(
      { family, score: best.score, trials: budget, ms: Math.round(performance.now() - started) },
      'family searched',
    )
    return {
      family,
      bestParams: best.params,
      score: best.score,
      threshold,
      metrics: ev.metrics,
      folds: ev.folds,
      std: ev.std,
      trials: search.trials.map((t) => ({
        index: t.index,
        params: t.params,
        score: t.score,
        durationMs: t.cv.durationMs,
      })),
      durationMs: performance.now() - started,
    }
  }
  // Worker-backed families first, so their first fit is queued before the JS learners start.
  const order = [...families].sort((a, b) => Number(b === 'xgboost') - Number(a === 'xgboost'))
  const results = new Map<ModelFamily, CandidateResult>()
  await Promise.all(order.map(async (f) => results.set(f, await searchFamily(f))))
  for (const f of families) candidates.push(results.get(f)!)

  let best = candidates[0]!
  for (const c of candidates) if (betterScore(opts.primaryMetric, c.score, best.score)) best = c

  // Refit the winner on every row; its out-of-fold predictions already gave the threshold.
  opts.onProgress?.({ family: best.family, phase: 'refit', trial: 0, of: 0 })
  const learner = getLearner(best.family)
  const fitted = await learner.fit(data, best.bestParams, opts.seed)
  let exported: ReturnType<typeof fitted.export>
  try {
    exported = fitted.export()
  } finally {
    fitted.free?.()
  }

  const oof = oofByFamily.get(best.family)!.cv.oof
  const bins = opts.referenceBins ?? 10
  const featureNames =
    data.nFeatures === FEATURES.length
      ? [...FEATURES]
      : Array.from({ length: data.nFeatures }, (_, j) => `f${j}`)
  const features: Record<string, ReferenceDistribution> = {}
  // The monitors report KS on a finer grid than PSI (lib/stats DRIFT_GRID_BINS): PSI's bands
  // assume about ten bins, while KS catches shape changes inside a decile.
  const fine: Record<string, ReferenceDistribution> = {}
  featureNames.forEach((name, j) => {
    const column = new Float64Array(data.nRows)
    for (let r = 0; r < data.nRows; r++) column[r] = data.X[r * data.nFeatures + j]!
    features[name] = buildReference(column, bins)
    fine[name] = buildReference(column, DRIFT_GRID_BINS.ks)
  })

  const artifact: ModelArtifact = {
    formatVersion: 1,
    modelName: opts.modelName ?? 'diabetes-risk',
    version: 0,
    family: best.family,
    model: exported.model,
    features: featureNames,
    preprocessing: exported.preprocessing,
    threshold: best.threshold.threshold,
    reference: {
      features,
      probability: buildReference(oof, bins),
      fine: { features: fine, probability: buildReference(oof, DRIFT_GRID_BINS.ks) },
    },
    metrics: {
      ...best.metrics,
      folds: best.folds,
      std: Object.fromEntries(SUMMARY_KEYS.map((k) => [k, best.std[k].std])),
    },
    dataset: opts.fingerprint ?? fingerprintDataset(data, []),
    hyperparameters: { ...best.bestParams, seed: opts.seed },
    codeVersion: opts.codeVersion ?? 'unknown',
    createdAt: now(),
    parentVersion: null,
    stage: 'candidate',
  }

  const durationMs = performance.now() - t0
  const summary: RunSummary = {
    startedAt,
    durationMs,
    rows: data.nRows,
    positives: artifact.dataset.positives,
    k: opts.k,
    seed: opts.seed,
    primaryMetric: opts.primaryMetric,
    chosenFamily: best.family,
    threshold: artifact.threshold,
    candidates: candidates.map((c) => ({
      family: c.family,
      score: c.score,
      params: c.bestParams,
      metrics: c.metrics,
      std: c.std,
      threshold: c.threshold.threshold,
      trials: c.trials.length,
      durationMs: c.durationMs,
    })),
  }
  return { artifact, candidates, best, evaluation: { y: data.y, probs: oof }, summary }
}
