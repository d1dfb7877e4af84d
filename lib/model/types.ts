/**
 * The model contract shared by the trainer (which produces it) and inference (which scores it).
 * Every family is exported at training time into one of two JSON-serialisable forms, so the
 * scorer never needs the training library (no WASM heap to free on hot-reload).
 */
import type { ReferenceDistribution } from '../stats/reference.ts'

export type ModelFamily = 'xgboost' | 'random_forest' | 'gradient_boosting' | 'logistic_regression'

/**
 * One tree as parallel node arrays. Node i is a leaf when left[i] === -1, and then value[i]
 * is its output. Otherwise rows with x[feature[i]] < threshold[i] go to left[i], others to
 * right[i]; a missing value (NaN) goes left when missingLeft[i] === 1. (`<` is XGBoost's rule.)
 */
export interface FlatTree {
  feature: number[]
  threshold: number[]
  left: number[]
  right: number[]
  missingLeft: number[]
  value: number[]
}

export interface TreeEnsembleModel {
  kind: 'tree_ensemble'
  nFeatures: number
  trees: FlatTree[]
  /** Added to the aggregated tree output before the link (boosting's initial margin). */
  baseMargin: number
  /** 'sum' for boosting (margins add up), 'mean' for random forests (leaf probabilities average). */
  aggregation: 'sum' | 'mean'
  /** 'logistic' maps a margin to a probability; 'identity' when leaves already hold probabilities. */
  link: 'logistic' | 'identity'
}

export interface LinearModel {
  kind: 'linear'
  nFeatures: number
  weights: number[]
  intercept: number
  link: 'logistic'
}

export type ScorableModel = TreeEnsembleModel | LinearModel

/**
 * Preprocessing learnt on the training fold only and shipped with the model.
 * Missing values (NaN) are replaced by `impute[j]` when it is not null (linear models need it;
 * trees route missing values natively, so their impute entries are null), then
 * standardised with `center`/`scale` when present.
 */
export interface Preprocessing {
  impute: (number | null)[]
  center?: number[]
  scale?: number[]
}

/**
 * How one scoring path (batch or single row) computes its scores. 'warming' is the default
 * scorer of a shallow ensemble while it still races generated code against the array walker
 * (see `tieredWalker` in scorer.ts); it settles on 'codegen' or 'perfect'. Every other scorer
 * is settled from the start. A settled tier never changes again.
 */
export type ScorerTier = 'warming' | 'codegen' | 'perfect' | 'linked' | 'linear'

export interface ScorerTiers {
  batch: ScorerTier
  one: ScorerTier
}

/** One scorer interface for all families; rows are a flat row-major Float64Array, NaN = missing. */
export interface Scorer {
  readonly nFeatures: number
  scoreBatch(rows: Float64Array, nRows: number, out?: Float64Array): Float64Array
  scoreOne(row: ArrayLike<number>): number
  /** Where each path scores now (a snapshot); long-lived users warm a 'warming' scorer up (warmup.ts). */
  tier(): ScorerTiers
}

export interface DatasetFingerprint {
  rows: number
  positives: number
  /** sha256 of the canonical row encoding (features in FEATURES order, NaN as "", label), one row per line. */
  sha256: string
  sources: string[]
  /** For streamed data: event-time range and Kafka offsets it covers. */
  timeRange?: { from: number; to: number }
  offsets?: { topic: string; partition: number; from: string; to: string }[]
  /** Set when rows were stratified-subsampled to fit a learner's limit. */
  subsampledFrom?: number
}

export type ModelStage = 'candidate' | 'production' | 'rejected' | 'archived'

export interface ModelMetrics {
  roc_auc: number
  accuracy: number
  precision: number
  recall: number
  f1: number
  log_loss: number
  brier: number
  confusion: { tp: number; fp: number; tn: number; fn: number }
}

export interface ModelArtifact {
  formatVersion: 1
  modelName: string
  version: number
  family: ModelFamily
  model: ScorableModel
  features: string[]
  preprocessing: Preprocessing
  threshold: number
  /** Reference distribution for drift: per feature and for the predicted probability. */
  reference: {
    features: Record<string, ReferenceDistribution>
    probability: ReferenceDistribution
    /** The same on the fine grid (GRID_BINS.fine) of the statistics that need one; absent in older artifacts. */
    fine?: { features: Record<string, ReferenceDistribution>; probability?: ReferenceDistribution }
  }
  /** Out-of-fold cross-validation metrics at `threshold`, with per-fold values. */
  metrics: ModelMetrics & {
    folds?: Partial<ModelMetrics>[]
    std?: Partial<Record<keyof ModelMetrics, number>>
  }
  dataset: DatasetFingerprint
  hyperparameters: Record<string, number | string | boolean>
  codeVersion: string
  createdAt: number
  parentVersion: number | null
  stage: ModelStage
}
