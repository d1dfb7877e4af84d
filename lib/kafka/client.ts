import { readFileSync } from 'node:fs'
import {
  Kafka,
  type KafkaConfig,
  logLevel,
  Partitioners,
  type Producer,
  type ProducerConfig,
  type SASLOptions,
} from 'kafkajs'
import type { Config } from '../config/index.ts'
import { getLogger } from '../log/index.ts'

const log = getLogger('kafka')

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
}

/** The one Kafka client factory: brokers, SASL/TLS and logging all come from config. */
export function createKafka(config: Pick<Config, 'kafka'>, options: { clientId?: string } = {}): Kafka {
  const { kafka } = config
  const settings: KafkaConfig = {
    clientId: options.clientId ?? kafka.clientId,
    brokers: [...kafka.brokers],
    // kafkajs' own retry handles transient broker errors; callers see only what survives it.
    retry: { initialRetryTime: 200, retries: 8, maxRetryTime: 10_000 },
    connectionTimeout: 5000,
    requestTimeout: 30_000,
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }) => {
        const { message, ...extra } = entry
        // The group coordinator reports rebalances as errors; they are expected during scaling.
        log[LEVELS[level] ?? 'info'](
          { kafka: extra.logger ?? 'kafkajs', broker: extra.broker, error: extra.error },
          message,
        )
      },
  }
  if (kafka.ssl) settings.ssl = kafka.sslCaFile ? { ca: [readFileSync(kafka.sslCaFile, 'utf8')] } : true
  if (kafka.sasl) settings.sasl = { ...kafka.sasl } as SASLOptions
  return new Kafka(settings)
}

/**
 * The idempotent producer every role uses: acks=all is implied by idempotence, one request in
 * flight keeps ordering across retries, and retries are unbounded in count but bounded in time
 * per attempt, so a broker restart stalls sends instead of failing them (kafkajs warns that
 * limiting an idempotent producer's retries may break its guarantees).
 */
export function createProducer(kafka: Kafka, options: Partial<ProducerConfig> = {}): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 200, maxRetryTime: 5_000 },
    ...options,
  })
}
