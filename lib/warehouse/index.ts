/** The warehouse contract: table, view and monitor-row names, and retention. */
export {
  MONITOR,
  type MonitorName,
  PROBABILITY_SUBJECT,
  TABLES,
  type TableName,
  VIEWS,
  type ViewName,
  WAREHOUSE_NAMES,
  WINDOW_TYPE,
  type WindowType,
} from './names.ts'
export {
  applyRetention,
  currentTtl,
  migrateWarehouse,
  RETENTION_TARGETS,
  type RetentionDays,
  ttlExpression,
} from './retention.ts'
