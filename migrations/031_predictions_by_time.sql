-- predictions ordered for time-range reads. 001 keyed the table by request_id alone, so every
-- read of a period (the API's performance summary, the dashboard's volume) scanned all of it.
-- The new key starts with the event hour, and keeps request_id so ReplacingMergeTree still
-- collapses a redelivered prediction: a redelivery carries its request's event time, so it
-- lands on the same (hour, request_id) key and in the same monthly partition as the first copy.
-- The table is rebuilt under a scratch name, filled from the old one, and swapped in with
-- EXCHANGE TABLES, so writers keep the name `predictions`. Apply it with the writers stopped
-- (`riskstream migrate`, or `prepare` before the roles start): rows inserted into the old table
-- between the copy and the swap would be dropped with it. The first statement makes a re-run
-- after a failure safe: whichever table holds the scratch name then is the one to discard.
-- insert_deduplicate = 0: the copy must not be mistaken for a repeated insert of an earlier block.

DROP TABLE IF EXISTS predictions_by_time;

CREATE TABLE predictions_by_time (
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
ORDER BY (toStartOfHour(event_time), request_id)
SETTINGS non_replicated_deduplication_window = 10000;

INSERT INTO predictions_by_time SETTINGS insert_deduplicate = 0 SELECT * FROM predictions;

EXCHANGE TABLES predictions AND predictions_by_time;

DROP TABLE predictions_by_time;
