/**
 * One scorer for every model family (cross-validation, the shipped artifact, online inference),
 * so what was evaluated is what is served. Tree layouts: 'codegen' (≤ 8 deep, generated code,
 * codegen.ts), 'perfect' (padded heap arrays, four rows at a time; where ≤ 8-deep scorers start
 * before `tieredWalker` moves them to codegen) and 'linked' (deep forests, tree-outer over
 * blocks of 256 rows); bench/scoring.bench.ts measures them. Preprocessing goes into a scratch
 * buffer owned by the scorer: nothing allocated per row, and not re-entrant.
 */
import { RiskStreamError } from '../errors/index.ts'
import { emptyPerfectForest, generateWalker, type PerfectForest } from './codegen.ts'
import type {
  FlatTree,
  LinearModel,
  Preprocessing,
  ScorableModel,
  Scorer,
  ScorerTiers,
  TreeEnsembleModel,
} from './types.ts'
import { validateModel, validatePreprocessing } from './validate.ts'

/** Tuning knobs for the benchmark; production code uses the defaults. */
export interface ScorerOptions {
  /**
   * Tree layout. Default for ensembles at most 8 deep: 'perfect' at first, 'codegen' once the
   * scorer is long-lived and the generated code is measured faster (see `tieredWalker`);
   * deeper ensembles: 'linked'. Naming a layout uses it from the first row.
   */
  layout?: 'codegen' | 'perfect' | 'linked'
  /** Linked layout batch order: 'blocked' (default; trees outer per block of rows) or 'rows'. */
  treeLoop?: 'rows' | 'blocked'
  /**
   * Called when the default layout settles: 'codegen' when scoring moved to generated code
   * (`path` says whether batches or single rows), 'perfect' when it will stay on the array walker.
   */
  onTier?: (layout: 'codegen' | 'perfect', path: 'batch' | 'one') => void
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
  const tiers: ScorerTiers = { batch: 'warming', one: 'warming' }
  const walker = treeWalker(model, depth, nf, options, tiers)
  return {
    nFeatures: nf,
    tier: () => ({ ...tiers }),
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
 * The array walkers choose a child WITHOUT a branch: `+(x >= thr) | (+Number.isNaN(x) & nanRight)` is 1
 * for "second child" — x ≥ threshold, or x missing and missing goes right. On real data the
 * comparison is unpredictable, and a mispredicted branch per node costs more than the walk.
 * Dropping the NaN term (by mapping NaN to ±Infinity up front) would be worth 25–45% here, but
 * only where all nodes on a feature send missing values the same way; the learners here choose
 * the direction per node, so it would almost never apply (generated code needs no NaN term).
 */

/** Picks the walker and keeps `tiers` (the scorer's `tier()`) up to date with it. */
function treeWalker(
  model: TreeEnsembleModel,
  depth: number,
  nf: number,
  options: ScorerOptions,
  tiers: ScorerTiers,
): Walker {
  const layout = options.layout ?? (depth <= MAX_PERFECT_DEPTH ? 'tiered' : 'linked')
  if (layout !== 'tiered') tiers.batch = tiers.one = layout
  if (layout === 'linked') return linkedWalker(model, nf, options.treeLoop)
  const forest = padToPerfect(model, depth)
  if (layout === 'perfect') return perfectWalker(forest, nf)
  if (layout === 'codegen') return generateWalker(forest, nf)
  return tieredWalker(forest, nf, (settled, path) => {
    tiers[path] = settled
    options.onTier?.(settled, path)
  })
}

/** A scorer that has scored this many rows is taken to be long-lived: it starts warming up code. */
const CODEGEN_AFTER_ROWS = 20_000
/** While warming, each block of this many batch rows sends its first rows (≤ 4 + 4) to the code. */
const WARM_BLOCK = 256
const WARM_PROBE_ROWS = 4
/** While warming, one scoreOne call in this many goes to the generated code. */
const WARM_ONE_EVERY = 8
/** Consecutive probes faster per row than the array walker that make the switch. */
const WARM_WINS = 3
/** Probes after which the generated code is given up on (never measured faster). */
const WARM_MAX_PROBES = 20_000

/**
 * Races generated code against the array walker on one path (batch or single row). The array
 * walker's per-row time is tracked as a moving average; generated code wins once WARM_WINS
 * probes in a row beat it. Until V8 has optimised every generated function a probe is 10–100×
 * slower, so the race cannot be won early by noise.
 */
class Race {
  private arrayPerRow = Number.NaN
  private wins = 0
  probes = 0
  array(ms: number, rows: number): void {
    const perRow = ms / rows
    this.arrayPerRow = Number.isNaN(this.arrayPerRow) ? perRow : 0.9 * this.arrayPerRow + 0.1 * perRow
  }
  /** Records a probe; true once the generated code has won. */
  generated(ms: number, rows: number): boolean {
    this.probes++
    this.wins = ms / rows <= this.arrayPerRow ? this.wins + 1 : 0
    return this.wins >= WARM_WINS
  }
}

/**
 * Default for shallow ensembles: the array walker first; generated code once the scorer has
 * proven long-lived and the code is measured faster. Generated code is slow until V8 has
 * optimised it — measured with 200 trees, the first ~6k rows at ~75 µs/row at depth 3 (vs
 * ~2 µs on the array walker) and ~12k rows over ~1 s at depth 6 — and compiling it takes
 * 30–170 ms for 200–1000 trees. Paid up front, that would slow every short-lived scorer (the
 * trainer makes one per fold and candidate) and stall the first batches after a model swap.
 * Warming instead sends only a few probe rows per block to the generated code, so V8 tiers it
 * up in the background while the array walker does most of the work. Scores are identical on
 * both paths (same trees, same order), so mixing them within a batch is invisible. Where the
 * code's lead is small (~10% for depth-6 batches) the probes may never show it, and the scorer
 * stays on the array walker: the switch is only made when measured. A caller that knows its
 * scorer is long-lived (inference, on loading a version) need not leave this to live traffic:
 * `warmUp` (warmup.ts) runs synthetic rows through it until it settles, before it serves.
 */
function tieredWalker(forest: PerfectForest, nf: number, onTier: ScorerOptions['onTier']): Walker {
  const array = perfectWalker(forest, nf)
  let code: Walker | null = null
  let available = true
  let seen = 0
  let batchPath: Walker = array
  let onePath: Walker = array
  const batchRace = new Race()
  const oneRace = new Race()
  let oneCalls = 0

  /** The generated walker, compiled on first need; null where it cannot be (then never again). */
  const generated = (): Walker | null => {
    if (code === null && available) {
      try {
        code = generateWalker(forest, nf)
      } catch {
        // Code generation disabled (--disallow-code-generation-from-strings), or a generator
        // bug: the array walker gives the same scores, only slower.
        available = false
        batchPath = onePath = array
        onTier?.('perfect', 'batch')
        onTier?.('perfect', 'one')
      }
    }
    return code
  }
  const settle = (race: Race, path: 'batch' | 'one', won: boolean): Walker | null => {
    if (won) onTier?.('codegen', path)
    else if (race.probes >= WARM_MAX_PROBES) onTier?.('perfect', path)
    else return null
    return won ? code : array
  }

  return {
    sumOne(X: Float64Array, off: number): number {
      if (onePath !== array || !available || seen < CODEGEN_AFTER_ROWS || oneRace.probes >= WARM_MAX_PROBES) {
        seen++
        return onePath.sumOne(X, off)
      }
      const g = generated()
      if (g === null) return array.sumOne(X, off)
      const probe = oneCalls++ % WARM_ONE_EVERY === 0
      const t0 = performance.now()
      const s = (probe ? g : array).sumOne(X, off)
      const ms = performance.now() - t0
      if (!probe) oneRace.array(ms, 1)
      else onePath = settle(oneRace, 'one', oneRace.generated(ms, 1)) ?? onePath
      return s
    },
    sumBatch(X: Float64Array, nRows: number, out: Float64Array): void {
      seen += nRows
      if (batchPath !== array || !available || seen - nRows < CODEGEN_AFTER_ROWS) {
        batchPath.sumBatch(X, nRows, out)
        return
      }
      const g = generated()
      if (g === null || batchRace.probes >= WARM_MAX_PROBES) {
        array.sumBatch(X, nRows, out)
        return
      }
      for (let r0 = 0; r0 < nRows; r0 += WARM_BLOCK) {
        const n = Math.min(WARM_BLOCK, nRows - r0)
        const Xb = X.subarray(r0 * nf)
        const ob = out.subarray(r0)
        if (batchPath !== array || batchRace.probes >= WARM_MAX_PROBES) {
          batchPath.sumBatch(Xb, nRows - r0, ob)
          return
        }
        const nProbe = Math.min(WARM_PROBE_ROWS, n >> 1)
        const t0 = performance.now()
        if (nProbe > 0) g.sumBatch(Xb, nProbe, ob)
        const t1 = performance.now()
        // As many rows through the one-row code (untimed), so that it is warm as soon as the
        // batch code is: a scorer used for batches first is then quick on single rows too.
        const nOne = Math.min(WARM_PROBE_ROWS, (n - nProbe) >> 1)
        for (let r = nProbe; r < nProbe + nOne; r++) ob[r] = g.sumOne(Xb, r * nf)
        const skip = nProbe + nOne
        const t2 = performance.now()
        array.sumBatch(Xb.subarray(skip * nf), n - skip, ob.subarray(skip))
        batchRace.array(performance.now() - t2, n - skip)
        if (nProbe > 0)
          batchPath = settle(batchRace, 'batch', batchRace.generated(t1 - t0, nProbe)) ?? batchPath
      }
    },
  }
}

/**
 * Pads every tree to depth D (a leaf above depth D becomes a dummy split whose subtrees all
 * carry its value) and stores it heap-style: node i's children are 2i+1, 2i+2.
 */
function padToPerfect(model: TreeEnsembleModel, D: number): PerfectForest {
  const nTrees = model.trees.length
  const NI = (1 << D) - 1
  const NL = 1 << D
  const f = emptyPerfectForest(nTrees, D)
  model.trees.forEach((t, ti) => {
    const place = (orig: number, slot: number, d: number): void => {
      if (d === D) {
        f.leaf[ti * NL + slot - NI] = t.value[orig]!
        return
      }
      const isLeaf = t.left[orig] === -1
      if (!isLeaf) {
        f.feature[ti * NI + slot] = t.feature[orig]!
        f.threshold[ti * NI + slot] = t.threshold[orig]!
        f.nanRight[ti * NI + slot] = t.missingLeft[orig] === 1 ? 0 : 1
        f.split[ti * NI + slot] = 1
      }
      place(isLeaf ? orig : t.left[orig]!, 2 * slot + 1, d + 1)
      place(isLeaf ? orig : t.right[orig]!, 2 * slot + 2, d + 1)
    }
    place(0, 0, 0)
  })
  return f
}

/**
 * Perfect layout: the padded trees walked exactly D steps with no leaf test, four rows
 * together so the CPU overlaps their independent load chains.
 */
function perfectWalker(forest: PerfectForest, nf: number): Walker {
  const { depth: D, nTrees, feature: feat, threshold: thr, nanRight: nanR, leaf } = forest
  const NI = (1 << D) - 1
  const NL = 1 << D
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
    tier: () => ({ batch: 'linear', one: 'linear' }),
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
