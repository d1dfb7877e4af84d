/**
 * Registry of model families the trainer can fit: one Learner per ModelFamily.
 * `registerLearner` lets tests or experiments swap a family's implementation.
 */
import { RiskStreamError } from '../../lib/errors/index.ts'
import type { ModelFamily } from '../../lib/model/types.ts'
import { gradientBoostingLearner } from './gradient-boosting.ts'
import { logisticLearner } from './logistic.ts'
import { randomForestLearner } from './random-forest.ts'
import type { Learner } from './types.ts'
import { xgboostLearner } from './xgboost.ts'

// biome-ignore lint/suspicious/noExplicitAny: each family has its own parameter type.
type AnyLearner = Learner<any>

/** Learners by family (xgboost: WASM-backed, see ./xgboost.ts). */
export const LEARNERS: Record<ModelFamily, AnyLearner> = {
  gradient_boosting: gradientBoostingLearner,
  random_forest: randomForestLearner,
  logistic_regression: logisticLearner,
  xgboost: xgboostLearner,
}

export function registerLearner(learner: AnyLearner): void {
  LEARNERS[learner.family] = learner
}

/** The learner for a family; throws TRAINING_FAILED when it is not registered. */
export function getLearner(family: ModelFamily): AnyLearner {
  const l = LEARNERS[family]
  if (!l)
    throw new RiskStreamError('TRAINING_FAILED', `no learner registered for family ${family}`, {
      details: { family },
    })
  return l
}
