-- monitor_latest_windows: the newest window id per model version, monitor, window type and
-- metric, kept up to date on every insert into monitor_windows by a materialized view. The API's
-- "latest window" reads (drift verdicts, performance and estimate windows: the dashboard summary)
-- look the newest window up here instead of scanning every window a version ever wrote, which
-- grows with the traffic. Exact by construction: max is idempotent, so a window row written
-- twice (a redelivery, a rewrite after a crash) or counted by both the view and the backfill
-- below gives the same answer; monitor_windows rows are never deleted.
--   model_name, monitor, window_type, metric, model_version   the key (one row after merges)
--   window_id   max(window_id) over monitor_windows rows with that key; read with max() … GROUP BY

CREATE TABLE IF NOT EXISTS monitor_latest_windows (
  model_name LowCardinality(String),
  monitor LowCardinality(String),
  window_type LowCardinality(String),
  metric LowCardinality(String),
  model_version UInt32,
  window_id SimpleAggregateFunction(max, UInt64)
) ENGINE = AggregatingMergeTree
ORDER BY (model_name, monitor, window_type, metric, model_version);

CREATE MATERIALIZED VIEW IF NOT EXISTS monitor_latest_windows_mv TO monitor_latest_windows AS
SELECT model_name, monitor, window_type, metric, model_version, max(window_id) AS window_id
FROM monitor_windows
GROUP BY model_name, monitor, window_type, metric, model_version;

-- The backfill runs after the view exists, so a row inserted meanwhile is counted at least once.
INSERT INTO monitor_latest_windows
SELECT model_name, monitor, window_type, metric, model_version, max(window_id) AS window_id
FROM monitor_windows
GROUP BY model_name, monitor, window_type, metric, model_version;
