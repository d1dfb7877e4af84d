/**
 * One histogram tree learner (LightGBM's and scikit-learn's HistGradientBoosting algorithm)
 * shared by gradient boosting and the random forest, over rows pre-binned by binning.ts.
 */
import type { FlatTree } from '../../lib/model/types.ts'
import { type BinMapper, HIST_BINS, MISSING_BIN } from './binning.ts'
import type { Rng } from './random.ts'

export interface HistTreeParams {
  /** Maximum depth (root = depth 0); 0 means unlimited. */
  maxDepth: number
  /** Maximum number of leaves; 0 means unlimited. */
  maxLeafNodes: number
  /** Minimum rows in each child of a split. */
  minSamplesLeaf: number
  /** Minimum hessian sum in each child of a split. */
  minChildWeight: number
  /** L2 regularisation of leaf values (λ). */
  lambda: number
  /** A split must improve the objective by more than this. */
  minGainToSplit: number
  /** Features considered per split (sampled without replacement); >= nFeatures means all. */
  maxFeatures: number
}

/** Training data as the grower sees it; gradients and hessians are indexed by row. */
export interface GrowInput {
  mapper: BinMapper
  /** Row-major bins from applyBins(): binned[r * nFeatures + f]. */
  binned: Uint8Array
  grad: Float64Array
  hess: Float64Array
}

export interface GrownTree {
  tree: FlatTree
  /** The row permutation after growth: leaf `i` owns rows[leaves[i].start .. leaves[i].end). */
  rows: Int32Array
  leaves: { node: number; start: number; end: number }[]
}

/** Reusable scratch across the trees of one ensemble (saves re-allocating histograms). */
export interface TreeWorkspace {
  pool: Float64Array[]
  scratch: Int32Array
}

export function createWorkspace(): TreeWorkspace {
  return { pool: [], scratch: new Int32Array(0) }
}

interface Split {
  gain: number
  feature: number
  /** Rows with bin <= bin go left (-1: no non-missing value goes left). */
  bin: number
  missingLeft: boolean
  gL: number
  hL: number
  nL: number
  gR: number
  hR: number
  nR: number
}

interface NodeState {
  id: number
  start: number
  end: number
  depth: number
  g: number
  h: number
  n: number
  /** Histogram (HIST_BINS × 3 slots per feature: grad, hess, count), null when not needed. */
  hist: Float64Array | null
  /** Features whose histogram slots are filled (all, or the sampled subset). */
  features: number[]
  split: Split | null
}

const STRIDE = HIST_BINS * 3

/**
 * Grows one tree over `rows` (ascending row indices, duplicates allowed for bootstrap
 * samples; it is permuted in place). Deterministic for a given input and rng state.
 * Best-first growth (largest gain first) bounded by max depth and/or leaf count; the larger
 * child's histogram is the parent's minus the smaller's, so only the smaller is scanned.
 * Missing values have their own bin and each split tries them on both sides. Gain
 * G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ), leaf −G/(H+λ): with gradient −y, hessian 1 and λ = 0
 * that is the squared-error (Gini) reduction and the fraction of positives, as the forest uses.
 */
