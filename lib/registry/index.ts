/** The model registry (versions, stages, artifacts) and the model-versions topic layout. */
export { createRegistry, INLINE_ARTIFACT_MAX_BYTES, type RegistryDeps, rollbackTarget } from './registry.ts'
export {
  eventIdFor,
  latestProductionFromTopic,
  modelOfKey,
  readModelVersionTopic,
  servingKey,
  shadowKey,
  versionKey,
} from './topic.ts'
export type {
  ModelRegistry,
  ModelVersionEvent,
  ModelVersionRow,
  RegisterOptions,
  StageAction,
  StageEventRow,
} from './types.ts'
