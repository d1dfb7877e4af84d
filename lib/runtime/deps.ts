/**
 * What every role needs, built once per process by the CLI and injected into role factories.
 * Roles never construct clients themselves: tests and the all-in-one process pass the same
 * deps, and `closeDeps` closes everything in one place (in the entry's `finally`).
 */
import type { Kafka, Producer } from 'kafkajs'
import { type ClickHouseClient, createClickHouse } from '../clickhouse/index.ts'
import type { Config } from '../config/index.ts'
import {
  type AvroSerde,
  createKafka,
  createProducer,
  createSerde,
  ensureTopics,
  registerContracts,
  TOPIC_SCHEMAS,
  type TopicNames,
  topicNames,
} from '../kafka/index.ts'
import { getLogger, type Logger } from '../log/index.ts'
import { migrateWarehouse } from '../warehouse/index.ts'

export interface Deps {
  config: Readonly<Config>
  kafka: Kafka
  serde: AvroSerde
  topics: TopicNames
  /** Idempotent producer shared by the process (acks=all); connect() is done by createDeps. */
  producer: Producer
  clickhouse: ClickHouseClient
  log: Logger
}

/** A long-running role: started once, stopped gracefully (flush, commit, close) on shutdown. */
export interface Service {
  readonly name: string
  start(): Promise<void>
  stop(): Promise<void>
}

export interface CreateDepsOptions {
  /** Skip the ClickHouse client (e.g. a producer-only process). */
  clickhouse?: boolean
  clientId?: string
}

export async function createDeps(config: Readonly<Config>, options: CreateDepsOptions = {}): Promise<Deps> {
  const kafka = createKafka(config, { clientId: options.clientId })
  const producer = createProducer(kafka)
  await producer.connect()
  return {
    config,
    kafka,
    serde: createSerde(config),
    topics: topicNames(config.topics.prefix),
    producer,
    clickhouse:
      options.clickhouse === false ? (undefined as unknown as ClickHouseClient) : createClickHouse(config),
    log: getLogger('runtime'),
  }
}

export async function closeDeps(deps: Partial<Deps>): Promise<void> {
  await Promise.allSettled([deps.producer?.disconnect(), deps.clickhouse?.close()])
}

/**
 * Makes the infrastructure ready for the roles, idempotently: creates missing topics, registers
 * every Avro contract under its `<topic>-value` subject, and applies pending ClickHouse
 * migrations and the configured retention (skipped when `deps` has no ClickHouse client). Run
 * before any role starts.
 */
export async function prepare(deps: Deps, log: (m: string) => void = () => {}): Promise<void> {
  const admin = deps.kafka.admin()
  await admin.connect()
  try {
    const created = await ensureTopics(admin, deps.config)
    if (created.length > 0) log(`created ${created.length} topics`)
  } finally {
    await admin.disconnect()
  }
  await registerContracts(deps.serde, deps.topics, TOPIC_SCHEMAS)
  if (!deps.clickhouse) return
  const { applied } = await migrateWarehouse(deps.clickhouse, deps.config, log)
  if (applied === 0) log('migrations: up to date')
}