export function growTree(
  input: GrowInput,
  rows: Int32Array,
  params: HistTreeParams,
  rng?: Rng,
  workspace?: TreeWorkspace,
): GrownTree {
  const nf = input.mapper.nFeatures
  const nBins = input.mapper.thresholds.map((t) => t.length + 1)
  const sampleFeatures = params.maxFeatures > 0 && params.maxFeatures < nf
  if (sampleFeatures && !rng) throw new Error('growTree: feature subsampling needs an rng')
  const { grad, hess } = input

  const feature: number[] = []
  const threshold: number[] = []
  const left: number[] = []
  const right: number[] = []
  const missingLeft: number[] = []
  const value: number[] = []
  const newNode = (g: number, h: number): number => {
    feature.push(-1)
    threshold.push(0)
    left.push(-1)
    right.push(-1)
    missingLeft.push(0)
    value.push(-g / (h + params.lambda) + 0) // + 0 turns −0 (a leaf with G = 0) into 0
    return value.length - 1
  }

  // Histogram buffers are recycled: a tree needs only a handful alive at a time.
  const pool = workspace?.pool ?? []
  let scratch = workspace?.scratch ?? new Int32Array(0)
  const takeHist = (): Float64Array => pool.pop() ?? new Float64Array(nf * STRIDE)
  const dropHist = (s: NodeState): void => {
    if (s.hist) pool.push(s.hist)
    s.hist = null
  }

  const allFeatures = Array.from({ length: nf }, (_, f) => f)
  const pickFeatures = (): number[] => {
    if (!sampleFeatures) return allFeatures
    // Partial Fisher–Yates: the first maxFeatures entries are a uniform sample.
    const a = allFeatures.slice()
    for (let i = 0; i < params.maxFeatures; i++) {
      const j = i + rng!.int(nf - i)
      const t = a[i]!
      a[i] = a[j]!
      a[j] = t
    }
    return a.slice(0, params.maxFeatures).sort((x, y) => x - y)
  }

  const buildHist = (s: NodeState): void => {
    const hist = takeHist()
    const { binned } = input
    const feats = s.features
    const nSel = feats.length
    for (const f of feats) {
      const o = f * STRIDE
      // Only the feature's value bins and its missing slot are ever read: clear just those.
      hist.fill(0, o, o + nBins[f]! * 3)
      hist.fill(0, o + MISSING_BIN * 3, o + STRIDE)
    }
    // Rows outer, features inner: one row's bins, gradient and hessian are read once.
    for (let i = s.start; i < s.end; i++) {
      const r = rows[i]!
      const g = grad[r]!
      const h = hess[r]!
      const rb = r * nf
      for (let q = 0; q < nSel; q++) {
        const f = feats[q]!
        const k = f * STRIDE + binned[rb + f]! * 3
        hist[k] += g
        hist[k + 1] += h
        hist[k + 2] += 1
      }
    }
    s.hist = hist
  }

  const canSplit = (s: NodeState): boolean =>
    (params.maxDepth <= 0 || s.depth < params.maxDepth) && s.n >= 2 * Math.max(1, params.minSamplesLeaf)

  const findSplit = (s: NodeState): Split | null => {
    const hist = s.hist!
    const lambda = params.lambda
    const minN = Math.max(1, params.minSamplesLeaf)
    const minH = params.minChildWeight
    const parentScore = (s.g * s.g) / (s.h + lambda)
    let best: Split | null = null
    for (const f of s.features) {
      const o = f * STRIDE
      const nb = input.mapper.thresholds[f]!.length + 1
      const mk = o + MISSING_BIN * 3
      const mG = hist[mk]!
      const mH = hist[mk + 1]!
      const mN = hist[mk + 2]!
      let gL = 0
      let hL = 0
      let nL = 0
      for (let b = -1; b < nb; b++) {
        if (b >= 0) {
          const k = o + b * 3
          // An empty bin moves no row: the split after it equals the one before it, which
          // was already tried with the smaller threshold.
          if (hist[k + 2] === 0) continue
          gL += hist[k]!
          hL += hist[k + 1]!
          nL += hist[k + 2]!
        }
        // Try missing → right, then missing → left (the second wins only if strictly better;
        // with no missing rows both are the same split and missing follows the larger child).
        for (let dir = 0; dir < 2; dir++) {
          const ml = dir === 1
          if (ml && mN === 0) continue
          const gl = ml ? gL + mG : gL
          const hl = ml ? hL + mH : hL
          const nl = ml ? nL + mN : nL
          const gr = s.g - gl
          const hr = s.h - hl
          const nr = s.n - nl
          if (nl < minN || nr < minN || hl < minH || hr < minH) continue
          const gain = (gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - parentScore
          if (best === null || gain > best.gain) {
            best = {
              gain,
              feature: f,
              bin: b,
              missingLeft: mN === 0 ? nl >= nr : ml,
              gL: gl,
              hL: hl,
              nL: nl,
              gR: gr,
              hR: hr,
              nR: nr,
            }
          }
        }
      }
    }
    // Tiny positive gains are floating-point noise, not structure.
    if (best === null || !(best.gain > params.minGainToSplit + 1e-12 * Math.max(1, Math.abs(parentScore))))
      return null
    return best
  }

  /**
   * Stable partition of [start, end): rows going left first, both sides keeping their order.
   * Rows start ascending, so every node's rows stay ascending and histogram building reads
   * gradients and bins in memory order (much kinder to the cache than a swapped order).
   */
  const partition = (s: NodeState, sp: Split): number => {
    const f = sp.feature
    const { binned } = input
    const bin = sp.bin
    const ml = sp.missingLeft
    if (scratch.length < s.end - s.start) scratch = new Int32Array(rows.length)
    let l = s.start
    let nr = 0
    for (let i = s.start; i < s.end; i++) {
      const r = rows[i]!
      const b = binned[r * nf + f]!
      if (b === MISSING_BIN ? ml : b <= bin) rows[l++] = r
      else scratch[nr++] = r
    }
    rows.set(scratch.subarray(0, nr), l)
    return l
  }

  // Root.
  let g0 = 0
  let h0 = 0
  for (let i = 0; i < rows.length; i++) {
    g0 += grad[rows[i]!]!
    h0 += hess[rows[i]!]!
  }
  const root: NodeState = {
    id: newNode(g0, h0),
    start: 0,
    end: rows.length,
    depth: 0,
    g: g0,
    h: h0,
    n: rows.length,
    hist: null,
    features: pickFeatures(),
    split: null,
  }
  const leaves: GrownTree['leaves'] = []
  const candidates: NodeState[] = []
  const finalize = (s: NodeState): void => {
    dropHist(s)
    leaves.push({ node: s.id, start: s.start, end: s.end })
  }
  const consider = (s: NodeState): void => {
    if (s.hist) s.split = canSplit(s) ? findSplit(s) : null
    if (s.split) candidates.push(s)
    else finalize(s)
  }
  if (canSplit(root)) buildHist(root)
  consider(root)

  const maxLeaves = params.maxLeafNodes > 0 ? params.maxLeafNodes : Number.POSITIVE_INFINITY
  while (candidates.length > 0) {
    if (leaves.length + candidates.length >= maxLeaves) break
    // Best-first: expand the candidate with the largest gain (first one on ties).
    let bi = 0
    for (let i = 1; i < candidates.length; i++)
      if (candidates[i]!.split!.gain > candidates[bi]!.split!.gain) bi = i
    const s = candidates.splice(bi, 1)[0]!
    const sp = s.split!
    const mid = partition(s, sp)
    const thr = input.mapper.thresholds[sp.feature]!
    feature[s.id] = sp.feature
    // bin -1 / last bin: all non-missing rows go right / left, whatever their value.
    threshold[s.id] = sp.bin < 0 ? -Number.MAX_VALUE : sp.bin >= thr.length ? Number.MAX_VALUE : thr[sp.bin]!
    missingLeft[s.id] = sp.missingLeft ? 1 : 0
    const l: NodeState = {
      id: newNode(sp.gL, sp.hL),
      start: s.start,
      end: mid,
      depth: s.depth + 1,
      g: sp.gL,
      h: sp.hL,
      n: sp.nL,
      hist: null,
      features: [],
      split: null,
    }
    const r: NodeState = {
      id: newNode(sp.gR, sp.hR),
      start: mid,
      end: s.end,
      depth: s.depth + 1,
      g: sp.gR,
      h: sp.hR,
      n: sp.nR,
      hist: null,
      features: [],
      split: null,
    }
    left[s.id] = l.id
    right[s.id] = r.id
    const lSplit = canSplit(l)
    const rSplit = canSplit(r)
    if (sampleFeatures) {
      // Each node draws its own features, so histograms are built directly (no subtraction).
      dropHist(s)
      if (lSplit) {
        l.features = pickFeatures()
        buildHist(l)
      }
      if (rSplit) {
        r.features = pickFeatures()
        buildHist(r)
      }
    } else if (lSplit && rSplit) {
      // Scan the smaller child; the larger one's histogram is parent − smaller, in place.
      const [small, large] = l.n <= r.n ? [l, r] : [r, l]
      small.features = allFeatures
      large.features = allFeatures
      buildHist(small)
      const ph = s.hist!
      const sh = small.hist!
      for (let k = 0; k < ph.length; k++) ph[k] -= sh[k]!
      large.hist = ph
      s.hist = null
    } else {
      dropHist(s)
      for (const c of [l, r]) {
        if (canSplit(c)) {
          c.features = allFeatures
          buildHist(c)
        }
      }
    }
    consider(l)
    consider(r)
  }
  for (const s of candidates) finalize(s)
  leaves.sort((a, b) => a.node - b.node)
  if (workspace) workspace.scratch = scratch
  return { tree: { feature, threshold, left, right, missingLeft, value }, rows, leaves }
}

/** Output of one tree for row `r` of a row-major matrix: a plain reference walker. */
export function predictTree(tree: FlatTree, X: Float64Array, nFeatures: number, r: number): number {
  let i = 0
  while (tree.left[i] !== -1) {
    const x = X[r * nFeatures + tree.feature[i]!]!
    const goLeft = Number.isNaN(x) ? tree.missingLeft[i] === 1 : x < tree.threshold[i]!
    i = goLeft ? tree.left[i]! : tree.right[i]!
  }
  return tree.value[i]!
}

/** Multiplies every node value by `factor` (boosting's learning rate), in place. */
export function scaleTree(tree: FlatTree, factor: number): FlatTree {
  for (let i = 0; i < tree.value.length; i++) tree.value[i]! *= factor
  return tree
}
