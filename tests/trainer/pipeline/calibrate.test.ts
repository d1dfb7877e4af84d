import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../../lib/config/index.ts'
import { loadPima } from '../../../lib/data/pima.ts'
import { createScorer } from '../../../lib/model/scorer.ts'
import { applyPlatt } from '../../../lib/stats/calibration.ts'
import { getLearner } from '../../../trainer/learners/index.ts'
import {
  decideCalibration,
  plattRepresentable,
  plattThreshold,
  withPlatt,
} from '../../../trainer/pipeline/calibrate.ts'
import { datasetFromRows } from '../../../trainer/pipeline/dataset.ts'

const pima = loadPima(loadConfig(process.env).data.pimaCsvPath)
const data = datasetFromRows(pima.rows, pima.labels, ['pima']).data
const map = { a: 1.7, b: -0.4 }

describe('Platt calibration folded into the shipped model', () => {
  for (const family of ['logistic_regression', 'gradient_boosting'] as const) {
    it(`${family}: the scorer of the folded model returns σ(a·logit(p) + b) and makes the same decisions`, async () => {
      const learner = getLearner(family)
      const fitted = await learner.fit(data, learner.defaults, 1)
      const exported = fitted.export()
      fitted.free?.()
      expect(plattRepresentable(exported.model)).toBe(true)
      const raw = createScorer(exported.model, exported.preprocessing).scoreBatch(data.X, data.nRows)
      const folded = createScorer(withPlatt(exported.model, map), exported.preprocessing).scoreBatch(
        data.X,
        data.nRows,
      )
      const expected = applyPlatt(map, raw)
      for (let i = 0; i < data.nRows; i++) expect(folded[i]!).toBeCloseTo(expected[i]!, 9)
      const t = 0.42
      const t2 = plattThreshold(t, map)
      for (let i = 0; i < data.nRows; i++) {
        // away from the boundary (float rounding at the exact threshold is not a decision change)
        if (Math.abs(raw[i]! - t) < 1e-9) continue
        expect(folded[i]! >= t2).toBe(raw[i]! >= t)
      }
    })
  }

  it('a random forest cannot carry the map', async () => {
    const rf = getLearner('random_forest')
    const fitted = await rf.fit(data, { ...rf.defaults, nEstimators: 5 }, 1)
    expect(plattRepresentable(fitted.export().model)).toBe(false)
  })

  it('calibrates only when the cross-fitted log-loss improves', () => {
    const sig = (z: number) => 1 / (1 + Math.exp(-z))
    const y = Uint8Array.from(data.y)
    // well calibrated scores: no gain; squashed scores (σ(0.3·z)): a clear gain
    const good = Float64Array.from({ length: y.length }, (_, i) => sig((y[i]! ? 1 : -1) * 0.8 + Math.sin(i)))
    const fitGood = decideCalibration(y, applyPlatt(decideCalibration(y, good, 1).map, good), 1)
    expect(fitGood.apply).toBe(false)
    const squashed = applyPlatt({ a: 0.3, b: 0 }, good)
    const d = decideCalibration(y, squashed, 1)
    expect(d.apply).toBe(true)
    expect(d.crossFittedLogLoss).toBeLessThan(d.rawLogLoss - 0.002)
    expect(d.map.a).toBeGreaterThan(2)
  })
})
