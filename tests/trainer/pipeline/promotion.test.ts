/**
 * The promotion test on real models: a challenger equal to the champion is never promoted,
 * whatever the rows; a challenger that really ranks the fresh rows better is.
 */
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../../lib/config/index.ts'
import { loadPima } from '../../../lib/data/pima.ts'
import { datasetFromRows } from '../../../trainer/pipeline/dataset.ts'
import { scoreArtifact, testAgainstChampion } from '../../../trainer/pipeline/promotion.ts'
import { trainCandidates } from '../../../trainer/pipeline/train.ts'
import { subsetDataset } from '../../../trainer/selection/dataset.ts'

const pima = loadPima(loadConfig(process.env).data.pimaCsvPath)
const opts = {
  families: ['logistic_regression' as const],
  k: 5,
  seed: 42,
  budget: 2,
  primaryMetric: 'roc_auc' as const,
  minAccuracy: 0.7,
  bootstrapResamples: 200,
}
const rule = { alpha: 0.05, margin: 0, resamples: 300 }
const all = datasetFromRows(pima.rows, pima.labels, ['pima-csv']).data
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i)

describe('promotion test', () => {
  it('a model equal to the champion is not promoted (DeLong p = 1, tie)', async () => {
    const champion = (await trainCandidates(subsetDataset(all, range(0, 600)), opts)).artifact
    const fresh = range(600, 768)
    const same = scoreArtifact(champion, subsetDataset(all, fresh))
    const t = testAgainstChampion(champion, all, fresh, { probs: same, threshold: champion.threshold }, rule)
    expect(t.rows).toBe(168)
    expect(t.difference).toBe(0)
    expect(t.pValue).toBe(1)
    expect(t.significant).toBe(false)
    // the challenger's probabilities are the champion's own: the champion scored the same rows alike
    expect(t.champion).toEqual(t.candidate)
    // even at a very permissive level and a negative margin a tie is not a win
    const loose = testAgainstChampion(
      champion,
      all,
      fresh,
      { probs: same, threshold: champion.threshold },
      {
        alpha: 0.5,
        margin: -1,
      },
    )
    expect(loose.significant).toBe(false)
  })

  it('a challenger trained on the new concept beats a champion of the old one on fresh rows', async () => {
    // New concept: the label of BMI ≥ 30 patients flips (the demo's concept drift, p = 1 here).
    const bmi = 5
    const flipped = { ...all, y: Uint8Array.from(all.y) }
    for (let i = 0; i < all.nRows; i++)
      if (all.X[i * all.nFeatures + bmi]! >= 30) flipped.y[i] = 1 - all.y[i]!
    const champion = (await trainCandidates(subsetDataset(all, range(0, 600)), opts)).artifact
    // trees learn the interaction that a linear model cannot
    const challenger = await trainCandidates(flipped, {
      ...opts,
      families: ['random_forest'],
      holdout: range(600, 768),
    })
    expect(challenger.evaluation.kind).toBe('out_of_time')
    expect(challenger.evaluation.rows).toEqual(range(600, 768))
    const t = testAgainstChampion(
      champion,
      flipped,
      challenger.evaluation.rows,
      { probs: challenger.evaluation.probs, threshold: challenger.artifact.threshold },
      rule,
    )
    console.log(
      `challenger vs champion on 168 fresh rows: AUC ${t.candidateAuc.toFixed(3)} vs ${t.championAuc.toFixed(3)}, z ${t.z.toFixed(2)}, p ${t.pValue.toExponential(2)}`,
    )
    expect(t.difference).toBeGreaterThan(0.1)
    expect(t.pValue).toBeLessThan(0.01)
    expect(t.interval.lo).toBeGreaterThan(0)
    expect(t.significant).toBe(true)
    // the margin is honoured on top of significance
    const strict = testAgainstChampion(
      champion,
      flipped,
      challenger.evaluation.rows,
      { probs: challenger.evaluation.probs, threshold: challenger.artifact.threshold },
      { ...rule, margin: t.difference + 1e-9 },
    )
    expect(strict.significant).toBe(false)
  })
})
