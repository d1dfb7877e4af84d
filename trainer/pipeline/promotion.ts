/**
 * The promotion test: does the challenger rank the SAME fresh out-of-time rows better than
 * the champion, by more than chance would explain?
 *
 * Both are scored on rows neither was fitted on or selected with: the newest labelled window
 * of the stream (held out of the challenger's training and selection) restricted to rows newer
 * than the champion's training data. The statistic is DeLong's paired test on ROC-AUC
 * (one-sided, H1: challenger AUC > champion AUC); the challenger is promoted only when
 * p < alpha AND the AUC gain exceeds the margin. Equal rankings have no variance of the
 * difference, hence p = 1: a tie is never promoted. A paired bootstrap interval of the AUC
 * gain is reported beside the test.
 */
import { createScorer } from '../../lib/model/scorer.ts'
import type { ModelArtifact, ModelMetrics } from '../../lib/model/types.ts'
import { pairedBootstrap } from '../../lib/stats/bootstrap.ts'
import { delongTest } from '../../lib/stats/delong.ts'
import { classificationMetrics, rocAuc } from '../../lib/stats/metrics.ts'
import type { Dataset } from '../learners/types.ts'
import { subsetDataset } from '../selection/dataset.ts'
import { toModelMetrics } from './train.ts'

type Scorable = Pick<ModelArtifact, 'model' | 'preprocessing' | 'threshold'>

/** Probabilities of an artifact on `data`. */
export function scoreArtifact(artifact: Scorable, data: Dataset): Float64Array {
  return createScorer(artifact.model, artifact.preprocessing).scoreBatch(data.X, data.nRows)
}

export interface PromotionRule {
  /** One-sided significance level of DeLong's test (config PROMOTION_ALPHA). */
  alpha: number
  /** Minimum AUC gain on top of significance (config PROMOTION_MARGIN). */
  margin: number
  /** Seed and resamples of the paired bootstrap interval (reported, not decisive). */
  seed?: number
  resamples?: number
}

export interface PromotionTest {
  test: 'delong_roc_auc'
  alpha: number
  margin: number
  rows: number
  positives: number
  candidateAuc: number
  championAuc: number
  /** candidateAuc − championAuc. */
  difference: number
  se: number
  /** DeLong z (NaN when the two rankings are identical). */
  z: number
  /** One-sided p-value of H1: candidate AUC > champion AUC. */
  pValue: number
  /** Paired bootstrap 95 % interval of the AUC gain on the same rows. */
  interval: { lo: number; hi: number }
  /** Both at their own thresholds on these rows. */
  candidate: ModelMetrics
  champion: ModelMetrics
  significant: boolean
}

/** The test on aligned labels and probabilities of the two models (see the file header). */
export function promotionTest(
  y: Uint8Array,
  candidate: { probs: Float64Array; threshold: number },
  champion: { probs: Float64Array; threshold: number },
  rule: PromotionRule,
): PromotionTest {
  const d = delongTest(y, candidate.probs, champion.probs)
  const boot = pairedBootstrap(
    y.length,
    (rows) => {
      const yy = Uint8Array.from(rows, (i) => y[i]!)
      return (
        rocAuc(
          yy,
          Float64Array.from(rows, (i) => candidate.probs[i]!),
        ) -
        rocAuc(
          yy,
          Float64Array.from(rows, (i) => champion.probs[i]!),
        )
      )
    },
    { seed: rule.seed ?? 0, resamples: rule.resamples ?? 1000 },
  )
  return {
    test: 'delong_roc_auc',
    alpha: rule.alpha,
    margin: rule.margin,
    rows: y.length,
    positives: d.positives,
    candidateAuc: d.aucA,
    championAuc: d.aucB,
    difference: d.difference,
    se: d.se,
    z: d.z,
    pValue: d.pValue,
    interval: { lo: boot.lo, hi: boot.hi },
    candidate: toModelMetrics(classificationMetrics(y, candidate.probs, candidate.threshold)),
    champion: toModelMetrics(classificationMetrics(y, champion.probs, champion.threshold)),
    significant: d.pValue < rule.alpha && d.difference > rule.margin,
  }
}

/**
 * The champion artifact and the challenger's held-out probabilities on `rows` of `data`
 * (`candidateProbs[r]` belongs to `rows[r]`).
 */
export function testAgainstChampion(
  champion: Scorable,
  data: Dataset,
  rows: number[],
  candidate: { probs: Float64Array; threshold: number },
  rule: PromotionRule,
): PromotionTest {
  const sub = subsetDataset(data, rows)
  return promotionTest(
    sub.y,
    candidate,
    { probs: scoreArtifact(champion, sub), threshold: champion.threshold },
    rule,
  )
}
