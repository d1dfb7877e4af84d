/** The model families the trainer can fit, and their registry (registry.ts). */
export {
  GRADIENT_BOOSTING_DEFAULTS,
  type GradientBoostingParams,
  gradientBoostingLearner,
} from './gradient-boosting.ts'
export { LOGISTIC_DEFAULTS, type LogisticParams, logisticLearner } from './logistic.ts'
export { createRng, type Rng, shuffleInPlace } from './random.ts'
export { RANDOM_FOREST_DEFAULTS, type RandomForestParams, randomForestLearner } from './random-forest.ts'
export { getLearner, LEARNERS, registerLearner } from './registry.ts'
export type { Dataset, Learner, ParamSpace, TrainedModel } from './types.ts'
