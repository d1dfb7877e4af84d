/**
 * The trainer's threshold rule that maximises F1 under an accuracy floor, on hand-computed
 * candidates and against an exhaustive scan.
 */
import seedrandom from 'seedrandom'
import { describe, expect, it } from 'vitest'
import { classificationMetrics } from '../../../lib/stats/metrics.ts'
import { chooseThreshold } from '../../../trainer/selection/threshold.ts'

describe('chooseThreshold, max_f1_given_accuracy', () => {
  const bestThreshold = (yTrue: number[], probs: number[], o: { minAccuracy: number }) =>
    chooseThreshold(yTrue, probs, { minAccuracy: o.minAccuracy, minF1: 0 }, 'max_f1_given_accuracy')

  // y = [1,1,0,1,0,0], p = [.9,.8,.7,.6,.4,.2]. Candidates (label = p >= t):
  //   t=.9: tp1 fp0 fn2 tn3 → F1 2/4 = .5,   acc 4/6
  //   t=.8: tp2 fp0 fn1 tn3 → F1 4/5 = .8,   acc 5/6
  //   t=.7: tp2 fp1 fn1 tn2 → F1 4/6,        acc 4/6
  //   t=.6: tp3 fp1 fn0 tn2 → F1 6/7 ≈ .857, acc 5/6
  //   t=.4: tp3 fp2         → F1 6/8,        acc 4/6
  //   t=.2: tp3 fp3         → F1 6/9,        acc 3/6
  const y = [1, 1, 0, 1, 0, 0]
  const p = [0.9, 0.8, 0.7, 0.6, 0.4, 0.2]

  it('maximises F1 among thresholds meeting the accuracy floor', () => {
    expect(bestThreshold(y, p, { minAccuracy: 0.5 })).toEqual({
      threshold: 0.6,
      f1: 6 / 7,
      accuracy: 5 / 6,
      constrained: true,
    })
  })

  it('falls back to the max-accuracy threshold (tie → higher F1) when nothing meets the floor', () => {
    // Max accuracy 5/6 at both .8 and .6; .6 has the higher F1.
    expect(bestThreshold(y, p, { minAccuracy: 0.9 })).toEqual({
      threshold: 0.6,
      f1: 6 / 7,
      accuracy: 5 / 6,
      constrained: false,
    })
  })

  it('breaks F1 ties by accuracy', () => {
    // t=.9: tp1 fp0 fn1 tn2 → F1 2/3, acc 3/4;  t=.2: tp2 fp2 → F1 4/6 = 2/3, acc 2/4.
    expect(bestThreshold([1, 0, 0, 1], [0.9, 0.6, 0.45, 0.2], { minAccuracy: 0 })).toMatchObject({
      threshold: 0.9,
      f1: 2 / 3,
      accuracy: 0.75,
    })
  })

  it('treats a group of equal probabilities as one candidate', () => {
    // Both 0.5s flip together: t=.5 → tp1 fp1 fn0 tn0 → F1 2/3, acc 1/2 (only candidate).
    expect(bestThreshold([1, 0], [0.5, 0.5], { minAccuracy: 0 })).toEqual({
      threshold: 0.5,
      f1: 2 / 3,
      accuracy: 0.5,
      constrained: true,
    })
  })

  it('agrees with an exhaustive scan on seeded random data', () => {
    const rng = seedrandom('metrics-best-threshold')
    const yy: number[] = []
    const pp: number[] = []
    for (let i = 0; i < 400; i++) {
      const label = rng() < 0.35 ? 1 : 0
      yy.push(label)
      pp.push(Math.round(Math.min(1, rng() * 0.7 + label * 0.3) * 50) / 50)
    }
    let bestF1 = -1
    let bestAcc = -1
    for (const t of new Set(pp)) {
      const m = classificationMetrics(yy, pp, t)
      if (m.accuracy < 0.7) continue
      if (m.f1 > bestF1 || (m.f1 === bestF1 && m.accuracy > bestAcc)) {
        bestF1 = m.f1
        bestAcc = m.accuracy
      }
    }
    const got = bestThreshold(yy, pp, { minAccuracy: 0.7 })
    expect(got.constrained).toBe(true)
    expect(got.f1).toBe(bestF1)
    expect(got.accuracy).toBe(bestAcc)
  })
})
