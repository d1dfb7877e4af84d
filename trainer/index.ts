/**
 * The trainer role: `trainOnce` (one run: data → pipeline → gate → registry → tracking) and
 * `createTrainerService` (retrains on drift events, retrain requests and new labelled data).
 */
export { assembleTrainingSet, countLabelled, loadStreamedRows, type TrainingSet } from './dataset/index.ts'
export { createTrainerService, type TrainerService, type TrainerServiceOptions } from './service/index.ts'
export {
  newRunId,
  type TrainerDeps,
  type TrainOnceOptions,
  type TrainOnceResult,
  trainOnce,
} from './service/train-once.ts'
export {
  formatRunsTable,
  getRun,
  listRuns,
  type RunStatus,
  recordRun,
  type TrainingRun,
} from './tracking/index.ts'
