/**
 * Code generation for shallow tree ensembles (the technique of treelite and lleaves, with
 * `new Function`): per model, the trees become straight-line JavaScript with feature indices
 * and thresholds as literals. The top `literalLevels` levels of a tree evaluate every node of
 * a level and pick the path with a shift (`p = 2 * p + ((bits >> p) & 1)`): independent
 * comparisons overlap where a walk is a chain of dependent loads; deeper levels continue with
 * the heap walk. Rows are the outer loop, so a row's features are loaded once. Missing values
 * cost nothing: each node's direction is baked into its operator (`x >= t` or `!(x < t)`).
 * Only validated numbers are written into the source (`numberLiteral` round-trips doubles).
 */
import { RiskStreamError } from '../errors/index.ts'

/**
 * Trees padded to perfect depth D, stored heap-style (node i's children are 2i+1, 2i+2):
 * `feature`/`threshold`/`nanRight`/`split` have 2^D − 1 slots per tree, `leaf` has 2^D.
 * A padding slot (`split` 0) sits below a leaf above depth D: both its subtrees carry the
 * leaf's value, so whichever way a row goes gives the same result.
 */
export interface PerfectForest {
  depth: number
  nTrees: number
  feature: Int32Array
  threshold: Float64Array
  /** 1 when a missing value goes right. */
  nanRight: Int32Array
  /** 1 for a real split, 0 for padding. */
  split: Uint8Array
  leaf: Float64Array
}

/** A zeroed perfect forest of `nTrees` trees of depth `depth`, to be filled slot by slot. */
export function emptyPerfectForest(nTrees: number, depth: number): PerfectForest {
  const NI = (1 << depth) - 1
  const NL = 1 << depth
  return {
    depth,
    nTrees,
    feature: new Int32Array(nTrees * NI),
    threshold: new Float64Array(nTrees * NI),
    nanRight: new Int32Array(nTrees * NI),
    split: new Uint8Array(nTrees * NI),
    leaf: new Float64Array(nTrees * NL),
  }
}

/** Sums of tree outputs (before aggregation and link): same contract as the scorer's walkers. */
export interface GeneratedWalker {
  sumOne(X: Float64Array, off: number): number
  sumBatch(X: Float64Array, nRows: number, out: Float64Array): void
}

export interface CodegenOptions {
  /** Levels compiled to literal comparisons (the rest is walked through arrays). */
  literalLevels?: number
  /** Rough size of one generated function, in comparisons. */
  chunkCost?: number
  /** Rows per block: every generated function runs over a block while it is in cache. */
  rowBlock?: number
}

/**
 * Defaults from measurements (200 trees, 8 features, random rows with 2% missing, Node 20):
 *  - 3 literal levels: at depth 3, 1.3M rows/s against 0.6M with 2 literal levels (and 0.53M
 *    for the array walker); at depth 4 a 4th literal level (8 more comparisons per tree) is
 *    ~12% slower than 3 levels + one array step, and deeper it is no better;
 *  - functions of ~100 comparisons: one function for a 200-tree ensemble ran at ~75% of the
 *    chunked rate (instruction cache, register allocation), and a function beyond V8's
 *    optimisable bytecode size (~60 KB) is never optimised and runs ~40× slower. Between 80
 *    and 150 the rate is flat, as it is for blocks of 128 to 2048 rows.
 */
const LITERAL_LEVELS = 3
const CHUNK_COST = 100
const ROW_BLOCK = 512

function corrupt(reason: string): never {
  throw new RiskStreamError('ARTIFACT_CORRUPT', `cannot compile model: ${reason}`, { details: { reason } })
}

/**
 * Source text that evaluates to exactly `v` (Object.is-equal). `String` gives the shortest
 * decimal that round-trips for every finite double; only -0 (printed "0") and the infinities
 * (names that could in principle be shadowed) need care. Negative values are parenthesised so
 * the literal can follow any operator.
 */
export function numberLiteral(v: number): string {
  if (typeof v !== 'number' || Number.isNaN(v)) corrupt(`${String(v)} is not a number`)
  let s: string
  if (v === Number.POSITIVE_INFINITY) s = '(1 / 0)'
  else if (v === Number.NEGATIVE_INFINITY) s = '(-1 / 0)'
  else if (Object.is(v, -0)) s = '(-0)'
  else s = v < 0 ? `(${String(v)})` : String(v)
  return s
}

