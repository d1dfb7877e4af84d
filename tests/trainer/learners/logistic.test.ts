import { describe, expect, it } from 'vitest'
import {
  fitLogistic,
  fitLogisticCoefficients,
  fitPreprocessing,
  penalisedGradient,
  transform,
} from '../../../trainer/learners/logistic.ts'
import { createRng } from '../../../trainer/learners/random.ts'

const logit = (p: number): number => Math.log(p / (1 - p))

describe('logistic regression (IRLS)', () => {
  it('recovers the textbook saturated model of a binary feature', () => {
    // x = 0: 3 of 10 positive, x = 1: 8 of 10 positive. With (almost) no penalty the MLE is
    // intercept logit(0.3) and slope logit(0.8) − logit(0.3) on the raw scale.
    const x: number[] = []
    const y: number[] = []
    for (let i = 0; i < 10; i++) {
      x.push(0, 1)
      y.push(i < 3 ? 1 : 0, i < 8 ? 1 : 0)
    }
    const model = fitLogistic(
      { X: Float64Array.from(x), y: Uint8Array.from(y), nRows: 20, nFeatures: 1 },
      { C: 1e10, max_iter: 100, tol: 1e-12 },
      0,
    )
    const { model: m, preprocessing: pre } = model.export()
    if (m.kind !== 'linear') throw new Error('expected a linear model')
    const slope = m.weights[0]! / pre.scale![0]!
    const intercept = m.intercept - slope * pre.center![0]!
    expect(slope).toBeCloseTo(logit(0.8) - logit(0.3), 6)
    expect(intercept).toBeCloseTo(logit(0.3), 6)
    const p = model.predictProba(Float64Array.of(0, 1), 2)
    expect(p[0]).toBeCloseTo(0.3, 8)
    expect(p[1]).toBeCloseTo(0.8, 8)
  })

  it('zeroes the gradient of the penalised log-likelihood at the solution', () => {
    const rng = createRng('logistic-gradient')
    const n = 300
    const nf = 3
    const X = new Float64Array(n * nf)
    const y = new Uint8Array(n)
    for (let r = 0; r < n; r++) {
      for (let f = 0; f < nf; f++) X[r * nf + f] = rng.next() * 4 - 2
      const m = 0.5 + 1.5 * X[r * nf]! - X[r * nf + 1]!
      y[r] = rng.next() < 1 / (1 + Math.exp(-m)) ? 1 : 0
    }
    const pre = fitPreprocessing(X, n, nf)
    const Z = transform(X, n, nf, pre)
    for (const C of [0.01, 1, 100]) {
      const beta = fitLogisticCoefficients(Z, y, n, nf, C)
      const g = penalisedGradient(Z, y, n, nf, beta, C)
      for (const gi of g) expect(Math.abs(gi)).toBeLessThan(1e-8)
    }
    // A stronger penalty shrinks the weights, but not the intercept's role.
    const weak = fitLogisticCoefficients(Z, y, n, nf, 100)
    const strong = fitLogisticCoefficients(Z, y, n, nf, 0.01)
    expect(Math.abs(strong[1]!)).toBeLessThan(Math.abs(weak[1]!))
  })

  it('imputes missing values with the training median and standardises with training statistics', () => {
    const X = Float64Array.of(1, Number.NaN, 3, 10)
    const pre = fitPreprocessing(X, 4, 1)
    expect(pre.impute).toEqual([3])
    // imputed column [1, 3, 3, 10]: mean 4.25, population sd
    expect(pre.center[0]).toBeCloseTo(4.25, 12)
    expect(pre.scale[0]).toBeCloseTo(Math.sqrt((3.25 ** 2 + 1.25 ** 2 * 2 + 5.75 ** 2) / 4), 12)
  })
})
