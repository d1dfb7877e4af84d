import { readFileSync } from 'node:fs'
import {
  type Consumer,
  type ConsumerConfig,
  Kafka,
  type KafkaConfig,
  logLevel,
  Partitioners,
  type Producer,
  type ProducerConfig,
  type SASLOptions,
} from 'kafkajs'
import type { Config } from '../config/index.ts'
import { RiskStreamError } from '../errors/index.ts'
import { getLogger } from '../log/index.ts'

const log = getLogger('kafka')

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
}

/** Group session and heartbeat of every consumer a client creates (KAFKA_SESSION_TIMEOUT_MS…). */
export interface GroupTiming {
  sessionTimeout: number
  heartbeatInterval: number
}

/**
 * A client whose consumers default to the configured group timing, so every consumer of a
 * process (stream loops, the DLQ sink, model followers) leaves a dead member's partitions
 * after the same, short session; a consumer's own settings still win.
 */
class ConfiguredKafka extends Kafka {
  constructor(
    settings: KafkaConfig,
    readonly timing: GroupTiming,
  ) {
    super(settings)
  }

  override consumer(cfg: ConsumerConfig): Consumer {
    const own = Object.fromEntries(Object.entries(cfg).filter(([, v]) => v !== undefined)) as ConsumerConfig
    return super.consumer({ ...this.timing, ...own })
  }
}

/** The group timing a client's consumers get by default (undefined: a plain kafkajs client). */
export function groupTiming(kafka: Kafka): GroupTiming | undefined {
  return kafka instanceof ConfiguredKafka ? kafka.timing : undefined
}

/** The one Kafka client factory: brokers, SASL/TLS, logging and group timing all come from config. */
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
        // kafkajs logs every error response ("Response ListOffsets…: not the leader") at ERROR
        // and then retries it itself; a failure that survives the retries is thrown to the caller.
        const lvl = message.startsWith('Response ') ? 'debug' : (LEVELS[level] ?? 'info')
        log[lvl]({ kafka: extra.logger ?? 'kafkajs', broker: extra.broker, error: extra.error }, message)
      },
  }
  if (kafka.ssl) settings.ssl = kafka.sslCaFile ? { ca: [readFileSync(kafka.sslCaFile, 'utf8')] } : true
  if (kafka.sasl) settings.sasl = { ...kafka.sasl } as SASLOptions
  return new ConfiguredKafka(settings, {
    sessionTimeout: kafka.sessionTimeoutMs,
    heartbeatInterval: kafka.heartbeatIntervalMs,
  })
}

/**
 * The idempotent producer every role uses: acks=all is implied by idempotence, one request in
 * flight keeps ordering across retries, and retries are unbounded in count but bounded in time
 * per attempt, so a broker restart stalls sends instead of failing them (kafkajs warns that
 * limiting an idempotent producer's retries may break its guarantees).
 */
export function createProducer(kafka: Kafka, options: Partial<ProducerConfig> = {}): Producer {
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 200, maxRetryTime: 5_000 },
    ...options,
  })
  return rideOutBrokerOutages(producer)
}

/** How long a send keeps waiting for an unreachable broker before it fails. */
export const PRODUCER_OUTAGE_BUDGET_MS = 5 * 60_000

const CONNECTION_ERRORS = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
])

/** Node's codes for a broker certificate the client cannot verify (a TLS setup error, not an outage). */
const TLS_VERIFY_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
])

type ErrorLink = { name?: string; code?: unknown; message?: string; cause?: unknown }

function* causes(err: unknown): Generator<ErrorLink> {
  for (let e = err as ErrorLink | undefined, depth = 0; e && depth < 5; depth++) {
    yield e
    e = e.cause as ErrorLink | undefined
  }
}

/**
 * The broker refused this client's TLS or SASL settings: a wrong password, or a certificate the
 * client cannot verify. Retrying cannot help, so such an error is KAFKA_SECURITY_FAILED at once
 * instead of passing for an outage (which a send would wait out for minutes). Returns null for
 * anything else. A plaintext client on a TLS listener only sees "Closed connection", which an
 * outage looks like too, so that case stays KAFKA_UNAVAILABLE.
 */
export function kafkaSecurityError(err: unknown): RiskStreamError | null {
  for (const e of causes(err)) {
    if (e.name === 'KafkaJSSASLAuthenticationError')
      return new RiskStreamError('KAFKA_SECURITY_FAILED', `SASL authentication failed: ${e.message}`, {
        cause: err,
      })
    if (typeof e.code === 'string' && TLS_VERIFY_CODES.has(e.code))
      return new RiskStreamError(
        'KAFKA_SECURITY_FAILED',
        `TLS to the broker failed (${e.code}): ${e.message}; is KAFKA_SSL_CA_FILE the CA that signed it?`,
        { cause: err },
      )
  }
  return null
}

/** True when the error (or one of its causes) is a lost or refused broker connection. */
export function isConnectionLoss(err: unknown): boolean {
  if (kafkaSecurityError(err)) return false
  for (const e of causes(err)) if (e.name && CONNECTION_ERRORS.has(e.name)) return true
  return false
}

/**
 * WHY: the producer's own retries are unbounded, but kafkajs (re)connects its cluster with the
 * CLIENT's retry budget (createKafka: 8 attempts, ~25 s in all) and reports an exhausted
 * connect as non-retriable, so a broker restart longer than that (stop + a JVM start of
 * 10–20 s on a busy host) failed sends the retry policy above promised to stall. Re-sending
 * the same records is safe: the producer is idempotent (same producer id and sequence numbers,
 * so a batch that did land before the connection broke is not written twice).
 */
function rideOutBrokerOutages(producer: Producer): Producer {
  const retrying =
    <A extends unknown[], R>(op: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const deadline = Date.now() + PRODUCER_OUTAGE_BUDGET_MS
      for (let attempt = 1; ; attempt++) {
        try {
          return await op(...args)
        } catch (err) {
          if (!isConnectionLoss(err) || Date.now() > deadline) throw err
          log.warn({ attempt }, 'broker unreachable; the send waits for it')
          await new Promise((r) => setTimeout(r, Math.min(5_000, 500 * attempt)))
        }
      }
    }
  producer.send = retrying(producer.send.bind(producer))
  producer.sendBatch = retrying(producer.sendBatch.bind(producer))
  return producer
}