const checkInt = (v: number, lo: number, hi: number, what: string): number => {
  if (!Number.isInteger(v) || v < lo || v > hi) corrupt(`${what} ${v} not an integer in [${lo}, ${hi}]`)
  return v
}

/** Adds trees [t0, t1) of rows r0, r0+1, …, r1−1 (r1 − r0 even) to `out`, two rows per step. */
type PairChunk = (
  X: Float64Array,
  out: Float64Array,
  r0: number,
  r1: number,
  L: Float64Array,
  F: Int32Array,
  T: Float64Array,
  N: Int32Array,
) => void
/** Adds trees [t0, t1) of the row at X[o..] to out[r]. */
type RowChunk = (
  X: Float64Array,
  o: number,
  out: Float64Array,
  r: number,
  L: Float64Array,
  F: Int32Array,
  T: Float64Array,
  N: Int32Array,
) => void

/**
 * Compiles `forest` for rows of `nf` features. Throws ARTIFACT_CORRUPT on a value that is not
 * what the layout promises, and lets an EvalError through where code generation is disabled
 * (`--disallow-code-generation-from-strings`); the scorer then falls back to the array walker.
 *
 * Every chunk of trees is compiled twice:
 *  - a pair function looping over a block of rows two at a time (the two rows' comparisons
 *    interleave, ~10% over one row at a time), for batches;
 *  - a loop-free one-row function, for scoreOne and a batch's odd last row. It must not share
 *    the pair function's code: V8 optimises a hot loop by on-stack replacement, and a function
 *    so optimised can stay unoptimised for calls that never reach the loop's back edge (seen on
 *    Node 20: single-row scoring of a depth-6 model at 10k rows/s instead of 100k+). A function
 *    without a loop is optimised the ordinary way.
 */
