export {
  consumerLag,
  createRoleMetrics,
  type LagValue,
  type RoleMetrics,
  type RoleMetricsDeps,
  registerProcessMetrics,
  roleGroupPrefixes,
  UNKNOWN_VERSION_LABEL,
} from './collect.ts'
export {
  DRIFT_STATISTIC_METRICS,
  exportedMetricNames,
  METRIC,
  type MetricName,
  PROCESS_METRICS,
  SCRAPE_METRICS,
  windowLabel,
} from './names.ts'
export { type MetricsServer, serveMetrics } from './server.ts'
export { createMetricsService, type MetricsService } from './service.ts'
