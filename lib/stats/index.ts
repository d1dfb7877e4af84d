/** Public API of the statistics core shared by the monitors and the trainer. */

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
  DRIFT_GRID_BINS,
  DRIFT_STATISTICS,
  type DriftStatistic,
  type DriftStatisticName,
  getDriftStatistic,
  MONITOR_STATISTICS,
  PSI_EPSILON,
  type PsiBand,
  psiBand,
  psiFromShares,
} from './drift.ts'
export {
  accuracy,
  bestThreshold,
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
  referenceShares,
} from './reference.ts'
export {
  type ClosedWindow,
  SlidingBinnedWindow,
  SlidingLabelWindow,
  TumblingBinnedWindows,
} from './windows.ts'
