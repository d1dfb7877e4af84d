/** The training pipeline: data set, candidates and their report, held-out estimate, promotion test. */
export { type DatasetOptions, datasetFromRows, fingerprintDataset, stratifiedSample } from './dataset.ts'
export {
  buildEstimate,
  ESTIMATE_KEYS,
  type Estimate,
  type EstimateKey,
  type EvaluationKind,
  heldOutMetrics,
} from './estimate.ts'
export {
  type PromotionRule,
  type PromotionTest,
  promotionTest,
  scoreArtifact,
  testAgainstChampion,
} from './promotion.ts'
export { formatReport } from './report.ts'
export {
  type CandidateResult,
  evaluateOutOfFold,
  type FoldSummary,
  type RunSummary,
  type TrainCandidatesOptions,
  type TrainProgress,
  type TrainResult,
  toModelMetrics,
  trainCandidates,
} from './train.ts'
