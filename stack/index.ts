/**
 * The local stack (Kafka + Apicurio, native or docker compose; a ClickHouse server in docker mode):
 * up, down, status, broker control, and the endpoints it hands to the roles.
 */
export {
  isClickHouseUp,
  isKafkaUp,
  isRegistryUp,
  kafkaBrokers,
  type ResolvedMode,
  registryCcompatUrl,
  resolveMode,
  runningStackEndpoints,
  type ServiceStatus,
  STACK_DEFAULTS,
  type StackEndpoints,
  type StackMode,
  type StackOptions,
  type StackStatus,
  type StackUp,
  setRegistryCompatibility,
  stackDown,
  stackEndpoints,
  stackStatus,
  stackUp,
  startKafka,
  stopKafka,
  withStackEndpoints,
} from './stack.ts'
