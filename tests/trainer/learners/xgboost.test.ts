import { afterAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../../lib/config/index.ts'
import { loadPima } from '../../../lib/data/pima.ts'
import { rocAuc } from '../../../lib/stats/metrics.ts'
import { getLearner, LEARNERS } from '../../../trainer/learners/index.ts'
import type { Dataset } from '../../../trainer/learners/types.ts'
import { closeXGBoostWorker, XGBOOST_DEFAULTS, xgboostLearner } from '../../../trainer/learners/xgboost.ts'
import { xgboostMaxRows } from '../../../trainer/learners/xgboost-worker.ts'
import { datasetFromRows } from '../../../trainer/pipeline/dataset.ts'

const pima = loadPima(loadConfig(process.env).data.pimaCsvPath)
const { data } = datasetFromRows(pima.rows, pima.labels, [])

afterAll(() => closeXGBoostWorker())

describe('xgboost learner', () => {
  it('is registered in the learner registry', () => {
    expect(LEARNERS.xgboost).toBe(xgboostLearner)
    expect(getLearner('xgboost').family).toBe('xgboost')
  })

  it('fits Pima in a worker and ranks well in-sample', async () => {
    const model = await xgboostLearner.fit(data, XGBOOST_DEFAULTS, 42)
    const p = model.predictProba(data.X, data.nRows)
    expect(p.every((x) => x > 0 && x < 1)).toBe(true)
    expect(rocAuc(data.y, p)).toBeGreaterThan(0.88)
    const { model: m, preprocessing } = model.export()
    expect(m.kind).toBe('tree_ensemble')
    expect(m.kind === 'tree_ensemble' && m.trees.length).toBe(XGBOOST_DEFAULTS.n_estimators)
    expect(preprocessing.impute.every((v) => v === null)).toBe(true)
  })

  it('is deterministic for a seed, and the seed matters when subsampling', async () => {
    const params = { ...XGBOOST_DEFAULTS, n_estimators: 40 }
    const a = (await xgboostLearner.fit(data, params, 7)).export()
    const b = (await xgboostLearner.fit(data, params, 7)).export()
    const c = (await xgboostLearner.fit(data, params, 8)).export()
    expect(b).toEqual(a)
    expect(c).not.toEqual(a)
  })

  it('keeps the event loop responsive while training', async () => {
    let ticks = 0
    const timer = setInterval(() => ticks++, 5)
    try {
      // ~0.5–1 s of WASM work; on the main thread no tick could happen until it ended.
      const started = performance.now()
      await xgboostLearner.fit(
        data,
        { ...XGBOOST_DEFAULTS, n_estimators: 300, max_depth: 6, tree_method: 'exact' },
        1,
      )
      const elapsed = performance.now() - started
      // Expect at least a quarter of the ticks a free loop would get.
      expect(ticks).toBeGreaterThan(elapsed / 5 / 4)
    } finally {
      clearInterval(timer)
    }
  })

  it('accepts the default TRAIN_MAX_ROWS cap (the pipeline subsamples to it)', () => {
    expect(xgboostMaxRows(8)).toBeGreaterThanOrEqual(loadConfig({}).training.maxRows)
  })

  it('refuses the reserved missing marker -1 and oversized inputs with TRAINING_FAILED', async () => {
    const bad: Dataset = { ...data, X: data.X.slice() }
    bad.X[3] = -1
    await expect(xgboostLearner.fit(bad, XGBOOST_DEFAULTS, 1)).rejects.toMatchObject({
      code: 'TRAINING_FAILED',
    })
    const rows = xgboostMaxRows(8) + 1
    const big: Dataset = { X: new Float64Array(rows * 8), nRows: rows, nFeatures: 8, y: new Uint8Array(rows) }
    await expect(xgboostLearner.fit(big, XGBOOST_DEFAULTS, 1)).rejects.toThrow(/at most \d+ rows/)
  })
})
