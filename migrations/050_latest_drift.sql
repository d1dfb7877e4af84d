-- v_latest_drift: the newest sliding-window value of every drift metric, per model version,
-- subject and metric, in long format: every statistic of the registry (lib/stats/statistics)
-- and the alarm statistic's calibrated threshold and detector state (psi_threshold, psi_state).
-- A statistic added to the registry appears here without a migration; bands and verdicts are
-- read in code (lib/stats), never here.
--   model_name, model_version, subject ('__probability' = predicted probability), metric, value,
--   window_id, window_start, window_end, window_size   (of that metric's newest sliding window)
CREATE VIEW IF NOT EXISTS v_latest_drift AS
SELECT
  model_name,
  model_version,
  subject,
  metric,
  argMax(value, monitor_windows.window_id) AS value,
  max(window_id) AS window_id,
  argMax(window_start, monitor_windows.window_id) AS window_start,
  argMax(window_end, monitor_windows.window_id) AS window_end,
  argMax(window_size, monitor_windows.window_id) AS window_size
FROM monitor_windows FINAL
WHERE monitor = 'drift' AND window_type = 'sliding'
GROUP BY model_name, model_version, subject, metric;

-- v_latest_psi (020) named PSI and KS and computed PSI's bands in SQL; v_latest_drift replaces it.
DROP VIEW IF EXISTS v_latest_psi;
