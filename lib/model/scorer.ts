/**
 * One scorer for every model family, used by cross-validation, the shipped artifact and
 * online inference alike, so "what was evaluated" is exactly "what is served".
 *
 * Tree ensembles are compiled once into typed arrays (all trees concatenated) and walked
 * per row; child selection is branch-free (see the walkers). Two layouts:
 *  - 'perfect' (ensembles ≤ 8 deep, i.e. boosting): trees padded to full depth D and stored
 *    heap-style, walked exactly D steps, four rows at a time;
 *  - 'linked' (deep forests): breadth-first with siblings adjacent, walked until a leaf,
 *    trees in the outer loop over blocks of 256 rows so a tree stays in cache.
 * bench/scoring.bench.ts measures these choices against the alternatives.
 *
 * Preprocessing (impute, then center/scale) is applied into a scratch buffer owned by the
 * scorer, so scoring allocates nothing per row. A scorer is therefore not re-entrant across
 * concurrent callers sharing one instance — fine in Node's single thread.
 */
import { RiskStreamError } from '../errors/index.ts'
import type {
  FlatTree,
  LinearModel,
  Preprocessing,
  ScorableModel,
  Scorer,
  TreeEnsembleModel,
} from './types.ts'
import { validateModel, validatePreprocessing } from './validate.ts'

/** Tuning knobs for the benchmark; production code uses the defaults. */
export interface ScorerOptions {
  /** Tree layout; default 'perfect' when the ensemble is at most 8 deep, else 'linked'. */
  layout?: 'perfect' | 'linked'
  /** Linked layout batch order: 'blocked' (default; trees outer per block of rows) or 'rows'. */
  treeLoop?: 'rows' | 'blocked'
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
export function createScorer(
  model: ScorableModel,
  preprocessing?: Preprocessing,
  options: ScorerOptions = {},
): Scorer {
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
      if (Number.isNaN(x)) x = impute[j]!
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
      throw new RiskStreamError(
        'BAD_REQUEST',
        `batch of ${nRows} rows needs ${nRows * nf} values, got ${rows.length}`,
      )
    }
    if (out && out.length < nRows)
      throw new RiskStreamError('BAD_REQUEST', `output buffer shorter than ${nRows}`)
    return out ?? new Float64Array(nRows)
  }

  const checkRow = (row: ArrayLike<number>): void => {
    if (row.length !== nf)
      throw new RiskStreamError('BAD_REQUEST', `row has ${row.length} values, expected ${nf}`)
  }

  if (model.kind === 'linear') return linearScorer(model, nf, prepRow, rowScratch, checkBatch, checkRow)

  const nTrees = model.trees.length
  const base = model.baseMargin
  const divisor = model.aggregation === 'mean' ? nTrees : 1
  const useLogistic = model.link === 'logistic'
  const finish = (s: number): number => {
    const m = base + s / divisor
    return useLogistic ? logistic(m) : m
  }
  const depth = Math.max(...model.trees.map(treeDepth))
  const layout = options.layout ?? (depth <= MAX_PERFECT_DEPTH ? 'perfect' : 'linked')
  const walker =
    layout === 'perfect' ? perfectWalker(model, depth, nf) : linkedWalker(model, nf, options.treeLoop)

  return {
    nFeatures: nf,
    scoreBatch(rows: Float64Array, nRows: number, out?: Float64Array): Float64Array {
      const o = checkBatch(rows, nRows, out)
      walker.sumBatch(prepBatch(rows, nRows), nRows, o)
      for (let r = 0; r < nRows; r++) o[r] = finish(o[r]!)
      return o
    },
    scoreOne(row: ArrayLike<number>): number {
      checkRow(row)
      if (needsPre) prepRow(row, 0, rowScratch, 0)
      else for (let j = 0; j < nf; j++) rowScratch[j] = row[j]!
      return finish(walker.sumOne(rowScratch, 0))
    },
  }
}

/** Sums of tree outputs (before aggregation/link) for one row or a batch. */
interface Walker {
  sumOne(X: Float64Array, off: number): number
  sumBatch(X: Float64Array, nRows: number, out: Float64Array): void
}

/** Ensembles at most this deep are padded to perfect trees (≤ 511 slots per tree). */
const MAX_PERFECT_DEPTH = 8
/** Rows per block when the linked layout walks trees in the outer loop. */
const ROW_BLOCK = 256

function treeDepth(t: FlatTree): number {
  const d = (i: number): number => (t.left[i] === -1 ? 0 : 1 + Math.max(d(t.left[i]!), d(t.right[i]!)))
  return d(0)
}

/*
 * Both walkers choose a child WITHOUT a branch: `+(x >= thr) | (+Number.isNaN(x) & nanRight)` is 1
 * for "second child" — x ≥ threshold, or x missing and missing goes right. On real data the
 * comparison is unpredictable, and a mispredicted branch per node costs more than the walk.
 */

/**
 * Perfect layout: every tree is padded to depth D (a leaf above depth D becomes a dummy split
 * whose subtrees all carry its value), stored heap-style: node i's children are 2i+1, 2i+2.
 * The walk is exactly D steps with no leaf test, and four rows are walked together so the
 * CPU overlaps their independent load chains.
 */
