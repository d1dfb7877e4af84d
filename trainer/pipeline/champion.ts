/**
 * Fair champion comparison: the gate compares candidate and champion on the SAME rows.
 * The candidate's predictions are its out-of-fold probabilities (each row scored by a model that
 * never saw it); the champion artifact is scored on those same rows at its own shipped threshold.
 *
 * Which rows: the champion must not have been trained on them, or its in-sample score (a random
 * forest reaches ~0.95+ AUC in-sample on Pima) beats any honest out-of-fold score and nothing is
 * ever promoted. The caller passes `rows` = indices of rows newer than the champion's data set
 * (its fingerprint's timeRange/offsets). Without `rows` every row is used; that is only fair
 * when the champion never saw this data.
 */
import { createScorer } from '../../lib/model/scorer.ts'
import type { ModelArtifact, ModelMetrics } from '../../lib/model/types.ts'
import { classificationMetrics } from '../../lib/stats/metrics.ts'
import type { Dataset } from '../learners/types.ts'
import { subsetDataset } from '../selection/dataset.ts'
import { toModelMetrics } from './train.ts'

type Scorable = Pick<ModelArtifact, 'model' | 'preprocessing' | 'threshold'>

/** Metrics of an artifact on `data`, at the artifact's own threshold. */
export function evaluateArtifact(artifact: Scorable, data: Dataset): ModelMetrics {
  const probs = createScorer(artifact.model, artifact.preprocessing).scoreBatch(data.X, data.nRows)
  return toModelMetrics(classificationMetrics(data.y, probs, artifact.threshold))
}

export interface ChampionComparison {
  candidate: ModelMetrics
  champion: ModelMetrics
  /** Number of rows both were evaluated on. */
  rows: number
}

/**
 * Candidate (out-of-fold probabilities `candidateOof` at `candidateThreshold`) and champion
 * artifact, evaluated on the same `rows` of `data` (default: all). Feed the result to `gate`.
 */
export function compareWithChampion(
  champion: Scorable,
  data: Dataset,
  candidateOof: Float64Array,
  candidateThreshold: number,
  rows?: ArrayLike<number>,
): ChampionComparison {
  const idx = rows ? Array.from(rows) : Array.from({ length: data.nRows }, (_, i) => i)
  const sub = subsetDataset(data, idx)
  const probs = Float64Array.from(idx, (i) => candidateOof[i]!)
  return {
    candidate: toModelMetrics(classificationMetrics(sub.y, probs, candidateThreshold)),
    champion: evaluateArtifact(champion, sub),
    rows: idx.length,
  }
}
