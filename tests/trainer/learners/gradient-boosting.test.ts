import { describe, expect, it } from 'vitest'
import { rocAuc } from '../../../lib/stats/metrics.ts'
import {
  fitGradientBoosting,
  GRADIENT_BOOSTING_DEFAULTS,
} from '../../../trainer/learners/gradient-boosting.ts'
import { createRng } from '../../../trainer/learners/random.ts'
import type { Dataset } from '../../../trainer/learners/types.ts'

/** y = (x0 + noise > 0.5), two distractor features, some values missing. */
function noisyThreshold(n: number, seed: string): Dataset {
  const rng = createRng(seed)
  const nf = 3
  const X = new Float64Array(n * nf)
  const y = new Uint8Array(n)
  for (let r = 0; r < n; r++) {
    for (let f = 0; f < nf; f++) X[r * nf + f] = rng.next()
    const noise = (rng.next() + rng.next() + rng.next() - 1.5) * 0.1
    y[r] = X[r * nf]! + noise > 0.5 ? 1 : 0
    if (rng.next() < 0.03) X[r * nf + 1] = Number.NaN
  }
  return { X, y, nRows: n, nFeatures: nf }
}

describe('gradient boosting', () => {
  it('reaches AUC > 0.95 on held-out rows of a noisy threshold problem', () => {
    const train = noisyThreshold(1500, 'gb-train')
    const test = noisyThreshold(500, 'gb-test')
    const model = fitGradientBoosting(train, GRADIENT_BOOSTING_DEFAULTS, 1)
    const auc = rocAuc(test.y, model.predictProba(test.X, test.nRows))
    expect(auc).toBeGreaterThan(0.95)
  })

  it('starts from the log-odds of the training prevalence and sums trees through a logistic link', () => {
    const train = noisyThreshold(400, 'gb-base')
    let pos = 0
    for (const v of train.y) pos += v
    const model = fitGradientBoosting(train, { ...GRADIENT_BOOSTING_DEFAULTS, max_iter: 5 }, 1)
    const { model: m } = model.export()
    if (m.kind !== 'tree_ensemble') throw new Error('expected trees')
    expect(m.baseMargin).toBeCloseTo(Math.log(pos / (400 - pos)), 12)
    expect(m.aggregation).toBe('sum')
    expect(m.link).toBe('logistic')
    expect(m.trees).toHaveLength(5)
  })

  it('is deterministic without early stopping and stops early when asked', () => {
    const train = noisyThreshold(600, 'gb-det')
    const a = JSON.stringify(fitGradientBoosting(train, GRADIENT_BOOSTING_DEFAULTS, 1).export())
    const b = JSON.stringify(fitGradientBoosting(train, GRADIENT_BOOSTING_DEFAULTS, 99).export())
    expect(a).toBe(b)
    const early = fitGradientBoosting(
      train,
      { ...GRADIENT_BOOSTING_DEFAULTS, max_iter: 2000, learning_rate: 0.3, early_stopping: true },
      1,
    )
    const { model: m } = early.export()
    if (m.kind !== 'tree_ensemble') throw new Error('expected trees')
    expect(m.trees.length).toBeLessThan(2000)
  })
})
