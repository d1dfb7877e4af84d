/**
 * ROC-AUC estimated from calibrated probabilities (CBPE): known values, the defining pair sum
 * computed the slow way, and a seeded Monte Carlo against the realised ROC-AUC of labels drawn
 * y ~ Bernoulli(p) (the case the estimate is built for).
 */
import seedrandom from 'seedrandom'
import { describe, expect, it } from 'vitest'
import { estimatedRocAuc, rocAuc } from '../../../lib/stats/index.ts'

/** The definition, O(n²): expected concordant pairs (ties half) over expected pairs, i ≠ j. */
function byPairs(ps: number[]): number {
  let num = 0
  let den = 0
  for (let i = 0; i < ps.length; i++)
    for (let j = 0; j < ps.length; j++) {
      if (i === j) continue
      const w = ps[i]! * (1 - ps[j]!)
      den += w
      num += ps[i]! > ps[j]! ? w : ps[i] === ps[j] ? w / 2 : 0
    }
  return num / den
}

/** Hanley & McNeil (1982) standard error of one ROC-AUC from n1 positives and n2 negatives. */
function hanleyMcNeil(a: number, n1: number, n2: number): number {
  const q1 = a / (2 - a)
  const q2 = (2 * a * a) / (1 + a)
  return Math.sqrt((a * (1 - a) + (n1 - 1) * (q1 - a * a) + (n2 - 1) * (q2 - a * a)) / (n1 * n2))
}

describe('estimatedRocAuc', () => {
  it('is 0.5 when every probability is the same: no ranking information', () => {
    expect(estimatedRocAuc(Array(1000).fill(0.5))).toBeCloseTo(0.5, 12)
    expect(estimatedRocAuc(Array(37).fill(0.13))).toBeCloseTo(0.5, 12)
  })

  it('is 1 when calibrated probabilities separate perfectly (p ∈ {0, 1})', () => {
    expect(estimatedRocAuc([0, 1, 0, 0, 1, 1, 0])).toBe(1)
  })

  it('is the chance that the one positive is ranked first, given both classes, for two events', () => {
    // Labels (0, 1) with probability 0.8 · 0.8 (AUC 1) or (1, 0) with 0.2 · 0.2 (AUC 0).
    expect(estimatedRocAuc([0.2, 0.8])).toBeCloseTo(0.64 / 0.68, 12)
  })

  it('is NaN without two usable probabilities or without any possible positive-negative pair', () => {
    expect(estimatedRocAuc([])).toBeNaN()
    expect(estimatedRocAuc([0.3])).toBeNaN()
    expect(estimatedRocAuc([1, 1, 1])).toBeNaN()
    expect(estimatedRocAuc([0, 0])).toBeNaN()
  })

  it('leaves out NaN and values outside [0, 1]', () => {
    expect(estimatedRocAuc([0.2, Number.NaN, 0.8, 1.5, -0.1])).toBe(estimatedRocAuc([0.2, 0.8]))
  })

  it('equals the O(n²) pair sum, ties included, whatever the input order', () => {
    const rng = seedrandom.alea('cbpe-pairs')
    for (let trial = 0; trial < 20; trial++) {
      // Rounded to 0.05 so that ties are common.
      const ps = Array.from({ length: 5 + Math.floor(rng() * 60) }, () => Math.round(rng() * 20) / 20)
      expect(estimatedRocAuc(ps)).toBeCloseTo(byPairs(ps), 12)
      expect(estimatedRocAuc([...ps].reverse())).toBeCloseTo(byPairs(ps), 12)
    }
  })

  it('matches the realised ROC-AUC of labels drawn y ~ Bernoulli(p), within the sampling error of n events', () => {
    const rng = seedrandom.alea('cbpe-monte-carlo')
    const n = 1000
    const replicates = 400
    // A skewed score distribution with a realistic AUC (≈ 0.87) and some ties.
    const ps = Array.from({ length: n }, () => Math.round(rng() ** 1.6 * 1000) / 1000)
    const estimate = estimatedRocAuc(ps)
    const positives = ps.reduce((a, b) => a + b, 0)
    const se = hanleyMcNeil(estimate, positives, n - positives)
    const y = new Uint8Array(n)
    let sum = 0
    let sq = 0
    for (let r = 0; r < replicates; r++) {
      for (let i = 0; i < n; i++) y[i] = rng() < ps[i]! ? 1 : 0
      const realised = rocAuc(y, ps)
      // One window's realised figure: within 5 standard errors of the estimate.
      expect(Math.abs(realised - estimate)).toBeLessThan(5 * se)
      sum += realised
      sq += realised * realised
    }
    const mean = sum / replicates
    const sd = Math.sqrt(sq / replicates - mean * mean)
    expect(estimate).toBeGreaterThan(0.8)
    expect(estimate).toBeLessThan(0.95)
    // The mean of the replicates: within 4 standard errors of a mean of `replicates` windows.
    expect(Math.abs(mean - estimate)).toBeLessThan((4 * se) / Math.sqrt(replicates))
    // The spread is the sampling error Hanley & McNeil predict for n events (a loose check).
    expect(sd).toBeGreaterThan(se / 1.5)
    expect(sd).toBeLessThan(se * 1.5)
  })
})
