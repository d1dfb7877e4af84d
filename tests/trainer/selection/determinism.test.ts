import { afterAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../../lib/config/index.ts'
import { loadPima } from '../../../lib/data/pima.ts'
import { logisticLearner } from '../../../trainer/learners/logistic.ts'
import { createRng } from '../../../trainer/learners/random.ts'
import { closeXGBoostWorker, XGBOOST_DEFAULTS, xgboostLearner } from '../../../trainer/learners/xgboost.ts'
import { datasetFromRows } from '../../../trainer/pipeline/dataset.ts'
import { crossValidate } from '../../../trainer/selection/cross-validate.ts'
import { sampleParams, searchHyperparameters } from '../../../trainer/selection/search.ts'

const pima = loadPima(loadConfig(process.env).data.pimaCsvPath)
const { data } = datasetFromRows(pima.rows, pima.labels, [])

afterAll(() => closeXGBoostWorker())

describe('cross-validation and search', () => {
  it('cross-validates logistic regression on Pima near scikit-learn’s 0.83 AUC', async () => {
    const cv = await crossValidate(logisticLearner, data, logisticLearner.defaults, { k: 10, seed: 42 })
    expect(cv.foldMetrics).toHaveLength(10)
    expect(cv.summary.roc_auc.mean).toBeGreaterThan(0.82)
    expect(cv.summary.roc_auc.mean).toBeLessThan(0.86)
    expect(cv.summary.roc_auc.std).toBeGreaterThan(0)
    expect(cv.oof.every((p) => p > 0 && p < 1)).toBe(true)
    expect(cv.pooled.n).toBe(768)
  })

  it('gives identical metrics for the same seed (logistic search and xgboost CV)', async () => {
    const opts = { budget: 3, k: 5, seed: 42, primaryMetric: 'roc_auc' as const }
    const a = await searchHyperparameters(logisticLearner, data, opts)
    const b = await searchHyperparameters(logisticLearner, data, opts)
    expect(b.trials.map((t) => [t.params, t.score])).toEqual(a.trials.map((t) => [t.params, t.score]))
    expect(Array.from(b.best.cv.oof)).toEqual(Array.from(a.best.cv.oof))

    const p = { ...XGBOOST_DEFAULTS, n_estimators: 30 }
    const x1 = await crossValidate(xgboostLearner, data, p, { k: 3, seed: 42 })
    const x2 = await crossValidate(xgboostLearner, data, p, { k: 3, seed: 42 })
    expect(Array.from(x2.oof)).toEqual(Array.from(x1.oof))
    expect(x2.summary).toEqual(x1.summary)
  })

  it('samples parameters inside the search space, deterministically', () => {
    const draw = (seed: number) => sampleParams(xgboostLearner.searchSpace, XGBOOST_DEFAULTS, createRng(seed))
    expect(draw(1)).toEqual(draw(1))
    expect(draw(1)).not.toEqual(draw(2))
    for (let s = 0; s < 50; s++) {
      const p = draw(s)
      for (const [name, spec] of Object.entries(xgboostLearner.searchSpace)) {
        const v = p[name as keyof typeof p] as number
        expect(v).toBeGreaterThanOrEqual(spec.min!)
        expect(v).toBeLessThanOrEqual(spec.max!)
        if (spec.type === 'int') expect(Number.isInteger(v)).toBe(true)
      }
      expect(p.tree_method).toBe('hist')
    }
  })
})
