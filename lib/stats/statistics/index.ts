/** The drift statistics: each one a file here, registered in registry.ts. */
export { js } from './js.ts'
export { ks } from './ks.ts'
export { PSI_BANDS, psi } from './psi.ts'
export {
  ALARM_STATISTIC,
  DRIFT_GRID_BINS,
  DRIFT_STATISTICS,
  type DriftStatisticName,
  MONITOR_STATISTICS,
  REPORTED_STATISTICS,
} from './registry.ts'
export { wasserstein } from './wasserstein.ts'
