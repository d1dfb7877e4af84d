/** Event contracts (the Avro records as TypeScript shapes); input domains in domain.ts. */
export type {
  DriftEventRecord,
  OutcomeLabelEvent,
  PredictionEvent,
  PredictionRequestEvent,
  RetrainRequestEvent,
  RetrainResultEvent,
} from './contracts.ts'
