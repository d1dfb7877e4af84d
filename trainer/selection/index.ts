export {
  type CrossValidateOptions,
  type CrossValidationResult,
  crossValidate,
  lowerIsBetter,
  METRIC_NAMES,
  type MetricName,
  metricValue,
  summarise,
} from './cross-validate.ts'
export { subsetDataset } from './dataset.ts'
export { type Fold, groupStratifiedKFold, rowGroups, stratifiedKFold } from './folds.ts'
export {
  type GateMetricName,
  type GateMetrics,
  type GateResult,
  type GateThresholds,
  gate,
} from './gate.ts'
export {
  betterScore,
  type SearchOptions,
  type SearchResult,
  sampleParams,
  searchHyperparameters,
  type Trial,
} from './search.ts'
export { chooseThreshold, type ThresholdFloors, type ThresholdRule } from './threshold.ts'
