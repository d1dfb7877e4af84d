export {
  createKafka,
  createProducer,
  type GroupTiming,
  groupTiming,
  isConnectionLoss,
  kafkaSecurityError,
} from './client.ts'
export {
  type BatchContext,
  createStreamConsumer,
  type DecodedRecord,
  type Rejection,
  readToEnd,
  type StreamConsumer,
  type StreamConsumerOptions,
} from './consumer.ts'
export { DLQ_HEADERS, dlqMessage, headerString, sendToDlq, type UnusableRecord } from './dlq.ts'
export { SCORED_BY_API, SCORED_BY_HEADER, SCORED_BY_MAC_HEADER, scoredByMac } from './headers.ts'
export {
  activeLock,
  type CampaignOptions,
  type Claim,
  campaign,
  chooseActive,
  type Leadership,
} from './leader.ts'
export {
  AvroSerde,
  createSerde,
  type Decoded,
  localSchema,
  localSchemaJson,
  registerContracts,
  type SchemaName,
} from './serde.ts'
export {
  ensureTopics,
  TOPIC_BASES,
  TOPIC_SCHEMAS,
  type TopicKey,
  type TopicNames,
  topicNames,
  topicSpecs,
} from './topics.ts'
