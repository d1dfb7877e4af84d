/**
 * The ClickHouse contract between the roles: every table and view a role reads or writes, and
 * the monitor-row vocabulary (monitors, window types, the probability subject) that crosses
 * roles through `monitor_windows`. Code names a table through these constants, never a literal
 * (tests/architecture/warehouse-names.test.ts); the DDL itself lives in migrations/.
 */

/** Tables (migrations/001–049). */
export const TABLES = Object.freeze({
  predictions: 'predictions',
  shadowPredictions: 'shadow_predictions',
  outcomes: 'outcomes',
  dlqRecords: 'dlq_records',
  driftEvents: 'drift_events',
  modelVersions: 'model_versions',
  modelStageEvents: 'model_stage_events',
  modelArtifacts: 'model_artifacts',
  trainingRuns: 'training_runs',
  retrainTriggers: 'retrain_triggers',
  monitorWindows: 'monitor_windows',
  monitorCheckpoints: 'monitor_checkpoints',
  promotionDecisions: 'promotion_decisions',
  /** The newest window id per version, monitor, window type and metric (migrations/032). */
  monitorLatestWindows: 'monitor_latest_windows',
  /** The label join's predictions beyond its in-memory budget (processors/monitors/performance/spill.ts). */
  labelJoinSpill: 'label_join_spill',
  /** Window rows of the monitoring segments, keyed by segment (migrations/060, lib/segments). */
  monitorSegmentWindows: 'monitor_segment_windows',
} as const)

/** Views (migrations/020 and later). */
export const VIEWS = Object.freeze({
  /** Newest sliding value of every drift metric (migrations/050; replaces v_latest_psi). */
  latestDrift: 'v_latest_drift',
  accuracyByDay: 'v_accuracy_by_day',
  alertHistory: 'v_alert_history',
  dlqByReason: 'v_dlq_by_reason',
  /** Fills monitor_latest_windows on every insert into monitor_windows. */
  monitorLatestWindowsMv: 'monitor_latest_windows_mv',
} as const)

export type TableName = (typeof TABLES)[keyof typeof TABLES]
export type ViewName = (typeof VIEWS)[keyof typeof VIEWS]

/** Every name a query may read from, for the architecture test and the migration check. */
export const WAREHOUSE_NAMES: readonly string[] = Object.freeze([
  ...Object.values(TABLES),
  ...Object.values(VIEWS),
])

/** `monitor_windows.monitor`: which monitor wrote the row. */
export const MONITOR = Object.freeze({
  drift: 'drift',
  quality: 'quality',
  performance: 'performance',
  /** Performance estimated from the served probabilities, before labels. */
  estimate: 'estimate',
} as const)
export type MonitorName = (typeof MONITOR)[keyof typeof MONITOR]

/** `monitor_windows.window_type`. */
export const WINDOW_TYPE = Object.freeze({ sliding: 'sliding', tumbling: 'tumbling' } as const)
export type WindowType = (typeof WINDOW_TYPE)[keyof typeof WINDOW_TYPE]

/** The drift subject of the predicted probability (beside one subject per feature). */
export const PROBABILITY_SUBJECT = '__probability'
