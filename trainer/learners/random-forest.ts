/**
 * Random forest (family 'random_forest') on the shared histogram tree learner: each tree grown
 * on a bootstrap sample with a fresh subset of `max_features` features per split, with gradient
 * −y, hessian 1 and no regularisation, so its leaves hold the fraction of positives and the
 * forest's mean of them is a proper P(y = 1). Exported as a 'mean' ensemble, identity link.
 */
import type { FlatTree, TreeEnsembleModel } from '../../lib/model/types.ts'
import { applyBins, fitBins, MAX_BINS } from './binning.ts'
import { createWorkspace, growTree, predictTree } from './hist-tree.ts'
import { createRng } from './random.ts'
import type { Dataset, Learner, ParamSpace, TrainedModel } from './types.ts'

export interface RandomForestParams {
  [key: string]: number | string | boolean
  n_estimators: number
  /** 0 = unlimited. */
  max_depth: number
  min_samples_leaf: number
  /** 'sqrt' | 'log2' | 'all', or a feature count (integer ≥ 1). */
  max_features: number | string
  /** Draw a bootstrap sample per tree (false: every tree sees all rows, only features vary). */
  bootstrap: boolean
  max_bins: number
}

export const RANDOM_FOREST_DEFAULTS: RandomForestParams = {
  n_estimators: 200,
  max_depth: 0,
  min_samples_leaf: 5,
  max_features: 'sqrt',
  bootstrap: true,
  max_bins: MAX_BINS,
}

const SEARCH_SPACE: ParamSpace = {
  n_estimators: { type: 'int', min: 50, max: 400 },
  max_depth: { type: 'int', min: 3, max: 16 },
  min_samples_leaf: { type: 'int', min: 1, max: 30 },
  max_features: { type: 'choice', values: ['sqrt', 'log2', 'all', 2, 3, 4] },
}

export function resolveMaxFeatures(v: number | string, nFeatures: number): number {
  if (v === 'sqrt') return Math.max(1, Math.floor(Math.sqrt(nFeatures)))
  if (v === 'log2') return Math.max(1, Math.floor(Math.log2(nFeatures)))
  if (v === 'all') return nFeatures
  const k = Number(v)
  if (!Number.isInteger(k) || k < 1)
    throw new RangeError(`max_features must be sqrt|log2|all or an integer ≥ 1, got ${v}`)
  return Math.min(k, nFeatures)
}

export function fitRandomForest(data: Dataset, params: RandomForestParams, seed: number): TrainedModel {
  const p = { ...RANDOM_FOREST_DEFAULTS, ...params }
  const { nRows: n, nFeatures: nf } = data
  const mapper = fitBins(data.X, n, nf, p.max_bins)
  const binned = applyBins(mapper, data.X, n)
  // Gradient −y, hessian 1: leaf value −G/H is the positive fraction (see header).
  const grad = new Float64Array(n)
  for (let i = 0; i < n; i++) grad[i] = -data.y[i]!
  const hess = new Float64Array(n).fill(1)
  const rng = createRng(`rf-${seed}`)
  const treeParams = {
    maxDepth: p.max_depth,
    maxLeafNodes: 0,
    minSamplesLeaf: p.min_samples_leaf,
    minChildWeight: 0,
    lambda: 0,
    minGainToSplit: 0,
    maxFeatures: resolveMaxFeatures(p.max_features, nf),
  }
  const trees: FlatTree[] = []
  const rows = new Int32Array(n)
  const workspace = createWorkspace()
  const counts = new Int32Array(n)
  for (let t = 0; t < p.n_estimators; t++) {
    if (p.bootstrap) {
      // Draw n rows with replacement, then list them in ascending order (the tree learner
      // reads rows in memory order; the multiset, not the order, defines the sample).
      counts.fill(0)
      for (let i = 0; i < n; i++) counts[rng.int(n)]!++
      let k = 0
      for (let r = 0; r < n; r++) for (let c = counts[r]!; c > 0; c--) rows[k++] = r
    } else for (let i = 0; i < n; i++) rows[i] = i
    trees.push(growTree({ mapper, binned, grad, hess }, rows, treeParams, rng, workspace).tree)
  }

  const model: TreeEnsembleModel = {
    kind: 'tree_ensemble',
    nFeatures: nf,
    trees,
    baseMargin: 0,
    aggregation: 'mean',
    link: 'identity',
  }
  return {
    family: 'random_forest',
    predictProba(X: Float64Array, nRows: number): Float64Array {
      const out = new Float64Array(nRows)
      for (let r = 0; r < nRows; r++) {
        let s = 0
        for (const tree of trees) s += predictTree(tree, X, nf, r)
        out[r] = s / trees.length
      }
      return out
    },
    export: () => ({ model: structuredClone(model), preprocessing: { impute: new Array(nf).fill(null) } }),
  }
}

export const randomForestLearner: Learner<RandomForestParams> = {
  family: 'random_forest',
  defaults: RANDOM_FOREST_DEFAULTS,
  searchSpace: SEARCH_SPACE,
  fit: fitRandomForest,
}
