import type { Admin, ITopicConfig } from 'kafkajs'
import type { Config } from '../config/index.ts'

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

/** Explicit partitions, replication and cleanup policy for every topic RiskStream owns. */
export function topicSpecs(config: Pick<Config, 'topics'>): ITopicConfig[] {
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
      configEntries: [{ name: 'cleanup.policy', value: 'delete' }],
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
export async function ensureTopics(
  admin: Admin,
  config: Pick<Config, 'topics'>,
  timeoutMs = 60_000,
): Promise<string[]> {
  const deadline = Date.now() + timeoutMs
  const specs = topicSpecs(config)
  const initial = new Set(await admin.listTopics())
  const created = specs.filter((t) => !initial.has(t.topic))
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
