/**
 * Options of the local stack. Pure data: values come from the config module (stack/config.ts);
 * nothing here reads the environment, so tests can run several stacks side by side.
 */

export type StackMode = 'auto' | 'native' | 'docker'

export type ScramMechanism = 'SCRAM-SHA-256' | 'SCRAM-SHA-512'

/** A SASL_SSL + SCRAM client listener for the native broker (stack/kafka-security.ts). */
export interface KafkaSecurityOptions {
  /**
   * SCRAM users bootstrapped when the KRaft log dir is formatted, with a credential for every
   * mechanism. A formatted dataDir keeps its users: changing this list needs a fresh dataDir.
   */
  users: ReadonlyArray<{ username: string; password: string }>
  /** Mechanisms the listener accepts; default both, SHA-512 first. */
  mechanisms?: ReadonlyArray<ScramMechanism>
}

export interface StackOptions {
  /** Root of everything the native stack writes: jars, Kafka log dirs, registry DB, pid and log files. */
  dataDir: string
  /** Kafka client listener, bound to 127.0.0.1 only. */
  kafkaPort: number
  /** KRaft controller listener (combined broker+controller node), 127.0.0.1 only. */
  kafkaControllerPort: number
  /** Apicurio Registry HTTP port; its Confluent-compatible API lives under /apis/ccompat/v7. */
  registryPort: number
  /**
   * ClickHouse server the roles are configured with (CLICKHOUSE_URL). Unset: in docker mode the
   * stack starts its own server and hands it to the roles (stack/endpoints.ts); natively the
   * in-process chDB is used.
   */
  clickhouseUrl?: string
  /** Docker mode: passwords of the server's read-write and read-only API users (default: the compose file's). */
  clickhousePassword?: string
  clickhouseApiPassword?: string
  /** JDK tried first (JAVA_HOME); then PATH and the usual install roots. */
  javaHome?: string
  /**
   * Broker jars; default `<dataDir>/kafka-libs`. A second stack pointed at the first one's
   * directory reuses its jars instead of resolving them again.
   */
  kafkaLibsDir?: string
  /**
   * Native stack only: the client listener on kafkaPort speaks SASL_SSL (SCRAM) instead of
   * PLAINTEXT, with TLS material generated under `<dataDir>/kafka/tls` (clients trust `ca.pem`).
   * Unset: a plaintext broker, as before.
   */
  kafkaSecurity?: KafkaSecurityOptions
  /** auto: docker when `docker info` answers, else native. */
  mode: StackMode
  log: (msg: string) => void
}

export const STACK_DEFAULTS = {
  kafkaPort: 9092,
  kafkaControllerPort: 9093,
  registryPort: 8081,
  mode: 'auto',
} as const satisfies Partial<StackOptions>

export function kafkaBrokers(opts: Pick<StackOptions, 'kafkaPort'>): string {
  return `127.0.0.1:${opts.kafkaPort}`
}

export function registryBaseUrl(opts: Pick<StackOptions, 'registryPort'>): string {
  return `http://127.0.0.1:${opts.registryPort}`
}

/** What SCHEMA_REGISTRY_URL should be for clients (@kafkajs/confluent-schema-registry). */
export function registryCcompatUrl(opts: Pick<StackOptions, 'registryPort'>): string {
  return `${registryBaseUrl(opts)}/apis/ccompat/v7`
}
