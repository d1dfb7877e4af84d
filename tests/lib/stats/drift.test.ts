import { describe, expect, it } from 'vitest'
import {
  ALARM_STATISTIC,
  bandOf,
  DRIFT_STATISTICS,
  MONITOR_STATISTICS,
  PSI_EPSILON,
  psiFromShares,
} from '../../../lib/stats/index.ts'
import type { ReferenceDistribution } from '../../../lib/stats/reference.ts'

/** A reference with the given value-bin shares; edges are placeholders (only their count matters here). */
function refOf(shares: number[], missingShare = 0): ReferenceDistribution {
  return { edges: shares.slice(1).map((_, i) => i), shares, missingShare, n: 1000 }
}

describe('psi', () => {
  it('matches a hand computation', () => {
    // e = 0.25 each, a = [0.1, 0.2, 0.3, 0.4]:
    //   (−0.15)·ln 0.4 + (−0.05)·ln 0.8 + 0.05·ln 1.2 + 0.15·ln 1.6
    //   = 0.137443610 + 0.011157178 + 0.009116078 + 0.070500544 = 0.22821740957339182
    const expected = 0.22821740957339182
    expect(psiFromShares([0.25, 0.25, 0.25, 0.25], [0.1, 0.2, 0.3, 0.4])).toBeCloseTo(expected, 9)
    // Same through the registered statistic: counts 10/20/30/40 and an empty missing slot
    // (reference missing share 0 → both floored to ε, contributing exactly 0).
    const psi = DRIFT_STATISTICS.psi.compute(refOf([0.25, 0.25, 0.25, 0.25]), [10, 20, 30, 40, 0])
    expect(psi).toBeCloseTo(expected, 9)
  })

  it('floors an empty reference bin at PSI_EPSILON instead of returning Infinity', () => {
    // e = [0.5, 0.5, 0 → 1e-4], a = [0.5, 0.3, 0.2]:
    //   0 + (−0.2)·ln(0.6) + (0.2 − 1e-4)·ln(0.2 / 1e-4) = 0.102165125 + 1.518420401 = 1.6215855264156604
    expect(PSI_EPSILON).toBe(1e-4)
    expect(psiFromShares([0.5, 0.5, 0], [0.5, 0.3, 0.2])).toBeCloseTo(1.6215855264156604, 9)
    // An empty WINDOW bin is floored the same way (symmetric formula).
    expect(psiFromShares([0.5, 0.3, 0.2], [0.5, 0.5, 0])).toBeCloseTo(1.6215855264156604, 9)
  })

  it('counts a jump in missing values through the missing slot', () => {
    // Reference: 2 value bins at 0.45 each + 10% missing. Window: 30/30/40 of 100 → shares 0.3, 0.3, 0.4.
    //   2·(−0.15)·ln(0.3/0.45) + 0.3·ln(0.4/0.1) = 0.121639532 + 0.415888308 = 0.5375278407684165
    const ref = refOf([0.45, 0.45], 0.1)
    expect(DRIFT_STATISTICS.psi.compute(ref, [30, 30, 40])).toBeCloseTo(0.5375278407684165, 9)
    // Same value shares but unchanged missing rate → 0.
    expect(DRIFT_STATISTICS.psi.compute(ref, [45, 45, 10])).toBeCloseTo(0, 12)
  })

  it('is NaN for an empty window and rejects a count vector of the wrong length', () => {
    const ref = refOf([0.5, 0.5])
    expect(DRIFT_STATISTICS.psi.compute(ref, [0, 0, 0])).toBeNaN()
    expect(() => DRIFT_STATISTICS.psi.compute(ref, [1, 2])).toThrow(
      expect.objectContaining({ code: 'INTERNAL' }),
    )
  })

  it('bands PSI values at 0.1 and 0.25', () => {
    const psiBand = (v: number) => bandOf(DRIFT_STATISTICS.psi, v)
    expect(psiBand(0)).toBe('none')
    expect(psiBand(0.0999)).toBe('none')
    expect(psiBand(0.1)).toBe('moderate')
    expect(psiBand(0.25)).toBe('moderate')
    expect(psiBand(0.2501)).toBe('significant')
    expect(psiBand(Number.NaN)).toBe('none')
  })
})

describe('js', () => {
  it('is the square root of the base-2 JS divergence', () => {
    // p = [0.5, 0.5], q = [1, 0], m = [0.75, 0.25]:
    //   JSD = ½(0.5·log2(0.5/0.75) + 0.5·log2(0.5/0.25)) + ½(1·log2(1/0.75)) = 0.31127812445913283
    const d = DRIFT_STATISTICS.js.compute(refOf([0.5, 0.5]), [10, 0, 0])
    expect(d).toBeCloseTo(Math.sqrt(0.31127812445913283), 9)
  })

  it('is 0 for identical and 1 for disjoint distributions', () => {
    expect(DRIFT_STATISTICS.js.compute(refOf([0.2, 0.8]), [2, 8, 0])).toBeCloseTo(0, 7)
    expect(DRIFT_STATISTICS.js.compute(refOf([1, 0]), [0, 5, 0])).toBeCloseTo(1, 12)
  })
})

describe('ks', () => {
  it('is the max CDF gap at the bin edges over measured values only', () => {
    // Reference value shares [0.18, 0.27, 0.27, 0.18] + 10% missing; renormalised (÷ 0.9) to
    // [0.2, 0.3, 0.3, 0.2]. Window counts 10/10/20/60 + 50 missing (ignored), i.e. of 100 measured.
    //   ref CDF at the 3 edges: 0.2, 0.5, 0.8
    //   win CDF at the 3 edges: 0.1, 0.2, 0.4 → gaps 0.1, 0.3, 0.4 → KS = 0.4
    const ref = refOf([0.18, 0.27, 0.27, 0.18], 0.1)
    expect(DRIFT_STATISTICS.ks.compute(ref, [10, 10, 20, 60, 50])).toBeCloseTo(0.4, 12)
  })

  it('is NaN when the window has no measured values', () => {
    expect(DRIFT_STATISTICS.ks.compute(refOf([0.5, 0.5]), [0, 0, 7])).toBeNaN()
  })
})

describe('registry', () => {
  it('registers each statistic under its own name with a report threshold', () => {
    for (const [name, s] of Object.entries(DRIFT_STATISTICS)) {
      expect(s.name).toBe(name)
      expect(s.reportThreshold).toBeGreaterThan(0)
      expect(s.display.description.length).toBeGreaterThan(10)
    }
  })

  it('alarms on PSI alone, listed first among the monitored statistics', () => {
    expect(ALARM_STATISTIC).toBe(DRIFT_STATISTICS.psi)
    expect(MONITOR_STATISTICS[0]).toBe(ALARM_STATISTIC)
    expect(MONITOR_STATISTICS.filter((s) => s.alarm)).toHaveLength(1)
    expect(MONITOR_STATISTICS.map((s) => s.name)).toEqual(['psi', 'ks', 'wasserstein'])
  })
})
