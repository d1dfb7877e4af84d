export { type ChampionComparison, compareWithChampion, evaluateArtifact } from './champion.ts'
export { type DatasetOptions, datasetFromRows, fingerprintDataset, stratifiedSample } from './dataset.ts'
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