function perfectWalker(model: TreeEnsembleModel, D: number, nf: number): Walker {
  const nTrees = model.trees.length
  const NI = (1 << D) - 1
  const NL = 1 << D
  const feat = new Int32Array(nTrees * NI)
  const thr = new Float64Array(nTrees * NI)
  const nanR = new Int32Array(nTrees * NI)
  const leaf = new Float64Array(nTrees * NL)
  model.trees.forEach((t, ti) => {
    const place = (orig: number, slot: number, d: number): void => {
      if (d === D) {
        leaf[ti * NL + slot - NI] = t.value[orig]!
        return
      }
      const isLeaf = t.left[orig] === -1
      if (!isLeaf) {
        feat[ti * NI + slot] = t.feature[orig]!
        thr[ti * NI + slot] = t.threshold[orig]!
        nanR[ti * NI + slot] = t.missingLeft[orig] === 1 ? 0 : 1
      }
      place(isLeaf ? orig : t.left[orig]!, 2 * slot + 1, d + 1)
      place(isLeaf ? orig : t.right[orig]!, 2 * slot + 2, d + 1)
    }
    place(0, 0, 0)
  })
  const sumOne = (X: Float64Array, o: number): number => {
    let s = 0
    for (let t = 0; t < nTrees; t++) {
      const b = t * NI
      let i = 0
      for (let d = 0; d < D; d++) {
        const x = X[o + feat[b + i]!]!
        i = 2 * i + 1 + (+(x >= thr[b + i]!) | (+Number.isNaN(x) & nanR[b + i]!))
      }
      s += leaf[t * NL + i - NI]!
    }
    return s
  }
  return {
    sumOne,
    sumBatch(X: Float64Array, nRows: number, out: Float64Array): void {
      let r = 0
      for (; r + 4 <= nRows; r += 4) {
        const o0 = r * nf
        const o1 = o0 + nf
        const o2 = o1 + nf
        const o3 = o2 + nf
        let s0 = 0
        let s1 = 0
        let s2 = 0
        let s3 = 0
        for (let t = 0; t < nTrees; t++) {
          const b = t * NI
          let i0 = 0
          let i1 = 0
          let i2 = 0
          let i3 = 0
          for (let d = 0; d < D; d++) {
            const x0 = X[o0 + feat[b + i0]!]!
            const x1 = X[o1 + feat[b + i1]!]!
            const x2 = X[o2 + feat[b + i2]!]!
            const x3 = X[o3 + feat[b + i3]!]!
            i0 = 2 * i0 + 1 + (+(x0 >= thr[b + i0]!) | (+Number.isNaN(x0) & nanR[b + i0]!))
            i1 = 2 * i1 + 1 + (+(x1 >= thr[b + i1]!) | (+Number.isNaN(x1) & nanR[b + i1]!))
            i2 = 2 * i2 + 1 + (+(x2 >= thr[b + i2]!) | (+Number.isNaN(x2) & nanR[b + i2]!))
            i3 = 2 * i3 + 1 + (+(x3 >= thr[b + i3]!) | (+Number.isNaN(x3) & nanR[b + i3]!))
          }
          const lb = t * NL - NI
          s0 += leaf[lb + i0]!
          s1 += leaf[lb + i1]!
          s2 += leaf[lb + i2]!
          s3 += leaf[lb + i3]!
        }
        out[r] = s0
        out[r + 1] = s1
        out[r + 2] = s2
        out[r + 3] = s3
      }
      for (; r < nRows; r++) out[r] = sumOne(X, r * nf)
    },
  }
}

/**
 * Linked layout for deep trees (random forests): breadth-first, siblings adjacent, walk until
 * a leaf. Batch scoring is blocked: for each block of rows, trees in the outer loop, so one
 * tree's nodes stay in cache while the block's rows go through it.
 */
function linkedWalker(model: TreeEnsembleModel, nf: number, loop: ScorerOptions['treeLoop']): Walker {
  const { roots, kid, feature, threshold, nanRight, value } = compileTrees(model)
  const nTrees = roots.length
  const walk = (X: Float64Array, off: number, root: number): number => {
    let n = root
    let k = kid[n]!
    while (k !== -1) {
      const x = X[off + feature[n]!]!
      n = k + (+(x >= threshold[n]!) | (+Number.isNaN(x) & nanRight[n]!))
      k = kid[n]!
    }
    return value[n]!
  }
  const sumOne = (X: Float64Array, off: number): number => {
    let s = 0
    for (let t = 0; t < nTrees; t++) s += walk(X, off, roots[t]!)
    return s
  }
  return {
    sumOne,
    sumBatch(X: Float64Array, nRows: number, out: Float64Array): void {
      if (loop === 'rows') {
        for (let r = 0; r < nRows; r++) out[r] = sumOne(X, r * nf)
        return
      }
      out.fill(0, 0, nRows)
      for (let r0 = 0; r0 < nRows; r0 += ROW_BLOCK) {
        const r1 = Math.min(nRows, r0 + ROW_BLOCK)
        for (let t = 0; t < nTrees; t++) {
          const root = roots[t]!
          for (let r = r0; r < r1; r++) out[r]! += walk(X, r * nf, root)
        }
      }
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
