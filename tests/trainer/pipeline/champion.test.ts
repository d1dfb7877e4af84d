import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../../lib/config/index.ts'
import { loadPima } from '../../../lib/data/pima.ts'
import { compareWithChampion, evaluateArtifact } from '../../../trainer/pipeline/champion.ts'
import { datasetFromRows } from '../../../trainer/pipeline/dataset.ts'
import { trainCandidates } from '../../../trainer/pipeline/train.ts'
import { subsetDataset } from '../../../trainer/selection/dataset.ts'
import { gate } from '../../../trainer/selection/gate.ts'

const pima = loadPima(loadConfig(process.env).data.pimaCsvPath)
const opts = {
  families: ['logistic_regression' as const],
  k: 5,
  seed: 42,
  budget: 2,
  primaryMetric: 'roc_auc' as const,
  minAccuracy: 0.7,
}

describe('champion comparison', () => {
  it('scores candidate and champion on the same rows the champion never saw', async () => {
    const all = datasetFromRows(pima.rows, pima.labels, ['pima-csv']).data
    const first = subsetDataset(
      all,
      Array.from({ length: 600 }, (_, i) => i),
    )
    const champion = (await trainCandidates(first, opts)).artifact
    const candidate = await trainCandidates(all, opts)
    const newRows = Array.from({ length: 168 }, (_, i) => 600 + i)

    const cmp = compareWithChampion(
      champion,
      all,
      candidate.evaluation.probs,
      candidate.artifact.threshold,
      newRows,
    )
    expect(cmp.rows).toBe(168)
    expect(cmp.champion).toEqual(evaluateArtifact(champion, subsetDataset(all, newRows)))
    const conf = cmp.candidate.confusion
    expect(conf.tp + conf.fp + conf.tn + conf.fn).toBe(168)

    const thresholds = { minAccuracy: 0, minRocAuc: 0, minF1: 0, primaryMetric: 'roc_auc' as const }
    const diff = cmp.candidate.roc_auc - cmp.champion.roc_auc
    // A margin just above the observed improvement fails, just below passes: the comparison is live.
    const fail = gate(cmp.candidate, cmp.champion, { ...thresholds, margin: diff + 1e-6 })
    expect(fail.passed).toBe(false)
    expect(fail.reasons).toHaveLength(1)
    expect(fail.reasons[0]).toMatch(/^roc_auc .* does not beat champion/)
    expect(gate(cmp.candidate, cmp.champion, { ...thresholds, margin: diff - 1e-6 }).passed).toBe(true)
  })
})
