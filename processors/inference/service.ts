/**
 * The inference consumer, per partition batch (the shared loop of lib/kafka/consumer.ts decodes,
 * dead-letters and commits): take the served model once (hot-reloads swap between batches),
 * validate, score every valid request in one scoreBatch (and the shadow model), produce the
 * predictions keyed by requestId to the same partition number, acks=all; the loop commits after.
 * At-least-once: a redelivered batch is absorbed by `predictions` (ReplacingMergeTree by
 * request_id). No Kafka transactions: kafkajs has no consumer-group fencing (KIP-447), so they
 * would cost throughput without giving exactly-once across rebalances.
 */
import type { ConsumerConfig, Message, Producer } from 'kafkajs'
import { Registry } from 'prom-client'
import { RiskStreamError } from '../../lib/errors/index.ts'
import { payloadDigest, RecentRequests } from '../../lib/events/idempotency.ts'
import type { PredictionEvent, PredictionRequestEvent as PredictionRequest } from '../../lib/events/index.ts'
import { BatchSender } from '../../lib/kafka/batcher.ts'
import {
  createStreamConsumer,
  type DecodedRecord,
  DLQ_HEADERS,
  headerString,
  type Rejection,
  SCORED_BY_API,
  SCORED_BY_HEADER,
  SCORED_BY_MAC_HEADER,
  type StreamConsumer,
  scoredByMac,
} from '../../lib/kafka/index.ts'
import { getLogger } from '../../lib/log/index.ts'
import { signerFor } from '../../lib/model/signing.ts'
import { createRegistry, INLINE_ARTIFACT_MAX_BYTES } from '../../lib/registry/index.ts'
import type { Deps, Service } from '../../lib/runtime/index.ts'
import {
  fillRow,
  type LoadedModel,
  toPrediction,
  unscorableError,
  validateRequest,
} from '../../lib/serving/index.ts'
import { createInferenceMetrics, type InferenceMetrics } from './metrics.ts'
import { type ArtifactLoader, createModelFollower, type ModelFollower } from './model-follower.ts'

/**
 * Predictions per produce request (~250 bytes each); the sender also caps a request at
 * 512 KiB, under the broker's default message.max.bytes (~1 MiB per record batch).
 */
const SEND_BATCH = 2000

export interface InferenceOptions {
  /** Model to serve (default config.model.name). */
  modelName?: string
  /** Consumer group of the request consumers (default `<prefix>riskstream-inference-<model>`). */
  groupId?: string
  /** prom-client registry to put the metrics in (the API's, in all-in-one mode). */
  metricsRegistry?: Registry
  /** Loads and verifies an artifact (default: the model registry's loadArtifact). */
  loadArtifact?: ArtifactLoader
  /** Overrides for the request consumer (e.g. maxBytesPerPartition, sessionTimeout). */
  consumerConfig?: Partial<ConsumerConfig>
  /** Test hooks for fault injection. */
  hooks?: {
    /**
     * Runs after a batch's predictions are acknowledged and BEFORE its offsets are committed.
     * Throwing here simulates a crash at the worst moment (duplicates on redelivery).
     */
    afterPredictionsAcked?: (info: {
      partition: number
      firstOffset: string
      lastOffset: string
      count: number
    }) => void | Promise<void>
  }
}

export interface InferenceStatus {
  modelName: string
  servedVersion: number | null
  shadowVersion: number | null
  consuming: boolean
  processed: number
  deadLettered: number
  batches: number
}

export interface InferenceService extends Service {
  readonly metrics: InferenceMetrics
  readonly metricsRegistry: Registry
  /** Resolves once a model is loaded and requests are being consumed. */
  ready(): Promise<void>
  status(): InferenceStatus
}

/**
 * Artifacts come from the model-versions topic, which carries them inline up to
 * INLINE_ARTIFACT_MAX_BYTES; a larger one is loaded from ClickHouse by reference. A process
 * started without ClickHouse (`riskstream run inference`) refuses such a version with
 * MODEL_NOT_FOUND and a message that says why, and keeps serving what it has.
 */
function artifactLoader(deps: Deps): ArtifactLoader {
  const { serde, topics, producer, clickhouse } = deps
  const registry = createRegistry({ serde, topics, producer, clickhouse })
  if (clickhouse) return (event) => registry.loadArtifact(event)
  return async (event) => {
    if (!event.artifact)
      throw new RiskStreamError(
        'MODEL_NOT_FOUND',
        `${event.modelName} v${event.version}: the artifact is not inline on the model-versions topic ` +
          `(over ${INLINE_ARTIFACT_MAX_BYTES} bytes) and this process has no ClickHouse to load ` +
          `${event.artifactRef} from; run inference beside another role (they open ClickHouse)`,
        { details: { artifactRef: event.artifactRef } },
      )
    // Inline bytes: decoded and checked against the event's sha256, no warehouse read.
    return registry.loadArtifact(event)
  }
}

