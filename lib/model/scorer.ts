/**
 * One scorer for every model family, used by cross-validation, the shipped artifact and
 * online inference alike, so "what was evaluated" is exactly "what is served".
 *
 * Tree ensembles: at construction every tree is re-laid out into shared typed arrays
 * (all trees concatenated, breadth-first, with the two children of a node stored next to
 * each other). The walk then needs one child index per node: right = left + 1. A leaf has
 * child -1. Missing values (NaN) fail `x < threshold` and go to the stored missing side.
 *
 * Batch scoring walks ROWS in the outer loop and trees in the inner loop (the row stays in
 * registers/L1 and the node arrays of a few hundred small trees fit in L2); the opposite
 * order is kept selectable because bench/scoring.bench.ts measures both.
 *
 * Preprocessing (impute, then center/scale) is applied into a scratch buffer owned by the
 * scorer, so scoring allocates nothing per row. A scorer is therefore not re-entrant across
 * concurrent callers sharing one instance — fine in Node's single thread.
 */
import { RiskStreamError } from '../errors/index.ts'
import type { LinearModel, Preprocessing, ScorableModel, Scorer, TreeEnsembleModel } from './types.ts'
import { validateModel, validatePreprocessing } from './validate.ts'

export interface ScorerOptions {
  /** Loop order for tree-ensemble batch scoring; 'rows' (default) was faster in our bench. */
  treeLoop?: 'rows' | 'trees'
}

/** Compiled ensemble: parallel typed arrays over all nodes of all trees. */
interface CompiledTrees {
  roots: Int32Array
  /** First child's index (the second is kid + 1), -1 for a leaf. */
  kid: Int32Array
  feature: Int32Array
  threshold: Float64Array
  /** 1 when a missing value goes to the second (right) child. */
  nanRight: Int32Array
  value: Float64Array
}

/** Breadth-first relayout so siblings are adjacent; node 0 of each tree is its root. */
function compileTrees(model: TreeEnsembleModel): CompiledTrees {
  let total = 0
  for (const t of model.trees) total += t.value.length
  const c: CompiledTrees = {
    roots: new Int32Array(model.trees.length),
    kid: new Int32Array(total),
    feature: new Int32Array(total),
    threshold: new Float64Array(total),
    nanRight: new Int32Array(total),
    value: new Float64Array(total),
  }
  let next = 0
  model.trees.forEach((t, ti) => {
    c.roots[ti] = next
    // queue of [original node, new slot]
    const queue: [number, number][] = [[0, next++]]
    for (let q = 0; q < queue.length; q++) {
      const [orig, slot] = queue[q]!
      c.value[slot] = t.value[orig]!
      if (t.left[orig] === -1) {
        c.kid[slot] = -1
        continue
      }
      c.feature[slot] = t.feature[orig]!
      c.threshold[slot] = t.threshold[orig]!
      c.nanRight[slot] = t.missingLeft[orig] === 1 ? 0 : 1
      c.kid[slot] = next
      queue.push([t.left[orig]!, next], [t.right[orig]!, next + 1])
      next += 2
    }
  })
  // Unreachable nodes (allowed in the contract) are simply dropped.
  if (next < total) {
    for (const k of Object.keys(c) as (keyof CompiledTrees)[]) {
      if (k !== 'roots') c[k] = c[k].slice(0, next) as never
    }
  }
  return c
}

const logistic = (m: number): number => 1 / (1 + Math.exp(-m))

/**
 * Builds a scorer. Validates the model and preprocessing first (ARTIFACT_CORRUPT on a
 * malformed one) because the tree walker's termination depends on the tree structure.
 */
