/** The training set: the Pima CSV plus the labelled streamed rows (training-set.ts). */
export {
  type AssembleOptions,
  assembleTrainingSet,
  countLabelled,
  loadStreamedRows,
  type StreamedRows,
  type TrainingSet,
} from './training-set.ts'
