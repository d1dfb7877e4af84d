/**
 * Stratified k-fold splitting: every fold gets (almost) the same share of positives as the
 * whole data set, so per-fold metrics are comparable and no fold lacks a class.
 */
import { RiskStreamError } from '../../lib/errors/index.ts'
import { createRng, shuffleInPlace } from '../learners/random.ts'

export interface Fold {
  /** Row indices to fit on, ascending. */
  train: number[]
  /** Held-out row indices, ascending. */
  test: number[]
}

/**
 * Shuffles each class with a seeded RNG, then deals its rows round-robin over the folds,
 * continuing the rotation from one class to the next. Hence per fold: the count of each class
 * differs by at most 1 between folds, and fold sizes differ by at most 1. Same (y, k, seed) →
 * same folds.
 */
export function stratifiedKFold(y: ArrayLike<number>, k: number, seed: number): Fold[] {
  const n = y.length
  if (!Number.isInteger(k) || k < 2)
    throw new RiskStreamError('CONFIG_INVALID', `k must be an integer ≥ 2, got ${k}`)
  // Positive iff the label is 1 (lib/stats' convention); everything else is negative.
  const byClass: [number[], number[]] = [[], []]
  for (let i = 0; i < n; i++) byClass[y[i] === 1 ? 1 : 0].push(i)
  byClass.forEach((list, c) => {
    if (list.length > 0 && list.length < k) {
      throw new RiskStreamError(
        'DATASET_INVALID',
        `class ${c} has ${list.length} rows, fewer than the ${k} folds`,
      )
    }
  })
  const rng = createRng(`${seed}:stratified-kfold`)
  const foldOf = new Int32Array(n)
  let slot = 0
  for (const list of byClass) {
    shuffleInPlace(list, rng)
    for (const i of list) foldOf[i] = slot++ % k
  }
  const folds: Fold[] = Array.from({ length: k }, () => ({ train: [], test: [] }))
  for (let i = 0; i < n; i++) {
    for (let f = 0; f < k; f++) (f === foldOf[i] ? folds[f]!.test : folds[f]!.train).push(i)
  }
  return folds
}
