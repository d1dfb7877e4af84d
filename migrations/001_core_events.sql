-- Raw event tables written by the monitors' ingestion (one row per Kafka record).
-- ReplacingMergeTree + deterministic ORDER BY keys: a redelivered record rewrites its row
-- instead of adding one (query with FINAL for exact counts before background merges).
-- non_replicated_deduplication_window lets insert_deduplication_token drop a whole
-- redelivered batch at insert time, before any merge.

CREATE TABLE IF NOT EXISTS predictions (
  request_id String,
  patient_id String,
  model_name LowCardinality(String),
  model_version UInt32,
  probability Float64,
  label UInt8,
  threshold Float64,
  event_time DateTime64(3, 'UTC'),
  scored_at DateTime64(3, 'UTC'),
  pregnancies Nullable(Float64), glucose Nullable(Float64), blood_pressure Nullable(Float64), skin_thickness Nullable(Float64), insulin Nullable(Float64), bmi Nullable(Float64), diabetes_pedigree_function Nullable(Float64), age Nullable(Float64),
  kafka_partition UInt16,
  kafka_offset UInt64,
  ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(event_time)
ORDER BY request_id
SETTINGS non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS shadow_predictions (
  request_id String,
  model_name LowCardinality(String),
  model_version UInt32,
  probability Float64,
  label UInt8,
  threshold Float64,
  event_time DateTime64(3, 'UTC'),
  scored_at DateTime64(3, 'UTC'),
  kafka_partition UInt16,
  kafka_offset UInt64,
  ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(event_time)
ORDER BY (request_id, model_version)
TTL toDateTime(event_time) + INTERVAL 90 DAY
SETTINGS non_replicated_deduplication_window = 10000;

-- Outcomes are not partitioned by time: a corrected label for the same request must
-- replace the earlier one, and replacement only happens within a partition.
CREATE TABLE IF NOT EXISTS outcomes (
  request_id String,
  outcome UInt8,
  labelled_at DateTime64(3, 'UTC'),
  source LowCardinality(String),
  kafka_partition UInt16,
  kafka_offset UInt64,
  ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(ingested_at)
ORDER BY request_id
SETTINGS non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS dlq_records (
  source_topic LowCardinality(String),
  source_partition UInt16,
  source_offset UInt64,
  reason LowCardinality(String),
  message String,
  schema_id String,
  failed_at DateTime64(3, 'UTC'),
  record_key String,
  kafka_partition UInt16,
  kafka_offset UInt64,
  ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(ingested_at)
ORDER BY (source_topic, source_partition, source_offset)
TTL toDateTime(failed_at) + INTERVAL 30 DAY
SETTINGS non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS drift_events (
  event_id String,
  kind LowCardinality(String),
  severity LowCardinality(String),
  model_name LowCardinality(String),
  model_version UInt32,
  window_type LowCardinality(String),
  window_start DateTime64(3, 'UTC'),
  window_end DateTime64(3, 'UTC'),
  window_size UInt32,
  features Array(String),
  scores Map(String, Float64),
  evidence_json String,
  detected_at DateTime64(3, 'UTC'),
  ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(ingested_at)
ORDER BY event_id;
