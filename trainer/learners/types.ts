/**
 * The learner contract: every model family the trainer can fit implements `Learner<P>`.
 * Cross-validation, hyperparameter search and the training pipeline code against this
 * interface only, so adding a family means adding one module and one registry entry.
 */
import type { ModelFamily, Preprocessing, ScorableModel } from '../../lib/model/types.ts'

/** Training data: row-major features (NaN = missing) and 0/1 labels. */
export interface Dataset {
  X: Float64Array
  nRows: number
  nFeatures: number
  y: Uint8Array
}

/** A fitted model. `export()` gives the library-free form that `createScorer` scores identically. */
export interface TrainedModel {
  family: ModelFamily
  /** P(y = 1) per row; rows are row-major with `nFeatures` columns as at fit time. */
  predictProba(X: Float64Array, nRows: number): Float64Array
  export(): { model: ScorableModel; preprocessing: Preprocessing }
  /** Releases native/WASM memory where a learner holds any (pure-JS learners omit it). */
  free?(): void
}

/** Hyperparameter search space: one entry per tunable parameter. */
export type ParamSpace = Record<
  string,
  {
    type: 'int' | 'float' | 'choice'
    min?: number
    max?: number
    /** Sample on a log scale (for learning rates, penalties). */
    log?: boolean
    values?: (number | string | boolean)[]
  }
>

export interface Learner<P> {
  family: ModelFamily
  defaults: P
  searchSpace: ParamSpace
  /** Deterministic for a given (data, params, seed). */
  fit(data: Dataset, params: P, seed: number): TrainedModel | Promise<TrainedModel>
}
