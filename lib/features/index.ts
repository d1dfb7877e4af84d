/** The eight Pima features, their bounds and their row and column layouts. */
export {
  FEATURE_COLUMNS,
  FEATURE_SPEC,
  FEATURE_SPECS,
  FEATURES,
  type FeatureIssue,
  type FeatureName,
  type FeatureSpec,
  type FeatureVector,
  fromCsvValue,
  toRow,
  validateFeatures,
} from './features.ts'
