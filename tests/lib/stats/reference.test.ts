import seedrandom from 'seedrandom'
import { describe, expect, it } from 'vitest'
import { binCounts, binIndex, binSlots, buildReference } from '../../../lib/stats/reference.ts'

describe('buildReference', () => {
  it('cuts at inverted-CDF quantiles with open outer bins', () => {
    // m = 10, bins = 4: ranks ⌈10·j/4⌉ = 3, 5, 8 → edges v2 = 3, v4 = 5, v7 = 8.
    // Bins: (−∞,3] = {1,2,3}, (3,5] = {4,5}, (5,8] = {6,7,8}, (8,∞) = {9,10}.
    const ref = buildReference([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 4)
    expect(ref.edges).toEqual([3, 5, 8])
    expect(ref.shares).toEqual([0.3, 0.2, 0.3, 0.2])
    expect(ref.missingShare).toBe(0)
    expect(ref.n).toBe(10)
  })

  it('gives missing values (null and NaN) their own share and counts them in n', () => {
    const ref = buildReference([4, 3, null, 2, 1, Number.NaN, 6, 5, 8, 7, 10, 9], 4)
    expect(ref.edges).toEqual([3, 5, 8])
    expect(ref.n).toBe(12)
    expect(ref.missingShare).toBeCloseTo(2 / 12, 15)
    expect(ref.shares.map((s) => s * 12)).toEqual([3, 2, 3, 2])
    const total = ref.shares.reduce((a, b) => a + b, 0) + ref.missingShare
    expect(total).toBeCloseTo(1, 12)
  })

  it('deduplicates edges on heavily tied data and puts edge values in the lower bin', () => {
    // bins = 5: ranks 2, 4, 6, 8 → v1 = 0, v3 = 0, v5 = 0, v7 = 1 → edges [0, 1].
    const ref = buildReference([0, 0, 0, 0, 0, 0, 1, 1, 2, 5], 5)
    expect(ref.edges).toEqual([0, 1])
    expect(ref.shares).toEqual([0.6, 0.2, 0.2])
  })

  it('never leaves an interior bin empty on random integer data', () => {
    const rng = seedrandom('reference-no-empty-bins')
    for (let trial = 0; trial < 50; trial++) {
      const values = Array.from({ length: 30 + Math.floor(rng() * 300) }, () => Math.floor(rng() ** 3 * 12))
      const ref = buildReference(values, 10)
      for (let i = 0; i < ref.edges.length; i++) expect(ref.shares[i]).toBeGreaterThan(0)
      expect(ref.edges.length).toBeLessThanOrEqual(9)
    }
  })

  it('handles all-missing and constant inputs', () => {
    expect(buildReference([null, null], 10)).toEqual({ edges: [], shares: [0], missingShare: 1, n: 2 })
    expect(buildReference([7, 7, 7], 10)).toEqual({ edges: [7], shares: [1, 0], missingShare: 0, n: 3 })
  })

  it('rejects bad arguments with coded errors', () => {
    expect(() => buildReference([1, 2], 0)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }))
    expect(() => buildReference([], 10)).toThrow(expect.objectContaining({ code: 'DATASET_INVALID' }))
  })
})

describe('binIndex', () => {
  const edges = [3, 5, 8]

  it('maps values to bins with edge values in the lower bin and open outer bins', () => {
    expect(binIndex(edges, -1e9)).toBe(0)
    expect(binIndex(edges, 3)).toBe(0)
    expect(binIndex(edges, 3.0001)).toBe(1)
    expect(binIndex(edges, 5)).toBe(1)
    expect(binIndex(edges, 8)).toBe(2)
    expect(binIndex(edges, 8.5)).toBe(3)
    expect(binIndex(edges, Number.POSITIVE_INFINITY)).toBe(3)
  })

  it('sends null and NaN to the missing slot edges.length + 1', () => {
    expect(binIndex(edges, null)).toBe(4)
    expect(binIndex(edges, Number.NaN)).toBe(4)
    expect(binIndex([], 1)).toBe(0)
    expect(binIndex([], null)).toBe(1)
  })

  it('agrees with a linear scan on seeded random edges and values', () => {
    const rng = seedrandom('reference-binindex')
    for (let trial = 0; trial < 200; trial++) {
      const e = [
        ...new Set(Array.from({ length: Math.floor(rng() * 12) }, () => Math.floor(rng() * 20))),
      ].sort((a, b) => a - b)
      const x = Math.floor(rng() * 24) - 2
      const linear = e.findIndex((edge) => x <= edge)
      expect(binIndex(e, x)).toBe(linear === -1 ? e.length : linear)
    }
  })

  it('counts values per slot consistently with the reference shares', () => {
    const values = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, null]
    const ref = buildReference(values, 4)
    const counts = binCounts(ref.edges, values)
    expect(counts.length).toBe(binSlots(ref))
    expect(Array.from(counts)).toEqual([3, 2, 3, 2, 1])
    expect([...ref.shares, ref.missingShare].map((s) => s * 11)).toEqual(Array.from(counts))
  })
})
