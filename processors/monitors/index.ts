/** Public API of the monitors role (see service.ts for the pipeline, engine/ for the statistics glue). */
export {
  binEvent,
  type ColumnLayout,
  columnLayout,
  type MonitoredArtifact,
  PROBABILITY,
} from './drift/columns.ts'
export { evaluateCounts, type WindowStats } from './drift/evaluate.ts'
export {
  DEFAULT_JOIN_MAX_SIZE,
  type EngineOptions,
  type EngineOutputs,
  type EngineSnapshot,
  MonitorEngine,
} from './engine/engine.ts'
export {
  driftEventRecord,
  insertDriftEvents,
  insertWindowRows,
  loadCheckpoint,
  rebuildJoin,
  saveCheckpoint,
  windowRowValues,
} from './engine/store.ts'
export {
  type DriftEventRecord,
  type DriftKind,
  driftEventId,
  type MonitorKind,
  type WindowRow,
  type WindowType,
} from './engine/types.ts'
export { QUALITY_CLEAR, QUALITY_THRESHOLD, VersionMonitor } from './engine/version.ts'
export { LabelJoin } from './performance/join.ts'
export {
  AnalyticsPipeline,
  type CheckpointPolicy,
  DEFAULT_CHECKPOINT_POLICY,
  type PipelineOptions,
  type PipelineRecord,
  RAW_INSERT_ROWS,
} from './pipeline.ts'
export {
  createMonitorService,
  type MonitorService,
  type MonitorServiceOptions,
} from './service.ts'
export {
  type Cell,
  chSeconds,
  OUTCOME_COLUMNS,
  outcomeValues,
  PREDICTION_COLUMNS,
  predictionValues,
} from './sink/encode.ts'
export {
  batchToken,
  insertCompact,
  insertDlqRecords,
  insertOutcomes,
  insertPredictions,
  insertShadowPredictions,
} from './sink/insert.ts'
export {
  dlqRow,
  type OutcomeEvent,
  outcomeRow,
  type PredictionEvent,
  predictionRow,
  shadowPredictionRow,
} from './sink/rows.ts'
