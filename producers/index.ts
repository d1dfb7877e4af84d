/** The producers role: the clinical producer library (replay and simulate build on it). */
export {
  type AckCallback,
  BatchSender,
  type BatchSenderOptions,
  type ClinicalProducer,
  type ClinicalProducerOptions,
  createClinicalProducer,
  type OutcomeEvent,
  type OutcomeInput,
  type OutgoingMessage,
  type PredictionRequestEvent,
  type PredictionRequestInput,
  type ProducerStats,
  type RowRejection,
  type SendRequestsResult,
  toRequestEvent,
} from './clinical.ts'
