/** Inference role: prediction requests → predictions, with live model hot-reload and shadow scoring. */

/** The contracts this role reads and writes (lib/events; timestamps as epoch ms). */
export type { PredictionEvent, PredictionRequestEvent as PredictionRequest } from '../../lib/events/index.ts'
export { createInferenceMetrics, type InferenceMetrics } from './metrics.ts'
export {
  type ArtifactLoader,
  buildLoadedModel,
  createModelFollower,
  type LoadedModel,
  type ModelFollower,
} from './model-follower.ts'
export {
  createInferenceService,
  type InferenceOptions,
  type InferenceService,
  type InferenceStatus,
} from './service.ts'
export * from './versions.ts'
