import { describe, expect, it } from 'vitest'
import { predictTree } from '../../../trainer/learners/hist-tree.ts'
import { createRng } from '../../../trainer/learners/random.ts'
import { fitRandomForest, RANDOM_FOREST_DEFAULTS } from '../../../trainer/learners/random-forest.ts'
import type { Dataset } from '../../../trainer/learners/types.ts'

function synthetic(n: number, seed: string): Dataset {
  const rng = createRng(seed)
  const nf = 4
  const X = new Float64Array(n * nf)
  const y = new Uint8Array(n)
  for (let r = 0; r < n; r++) {
    for (let f = 0; f < nf; f++) X[r * nf + f] = rng.next() < 0.05 ? Number.NaN : rng.next()
    y[r] = rng.next() < (X[r * nf]! > 0.5 ? 0.8 : 0.2) ? 1 : 0
  }
  return { X, y, nRows: n, nFeatures: nf }
}

describe('random forest', () => {
  const data = synthetic(400, 'rf-fixture')
  const params = { ...RANDOM_FOREST_DEFAULTS, n_estimators: 25 }

  it('predicts proper probabilities equal to the mean of the trees', () => {
    const model = fitRandomForest(data, params, 3)
    const p = model.predictProba(data.X, data.nRows)
    const { model: exported } = model.export()
    if (exported.kind !== 'tree_ensemble') throw new Error('expected trees')
    expect(exported.aggregation).toBe('mean')
    expect(exported.link).toBe('identity')
    expect(exported.trees).toHaveLength(25)
    for (const t of exported.trees) for (const v of t.value) expect(v >= 0 && v <= 1).toBe(true)
    for (let r = 0; r < data.nRows; r++) {
      expect(p[r]! >= 0 && p[r]! <= 1).toBe(true)
      const mean = exported.trees.reduce((s, t) => s + predictTree(t, data.X, data.nFeatures, r), 0) / 25
      expect(p[r]).toBeCloseTo(mean, 12)
      // P(y=0) is 1 − P(y=1) by construction: a leaf holds a fraction of positives.
      expect(1 - p[r]! + p[r]!).toBe(1)
    }
  })

  it('is deterministic for a seed and varies across seeds', () => {
    const a = fitRandomForest(data, params, 11).export()
    const b = fitRandomForest(data, params, 11).export()
    const c = fitRandomForest(data, params, 12).export()
    expect(JSON.stringify(a)).toBe(JSON.stringify(b))
    expect(JSON.stringify(a)).not.toBe(JSON.stringify(c))
  })

  it('learns the signal (leaves on the x0 > 0.5 side are mostly positive)', () => {
    const model = fitRandomForest(data, params, 5)
    const p = model.predictProba(Float64Array.of(0.9, 0.5, 0.5, 0.5, 0.1, 0.5, 0.5, 0.5), 2)
    expect(p[0]).toBeGreaterThan(0.6)
    expect(p[1]).toBeLessThan(0.4)
  })
})
