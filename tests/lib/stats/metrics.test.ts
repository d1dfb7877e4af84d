import seedrandom from 'seedrandom'
import { describe, expect, it } from 'vitest'
import {
  accuracy,
  brier,
  classificationMetrics,
  confusion,
  f1,
  logLoss,
  meanStd,
  precision,
  recall,
  rocAuc,
} from '../../../lib/stats/metrics.ts'

/** O(n²) definition of AUC: P(score_pos > score_neg) + ½ P(tie). */
function bruteAuc(y: number[], s: number[]): number {
  let wins = 0
  let pairs = 0
  for (let i = 0; i < y.length; i++) {
    if (y[i] !== 1) continue
    for (let j = 0; j < y.length; j++) {
      if (y[j] === 1) continue
      pairs++
      if (s[i]! > s[j]!) wins += 1
      else if (s[i] === s[j]) wins += 0.5
    }
  }
  return wins / pairs
}

describe('confusion and ratio metrics', () => {
  it('counts tp/fp/tn/fn and derives the ratios', () => {
    const c = confusion([1, 1, 1, 0, 0, 0, 0, 1], [1, 1, 0, 1, 0, 0, 0, 0])
    expect(c).toEqual({ tp: 2, fp: 1, tn: 3, fn: 2 })
    expect(accuracy(c)).toBe(5 / 8)
    expect(precision(c)).toBe(2 / 3)
    expect(recall(c)).toBe(2 / 4)
    // 2PR/(P+R) = 2·(2/3)(1/2)/(7/6) = 4/7
    expect(f1(c)).toBeCloseTo(4 / 7, 12)
  })

  it('reports 0 for undefined ratios (nothing predicted positive, no positives, empty)', () => {
    const none = confusion([1, 0, 1], [0, 0, 0])
    expect(precision(none)).toBe(0)
    expect(f1(none)).toBe(0)
    const noPos = confusion([0, 0], [0, 0])
    expect(recall(noPos)).toBe(0)
    expect(accuracy({ tp: 0, fp: 0, tn: 0, fn: 0 })).toBe(0)
  })

  it('rejects misaligned arrays with a coded error', () => {
    expect(() => confusion([1, 0], [1])).toThrow(expect.objectContaining({ code: 'INTERNAL' }))
  })
})

describe('rocAuc', () => {
  it('matches a hand count on a 10-element fixture with ties (17/24)', () => {
    // Positives at 0.9, 0.8, 0.7, 0.3; negatives at 0.9, 0.7, 0.5, 0.3, 0.3, 0.1.
    // Wins per positive (tie = ½): 0.9 → 5.5, 0.8 → 5, 0.7 → 4.5, 0.3 → 2; total 17 of 4·6 pairs.
    const y = [1, 0, 1, 0, 1, 0, 0, 1, 0, 0]
    const s = [0.9, 0.9, 0.8, 0.7, 0.7, 0.5, 0.3, 0.3, 0.3, 0.1]
    expect(rocAuc(y, s)).toBeCloseTo(17 / 24, 12)
  })

  it('is 1 for a perfect ranking, 0 for a reversed one, 0.5 for constant scores', () => {
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4])).toBe(1)
    expect(rocAuc([1, 1, 0, 0], [0.1, 0.2, 0.3, 0.4])).toBe(0)
    expect(rocAuc([1, 0, 1, 0], [0.5, 0.5, 0.5, 0.5])).toBe(0.5)
  })

  it('is NaN with only one class present', () => {
    expect(rocAuc([1, 1, 1], [0.2, 0.5, 0.9])).toBeNaN()
    expect(rocAuc([], [])).toBeNaN()
  })

  it('equals the O(n²) pairwise count on seeded random data with many ties', () => {
    const rng = seedrandom('metrics-auc-brute')
    for (let trial = 0; trial < 20; trial++) {
      const n = 50 + Math.floor(rng() * 250)
      const y: number[] = []
      const s: number[] = []
      for (let i = 0; i < n; i++) {
        const label = rng() < 0.35 ? 1 : 0
        y.push(label)
        // Two decimals → plenty of ties; positives shifted up so the AUC is not trivially 0.5.
        s.push(Math.round(Math.min(1, rng() * 0.8 + label * 0.2) * 100) / 100)
      }
      if (!y.includes(1) || !y.includes(0)) continue
      expect(rocAuc(y, s)).toBeCloseTo(bruteAuc(y, s), 12)
    }
  })
})

describe('probabilistic losses', () => {
  it('computes log loss by hand, clipping 0/1 probabilities', () => {
    // −(ln 0.8 + ln 0.6) / 2
    expect(logLoss([1, 0], [0.8, 0.4])).toBeCloseTo(-(Math.log(0.8) + Math.log(0.6)) / 2, 12)
    // A confident miss is clipped at eps = 1e-15: −ln(1e-15) ≈ 34.5388, not Infinity.
    expect(logLoss([1], [0])).toBeCloseTo(-Math.log(1e-15), 6)
  })

  it('computes the Brier score by hand', () => {
    // ((1−0.8)² + (0−0.4)² + (1−1)²) / 3 = (0.04 + 0.16 + 0) / 3
    expect(brier([1, 0, 1], [0.8, 0.4, 1])).toBeCloseTo(0.2 / 3, 12)
  })
})

describe('classificationMetrics', () => {
  it('labels prob >= threshold as positive and bundles every metric', () => {
    const y = [1, 0, 1, 0, 1]
    const p = [0.7, 0.5, 0.5, 0.2, 0.1]
    const m = classificationMetrics(y, p, 0.5)
    // Predicted positive: 0.7 (tp), 0.5 (fp), 0.5 (tp) → tp 2, fp 1, fn 1, tn 1.
    expect(m.confusion).toEqual({ tp: 2, fp: 1, tn: 1, fn: 1 })
    expect(m).toMatchObject({ n: 5, positives: 3, prevalence: 0.6, accuracy: 0.6, threshold: 0.5 })
    expect(m.precision).toBeCloseTo(2 / 3, 12)
    expect(m.recall).toBeCloseTo(2 / 3, 12)
    expect(m.f1).toBeCloseTo(2 / 3, 12)
    expect(m.rocAuc).toBeCloseTo(bruteAuc(y, p), 12)
    expect(m.brier).toBeCloseTo(brier(y, p), 15)
    expect(m.logLoss).toBeCloseTo(logLoss(y, p), 15)
  })
})

describe('meanStd', () => {
  it('uses the sample standard deviation', () => {
    // mean 5; squared deviations 9+1+1+9 = 20; 20/3
    const r = meanStd([2, 4, 6, 8])
    expect(r.mean).toBe(5)
    expect(r.std).toBeCloseTo(Math.sqrt(20 / 3), 12)
    expect(meanStd([3])).toEqual({ mean: 3, std: 0 })
    expect(meanStd([]).mean).toBeNaN()
  })
})
