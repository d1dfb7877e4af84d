import seedrandom from 'seedrandom'
import { describe, expect, it } from 'vitest'
import { bootstrapIntervals, pairedBootstrap, quantileSorted } from '../../../lib/stats/bootstrap.ts'

/** One statistic's interval. */
const bootstrapInterval = (
  n: number,
  statistic: (rows: Int32Array) => number,
  opts: Parameters<typeof bootstrapIntervals>[2],
) => bootstrapIntervals(n, (rows) => [statistic(rows)], opts)[0]!

const meanOf = (xs: ArrayLike<number>) => (rows: Int32Array) => {
  let s = 0
  for (const i of rows) s += xs[i]!
  return s / rows.length
}

function normals(n: number, seed: string): number[] {
  const rng = seedrandom(seed)
  return Array.from({ length: n }, () => {
    const u = Math.max(rng(), 1e-12)
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng())
  })
}

describe('bootstrap intervals', () => {
  it('quantiles interpolate like numpy (type 7)', () => {
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5)
    expect(quantileSorted([1, 2, 3, 4], 0.25)).toBeCloseTo(1.75, 12)
    expect(quantileSorted([5], 0.9)).toBe(5)
  })

  it('the interval of a mean matches the normal theory width (±1.96 σ/√n) and is seeded', () => {
    const xs = normals(900, 'b-1')
    const ci = bootstrapInterval(xs.length, meanOf(xs), { resamples: 2000, seed: 7 })
    const m = xs.reduce((a, b) => a + b, 0) / xs.length
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1))
    const half = (1.96 * sd) / Math.sqrt(xs.length)
    expect(ci.estimate).toBeCloseTo(m, 12)
    expect(ci.lo).toBeLessThan(m)
    expect(ci.hi).toBeGreaterThan(m)
    expect((ci.hi - ci.lo) / 2).toBeGreaterThan(half * 0.85)
    expect((ci.hi - ci.lo) / 2).toBeLessThan(half * 1.15)
    expect(bootstrapInterval(xs.length, meanOf(xs), { resamples: 2000, seed: 7 })).toEqual(ci)
    expect(bootstrapInterval(xs.length, meanOf(xs), { resamples: 2000, seed: 8 })).not.toEqual(ci)
  })

  it('duplicated rows resampled as clusters give the honest (wider) interval', () => {
    const base = normals(200, 'b-2')
    const xs = base.flatMap((x) => [x, x, x, x]) // every row four times
    const clusters = base.flatMap((_, i) => [i, i, i, i])
    const naive = bootstrapInterval(xs.length, meanOf(xs), { seed: 1 })
    const honest = bootstrapInterval(xs.length, meanOf(xs), { seed: 1, clusters })
    const truth = bootstrapInterval(base.length, meanOf(base), { seed: 1 })
    const w = (c: { lo: number; hi: number }) => c.hi - c.lo
    expect(w(naive)).toBeLessThan(0.65 * w(honest)) // ≈ half as wide: √4
    expect(w(honest) / w(truth)).toBeGreaterThan(0.85)
    expect(w(honest) / w(truth)).toBeLessThan(1.15)
  })

  it('several statistics share the resamples and skip non-finite values', () => {
    const xs = normals(100, 'b-3')
    const [a, b] = bootstrapIntervals(xs.length, (rows) => [meanOf(xs)(rows), Number.NaN], { seed: 3 })
    expect(a!.lo).toBeLessThan(a!.hi)
    expect(b!.lo).toBeNaN()
  })

  it('paired bootstrap: identical models are never "better" (p = 1), a real gain is', () => {
    const xs = normals(300, 'b-4')
    const same = pairedBootstrap(xs.length, () => 0, { seed: 2 })
    expect(same.pValue).toBe(1)
    const gain = xs.map((x) => x + 0.5)
    const better = pairedBootstrap(xs.length, meanOf(gain), { seed: 2, resamples: 999 })
    expect(better.pValue).toBe(1 / 1000)
    expect(better.lo).toBeGreaterThan(0)
  })
})
