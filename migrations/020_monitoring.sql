-- Monitoring results (processors/monitors). Written by the monitors, read by the API.
--
-- monitor_windows: one row per model version × window × subject × metric.
--   model_name, model_version   the version whose served predictions fill the window
--   monitor        'drift' (psi, ks per feature and '__probability'),
--                  'quality' (missing_rate, out_of_range_count per feature; volume and late_events with subject ''),
--                  'performance' (accuracy, precision, recall, f1, roc_auc, brier, prevalence, labels,
--                                 expected_accuracy/f1/roc_auc/brier from validation, accuracy_drop, late_labels; subject '')
--   window_type    'sliding' (count-based) | 'tumbling' (event time, epoch-aligned)
--   window_width   sliding: window size in events (labels for performance); tumbling: width in ms
--   window_id      sliding: events (labels) seen for the version at evaluation; tumbling: window start (epoch ms)
--   window_start, window_end   event times of the window's oldest/newest event (tumbling: [start, end) bounds)
--   window_size    events (or labelled predictions) in the window
--   subject, metric, value
-- The key is deterministic in the input, so re-processing after a crash rewrites the same rows.
CREATE TABLE IF NOT EXISTS monitor_windows (
  model_name LowCardinality(String),
  model_version UInt32,
  monitor LowCardinality(String),
  window_type LowCardinality(String),
  window_width UInt64,
  window_id UInt64,
  window_start DateTime64(3, 'UTC'),
  window_end DateTime64(3, 'UTC'),
  window_size UInt32,
  subject LowCardinality(String),
  metric LowCardinality(String),
  value Float64,
  written_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(written_at)
PARTITION BY toYYYYMM(window_end)
ORDER BY (model_name, model_version, monitor, window_type, window_width, window_id, subject, metric)
SETTINGS non_replicated_deduplication_window = 10000;

-- The analytics consumer's checkpoint: engine state (windows, detectors) plus the Kafka
-- offsets it covers, written before offsets are committed. A restart resumes from it.
CREATE TABLE IF NOT EXISTS monitor_checkpoints (
  group_id String,
  checkpoint_seq UInt64,
  offsets_json String,
  state_json String,
  written_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(checkpoint_seq)
ORDER BY group_id;

-- v_latest_psi: the newest sliding-window PSI per model version and drift subject.
--   model_name, model_version, feature ('__probability' = predicted probability), psi, ks,
--   latest_window_id, window_start, window_end, window_size, band ('none' < 0.1 ≤ 'moderate' ≤ 0.25 < 'significant')
CREATE VIEW IF NOT EXISTS v_latest_psi AS
SELECT
  model_name,
  model_version,
  subject AS feature,
  argMaxIf(value, monitor_windows.window_id, metric = 'psi') AS psi,
  argMaxIf(value, monitor_windows.window_id, metric = 'ks') AS ks,
  max(window_id) AS latest_window_id,
  argMax(window_start, monitor_windows.window_id) AS window_start,
  argMax(window_end, monitor_windows.window_id) AS window_end,
  argMax(window_size, monitor_windows.window_id) AS window_size,
  multiIf(psi > 0.25, 'significant', psi >= 0.1, 'moderate', 'none') AS band
FROM monitor_windows FINAL
WHERE monitor = 'drift' AND window_type = 'sliding'
GROUP BY model_name, model_version, subject;

-- v_accuracy_by_day: labelled-prediction performance per UTC day (from the tumbling
-- performance windows, weighted by their label counts).
--   model_name, model_version, day (Date), labels, accuracy, f1, roc_auc, brier, expected_accuracy
CREATE VIEW IF NOT EXISTS v_accuracy_by_day AS
SELECT
  model_name,
  model_version,
  toDate(window_start) AS day,
  sumIf(value, metric = 'labels') AS labels,
  sumIf(value * window_size, metric = 'accuracy') / nullIf(sumIf(window_size, metric = 'accuracy'), 0) AS accuracy,
  sumIf(value * window_size, metric = 'f1') / nullIf(sumIf(window_size, metric = 'f1'), 0) AS f1,
  sumIf(value * window_size, metric = 'roc_auc') / nullIf(sumIf(window_size, metric = 'roc_auc'), 0) AS roc_auc,
  sumIf(value * window_size, metric = 'brier') / nullIf(sumIf(window_size, metric = 'brier'), 0) AS brier,
  anyIf(value, metric = 'expected_accuracy') AS expected_accuracy
FROM monitor_windows FINAL
WHERE monitor = 'performance' AND window_type = 'tumbling'
  AND window_width = (SELECT min(window_width) FROM monitor_windows WHERE monitor = 'performance' AND window_type = 'tumbling')
GROUP BY model_name, model_version, day;

-- v_alert_history: every drift event, newest first.
--   event_id, kind, severity, model_name, model_version, window_type, window_start, window_end,
--   window_size, features, scores, evidence_json, detected_at
CREATE VIEW IF NOT EXISTS v_alert_history AS
SELECT event_id, kind, severity, model_name, model_version, window_type, window_start, window_end,
  window_size, features, scores, evidence_json, detected_at
FROM drift_events FINAL
ORDER BY detected_at DESC, event_id;

-- v_dlq_by_reason: dead-lettered records per source topic, reason and hour.
--   source_topic, reason, hour, records
CREATE VIEW IF NOT EXISTS v_dlq_by_reason AS
SELECT source_topic, reason, toStartOfHour(failed_at) AS hour, count() AS records
FROM dlq_records FINAL
GROUP BY source_topic, reason, hour;
