/**
 * The normed Wasserstein statistic on the reference grid (lib/stats/statistics/wasserstein.ts),
 * checked against the exact W₁ of the binned points computed another way (sorted-sample
 * transport), against scale invariance, and on the Pima data for a known shift.
 */
import { describe, expect, it } from 'vitest'
import { configWith } from '../../../lib/config/index.ts'
import { loadPima } from '../../../lib/data/pima.ts'
import { binCounts, buildReference, DRIFT_GRID_BINS, DRIFT_STATISTICS } from '../../../lib/stats/index.ts'
import type { ReferenceDistribution } from '../../../lib/stats/reference.ts'

const W = DRIFT_STATISTICS.wasserstein

/** W₁ of two equal-size samples = mean |sorted a − sorted b|. */
function exactW1(a: number[], b: number[]): number {
  const x = [...a].sort((p, q) => p - q)
  const y = [...b].sort((p, q) => p - q)
  return x.reduce((s, v, i) => s + Math.abs(v - y[i]!), 0) / x.length
}

describe('Wasserstein on the reference grid', () => {
  // Edges 1, 2, 3 → bins (−∞,1], (1,2], (2,3], (3,∞) standing for points 1, 1.5, 2.5, 3.
  const ref: ReferenceDistribution = {
    edges: [1, 2, 3],
    shares: [0.25, 0.25, 0.25, 0.25],
    missingShare: 0,
    n: 4,
  }
  const points = [1, 1.5, 2.5, 3]
  const refSd = (() => {
    const m = points.reduce((s, x) => s + x, 0) / 4
    return Math.sqrt(points.reduce((s, x) => s + (x - m) ** 2, 0) / 4)
  })()

  it('is the transport distance between the bins’ points, in reference SDs', () => {
    // Window: everything in the top bin → every unit of mass moves to 3.
    const got = W.compute(ref, [0, 0, 0, 8, 0])
    expect(got).toBeCloseTo(exactW1(points, [3, 3, 3, 3]) / refSd, 12)
    // Window: mass two bins up, one bin down.
    expect(W.compute(ref, [0, 2, 4, 2, 0])).toBeCloseTo(exactW1(points, [1.5, 2.5, 2.5, 3]) / refSd, 12)
    expect(W.compute(ref, [3, 3, 3, 3, 0])).toBeCloseTo(0, 12)
  })

  it('ignores missing values and is NaN without measured values or reference spread', () => {
    expect(W.compute(ref, [1, 1, 1, 1, 50])).toBeCloseTo(0, 12)
    expect(W.compute(ref, [0, 0, 0, 0, 9])).toBeNaN()
    const flat: ReferenceDistribution = { edges: [1], shares: [1, 0], missingShare: 0, n: 1 }
    expect(W.compute(flat, [1, 1, 0])).toBeNaN()
    expect(() => W.compute(ref, [1, 2])).toThrow(expect.objectContaining({ code: 'INTERNAL' }))
  })

  it('does not depend on the feature’s unit', () => {
    const scaled: ReferenceDistribution = { ...ref, edges: ref.edges.map((e) => e * 1000) }
    expect(W.compute(scaled, [0, 2, 4, 2, 0])).toBeCloseTo(W.compute(ref, [0, 2, 4, 2, 0]), 12)
  })

  it('reads a +0.5 SD glucose shift as about half a reference SD on the fine grid, and ~0 without it', () => {
    const pima = loadPima(configWith({}).data.pimaCsvPath)
    const glucose = pima.rows.map((r) => r.glucose)
    const fine = buildReference(glucose, DRIFT_GRID_BINS.wasserstein)
    const xs = glucose.filter((x): x is number => x !== null)
    const sd = Math.sqrt(
      xs.reduce((s, x) => s + (x - xs.reduce((a, b) => a + b, 0) / xs.length) ** 2, 0) / xs.length,
    )
    const same = W.compute(fine, binCounts(fine.edges, glucose))
    const shifted = W.compute(
      fine,
      binCounts(
        fine.edges,
        glucose.map((x) => (x === null ? x : x + 0.5 * sd)),
      ),
    )
    expect(same).toBeLessThan(0.01)
    expect(shifted).toBeGreaterThan(0.4)
    expect(shifted).toBeLessThan(0.6)
  })
})
