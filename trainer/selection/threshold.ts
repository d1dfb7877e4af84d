import { type ThresholdChoice, thresholdSweep } from '../../lib/stats/metrics.ts'

/**
 * How the decision threshold shipped with a model is chosen, always on OUT-OF-FOLD
 * probabilities of the rows it is fitted on (inside each outer fold when estimating):
 * - `max_accuracy_given_f1` (default): the highest accuracy among thresholds whose F1 is at
 *   least the F1 floor (MIN_MODEL_F1); if none reaches it, the highest F1.
 * - `max_f1_given_accuracy`: the highest F1 among thresholds whose accuracy is at least the
 *   accuracy floor (MIN_MODEL_ACCURACY); if none reaches it, the highest accuracy.
 * `constrained: false` means the floor of the rule was not reachable on those rows.
 */
export type ThresholdRule = 'max_accuracy_given_f1' | 'max_f1_given_accuracy'

export interface ThresholdFloors {
  minAccuracy: number
  minF1: number
}

function nearerHalf(a: number, b: number): boolean {
  return Math.abs(a - 0.5) < Math.abs(b - 0.5)
}

/** a better than b on (first, then second, then nearer 0.5). */
function better(a: ThresholdChoice, b: ThresholdChoice, first: 'accuracy' | 'f1'): boolean {
  const second = first === 'accuracy' ? 'f1' : 'accuracy'
  if (a[first] !== b[first]) return a[first] > b[first]
  if (a[second] !== b[second]) return a[second] > b[second]
  return nearerHalf(a.threshold, b.threshold)
}

/** Candidates are the distinct probabilities (label = prob >= candidate): `thresholdSweep`. */
export function chooseThreshold(
  yTrue: ArrayLike<number>,
  oofProbs: ArrayLike<number>,
  floors: ThresholdFloors,
  rule: ThresholdRule = 'max_accuracy_given_f1',
): ThresholdChoice {
  if (yTrue.length === 0) return { threshold: 0.5, f1: 0, accuracy: 0, constrained: false }
  const objective = rule === 'max_accuracy_given_f1' ? 'accuracy' : 'f1'
  const fallbackBy = rule === 'max_accuracy_given_f1' ? 'f1' : 'accuracy'
  let best: ThresholdChoice | null = null
  let fallback: ThresholdChoice | null = null
  for (const { confusion: _, ...cand } of thresholdSweep(yTrue, oofProbs)) {
    const meets =
      rule === 'max_accuracy_given_f1' ? cand.f1 >= floors.minF1 : cand.accuracy >= floors.minAccuracy
    if (meets && (best === null || better(cand, best, objective))) best = cand
    if (fallback === null || better(cand, fallback, fallbackBy)) fallback = cand
  }
  return best ?? { ...fallback!, constrained: false }
}
