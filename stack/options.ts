/**
 * Options of the local stack. Pure data: values come from the config module (or the CLI flags in
 * stack/cli.ts); nothing here reads process.env so tests can run several stacks side by side.
 */

export type StackMode = 'auto' | 'native' | 'docker'

export interface StackOptions {
  /** Root of everything the native stack writes: jars, Kafka log dirs, registry DB, pid and log files. */
  dataDir: string
  /** Kafka client listener, bound to 127.0.0.1 only. */
  kafkaPort: number
  /** KRaft controller listener (combined broker+controller node), 127.0.0.1 only. */
  kafkaControllerPort: number
  /** Apicurio Registry HTTP port; its Confluent-compatible API lives under /apis/ccompat/v7. */
  registryPort: number
  /** Remote ClickHouse to ping in status; unset means the in-process chDB is used. */
  clickhouseUrl?: string
  /** JDK tried first (JAVA_HOME); then PATH and the usual install roots. */
  javaHome?: string
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

/** Defaults relative to a repository root: data under `<repo>/.data/stack`. */
export function defaultStackOptions(
  repoRoot: string,
  log: (msg: string) => void = console.log,
): StackOptions {
  return { dataDir: `${repoRoot}/.data/stack`, ...STACK_DEFAULTS, log }
}

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
