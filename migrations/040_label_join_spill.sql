-- Predictions of the label join beyond its in-memory budget (LABEL_JOIN_MAX_PENDING), oldest by
-- event time first (processors/monitors/performance/spill.ts). A label whose prediction is not
-- in memory is looked up here (one query per Kafka batch) and the prediction is put back.
--   group_id, generation   the consumer group and the process start that wrote the row: a restart
--                          rebuilds every pending prediction from `predictions`, so rows of an
--                          older generation are never read again
--   state                  'pending' (waiting here) | 'restored' (back in memory: joined, expired
--                          or spilled again from there, as a newer row) | 'expired' (past the
--                          label join's TTL, counted)
--   version                orders the rows of one request (ReplacingMergeTree keeps the newest)
-- Nothing else reads this table; a row outlives its use by at most the TTL below.
CREATE TABLE IF NOT EXISTS label_join_spill (
  group_id LowCardinality(String),
  generation UInt64,
  request_id String,
  model_version UInt32,
  probability Float64,
  label UInt8,
  event_time DateTime64(3, 'UTC'),
  state Enum8('pending' = 1, 'restored' = 2, 'expired' = 3),
  version UInt64,
  written_at DateTime DEFAULT now()
) ENGINE = ReplacingMergeTree(version)
ORDER BY (group_id, generation, request_id)
TTL written_at + INTERVAL 400 DAY;
