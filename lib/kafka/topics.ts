import type { Admin, ITopicConfig } from 'kafkajs'
import type { Config } from '../config/index.ts'
import { getLogger } from '../log/index.ts'

/** Logical topic names; the configured prefix is put in front of each. */
export const TOPIC_BASES = {
  requests: 'clinical.prediction-requests',
  outcomes: 'clinical.outcomes',
  predictions: 'mlops.predictions',
  shadowPredictions: 'mlops.shadow-predictions',
  driftEvents: 'mlops.drift-events',
  modelVersions: 'mlops.model-versions',
  retrainRequests: 'mlops.retrain-requests',
  retrainResults: 'mlops.retrain-results',
} as const

export type TopicKey = keyof typeof TOPIC_BASES
export type TopicNames = Record<TopicKey, string> & { dlq: Record<TopicKey, string> }

/** The record schema (schemas/<Name>.avsc) carried by each topic's values. */
export const TOPIC_SCHEMAS: Record<TopicKey, string> = {
  requests: 'PredictionRequest',
  outcomes: 'OutcomeLabel',
  predictions: 'Prediction',
  shadowPredictions: 'Prediction',
  driftEvents: 'DriftEvent',
  modelVersions: 'ModelVersion',
  retrainRequests: 'RetrainRequest',
  retrainResults: 'RetrainResult',
}

/**
 * Request, outcome and prediction topics are keyed by requestId and share one partition
 * count, so a request, its prediction and its outcome land in the same partition number
 * (the default murmur2 partitioner is deterministic in the key).
 */
const CO_PARTITIONED: TopicKey[] = ['requests', 'outcomes', 'predictions', 'shadowPredictions']

export function topicNames(prefix: string): TopicNames {
  const names = {} as Record<TopicKey, string>
  const dlq = {} as Record<TopicKey, string>
  for (const [key, base] of Object.entries(TOPIC_BASES) as [TopicKey, string][]) {
    names[key] = `${prefix}${base}`
    dlq[key] = `${prefix}${base}.dlq`
  }
  return { ...names, dlq }
}

/** DLQ_RETENTION_MS's default: dead letters hold full patient payloads, so they expire. */
export const DEFAULT_DLQ_RETENTION_MS = 7 * 24 * 3600 * 1000

type TopicConfig = Pick<Config, 'topics'> & { dlq?: Config['dlq'] }

/** The configuration of every dead-letter topic: deleted after DLQ_RETENTION_MS. */
export function dlqConfigEntries(config: TopicConfig): { name: string; value: string }[] {
  return [
    { name: 'cleanup.policy', value: 'delete' },
    { name: 'retention.ms', value: String(config.dlq?.retentionMs ?? DEFAULT_DLQ_RETENTION_MS) },
  ]
}

/** Explicit partitions, replication and cleanup policy for every topic RiskStream owns. */
export function topicSpecs(config: TopicConfig): ITopicConfig[] {
  const names = topicNames(config.topics.prefix)
  const rf = config.topics.replicationFactor
  const specs: ITopicConfig[] = []
  for (const key of Object.keys(TOPIC_BASES) as TopicKey[]) {
    const partitions = CO_PARTITIONED.includes(key)
      ? config.topics.partitions
      : key === 'modelVersions'
        ? 1
        : 3
    const configEntries =
      key === 'modelVersions'
        ? // Compacted and keyed by model name: the newest production record per model survives forever.
          [
            { name: 'cleanup.policy', value: 'compact' },
            { name: 'min.compaction.lag.ms', value: '0' },
            { name: 'max.message.bytes', value: String(8 * 1024 * 1024) },
          ]
        : [{ name: 'cleanup.policy', value: 'delete' }]
    specs.push({ topic: names[key], numPartitions: partitions, replicationFactor: rf, configEntries })
    // A dead-letter topic for each topic, same partitions so the source partition can be mirrored.
    specs.push({
      topic: names.dlq[key],
      numPartitions: partitions,
      replicationFactor: rf,
      configEntries: dlqConfigEntries(config),
    })
  }
  return specs
}

/**
 * Creates missing topics; existing ones are left as they are. Returns the names it created.
 * Returns only once every created topic answers an offsets request. Right after creation a busy
 * broker can answer metadata with "does not host this topic-partition" (kafkajs' own
 * waitForLeaders gives up on that), and another process may be creating the same topics, so
 * creation is retried on what is still missing and readiness is polled here instead.
 */
export async function ensureTopics(admin: Admin, config: TopicConfig, timeoutMs = 60_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs
  const specs = topicSpecs(config)
  const initial = new Set(await admin.listTopics())
  const created = specs.filter((t) => !initial.has(t.topic))
  // A broker that refuses DescribeConfigs/AlterConfigs (ACLs) must not stop start-up: say so.
  await enforceDlqRetention(
    admin,
    config,
    specs.filter((t) => initial.has(t.topic) && t.topic.endsWith('.dlq')).map((t) => t.topic),
  ).catch((err: unknown) =>
    getLogger('kafka').warn(
      { err: (err as Error).message },
      'could not set retention.ms on existing DLQ topics; set it by hand (DLQ_RETENTION_MS)',
    ),
  )
  if (created.length === 0) return []
  let missing = created
  while (missing.length > 0) {
    try {
      await admin.createTopics({ topics: missing, waitForLeaders: false })
    } catch (err) {
      if (Date.now() > deadline) throw err
    }
    const now = new Set(await admin.listTopics().catch(() => [] as string[]))
    missing = missing.filter((t) => !now.has(t.topic))
    if (missing.length > 0) await sleep(200)
  }
  for (const t of created) {
    for (;;) {
      try {
        const offsets = await admin.fetchTopicOffsets(t.topic)
        if (offsets.length === t.numPartitions) break
      } catch (err) {
        if (Date.now() > deadline) throw err
      }
      if (Date.now() > deadline) throw new Error(`topic ${t.topic} has no leaders after ${timeoutMs} ms`)
      await sleep(100)
    }
  }
  return created.map((t) => t.topic)
}

/**
 * Dead-letter topics created before DLQ_RETENTION_MS (or with another value) get it set: a
 * DLQ never keeps patient payloads longer than configured. Their only other setting is
 * cleanup.policy=delete, so the (non-incremental) alterConfigs loses nothing.
 */
async function enforceDlqRetention(admin: Admin, config: TopicConfig, topics: string[]): Promise<void> {
  if (topics.length === 0) return
  const want = dlqConfigEntries(config)
  const retention = want.find((e) => e.name === 'retention.ms')!.value
  const described = await admin.describeConfigs({
    resources: topics.map((name) => ({ type: 2, name, configNames: ['retention.ms'] })),
    includeSynonyms: false,
  })
  const stale = described.resources
    .filter((r) => r.configEntries.find((e) => e.configName === 'retention.ms')?.configValue !== retention)
    .map((r) => r.resourceName)
  if (stale.length === 0) return
  await admin.alterConfigs({
    validateOnly: false,
    resources: stale.map((name) => ({ type: 2, name, configEntries: want })),
  })
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