export function generateWalker(
  forest: PerfectForest,
  nf: number,
  opts: CodegenOptions = {},
): GeneratedWalker {
  const { feature, threshold, nanRight, split, leaf } = forest
  checkInt(nf, 1, 2 ** 24, 'nFeatures')
  const D = checkInt(forest.depth, 0, 16, 'depth')
  const nTrees = checkInt(forest.nTrees, 1, 2 ** 24, 'tree count')
  const NI = (1 << D) - 1
  const NL = 1 << D
  if (
    feature.length !== nTrees * NI ||
    threshold.length !== nTrees * NI ||
    nanRight.length !== nTrees * NI ||
    split.length !== nTrees * NI ||
    leaf.length !== nTrees * NL
  )
    corrupt('layout arrays do not match depth and tree count')
  // Every slot, literal or walked through the arrays: indices stay inside a row, and only
  // validated numbers reach the source.
  for (let k = 0; k < nTrees * NI; k++) {
    checkInt(feature[k]!, 0, nf - 1, 'feature index')
    checkInt(split[k]!, 0, 1, 'split flag')
    checkInt(nanRight[k]!, 0, 1, 'missing direction')
    if (!Number.isFinite(threshold[k]!)) corrupt(`threshold ${threshold[k]} is not finite`)
  }
  const K = Math.min(D, checkInt(opts.literalLevels ?? LITERAL_LEVELS, 0, 5, 'literal levels'))
  const chunkCost = checkInt(opts.chunkCost ?? CHUNK_COST, 1, 1e6, 'chunk cost')
  // Even, so that a block holds whole pairs.
  const rowBlock = 2 * Math.ceil(checkInt(opts.rowBlock ?? ROW_BLOCK, 1, 1e9, 'row block') / 2)

  /** 0/1 "go right" for heap slot k on lane `l`'s row, as an int32 expression; null for padding. */
  const compare = (k: number, l: number): string | null => {
    if (split[k] === 0) return null
    const x = `x${l}_${feature[k]}`
    const t = numberLiteral(threshold[k]!)
    return nanRight[k] === 1 ? `+!(${x} < ${t})` : `+(${x} >= ${t})`
  }

  /**
   * Statements adding tree t's leaf to lane l's sum `s<l>`; every lane has its own locals
   * (row offset o<l>, features x<l>_<f>, path p<l>, scratch i<l>/v<l>).
   */
  const emitTree = (t: number, l: number): string => {
    const b = t * NI
    const p = `p${l}`
    const lines: string[] = [`${p} = 0;`]
    for (let d = 0; d < K; d++) {
      const first = (1 << d) - 1
      const terms: string[] = []
      for (let j = 0; j < 1 << d; j++) {
        const c = compare(b + first + j, l)
        if (c !== null) terms.push(j === 0 ? c : `(${c} << ${j})`)
      }
      // p indexes the node on the path within level d; its bit in `terms` is its outcome.
      lines.push(
        terms.length === 0 ? `${p} = 2 * ${p};` : `${p} = 2 * ${p} + (((${terms.join(' | ')}) >> ${p}) & 1);`,
      )
    }
    if (K < D) {
      const [i, v] = [`i${l}`, `v${l}`]
      lines.push(`${p} += ${(1 << K) - 1};`)
      for (let d = K; d < D; d++)
        lines.push(
          `${i} = ${b} + ${p}; ${v} = X[o${l} + F[${i}]]; ${p} = 2 * ${p} + 1 + (+(${v} >= T[${i}]) | (+(${v} !== ${v}) & N[${i}]));`,
        )
      lines.push(`s${l} += L[${t * NL - NI} + ${p}];`)
    } else {
      lines.push(`s${l} += L[${t * NL} + ${p}];`)
    }
    return lines.join('\n')
  }

  /** Comparisons (and array steps) a tree costs, to size the chunks. */
  const treeCost = (t: number): number => {
    let c = 1 + 2 * (D - K)
    for (let d = 0; d < K; d++) for (let j = 0; j < 1 << d; j++) c += split[t * NI + (1 << d) - 1 + j]!
    return c
  }

  /** Declarations of lane l's locals; the first chunk starts each sum at 0, later ones continue it. */
  const laneHead = (l: number, feats: number[], first: boolean, r: string): string =>
    [
      ...feats.map((f) => `const x${l}_${f} = X[o${l} + ${f}];`),
      `let s${l} = ${first ? '0' : `out[${r}]`}; let p${l} = 0; let i${l} = 0; let v${l} = 0;`,
    ].join(' ')

  const pairChunks: PairChunk[] = []
  const rowChunks: RowChunk[] = []
  const args = ['L', 'F', 'T', 'N']
  const compileChunk = (t0: number, t1: number): void => {
    const used = new Set<number>()
    for (let k = t0 * NI; k < t1 * NI; k++) {
      const level = 31 - Math.clz32((k % NI) + 1)
      if (split[k] === 1 && level < K) used.add(feature[k]!)
    }
    const feats = [...used].sort((a, b) => a - b)
    const first = t0 === 0
    const trees0: string[] = []
    const trees01: string[] = []
    for (let t = t0; t < t1; t++) {
      trees0.push(emitTree(t, 0))
      trees01.push(emitTree(t, 0), emitTree(t, 1))
    }
    // Trees are added in order 0..n−1 to each row's own sum, as the array walkers add them.
    const pair = `'use strict';
for (let r = r0; r < r1; r += 2) {
const o0 = r * ${nf}; const o1 = o0 + ${nf};
${laneHead(0, feats, first, 'r')}
${laneHead(1, feats, first, 'r + 1')}
${trees01.join('\n')}
out[r] = s0; out[r + 1] = s1;
}`
    const row = `'use strict';
const o0 = o;
${laneHead(0, feats, first, 'r')}
${trees0.join('\n')}
out[r] = s0;`
    pairChunks.push(new Function('X', 'out', 'r0', 'r1', ...args, pair) as PairChunk)
    rowChunks.push(new Function('X', 'o', 'out', 'r', ...args, row) as RowChunk)
  }
  let t0 = 0
  let cost = 0
  for (let t = 0; t < nTrees; t++) {
    cost += treeCost(t)
    if (cost >= chunkCost || t === nTrees - 1) {
      compileChunk(t0, t + 1)
      t0 = t + 1
      cost = 0
    }
  }

  const one = new Float64Array(1)
  const nChunks = pairChunks.length
  return {
    sumOne(X: Float64Array, off: number): number {
      for (let c = 0; c < nChunks; c++) rowChunks[c]!(X, off, one, 0, leaf, feature, threshold, nanRight)
      return one[0]!
    },
    sumBatch(X: Float64Array, nRows: number, out: Float64Array): void {
      const nPairs = nRows - (nRows % 2)
      for (let r0 = 0; r0 < nPairs; r0 += rowBlock) {
        const r1 = Math.min(nPairs, r0 + rowBlock)
        for (let c = 0; c < nChunks; c++) pairChunks[c]!(X, out, r0, r1, leaf, feature, threshold, nanRight)
      }
      if (nPairs < nRows) {
        const r = nRows - 1
        for (let c = 0; c < nChunks; c++) rowChunks[c]!(X, r * nf, out, r, leaf, feature, threshold, nanRight)
      }
    },
  }
}
