-- Registry bookkeeping the model registry (lib/registry) needs beyond 010, and the trainer's
-- trigger ledger. Columns are only ever added (shipped tables are never rewritten).

-- A candidate published for shadow scoring (inference scores it beside production).
ALTER TABLE model_versions ADD COLUMN IF NOT EXISTS shadow UInt8 DEFAULT 0;

-- What a stage event did (register | promote | archive | reject | rollback) and a per-model
-- sequence number: the production history is replayed from them to find the rollback target,
-- and the sequence makes event ids deterministic and orders events within one millisecond.
ALTER TABLE model_stage_events ADD COLUMN IF NOT EXISTS action LowCardinality(String) DEFAULT '';
ALTER TABLE model_stage_events ADD COLUMN IF NOT EXISTS seq UInt64 DEFAULT 0;

-- Every retrain trigger the trainer has decided on, keyed by the trigger's own id (a drift
-- event id, a retrain request id, or a data-volume id). The trainer checks it before training,
-- so a redelivered or repeated trigger causes nothing. decision: trained | coalesced |
-- cooldown | disabled | ignored.
CREATE TABLE IF NOT EXISTS retrain_triggers (
  trigger_id String,
  model_name LowCardinality(String),
  kind LowCardinality(String),
  decision LowCardinality(String),
  run_id String,
  source_topic String,
  source_partition Int32,
  source_offset Int64,
  detail String,
  decided_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(decided_at)
ORDER BY trigger_id;
