/**
 * Histogram gradient boosting for binary log-loss (family 'gradient_boosting'), in the style
 * of scikit-learn's HistGradientBoostingClassifier. We write our own because no maintained
 * npm package offers histogram gradient boosting.
 *
 * Each iteration fits one hist tree to the log-loss gradient g = p − y and hessian
 * h = p(1 − p) of the current margins; leaf values −G/(H+λ) are scaled by the learning rate.
 * The initial margin is the log-odds of the training prevalence. The export is a
 * TreeEnsembleModel with aggregation 'sum' and a logistic link.
 */
import type { FlatTree, TreeEnsembleModel } from '../../lib/model/types.ts'
import { applyBins, fitBins, MAX_BINS } from './binning.ts'
import { createWorkspace, growTree, predictTree, scaleTree } from './hist-tree.ts'
import { createRng } from './random.ts'
import type { Dataset, Learner, ParamSpace, TrainedModel } from './types.ts'

export interface GradientBoostingParams {
  [key: string]: number | boolean
  learning_rate: number
  /** Number of boosting iterations (trees). */
  max_iter: number
  /** 0 = unlimited (then max_leaf_nodes bounds the tree). */
  max_depth: number
  /** 0 = unlimited. */
  max_leaf_nodes: number
  min_samples_leaf: number
  l2_regularization: number
  max_bins: number
  /** Off by default: holding out rows makes the model depend on the seed. */
  early_stopping: boolean
  validation_fraction: number
  n_iter_no_change: number
}

export const GRADIENT_BOOSTING_DEFAULTS: GradientBoostingParams = {
  learning_rate: 0.05,
  max_iter: 100,
  max_depth: 3,
  max_leaf_nodes: 31,
  min_samples_leaf: 20,
  l2_regularization: 1,
  max_bins: MAX_BINS,
  early_stopping: false,
  validation_fraction: 0.1,
  n_iter_no_change: 10,
}

const SEARCH_SPACE: ParamSpace = {
  learning_rate: { type: 'float', min: 0.01, max: 0.3, log: true },
  max_iter: { type: 'int', min: 50, max: 400 },
  max_depth: { type: 'int', min: 2, max: 6 },
  max_leaf_nodes: { type: 'int', min: 4, max: 48 },
  min_samples_leaf: { type: 'int', min: 5, max: 60 },
  l2_regularization: { type: 'float', min: 0.01, max: 10, log: true },
}

/** Hessians below this are clamped so a confidently-fitted row cannot blow up a leaf value. */
const MIN_HESSIAN = 1e-16
/** Smallest hessian sum a child may have (scikit-learn's min_hessian_to_split). */
const MIN_CHILD_WEIGHT = 1e-3

export const sigmoid = (m: number): number => 1 / (1 + Math.exp(-m))

/** Log-odds of the prevalence, clamped so an all-one-class fold gives a finite margin. */
export function baseMarginOf(y: Uint8Array, rows: ArrayLike<number>): number {
  let pos = 0
  for (let i = 0; i < rows.length; i++) pos += y[rows[i]!]!
  const p = Math.min(Math.max(pos / Math.max(1, rows.length), 1e-6), 1 - 1e-6)
  return Math.log(p / (1 - p))
}

function subset(data: Dataset, rows: ArrayLike<number>): Dataset {
  const nf = data.nFeatures
  const X = new Float64Array(rows.length * nf)
  const y = new Uint8Array(rows.length)
  for (let i = 0; i < rows.length; i++) {
    X.set(data.X.subarray(rows[i]! * nf, rows[i]! * nf + nf), i * nf)
    y[i] = data.y[rows[i]!]!
  }
  return { X, y, nRows: rows.length, nFeatures: nf }
}

/** Stratified hold-out for early stopping: `fraction` of each class, chosen by the seed. */
function holdOut(data: Dataset, fraction: number, seed: number): { train: number[]; valid: number[] } {
  const rng = createRng(`gb-holdout-${seed}`)
  const train: number[] = []
  const valid: number[] = []
  for (const cls of [0, 1]) {
    const idx: number[] = []
    for (let r = 0; r < data.nRows; r++) if (data.y[r] === cls) idx.push(r)
    for (let i = idx.length - 1; i > 0; i--) {
      const j = rng.int(i + 1)
      ;[idx[i], idx[j]] = [idx[j]!, idx[i]!]
    }
    const k = Math.round(idx.length * fraction)
    valid.push(...idx.slice(0, k))
    train.push(...idx.slice(k))
  }
  return { train: train.sort((a, b) => a - b), valid: valid.sort((a, b) => a - b) }
}

