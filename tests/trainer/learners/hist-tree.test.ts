import { describe, expect, it } from 'vitest'
import { applyBins, binValue, fitBins, MISSING_BIN } from '../../../trainer/learners/binning.ts'
import { growTree, type HistTreeParams, predictTree } from '../../../trainer/learners/hist-tree.ts'

const PARAMS: HistTreeParams = {
  maxDepth: 1,
  maxLeafNodes: 0,
  minSamplesLeaf: 1,
  minChildWeight: 0,
  lambda: 0,
  minGainToSplit: 0,
  maxFeatures: 0,
}

/** One-feature tree with gradient −y, hessian 1 (the random forest's setting). */
function fitOneFeature(x: number[], y: number[], params: Partial<HistTreeParams> = {}) {
  const X = Float64Array.from(x)
  const mapper = fitBins(X, x.length, 1)
  const binned = applyBins(mapper, X, x.length)
  const grad = Float64Array.from(y, (v) => -v)
  const hess = new Float64Array(x.length).fill(1)
  const rows = Int32Array.from(x.keys())
  return { X, ...growTree({ mapper, binned, grad, hess }, rows, { ...PARAMS, ...params }) }
}

describe('binning', () => {
  it('cuts at midpoints between distinct values and keeps a separate missing bin', () => {
    const X = Float64Array.from([3, 1, 2, 2, Number.NaN])
    const mapper = fitBins(X, 5, 1)
    expect(Array.from(mapper.thresholds[0]!)).toEqual([1.5, 2.5])
    expect(Array.from(applyBins(mapper, X, 5))).toEqual([2, 0, 1, 1, MISSING_BIN])
    // bin <= b  ⇔  x < thresholds[b], the exported trees' rule
    expect(binValue(mapper.thresholds[0]!, 1.5)).toBe(1)
    expect(binValue(mapper.thresholds[0]!, 1.4999)).toBe(0)
  })

  it('caps the bin count at maxBins with quantile cuts', () => {
    const n = 10_000
    const X = Float64Array.from({ length: n }, (_, i) => i * 0.37)
    const mapper = fitBins(X, n, 1, 16)
    expect(mapper.thresholds[0]!.length).toBe(15)
    const counts = new Array(16).fill(0)
    for (const b of applyBins(mapper, X, n)) counts[b]++
    for (const c of counts) expect(Math.abs(c - n / 16)).toBeLessThanOrEqual(1)
  })
})

describe('hist tree', () => {
  it('splits a perfectly separable 1-D case at the midpoint between the classes', () => {
    const t = fitOneFeature([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
    expect(t.tree.feature[0]).toBe(0)
    expect(t.tree.threshold[0]).toBe(5.5)
    expect(t.tree.value[t.tree.left[0]!]).toBe(0)
    expect(t.tree.value[t.tree.right[0]!]).toBe(1)
  })

  it('learns to send missing values right when they look like the right side', () => {
    const x = [1, 2, 3, 4, Number.NaN, Number.NaN, 7, 8]
    const t = fitOneFeature(x, [0, 0, 0, 0, 1, 1, 1, 1])
    expect(t.tree.threshold[0]).toBe(5.5)
    expect(t.tree.missingLeft[0]).toBe(0)
    expect(predictTree(t.tree, Float64Array.of(Number.NaN), 1, 0)).toBe(1)
  })

  it('learns to send missing values left when they look like the left side', () => {
    const x = [1, 2, 3, 4, Number.NaN, Number.NaN, 7, 8]
    const t = fitOneFeature(x, [0, 0, 0, 0, 0, 0, 1, 1])
    expect(t.tree.threshold[0]).toBe(5.5)
    expect(t.tree.missingLeft[0]).toBe(1)
    expect(predictTree(t.tree, Float64Array.of(Number.NaN), 1, 0)).toBe(0)
    expect(predictTree(t.tree, Float64Array.of(7), 1, 0)).toBe(1)
  })

  it('gives leaf values −G/(H+λ) on a hand-computed depth-1 fixture', () => {
    // x = 1..4, g = [−1, −2, 1, 3], h = [1, 1, 2, 2], λ = 1. Gains G_L²/(H_L+1) + G_R²/(H_R+1) − G²/(H+1):
    //   cut 1.5: 1/2 + 4/6 − 1/7 = 1.024;  cut 2.5: 9/3 + 16/5 − 1/7 = 6.057;  cut 3.5: 4/5 + 9/3 − 1/7 = 3.657
    // → cut 2.5, left −(−3)/(2+1) = 1, right −4/(4+1) = −0.8.
    const X = Float64Array.of(1, 2, 3, 4)
    const mapper = fitBins(X, 4, 1)
    const grown = growTree(
      {
        mapper,
        binned: applyBins(mapper, X, 4),
        grad: Float64Array.of(-1, -2, 1, 3),
        hess: Float64Array.of(1, 1, 2, 2),
      },
      Int32Array.of(0, 1, 2, 3),
      { ...PARAMS, lambda: 1 },
    )
    const { tree } = grown
    expect(tree.threshold[0]).toBe(2.5)
    expect(tree.value[tree.left[0]!]).toBeCloseTo(1, 12)
    expect(tree.value[tree.right[0]!]).toBeCloseTo(-0.8, 12)
    expect(tree.value[0]).toBeCloseTo(-1 / 7, 12)
    // The leaves own exactly their rows.
    const owned = grown.leaves.map((l) => Array.from(grown.rows.subarray(l.start, l.end)).sort())
    expect(owned).toEqual([
      [0, 1],
      [2, 3],
    ])
  })

  it('respects min_samples_leaf and max_leaf_nodes', () => {
    const x = Array.from({ length: 40 }, (_, i) => i)
    const y = x.map((v) => (v % 7 < 3 ? 1 : 0))
    const t = fitOneFeature(x, y, { maxDepth: 0, maxLeafNodes: 5, minSamplesLeaf: 4 })
    const leaves = t.leaves
    expect(leaves.length).toBeLessThanOrEqual(5)
    for (const l of leaves) expect(l.end - l.start).toBeGreaterThanOrEqual(4)
  })
})
