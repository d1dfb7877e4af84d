/**
 * Shipping calibrated probabilities. Platt's map σ(a·logit(p) + b) folds exactly into models
 * whose probability is σ(margin): a linear model (weights and intercept scaled by a, b added)
 * and a summed tree ensemble with a logistic link (leaf values and base margin scaled by a,
 * b added). A random forest averages leaf probabilities, so it cannot carry the map and ships
 * uncalibrated.
 *
 * Whether to calibrate is decided on the training rows only: the chosen model's out-of-fold
 * probabilities are split in two (seeded), a Platt map fitted on each half scores the other,
 * and the map ships when that cross-fitted log-loss beats the raw one by MIN_GAIN.
 */
import type { ScorableModel } from '../../lib/model/types.ts'
import { applyPlatt, fitPlatt, type PlattMap } from '../../lib/stats/calibration.ts'
import { logLoss } from '../../lib/stats/metrics.ts'
import { createRng, shuffleInPlace } from '../learners/random.ts'

/** Log-loss improvement (nats per row) below which calibrating is not worth a changed model. */
export const MIN_GAIN = 0.002

export function plattRepresentable(model: ScorableModel): boolean {
  return model.kind === 'linear' || (model.aggregation === 'sum' && model.link === 'logistic')
}

/** The model with Platt's map folded in (a > 0 keeps every ranking and decision). */
export function withPlatt(model: ScorableModel, map: PlattMap): ScorableModel {
  if (model.kind === 'linear') {
    return {
      ...model,
      weights: model.weights.map((w) => w * map.a),
      intercept: model.intercept * map.a + map.b,
    }
  }
  return {
    ...model,
    baseMargin: model.baseMargin * map.a + map.b,
    trees: model.trees.map((t) => ({ ...t, value: t.value.map((v) => v * map.a) })),
  }
}

/** The threshold that makes the same decisions on calibrated probabilities. */
export function plattThreshold(threshold: number, map: PlattMap): number {
  const t = Math.min(1 - 1e-12, Math.max(1e-12, threshold))
  return 1 / (1 + Math.exp(-(map.a * Math.log(t / (1 - t)) + map.b)))
}

export interface CalibrationDecision {
  apply: boolean
  map: PlattMap
  rawLogLoss: number
  crossFittedLogLoss: number
}

export function decideCalibration(y: Uint8Array, oof: Float64Array, seed: number): CalibrationDecision {
  const n = y.length
  const idx = Array.from({ length: n }, (_, i) => i)
  shuffleInPlace(idx, createRng(`${seed}:calibration`))
  const halves = [idx.slice(0, n >> 1), idx.slice(n >> 1)]
  const cross = new Float64Array(n)
  halves.forEach((fitRows, h) => {
    const other = halves[1 - h]!
    const map = fitPlatt(
      Uint8Array.from(fitRows, (i) => y[i]!),
      Float64Array.from(fitRows, (i) => oof[i]!),
    )
    const out = applyPlatt(
      map,
      Float64Array.from(other, (i) => oof[i]!),
    )
    other.forEach((i, r) => {
      cross[i] = out[r]!
    })
  })
  const map = fitPlatt(y, oof)
  const rawLogLoss = logLoss(y, oof)
  const crossFittedLogLoss = logLoss(y, cross)
  return {
    apply: map.a > 0 && crossFittedLogLoss < rawLogLoss - MIN_GAIN,
    map,
    rawLogLoss,
    crossFittedLogLoss,
  }
}
