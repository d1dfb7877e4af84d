/**
 * Every Prometheus metric name RiskStream exports, in one place. The roles' metric modules, the
 * Grafana dashboard and the alert rules (deploy/) use these names; a test checks that every
 * dashboard query and alert expression names one of them.
 *
 * Conventions: `riskstream_` prefix, base units (`_seconds`, ratios 0..1), `_total` on counters.
 * Labels: `model` (name), `version` (model version), `feature`, `window` (`sliding_1000`: the
 * last 1000 events; `tumbling_5m`: a 5-minute time window), `group`/`topic`/`partition`,
 * `reason`, `trigger`, `outcome`.
 */
import { MONITOR_STATISTICS } from '../stats/index.ts'

/**
 * One gauge per drift statistic the monitors evaluate (the lib/stats/statistics registry), from
 * the newest evaluated window of each kind: `riskstream_drift_<name>` (riskstream_drift_psi,
 * riskstream_drift_ks, …) with labels model, version, feature (`__probability` = the predicted
 * probability) and window. A registered statistic gets its gauge with no edit here.
 */
export const DRIFT_STATISTIC_METRICS: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(MONITOR_STATISTICS.map((s) => [s.name, `riskstream_drift_${s.name}`])),
)

export const METRIC = {
  // Data drift beside the statistics' gauges (DRIFT_STATISTIC_METRICS), from the newest windows
  /** The calibrated PSI threshold of a feature for the sliding window's size. */
  driftPsiThreshold: 'riskstream_drift_psi_threshold',
  /** Detector state of a feature: 0 ok, 1 pending (over threshold, not yet confirmed), 2 alert. */
  driftState: 'riskstream_drift_state',
  /** Share of requests missing a feature in the window. */
  featureMissingRatio: 'riskstream_feature_missing_ratio',
  /** Values outside the feature's input domain in the window. */
  featureOutOfRange: 'riskstream_feature_out_of_range_records',
  /** Events in the window. */
  windowRecords: 'riskstream_monitor_window_records',

  // Model performance (monitors): realised on labelled predictions, estimated before labels
  accuracy: 'riskstream_model_accuracy',
  f1: 'riskstream_model_f1',
  rocAuc: 'riskstream_model_roc_auc',
  brier: 'riskstream_model_brier',
  precision: 'riskstream_model_precision',
  recall: 'riskstream_model_recall',
  /** Labelled predictions in the performance window (label coverage of the window). */
  labelledRecords: 'riskstream_model_labelled_records',
  /** Accuracy the artifact promised at validation (the reference the drop is measured from). */
  expectedAccuracy: 'riskstream_model_expected_accuracy',
  /** Validation accuracy minus realised accuracy. */
  accuracyDrop: 'riskstream_model_accuracy_drop',
  /** Confidence-based estimates (CBPE) from the probabilities alone, before labels arrive. */
  estimatedAccuracy: 'riskstream_model_estimated_accuracy',
  estimatedF1: 'riskstream_model_estimated_f1',
  estimatedRocAuc: 'riskstream_model_estimated_roc_auc',

  // The label join (monitors: cumulative over the process's model versions, kept in the checkpoint)
  /** Predictions joined with their labelled outcome. */
  labelsJoined: 'riskstream_label_join_joined_total',
  /** Entries that left the join unjoined: `side` prediction|outcome, `reason` expired (TTL)|evicted (capacity)|no_monitor. */
  labelJoinLost: 'riskstream_label_join_lost_total',
  /** Entries waiting in the join for their other half, by `side`. */
  labelJoinPending: 'riskstream_label_join_pending_records',

  // Kafka
  /** Records not yet committed by a consumer group, per topic and partition. */
  consumerLag: 'riskstream_kafka_consumer_lag_records',
  /** Dead-lettered records by source topic and reason code (rows in `dlq_records`). */
  dlqRecords: 'riskstream_dlq_records_total',

  // Trainer
  retrainRuns: 'riskstream_retrain_runs_total',
  retrainDuration: 'riskstream_retrain_duration_seconds',
  /** MLflow mirror operations that failed, by `operation` (run, registry); training and promotion went on. */
  mlflowMirrorFailures: 'riskstream_mlflow_mirror_failures_total',

  // Inference (processors/inference/metrics.ts)
  inferencePredictions: 'riskstream_inference_predictions_total',
  inferenceShadowPredictions: 'riskstream_inference_shadow_predictions_total',
  inferenceDlq: 'riskstream_inference_dlq_total',
  inferenceShadowFailures: 'riskstream_inference_shadow_failures_total',
  inferenceBatchSeconds: 'riskstream_inference_batch_seconds',
  inferenceBatchSize: 'riskstream_inference_batch_size',
  /** Served model version (0 = none loaded). */
  servedVersion: 'riskstream_inference_model_version',
  shadowVersion: 'riskstream_inference_shadow_version',
  modelReloads: 'riskstream_inference_model_reloads_total',
  modelReloadFailures: 'riskstream_inference_model_reload_failures_total',

  // API (api/metrics.ts)
  apiRequests: 'riskstream_api_requests_total',
  apiRequestDuration: 'riskstream_api_request_duration_seconds',
  apiPredictions: 'riskstream_api_predictions_total',
  apiProductionVersion: 'riskstream_api_production_version',
  apiRefused: 'riskstream_api_refused_total',

  // Scrape health of the collectors above
  collectorErrors: 'riskstream_metrics_collector_errors_total',
} as const

export type MetricName = (typeof METRIC)[keyof typeof METRIC]

/**
 * prom-client's default process metrics, collected once per process with their standard names
 * (no prefix), so the usual Node.js dashboards work. The ones the dashboard and rules use.
 */
export const PROCESS_METRICS = [
  'process_cpu_seconds_total',
  'process_cpu_user_seconds_total',
  'process_cpu_system_seconds_total',
  'process_resident_memory_bytes',
  'process_start_time_seconds',
  'process_open_fds',
  'nodejs_eventloop_lag_seconds',
  'nodejs_eventloop_lag_p99_seconds',
  'nodejs_heap_size_used_bytes',
  'nodejs_heap_size_total_bytes',
  'nodejs_gc_duration_seconds',
  'nodejs_version_info',
] as const

/** Series Prometheus itself adds: per scrape, and ALERTS for the alert rules. */
export const SCRAPE_METRICS = ['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'ALERTS'] as const

/** Every name a query may use: ours, the process metrics and Prometheus's own scrape series. */
export function exportedMetricNames(): Set<string> {
  const names = new Set<string>([
    ...Object.values(METRIC),
    ...Object.values(DRIFT_STATISTIC_METRICS),
    ...PROCESS_METRICS,
    ...SCRAPE_METRICS,
  ])
  // Histograms expose _bucket, _sum and _count series.
  for (const n of [
    METRIC.retrainDuration,
    METRIC.inferenceBatchSeconds,
    METRIC.inferenceBatchSize,
    METRIC.apiRequestDuration,
    'nodejs_gc_duration_seconds',
  ])
    for (const s of ['_bucket', '_sum', '_count']) names.add(`${n}${s}`)
  return names
}

/** `window` label: `sliding_<events>` or `tumbling_<duration>` (5m, 1h, 30s, 1d). */
export function windowLabel(type: string, width: number): string {
  if (type !== 'tumbling') return `${type}_${width}`
  for (const [unit, ms] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const)
    if (width >= ms && width % ms === 0) return `tumbling_${width / ms}${unit}`
  return `tumbling_${width}ms`
}
