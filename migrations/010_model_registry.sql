-- Model registry and experiment tracking (replaces MLflow's registry and tracking store).
-- A stage change appends a row with a newer updated_at; FINAL (or argMax) gives the current stage.

CREATE TABLE IF NOT EXISTS model_versions (
  model_name LowCardinality(String),
  version UInt32,
  stage LowCardinality(String),
  family LowCardinality(String),
  threshold Float64,
  artifact_sha256 String,
  artifact_ref String,
  metrics_json String,
  dataset_json String,
  hyperparameters_json String,
  parent_version Nullable(UInt32),
  run_id String,
  reason String,
  code_version String,
  created_at DateTime64(3, 'UTC'),
  updated_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (model_name, version);

-- Every stage transition (registration, promotion, rejection, rollback), for the timeline.
CREATE TABLE IF NOT EXISTS model_stage_events (
  event_id String,
  model_name LowCardinality(String),
  version UInt32,
  stage LowCardinality(String),
  previous_version Nullable(UInt32),
  reason String,
  at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree
ORDER BY (model_name, at, event_id);

-- Artifacts are stored here (base64 of the gzip'd canonical JSON) and referenced from the
-- topic when too large to inline; the sha256 is verified on every load.
CREATE TABLE IF NOT EXISTS model_artifacts (
  model_name LowCardinality(String),
  version UInt32,
  sha256 String,
  artifact_base64 String,
  created_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(created_at)
ORDER BY (model_name, version);

CREATE TABLE IF NOT EXISTS training_runs (
  run_id String,
  model_name LowCardinality(String),
  trigger LowCardinality(String),
  trigger_event_id String,
  status LowCardinality(String),
  started_at DateTime64(3, 'UTC'),
  finished_at Nullable(DateTime64(3, 'UTC')),
  duration_ms UInt64,
  params_json String,
  candidates_json String,
  chosen_family String,
  gate_passed UInt8,
  gate_reasons Array(String),
  version Nullable(UInt32),
  metrics_json String,
  dataset_json String,
  error String,
  updated_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY run_id;
