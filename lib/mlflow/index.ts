/** MLflow's REST API: a small typed client (client.ts) and the mirror's failure count (failures.ts). */
export {
  createMlflowClient,
  type Dataset,
  type FileInfo,
  type KeyValue,
  LOG_BATCH_LIMITS,
  MAX_PARAM_VALUE,
  MAX_TAG_VALUE,
  type Metric,
  MLFLOW_REQUEST_TIMEOUT_MS,
  type MlflowClient,
  type MlflowClientOptions,
  type ModelVersion,
  type RegisteredModel,
  type Run,
  type RunInfo,
  type RunStatus,
} from './client.ts'
export { countMirrorFailure, type MirrorOperation, mirrorFailures } from './failures.ts'