export function createScorer(model: ScorableModel, preprocessing?: Preprocessing, options: ScorerOptions = {}): Scorer {
  validateModel(model)
  const nf = model.nFeatures
  if (preprocessing) validatePreprocessing(preprocessing, nf)

  // Preprocessing as typed arrays: impute NaN = "leave missing"; identity center/scale when absent.
  const impute = new Float64Array(nf).fill(Number.NaN)
  const center = new Float64Array(nf)
  const scale = new Float64Array(nf).fill(1)
  let needsPre = false
  if (preprocessing) {
    preprocessing.impute.forEach((v, j) => {
      if (v !== null) {
        impute[j] = v
        needsPre = true
      }
    })
    if (preprocessing.center && preprocessing.scale) {
      center.set(preprocessing.center)
      scale.set(preprocessing.scale)
      needsPre = true
    }
  }
  const rowScratch = new Float64Array(nf)
  let batchScratch = new Float64Array(0)

  /** Copies one row into dst at dOff, imputing and standardising. */
  const prepRow = (src: ArrayLike<number>, sOff: number, dst: Float64Array, dOff: number): void => {
    for (let j = 0; j < nf; j++) {
      let x = src[sOff + j]!
      if (x !== x) x = impute[j]!
      dst[dOff + j] = (x - center[j]!) / scale[j]!
    }
  }

  /** Returns the matrix to walk: the input itself, or a preprocessed copy in scratch. */
  const prepBatch = (rows: Float64Array, nRows: number): Float64Array => {
    if (!needsPre) return rows
    if (batchScratch.length < nRows * nf) batchScratch = new Float64Array(nRows * nf)
    for (let r = 0; r < nRows; r++) prepRow(rows, r * nf, batchScratch, r * nf)
    return batchScratch
  }

  const checkBatch = (rows: Float64Array, nRows: number, out?: Float64Array): Float64Array => {
    if (!Number.isInteger(nRows) || nRows < 0 || rows.length < nRows * nf) {
      throw new RiskStreamError('BAD_REQUEST', `batch of ${nRows} rows needs ${nRows * nf} values, got ${rows.length}`)
    }
    if (out && out.length < nRows) throw new RiskStreamError('BAD_REQUEST', `output buffer shorter than ${nRows}`)
    return out ?? new Float64Array(nRows)
  }

  const checkRow = (row: ArrayLike<number>): void => {
    if (row.length !== nf) throw new RiskStreamError('BAD_REQUEST', `row has ${row.length} values, expected ${nf}`)
  }

  if (model.kind === 'linear') return linearScorer(model, nf, prepRow, rowScratch, checkBatch, checkRow)

  const { roots, kid, feature, threshold, nanRight, value } = compileTrees(model)
  const nTrees = roots.length
  const base = model.baseMargin
  const divisor = model.aggregation === 'mean' ? nTrees : 1
  const useLogistic = model.link === 'logistic'

  /** Sum of all trees' outputs for the row starting at X[off]. */
  const sumTrees = (X: Float64Array, off: number): number => {
    let s = 0
    for (let t = 0; t < nTrees; t++) {
      let n = roots[t]!
      let k = kid[n]!
      while (k !== -1) {
        const x = X[off + feature[n]!]!
        n = x < threshold[n]! ? k : x === x ? k + 1 : k + nanRight[n]!
        k = kid[n]!
      }
      s += value[n]!
    }
    return s
  }
  const finish = (s: number): number => {
    const m = base + s / divisor
    return useLogistic ? logistic(m) : m
  }

  const rowsOuter = (X: Float64Array, nRows: number, out: Float64Array): void => {
    for (let r = 0; r < nRows; r++) out[r] = finish(sumTrees(X, r * nf))
  }
  const treesOuter = (X: Float64Array, nRows: number, out: Float64Array): void => {
    out.fill(0, 0, nRows)
    for (let t = 0; t < nTrees; t++) {
      const root = roots[t]!
      for (let r = 0; r < nRows; r++) {
        const off = r * nf
        let n = root
        let k = kid[n]!
        while (k !== -1) {
          const x = X[off + feature[n]!]!
          n = x < threshold[n]! ? k : x === x ? k + 1 : k + nanRight[n]!
          k = kid[n]!
        }
        out[r]! += value[n]!
      }
    }
    for (let r = 0; r < nRows; r++) out[r] = finish(out[r]!)
  }
  const batch = options.treeLoop === 'trees' ? treesOuter : rowsOuter

  return {
    nFeatures: nf,
    scoreBatch(rows: Float64Array, nRows: number, out?: Float64Array): Float64Array {
      const o = checkBatch(rows, nRows, out)
      batch(prepBatch(rows, nRows), nRows, o)
      return o
    },
    scoreOne(row: ArrayLike<number>): number {
      checkRow(row)
      if (needsPre) prepRow(row, 0, rowScratch, 0)
      else for (let j = 0; j < nf; j++) rowScratch[j] = row[j]!
      return finish(sumTrees(rowScratch, 0))
    },
  }
}

function linearScorer(
  model: LinearModel,
  nf: number,
  prepRow: (src: ArrayLike<number>, sOff: number, dst: Float64Array, dOff: number) => void,
  rowScratch: Float64Array,
  checkBatch: (rows: Float64Array, nRows: number, out?: Float64Array) => Float64Array,
  checkRow: (row: ArrayLike<number>) => void,
): Scorer {
  const w = Float64Array.from(model.weights)
  const b = model.intercept
  const dot = (z: Float64Array): number => {
    let m = b
    for (let j = 0; j < nf; j++) m += w[j]! * z[j]!
    return logistic(m)
  }
  return {
    nFeatures: nf,
    scoreBatch(rows: Float64Array, nRows: number, out?: Float64Array): Float64Array {
      const o = checkBatch(rows, nRows, out)
      for (let r = 0; r < nRows; r++) {
        prepRow(rows, r * nf, rowScratch, 0)
        o[r] = dot(rowScratch)
      }
      return o
    },
    scoreOne(row: ArrayLike<number>): number {
      checkRow(row)
      prepRow(row, 0, rowScratch, 0)
      return dot(rowScratch)
    },
  }
}
