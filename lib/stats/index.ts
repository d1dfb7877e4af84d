/** Public API of the statistics core shared by the monitors and the trainer. */

export { estimatedRocAuc } from './cbpe.ts'
export {
  type DetectorSnapshot,
  type DetectorState,
  type DetectorVerdict,
  DropDetector,
  type DropDetectorOptions,
  HysteresisDetector,
  type HysteresisOptions,
} from './detectors.ts'
export {
  type AlarmThresholds,
  bandOf,
  type DriftAlarm,
  type DriftBand,
  type DriftGrid,
  type DriftStatistic,
  GRID_BINS,
  PSI_EPSILON,
  psiFromShares,
} from './drift.ts'
export {
  accuracy,
  brier,
  type ClassificationMetrics,
  type Confusion,
  classificationMetrics,
  confusion,
  f1,
  logLoss,
  meanStd,
  precision,
  recall,
  rocAuc,
  type ThresholdChoice,
} from './metrics.ts'
export {
  binCounts,
  binIndex,
  binSlots,
  buildReference,
  type ReferenceDistribution,
} from './reference.ts'
export {
  ALARM_STATISTIC,
  DRIFT_GRID_BINS,
  DRIFT_STATISTICS,
  type DriftStatisticName,
  MONITOR_STATISTICS,
  PSI_BANDS,
  REPORTED_STATISTICS,
} from './statistics/index.ts'
export {
  type ClosedWindow,
  type LabelBucket,
  type SlidingBinnedSnapshot,
  SlidingBinnedWindow,
  type SlidingLabelSnapshot,
  SlidingLabelWindow,
  SlidingSeries,
  type TumblingBinnedSnapshot,
  TumblingBinnedWindows,
  type TumblingLabelSnapshot,
  TumblingLabelWindows,
} from './windows.ts'
