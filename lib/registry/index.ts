/** The model registry (versions, stages, artifacts) and the model-versions topic layout. */
export {
  CHALLENGER_ALIAS,
  CHAMPION_ALIAS,
  createMlflowMirror,
  type MirrorDeps,
  MLFLOW_TAG,
  type MlflowMirror,
  MODEL_ARTIFACT_DIR,
  type ModelSync,
  mirrorSafely,
  type RunSync,
} from './mlflow.ts'
export { createRegistry, INLINE_ARTIFACT_MAX_BYTES, type RegistryDeps, rollbackTarget } from './registry.ts'
export {
  countRuns,
  getRun,
  type ListRunsOptions,
  listRuns,
  parseJsonOr,
  type RowSource,
  RUN_COLUMNS,
  RUN_SUMMARY_COLUMNS,
  type RunRecord,
  type RunStatus,
  type TrainingRun,
  toTrainingRun,
  trainingRunRow,
} from './runs.ts'
export {
  eventIdFor,
  latestProductionFromTopic,
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
