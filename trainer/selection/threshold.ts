import { bestThreshold, type ThresholdChoice } from '../../lib/stats/metrics.ts'

/**
 * The decision threshold shipped with a model: maximise F1 among thresholds whose accuracy is
 * at least `minAccuracy` (the promotion gate's MIN_MODEL_ACCURACY), chosen on OUT-OF-FOLD
 * probabilities so it is not tuned on predictions of rows the model was fitted on.
 * `constrained: false` means no threshold reached the floor (the gate will then reject).
 */
export function chooseThreshold(
  yTrue: ArrayLike<number>,
  oofProbs: ArrayLike<number>,
  minAccuracy: number,
): ThresholdChoice {
  return bestThreshold(yTrue, oofProbs, { minAccuracy })
}