function logLossOf(y: Uint8Array, margins: Float64Array): number {
  let s = 0
  for (let i = 0; i < y.length; i++) {
    // log(1 + e^m) − y·m, computed stably.
    const m = margins[i]!
    s += (m > 0 ? m + Math.log1p(Math.exp(-m)) : Math.log1p(Math.exp(m))) - y[i]! * m
  }
  return s / Math.max(1, y.length)
}

export function fitGradientBoosting(
  data: Dataset,
  params: GradientBoostingParams,
  seed: number,
): TrainedModel {
  const p = { ...GRADIENT_BOOSTING_DEFAULTS, ...params }
  let train = data
  let valid: Dataset | null = null
  if (p.early_stopping) {
    const split = holdOut(data, p.validation_fraction, seed)
    train = subset(data, split.train)
    valid = subset(data, split.valid)
  }
  const n = train.nRows
  const nf = train.nFeatures
  const mapper = fitBins(train.X, n, nf, p.max_bins)
  const binned = applyBins(mapper, train.X, n)
  const allRows = Int32Array.from({ length: n }, (_, i) => i)
  const baseMargin = baseMarginOf(train.y, allRows)
  const margins = new Float64Array(n).fill(baseMargin)
  const grad = new Float64Array(n)
  const hess = new Float64Array(n)
  const validMargins = valid ? new Float64Array(valid.nRows).fill(baseMargin) : null
  const trees: FlatTree[] = []
  let bestLoss = Number.POSITIVE_INFINITY
  let bestIter = 0
  const treeParams = {
    maxDepth: p.max_depth,
    maxLeafNodes: p.max_leaf_nodes,
    minSamplesLeaf: p.min_samples_leaf,
    minChildWeight: MIN_CHILD_WEIGHT,
    lambda: p.l2_regularization,
    minGainToSplit: 0,
    maxFeatures: 0,
  }
  const workspace = createWorkspace()

  for (let it = 0; it < p.max_iter; it++) {
    for (let i = 0; i < n; i++) {
      const pr = sigmoid(margins[i]!)
      grad[i] = pr - train.y[i]!
      hess[i] = Math.max(pr * (1 - pr), MIN_HESSIAN)
    }
    const grown = growTree({ mapper, binned, grad, hess }, allRows.slice(), treeParams, undefined, workspace)
    const tree = scaleTree(grown.tree, p.learning_rate)
    // Training margins are updated from the leaf row ranges: no need to walk the tree.
    for (const leaf of grown.leaves) {
      const v = tree.value[leaf.node]!
      for (let i = leaf.start; i < leaf.end; i++) margins[grown.rows[i]!]! += v
    }
    trees.push(tree)
    if (valid && validMargins) {
      for (let r = 0; r < valid.nRows; r++) validMargins[r]! += predictTree(tree, valid.X, nf, r)
      const loss = logLossOf(valid.y, validMargins)
      if (loss < bestLoss - 1e-7) {
        bestLoss = loss
        bestIter = it + 1
      } else if (it + 1 - bestIter >= p.n_iter_no_change) break
    }
  }
  if (valid) trees.length = Math.max(1, bestIter)

  const model: TreeEnsembleModel = {
    kind: 'tree_ensemble',
    nFeatures: nf,
    trees,
    baseMargin,
    aggregation: 'sum',
    link: 'logistic',
  }
  return {
    family: 'gradient_boosting',
    predictProba(X: Float64Array, nRows: number): Float64Array {
      const out = new Float64Array(nRows)
      for (let r = 0; r < nRows; r++) {
        let m = baseMargin
        for (const t of trees) m += predictTree(t, X, nf, r)
        out[r] = sigmoid(m)
      }
      return out
    },
    export: () => ({ model: structuredClone(model), preprocessing: { impute: new Array(nf).fill(null) } }),
  }
}

export const gradientBoostingLearner: Learner<GradientBoostingParams> = {
  family: 'gradient_boosting',
  defaults: GRADIENT_BOOSTING_DEFAULTS,
  searchSpace: SEARCH_SPACE,
  fit: fitGradientBoosting,
}
