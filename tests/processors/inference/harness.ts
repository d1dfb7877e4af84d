/**
 * Shared set-up for the inference integration tests: an isolated topic prefix, the contracts
 * registered, and helpers to publish model versions and requests and to read predictions.
 */
import type { Kafka, Message } from 'kafkajs'
import { migrate } from '../../../lib/clickhouse/index.ts'
import { ensureTopics, registerContracts, TOPIC_SCHEMAS } from '../../../lib/kafka/index.ts'
import { SIGNATURE_HEADER, signerFor } from '../../../lib/model/signing.ts'
import type { ModelVersionEvent } from '../../../lib/registry/index.ts'
import { seqOfEventId } from '../../../lib/registry/registry.ts'
import { closeDeps, createDeps, type Deps } from '../../../lib/runtime/index.ts'
import type { PredictionEvent } from '../../../processors/inference/index.ts'
import { testConfig } from '../../helpers/index.ts'
import { validRequest } from './fixtures.ts'

export interface Harness {
  deps: Deps
  publishVersion(event: ModelVersionEvent, key?: string): Promise<void>
  /** Sends valid requests `ids`, round-robin over the partitions; returns id → partition. */
  sendRequests(ids: string[]): Promise<Map<string, number>>
  sendRaw(messages: Message[]): Promise<void>
  /** Sum of the high watermarks of a topic (= records ever written, no compaction there). */
  recordCount(topic: string): Promise<number>
  decodePrediction(value: Buffer): Promise<PredictionEvent>
  close(): Promise<void>
}

export async function createHarness(overrides: Record<string, string> = {}): Promise<Harness> {
  const deps = await createDeps(testConfig({ TOPIC_PARTITIONS: '3', ...overrides }))
  const admin = deps.kafka.admin()
  await admin.connect()
  try {
    // createTopics(waitForLeaders) sometimes answers "does not host this topic-partition" while
    // the broker is creating many topics at once; ensureTopics is idempotent, so try again.
    for (let attempt = 1; ; attempt++) {
      try {
        await ensureTopics(admin, deps.config)
        break
      } catch (err) {
        if (attempt >= 5) throw err
        await new Promise((r) => setTimeout(r, 500 * attempt))
      }
    }
  } finally {
    await admin.disconnect()
  }
  await migrate(deps.clickhouse)
  await registerContracts(deps.serde, deps.topics, TOPIC_SCHEMAS)
  const partitions = deps.config.topics.partitions
  const kafka: Kafka = deps.kafka

  return {
    deps,
    async publishVersion(event, key = event.modelName) {
      await deps.producer.send({
        topic: deps.topics.modelVersions,
        acks: -1,
        // Signed like the registry signs (lib/model/signing.ts), with the sequence of its event id.
        messages: [
          {
            key,
            value: deps.serde.encode(deps.topics.modelVersions, event),
            headers: { [SIGNATURE_HEADER]: signerFor(deps.config).sign(event, seqOfEventId(event.eventId)) },
          },
        ],
      })
    },
    async sendRequests(ids) {
      const where = new Map<string, number>()
      const messages = ids.map((id, i) => {
        const partition = i % partitions
        where.set(id, partition)
        return {
          key: id,
          partition,
          value: deps.serde.encode(deps.topics.requests, validRequest(id, 60 + (i % 200))),
        }
      })
      for (let i = 0; i < messages.length; i += 2000) {
        await deps.producer.send({
          topic: deps.topics.requests,
          acks: -1,
          messages: messages.slice(i, i + 2000),
        })
      }
      return where
    },
    async sendRaw(messages) {
      await deps.producer.send({ topic: deps.topics.requests, acks: -1, messages })
    },
    async recordCount(topic) {
      const a = kafka.admin()
      await a.connect()
      try {
        const offsets = await a.fetchTopicOffsets(topic)
        return offsets.reduce((s, o) => s + Number(o.high) - Number(o.low), 0)
      } finally {
        await a.disconnect()
      }
    },
    async decodePrediction(value) {
      return (await deps.serde.decode<PredictionEvent>(value, 'Prediction')).value
    },
    close: () => closeDeps(deps),
  }
}