export function createInferenceService(deps: Deps, options: InferenceOptions = {}): InferenceService {
  const { kafka, serde, topics, producer, config } = deps
  const log = getLogger('inference')
  const modelName = options.modelName ?? config.model.name
  const metricsRegistry = options.metricsRegistry ?? new Registry()
  const metrics = createInferenceMetrics(metricsRegistry)
  const signer = signerFor(config)
  /** Recent request ids and their payload digests (lib/events/idempotency.ts). */
  const recent = new RecentRequests()
  const loadArtifact: ArtifactLoader = options.loadArtifact ?? artifactLoader(deps)

  // One request in flight; what the handlers enqueue meanwhile leaves together when it returns.
  const sender = new BatchSender(producer, { batchSize: SEND_BATCH, lingerMs: 0, stampAtSend: true })
  let follower: ModelFollower | undefined
  let requests: StreamConsumer | undefined
  let stopping = false
  let resolveReady!: () => void
  let rejectReady!: (e: unknown) => void
  const readyPromise = new Promise<void>((res, rej) => {
    resolveReady = res
    rejectReady = rej
  })
  readyPromise.catch(() => undefined) // a failure is reported by whoever awaits ready()
  let startingRequests: Promise<void> | undefined

  /** Counts every dead letter by reason: the shared loop sends them all through this producer. */
  const dlqProducer: Producer = {
    ...producer,
    send: async (record) => {
      const result = await producer.send(record)
      for (const m of record.messages) {
        metrics.deadLettered.inc({ reason: headerString(m.headers, DLQ_HEADERS.reason) ?? 'UNKNOWN' })
      }
      return result
    },
  }

  async function handleBatch(
    records: DecodedRecord<PredictionRequest>[],
    ctx: { heartbeat(): Promise<void>; isActive(): boolean },
  ) {
    const started = performance.now()
    // The one read of the served model for this batch: a swap during the batch applies to the next.
    const model = follower?.served()
    if (!model)
      throw new RiskStreamError('MODEL_NOT_FOUND', `no ${modelName} version loaded`, { retriable: true })
    const shadow = follower?.shadow() ?? null

    const rejections: Rejection[] = []
    const valid: DecodedRecord<PredictionRequest>[] = []
    const domain = { now: Date.now(), skew: config.events }
    for (const r of records) {
      // Already scored by the API, proven by its MAC; anyone else's scored-by header is ignored.
      if (
        headerString(r.headers, SCORED_BY_HEADER) === SCORED_BY_API &&
        headerString(r.headers, SCORED_BY_MAC_HEADER) === scoredByMac(signer, r.value.requestId)
      )
        continue
      const error = validateRequest(r.value, domain)
      if (error) rejections.push({ record: r, error })
      else if (recent.check(r.value.requestId, payloadDigest(r.value)) === 'conflict')
        // A requestId already scored here with another payload: never a second, different prediction.
        rejections.push({
          record: r,
          error: new RiskStreamError('IDEMPOTENCY_CONFLICT', 'requestId reused with another payload', {
            details: { issues: [{ feature: 'requestId', rule: 'conflict' }] },
          }),
        })
      else valid.push(r)
    }

    const scoredAt = Date.now()
    const served = score(model, valid, scoredAt, false)
    const predictions = served.messages
    // A served model that cannot score a row (e.g. a missing value it has no imputation for)
    // gets the request dead-lettered rather than a made-up probability.
    for (const i of served.unscorable)
      rejections.push({ record: valid[i]!, error: unscorableError(valid[i]!.value, model) })
    let shadows: Message[] = []
    if (shadow) {
      try {
        const s = score(shadow, valid, scoredAt, true)
        shadows = s.messages
        if (s.unscorable.length > 0) metrics.shadowFailures.inc({ model: modelName }, s.unscorable.length)
      } catch (err) {
        // The challenger must never affect what is served.
        metrics.shadowFailures.inc({ model: modelName })
        log.warn({ version: shadow.version, err: (err as Error).message }, 'shadow scoring failed')
      }
    }
    await ctx.heartbeat()
    // Rebalanced away while scoring: the new owner will score these; producing would only duplicate.
    if (!ctx.isActive()) return []

    // Same partition number as the request (co-partitioned topics). Through the shared sender,
    // so partitions handled at the same time go out in one produce request.
    const partition = records[0]!.partition
    const acked = new Set<Promise<void>>()
    const enqueue = (topic: string, m: Message) =>
      acked.add(sender.enqueue({ topic, key: m.key as string, value: m.value as Buffer, partition }))
    for (const m of predictions) enqueue(topics.predictions, m)
    for (const m of shadows) enqueue(topics.shadowPredictions, m)
    await Promise.all(acked)
    await ctx.heartbeat()

    await options.hooks?.afterPredictionsAcked?.({
      partition,
      firstOffset: records[0]!.offset,
      lastOffset: records[records.length - 1]!.offset,
      count: predictions.length,
    })
    metrics.predictions.inc({ model: modelName, version: String(model.version) }, predictions.length)
    if (shadow && shadows.length > 0)
      metrics.shadowPredictions.inc({ model: modelName, version: String(shadow.version) }, shadows.length)
    metrics.batchSize.observe({ model: modelName }, records.length)
    metrics.batchSeconds.observe({ model: modelName }, (performance.now() - started) / 1000)
    return rejections
  }

  /**
   * Scores all valid requests with ONE scoreBatch call and encodes their Prediction events.
   * Rows whose probability is not finite are left out and reported by index.
   */
  function score(
    model: LoadedModel,
    valid: DecodedRecord<PredictionRequest>[],
    scoredAt: number,
    shadow: boolean,
  ): { messages: Message[]; unscorable: number[] } {
    const n = valid.length
    const messages: Message[] = []
    const unscorable: number[] = []
    if (n === 0) return { messages, unscorable }
    const nf = model.columns.length
    const rows = new Float64Array(n * nf)
    for (let i = 0; i < n; i++) fillRow(valid[i]!.value, model.columns, rows, i)
    const probs = model.scorer.scoreBatch(rows, n)
    const topic = shadow ? topics.shadowPredictions : topics.predictions
    for (let i = 0; i < n; i++) {
      const p = probs[i]!
      if (!(p >= 0 && p <= 1)) {
        unscorable.push(i)
        continue
      }
      const req = valid[i]!.value
      const event: PredictionEvent = toPrediction(req, model, p, scoredAt, shadow)
      messages.push({ key: req.requestId, value: serde.encode(topic, event) })
    }
    return { messages, unscorable }
  }

  async function startRequests(): Promise<void> {
    if (requests || stopping) return
    const consumer = createStreamConsumer<PredictionRequest>({
      kafka,
      groupId: options.groupId ?? `${config.topics.prefix}riskstream-inference-${modelName}`,
      topics: [topics.requests],
      serde,
      readerSchema: 'PredictionRequest',
      dlqProducer,
      dlqTopic: () => topics.dlq.requests,
      handleBatch,
      log,
      consumerConfig: options.consumerConfig,
      // Partitions are independent here (the served model is read once per batch), so a
      // fetch's partition batches are scored together and their predictions share a request.
      concurrency: config.topics.partitions,
    })
    requests = consumer
    await consumer.start()
    log.info({ model: modelName, version: follower?.served()?.version }, 'consuming prediction requests')
  }

  function startRequestsOnce(): Promise<void> {
    startingRequests ??= startRequests().then(resolveReady, (err) => {
      rejectReady(err)
      log.error({ err: (err as Error).message }, 'request consumer failed to start')
      throw err
    })
    return startingRequests
  }

  return {
    name: 'inference',
    metrics,
    metricsRegistry,
    ready: () => readyPromise,
    status() {
      return {
        modelName,
        servedVersion: follower?.served()?.version ?? null,
        shadowVersion: follower?.shadow()?.version ?? null,
        consuming: requests !== undefined,
        processed: requests?.stats.processed ?? 0,
        deadLettered: requests?.stats.deadLettered ?? 0,
        batches: requests?.stats.batches ?? 0,
      }
    },
    async start() {
      stopping = false
      // Register the output contracts before anything can be produced.
      await serde.register(topics.predictions, 'Prediction')
      await serde.register(topics.shadowPredictions, 'Prediction')
      const f = createModelFollower({
        kafka,
        serde,
        topic: topics.modelVersions,
        modelName,
        loadArtifact,
        metrics,
        log,
        groupPrefix: `${config.topics.prefix}riskstream-inference-versions-${modelName}`,
        signer,
      })
      follower = f
      metrics.servedVersion.set({ model: modelName }, 0)
      metrics.shadowVersion.set({ model: modelName }, 0)
      // No model, no consumption: requests wait in Kafka until a production version is loaded.
      f.onServedChange(() => {
        startRequestsOnce().catch(() => undefined)
      })
      await f.start()
      if (f.served()) await startRequestsOnce()
    },
    async stop() {
      stopping = true
      await startingRequests?.catch(() => undefined)
      await requests?.stop()
      requests = undefined
      startingRequests = undefined
      await follower?.stop()
    },
  }
}
