/**
 * The promotion gate. A candidate is promoted only if it meets every absolute floor AND, when
 * a champion exists, beats the champion's primary metric by `margin` — both evaluated on the
 * SAME rows (the pipeline scores the champion artifact on the candidate's evaluation data), so
 * an easier data set cannot make a worse model look better.
 */
import type { ModelMetrics } from '../../lib/model/types.ts'

export type GateMetricName = 'roc_auc' | 'accuracy' | 'f1' | 'log_loss'
export type GateMetrics = Pick<ModelMetrics, 'roc_auc' | 'accuracy' | 'f1'> &
  Partial<Pick<ModelMetrics, 'log_loss'>>

export interface GateThresholds {
  minAccuracy: number
  minRocAuc: number
  minF1: number
  /** Required improvement over the champion's primary metric (0 = at least as good). */
  margin: number
  primaryMetric: GateMetricName
}

export interface GateResult {
  passed: boolean
  /** One line per failed check; empty when passed. */
  reasons: string[]
}

const fmt = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? 'NaN' : x.toFixed(4))

export function gate(candidate: GateMetrics, champion: GateMetrics | null, t: GateThresholds): GateResult {
  const reasons: string[] = []
  // `!(x >= min)` rather than `x < min`: a NaN metric must fail, not slip through.
  if (!(candidate.accuracy >= t.minAccuracy))
    reasons.push(`accuracy ${fmt(candidate.accuracy)} < minimum ${t.minAccuracy}`)
  if (!(candidate.roc_auc >= t.minRocAuc))
    reasons.push(`roc_auc ${fmt(candidate.roc_auc)} < minimum ${t.minRocAuc}`)
  if (!(candidate.f1 >= t.minF1)) reasons.push(`f1 ${fmt(candidate.f1)} < minimum ${t.minF1}`)
  if (champion) {
    const m = t.primaryMetric
    const cand = candidate[m]
    const champ = champion[m]
    // log_loss: lower is better, so the improvement is champion − candidate.
    const improvement =
      cand === undefined || champ === undefined ? Number.NaN : m === 'log_loss' ? champ - cand : cand - champ
    if (!(improvement >= t.margin)) {
      reasons.push(
        `${m} ${fmt(cand)} does not beat champion ${fmt(champ)} by margin ${t.margin} (improvement ${fmt(improvement)})`,
      )
    }
  }
  return { passed: reasons.length === 0, reasons }
}
