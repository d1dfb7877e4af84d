import seedrandom from 'seedrandom'
import { describe, expect, it } from 'vitest'
import { applyPlatt, calibrationReport, fitPlatt, reliabilityCurve } from '../../../lib/stats/calibration.ts'
import { logLoss } from '../../../lib/stats/metrics.ts'

function draws(n: number, seed: string, distort: (p: number) => number) {
  const rng = seedrandom(seed)
  const y: number[] = []
  const p: number[] = []
  for (let i = 0; i < n; i++) {
    const truth = rng()
    y.push(rng() < truth ? 1 : 0)
    p.push(distort(truth))
  }
  return { y, p }
}

describe('calibration', () => {
  it('reliability bins are equal-width, non-empty, and the last one is closed', () => {
    const bins = reliabilityCurve([0, 1, 1, 0], [0.05, 0.95, 1, 0.5], 10)
    expect(bins.map((b) => [b.lo, b.n])).toEqual([
      [0, 1],
      [0.5, 1],
      [0.9, 2],
    ])
    expect(bins[2]!.predicted).toBeCloseTo(0.975, 12)
    expect(bins[2]!.observed).toBe(1)
  })

  it('ECE is small for calibrated probabilities and large for distorted ones', () => {
    const good = draws(20000, 'c-1', (t) => t)
    const bad = draws(20000, 'c-1', (t) => t * t)
    const g = calibrationReport(good.y, good.p)
    const b = calibrationReport(bad.y, bad.p)
    expect(g.ece).toBeLessThan(0.02)
    expect(b.ece).toBeGreaterThan(0.12) // E|t − t²| = 1/6
    expect(b.brier).toBeGreaterThan(g.brier)
    expect(g.bins.reduce((a, x) => a + x.n, 0)).toBe(20000)
  })

  it('Platt scaling recovers a logistic distortion and lowers log-loss', () => {
    const sig = (z: number) => 1 / (1 + Math.exp(-z))
    const logit = (p: number) => Math.log(p / (1 - p))
    // reported p = σ(0.5·logit(t) − 0.4): true map back is a = 2, b = 0.8
    const d = draws(20000, 'c-2', (t) => sig(0.5 * logit(Math.min(1 - 1e-9, Math.max(1e-9, t))) - 0.4))
    const m = fitPlatt(d.y, d.p)
    expect(m.a).toBeGreaterThan(1.8)
    expect(m.a).toBeLessThan(2.2)
    expect(m.b).toBeGreaterThan(0.65)
    expect(m.b).toBeLessThan(0.95)
    expect(logLoss(d.y, applyPlatt(m, d.p))).toBeLessThan(logLoss(d.y, d.p) - 0.02)
  })
})
