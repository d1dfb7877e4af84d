-- One row per training run that had a decision to make about production (trainer/tracking):
-- what the challenger was judged on, the test and its statistic, and the rows it used.
-- decision: promoted | not_promoted | initial | initial_below_gate.
-- test: delong_roc_auc (one-sided DeLong test on the fresh out-of-time rows) or '' when no
-- test could be run (no champion, or too few fresh rows: then not_promoted).
CREATE TABLE IF NOT EXISTS promotion_decisions (
  run_id String,
  model_name LowCardinality(String),
  candidate_version Nullable(UInt32),
  champion_version Nullable(UInt32),
  decision LowCardinality(String),
  reason String,
  evaluation LowCardinality(String),
  test LowCardinality(String),
  alpha Float64,
  margin Float64,
  statistic Float64,
  p_value Float64,
  candidate_auc Float64,
  champion_auc Float64,
  auc_gain_lo Float64,
  auc_gain_hi Float64,
  rows UInt32,
  positives UInt32,
  rows_from Nullable(DateTime64(3, 'UTC')),
  rows_to Nullable(DateTime64(3, 'UTC')),
  request_ids Array(String),
  detail_json String,
  decided_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(decided_at)
ORDER BY (model_name, run_id);
