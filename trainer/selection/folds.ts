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

/**
 * Group id per row (dense, 0-based, in order of first appearance): rows whose features are
 * byte-identical (NaN = missing equals missing) share a group, and so do rows with the same
 * non-empty `keys[i]` (e.g. a patient id). Connected through either, by union–find.
 */
export function rowGroups(
  X: Float64Array,
  nRows: number,
  nFeatures: number,
  keys?: readonly (string | null | undefined)[],
): Int32Array {
  const parent = Int32Array.from({ length: nRows }, (_, i) => i)
  const find = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]!]!
      i = parent[i]!
    }
    return i
  }
  const union = (a: number, b: number) => {
    const ra = find(a)
    const rb = find(b)
    if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb)
  }
  const firstByFeatures = new Map<string, number>()
  const firstByKey = new Map<string, number>()
  for (let r = 0; r < nRows; r++) {
    const cells: string[] = []
    for (let j = 0; j < nFeatures; j++) {
      const v = X[r * nFeatures + j]!
      cells.push(Number.isNaN(v) ? '' : String(v))
    }
    const fk = cells.join(',')
    const f = firstByFeatures.get(fk)
    if (f === undefined) firstByFeatures.set(fk, r)
    else union(f, r)
    const key = keys?.[r]
    if (key) {
      const k = firstByKey.get(key)
      if (k === undefined) firstByKey.set(key, r)
      else union(k, r)
    }
  }
  const dense = new Map<number, number>()
  const out = new Int32Array(nRows)
  for (let r = 0; r < nRows; r++) {
    const root = find(r)
    let id = dense.get(root)
    if (id === undefined) {
      id = dense.size
      dense.set(root, id)
    }
    out[r] = id
  }
  return out
}

/**
 * Stratified k-fold over GROUPS: every row of a group lands in the same fold, so duplicated
 * rows (or one patient's rows) can never sit on both sides of a split. A group's class is its
 * majority label (ties: positive). Groups are shuffled within each class with a seeded RNG and
 * each goes to the fold holding the fewest rows of its class so far (ties: the next fold in
 * rotation). With every group a single row this deals exactly like `stratifiedKFold` (same
 * folds for the same seed).
 */
export function groupStratifiedKFold(
  y: ArrayLike<number>,
  groups: ArrayLike<number>,
  k: number,
  seed: number,
): Fold[] {
  const n = y.length
  if (!Number.isInteger(k) || k < 2)
    throw new RiskStreamError('CONFIG_INVALID', `k must be an integer ≥ 2, got ${k}`)
  if (groups.length !== n) throw new RiskStreamError('INTERNAL', `${groups.length} group ids for ${n} rows`)
  const members = new Map<number, number[]>()
  for (let i = 0; i < n; i++) {
    const list = members.get(groups[i]!)
    if (list) list.push(i)
    else members.set(groups[i]!, [i])
  }
  // Groups in order of their first row, split by class (majority label).
  const byClass: [number[][], number[][]] = [[], []]
  for (const rows of members.values()) {
    let pos = 0
    for (const i of rows) if (y[i] === 1) pos++
    byClass[2 * pos >= rows.length && pos > 0 ? 1 : 0].push(rows)
  }
  byClass.forEach((list, c) => {
    if (list.length > 0 && list.length < k) {
      throw new RiskStreamError(
        'DATASET_INVALID',
        `class ${c} has ${list.length} distinct rows or patients, fewer than the ${k} folds`,
      )
    }
  })
  const rng = createRng(`${seed}:stratified-kfold`)
  const foldOf = new Int32Array(n)
  let slot = 0
  for (const list of byClass) {
    shuffleInPlace(list, rng)
    const load = new Float64Array(k)
    for (const rows of list) {
      let best = slot % k
      for (let step = 1; step < k; step++) {
        const f = (slot + step) % k
        if (load[f]! < load[best]!) best = f
      }
      load[best]! += rows.length
      for (const i of rows) foldOf[i] = best
      slot = best + 1
    }
  }
  const folds: Fold[] = Array.from({ length: k }, () => ({ train: [], test: [] }))
  for (let i = 0; i < n; i++) {
    for (let f = 0; f < k; f++) (f === foldOf[i] ? folds[f]!.test : folds[f]!.train).push(i)
  }
  return folds
}
