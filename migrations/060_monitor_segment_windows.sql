-- Window rows of the monitoring segments (lib/segments): the same columns as monitor_windows,
-- plus the segment key, e.g. 'source=clinic-a' or 'age=30-39'. The whole population's rows stay
-- in monitor_windows, untouched, so its views, its materialized view and every reader keep
-- their meaning (a segment's window ids count the segment's own events and would collide with
-- the population's in monitor_windows' key and in its latest-window lookups).
--   segment   '<family>=<value>'; '<family>=other' holds a family's values past
--             SEGMENT_MAX_PER_FAMILY and its 'segment_overflow' count (monitor 'quality')
--   monitor   'drift' (source systems: psi, ks, wasserstein, psi_threshold, psi_state per
--             subject) and 'estimate' (every segment: estimated_accuracy, estimated_f1,
--             estimated_roc_auc, estimated_prevalence, expected_accuracy, estimate_state)
-- Segment monitors see no labels, so there are no 'performance' rows here.
CREATE TABLE IF NOT EXISTS monitor_segment_windows (
  model_name LowCardinality(String),
  model_version UInt32,
  segment LowCardinality(String),
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
ORDER BY (model_name, model_version, segment, monitor, window_type, window_width, window_id, subject, metric)
SETTINGS non_replicated_deduplication_window = 10000;
