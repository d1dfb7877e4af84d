/**
 * The learners on the real Pima data: 5-fold stratified CV ROC-AUC per family, and the
 * export contract — the exported model scored by lib/model's scorer equals the learner's own
 * predictProba — which is what lets inference trust an artifact.
 */
import { describe, expect, it } from 'vitest'
import { createScorer } from '../../../lib/model/scorer.ts'
import { rocAuc } from '../../../lib/stats/metrics.ts'
import { gradientBoostingLearner } from '../../../trainer/learners/gradient-boosting.ts'
import { logisticLearner } from '../../../trainer/learners/logistic.ts'
import { randomForestLearner } from '../../../trainer/learners/random-forest.ts'
import type { Learner } from '../../../trainer/learners/types.ts'
import { pimaDataset, stratifiedFolds, takeRows } from './pima-helpers.ts'

const data = pimaDataset()
const K = 5
const folds = stratifiedFolds(data.y, K, 2024)

// biome-ignore lint/suspicious/noExplicitAny: heterogeneous learners
async function cvAuc(learner: Learner<any>): Promise<{ mean: number; folds: number[] }> {
  const aucs: number[] = []
  for (let k = 0; k < K; k++) {
    const train = [...folds.keys()].filter((i) => folds[i] !== k)
    const test = [...folds.keys()].filter((i) => folds[i] === k)
    const model = await learner.fit(takeRows(data, train), learner.defaults, 7)
    const held = takeRows(data, test)
    aucs.push(rocAuc(held.y, model.predictProba(held.X, held.nRows)))
  }
  return { mean: aucs.reduce((a, b) => a + b, 0) / K, folds: aucs }
}

// biome-ignore lint/suspicious/noExplicitAny: heterogeneous learners
const CASES: { learner: Learner<any>; minAuc: number }[] = [
  { learner: gradientBoostingLearner, minAuc: 0.8 },
  { learner: randomForestLearner, minAuc: 0.8 },
  { learner: logisticLearner, minAuc: 0.82 },
]

describe('learners on Pima', () => {
  it('folds are stratified: each holds about a fifth of each class', () => {
    for (let k = 0; k < K; k++) {
      const rows = [...folds.keys()].filter((i) => folds[i] === k)
      const pos = rows.filter((i) => data.y[i] === 1).length
      expect(Math.abs(rows.length - 768 / K)).toBeLessThanOrEqual(1)
      expect(Math.abs(pos - 268 / K)).toBeLessThanOrEqual(1)
    }
  })

  for (const { learner, minAuc } of CASES) {
    it(`${learner.family}: 5-fold stratified CV ROC-AUC ≥ ${minAuc}`, async () => {
      const { mean, folds: perFold } = await cvAuc(learner)
      console.log(
        `${learner.family} CV ROC-AUC ${mean.toFixed(4)} (folds ${perFold.map((a) => a.toFixed(3)).join(', ')})`,
      )
      expect(mean).toBeGreaterThanOrEqual(minAuc)
    })

    it(`${learner.family}: exported model scored by createScorer equals predictProba to 1e-6`, async () => {
      const model = await learner.fit(data, learner.defaults, 7)
      const own = model.predictProba(data.X, data.nRows)
      const { model: exported, preprocessing } = model.export()
      // Through JSON, as an artifact would carry it.
      const scorer = createScorer(
        JSON.parse(JSON.stringify(exported)),
        JSON.parse(JSON.stringify(preprocessing)),
      )
      const batch = scorer.scoreBatch(data.X, data.nRows)
      let maxDiff = 0
      for (let r = 0; r < data.nRows; r++) {
        maxDiff = Math.max(maxDiff, Math.abs(batch[r]! - own[r]!))
        const one = scorer.scoreOne(data.X.subarray(r * 8, r * 8 + 8))
        maxDiff = Math.max(maxDiff, Math.abs(one - own[r]!))
      }
      expect(maxDiff).toBeLessThan(1e-6)
    })
  }
})
