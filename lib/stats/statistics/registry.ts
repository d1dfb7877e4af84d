/**
 * The drift statistics registry. Each statistic is one file in this folder (a `DriftStatistic`,
 * drift.ts); registering it here is all it takes for the monitors to evaluate it on its grid,
 * write it to the window rows, put it in drift events' evidence, and for the API drift route and
 * the dashboard to show it. Exactly one registered statistic carries an `alarm` (PSI): the
 * monitors' detectors, calibrated thresholds and events are built on it.
 */
import { RiskStreamError } from '../../errors/index.ts'
import { type DriftAlarm, type DriftStatistic, GRID_BINS } from '../drift.ts'
import { js } from './js.ts'
import { ks } from './ks.ts'
import { psi } from './psi.ts'
import { wasserstein } from './wasserstein.ts'

/** Every registered statistic, by name. */
export const DRIFT_STATISTICS = Object.freeze({ psi, js, ks, wasserstein })
export type DriftStatisticName = keyof typeof DRIFT_STATISTICS

/**
 * What the monitors evaluate per drift subject, in display order: the alarm statistic first.
 * JS is left out (on PSI's grid it carries nearly the same information as PSI).
 */
export const MONITOR_STATISTICS: readonly DriftStatistic[] = Object.freeze([psi, ks, wasserstein])

/** The statistic the monitors alarm on. */
export const ALARM_STATISTIC = (() => {
  const alarms = MONITOR_STATISTICS.filter((s) => s.alarm)
  if (alarms.length !== 1 || MONITOR_STATISTICS[0] !== alarms[0])
    throw new RiskStreamError(
      'INTERNAL',
      'exactly one monitored drift statistic, listed first, must carry an alarm',
    )
  return alarms[0] as DriftStatistic & { alarm: DriftAlarm }
})()

/** The statistics the monitors report beside the alarm statistic, in display order. */
export const REPORTED_STATISTICS: readonly DriftStatistic[] = Object.freeze(MONITOR_STATISTICS.slice(1))

/** Reference grid size (requested bins) each statistic is evaluated on. */
export const DRIFT_GRID_BINS = Object.freeze(
  Object.fromEntries(Object.values(DRIFT_STATISTICS).map((s) => [s.name, GRID_BINS[s.grid]])) as Record<
    DriftStatisticName,
    number
  >,
)
