import { readFileSync } from 'node:fs'
import { Kafka, type KafkaConfig, logLevel, type SASLOptions } from 'kafkajs'
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
        log[LEVELS[level] ?? 'info']({ kafka: extra.logger ?? 'kafkajs', broker: extra.broker, error: extra.error }, message)
      },
  }
  if (kafka.ssl) settings.ssl = kafka.sslCaFile ? { ca: [readFileSync(kafka.sslCaFile, 'utf8')] } : true
  if (kafka.sasl) settings.sasl = { ...kafka.sasl } as SASLOptions
  return new Kafka(settings)
}
