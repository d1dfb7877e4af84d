/** Inference role: prediction requests → predictions, with live model hot-reload and shadow scoring. */
export { createInferenceMetrics, type InferenceMetrics } from './metrics.ts'
export {
  type ArtifactLoader,
  buildLoadedModel,
  createModelFollower,
  type LoadedModel,
  type ModelFollower,
} from './model-follower.ts'
export {
  columnMap,
  fillRow,
  type PredictionEvent,
  type PredictionRequest,
  toPrediction,
  unscorableError,
  validateRequest,
} from './requests.ts'
export {
  createInferenceService,
  type InferenceOptions,
  type InferenceService,
  type InferenceStatus,
} from './service.ts'
export * from './versions.ts'
