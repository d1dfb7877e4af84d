import type {
  Consumer,
  ConsumerConfig,
  EachBatchPayload,
  IHeaders,
  Kafka,
  KafkaMessage,
  Producer,
} from 'kafkajs'
import { type RiskStreamError, toRiskStreamError } from '../errors/index.ts'
import type { Logger } from '../log/index.ts'
import { groupTiming } from './client.ts'
import { BackgroundCommitter } from './committer.ts'
import { sendToDlq, type UnusableRecord } from './dlq.ts'
import type { AvroSerde, SchemaName } from './serde.ts'

export interface DecodedRecord<T> {
  value: T
  schemaId: number
  key: string | null
  topic: string
  partition: number
  offset: string
  /** Broker timestamp (ms) of the record. */
  timestamp: number
  headers: IHeaders
}

export interface Rejection {
  record: DecodedRecord<unknown> | UnusableRecord
  error: RiskStreamError
}

export interface BatchContext {
  heartbeat(): Promise<void>
  /**
   * False once the consumer is stopping, the group rebalanced away from this partition, or a
   * heartbeat during the batch learnt that the group is rebalancing (outputs would be redone).
   */
  isActive(): boolean
  /** Records left on this partition after the batch when it was fetched ('0' = caught up). */
  offsetLag: string
  /**
   * Commits offsets for the group. Only for `commit: 'handler'` consumers, which decide
   * themselves when their outputs make offsets safe to commit (e.g. after a checkpoint).
   */
  commit(offsets: { topic: string; partition: number; offset: string }[]): Promise<void>
}

export interface StreamConsumerOptions<T> {
  kafka: Kafka
  groupId: string
  topics: string[]
  serde: AvroSerde
  /**
   * Local reader schema: records written by older/newer schemas are resolved into it. A
   * function picks it per topic (a consumer of several topics with different contracts).
   */
  readerSchema: SchemaName | ((topic: string) => SchemaName)
  /** Producer used for dead letters (an idempotent producer the caller owns). */
  dlqProducer: Producer
  /** Dead-letter topic for a source topic. */
  dlqTopic: (sourceTopic: string) => string
  /**
   * Processes one partition's decoded records. Must return only when its outputs are durable
   * (acknowledged by the broker or ClickHouse): offsets are committed right after it returns.
   * Records it cannot use are returned as rejections and dead-lettered. Throwing a retriable
   * error makes kafkajs retry the whole batch; a non-retriable throw stops the consumer.
   */
  handleBatch: (records: DecodedRecord<T>[], ctx: BatchContext) => Promise<Rejection[] | undefined>
  log: Logger
  fromBeginning?: boolean
  consumerConfig?: Partial<ConsumerConfig>
  /**
   * 'batch' (default): once `handleBatch` resolves, the batch's offsets are committed in the
   * background (committer.ts: one commit in flight, newest offsets, never before the handler).
   * 'handler': the loop only advances the fetch position; the handler commits through
   * `ctx.commit` once its own durability point covers the offsets (stateful consumers that
   * checkpoint every N batches must not commit records their checkpoint does not cover).
   */
  commit?: 'batch' | 'handler'
  /**
   * Partition batches handled at the same time (kafkajs partitionsConsumedConcurrently;
   * default 1). Batches of one partition never overlap; a stateful handler keeps the default.
   */
  concurrency?: number
}

export interface StreamConsumer {
  consumer: Consumer
  start(): Promise<void>
  stop(): Promise<void>
  stats: { processed: number; deadLettered: number; batches: number }
}

/**
 * The consume → decode → handle → dead-letter → commit loop shared by every role.
 * A poison pill never crashes the loop: it is forwarded to the DLQ with its reason and the
 * partition moves on. Offsets are committed only after the handler's outputs are durable,
 * so a crash at any point redelivers, and downstream idempotency absorbs the duplicates.
 */
export function createStreamConsumer<T>(options: StreamConsumerOptions<T>): StreamConsumer {
  const { kafka, serde, log } = options
  // Session and heartbeat come from the client (KAFKA_SESSION_TIMEOUT_MS…, lib/kafka/client.ts).
  const consumer = kafka.consumer({
    groupId: options.groupId,
    allowAutoTopicCreation: false,
    maxBytesPerPartition: 4 * 1024 * 1024,
    // stop() waits for the fetch in flight: an idle long poll of 1 s (kafkajs: 5 s) keeps a
    // graceful stop quick. With traffic a fetch returns as soon as records arrive anyway.
    maxWaitTimeInMs: 1_000,
    ...options.consumerConfig,
  })
  const stats = { processed: 0, deadLettered: 0, batches: 0 }
  let running = false
  const heartbeatMs =
    options.consumerConfig?.heartbeatInterval ?? groupTiming(kafka)?.heartbeatInterval ?? KAFKAJS_HEARTBEAT_MS
  /** Set when a heartbeat sent during a batch answered that the group rebalances; cleared on join. */
  let rebalancing = false
  const committer = new BackgroundCommitter({
    commit: (offsets) => consumer.commitOffsets(offsets),
    onError: (err) =>
      log.warn(
        { code: toRiskStreamError(err).code },
        'offset commit failed; retried, and the records are redelivered if it never lands',
      ),
  })
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    rebalancing = false
    committer.retain(e.payload.memberAssignment)
  })
  // A non-retriable failure stops kafkajs' consumer for good (no restart): never silently.
  consumer.on(consumer.events.CRASH, (e) => {
    const err = toRiskStreamError(e.payload.error)
    if (e.payload.restart)
      log.warn({ code: err.code, groupId: options.groupId }, 'consumer restarts after an error')
    else
      log.error(
        { code: err.code, groupId: options.groupId },
        'consumer stopped by a non-retriable error; this role no longer consumes until restarted',
      )
  })
  /** Batches being handled, so stop() can let them finish and commit before leaving the group. */
  const inHand = new Set<Promise<void>>()

  async function decodeAll(topic: string, partition: number, messages: KafkaMessage[]) {
    const decoded: DecodedRecord<T>[] = []
    const rejected: Rejection[] = []
    const reader =
      typeof options.readerSchema === 'function' ? options.readerSchema(topic) : options.readerSchema
    for (const m of messages) {
      try {
        const { schemaId, value } = await serde.decode<T>(m.value, reader)
        decoded.push({
          value,
          schemaId,
          key: m.key?.toString() ?? null,
          topic,
          partition,
          offset: m.offset,
          timestamp: Number(m.timestamp),
          headers: m.headers ?? {},
        })
      } catch (err) {
        const e = toRiskStreamError(err, 'DECODE_FAILED')
        // A registry outage is not the record's fault: retry the batch instead of dead-lettering.
        if (e.retriable) throw e
        rejected.push({
          record: { topic, partition, offset: m.offset, key: m.key, value: m.value, headers: m.headers },
          error: e,
        })
      }
    }
    return { decoded, rejected }
  }

  /**
   * kafkajs heartbeats between batches and when a handler calls heartbeat(): a handler awaiting
   * a ClickHouse flush, a checkpoint or a slow send for longer than the session would be
   * dropped from the group mid-batch and every member would rebalance (again at the next slow
   * batch). While a batch is in hand a timer keeps heartbeating; kafkajs sends one only when
   * the interval has elapsed, so the timer adds no requests to a loop that heartbeats anyway.
   */
  function keepAlive(heartbeat: () => Promise<void>): () => void {
    const timer = setInterval(() => {
      heartbeat().catch((err: unknown) => {
        const type = (err as { type?: string }).type
        // The batch in hand is no longer this member's to commit; kafkajs rejoins once it returns.
        if (mustRejoin(err)) rebalancing = true
        log.debug(
          { groupId: options.groupId, error: type ?? (err as Error).message },
          'heartbeat during a batch failed',
        )
      })
    }, heartbeatMs)
    timer.unref()
    return () => clearInterval(timer)
  }

  function asUnusable(r: Rejection): { record: UnusableRecord; error: RiskStreamError } {
    const rec = r.record as DecodedRecord<unknown> & UnusableRecord
    return {
      record: {
        topic: rec.topic,
        partition: rec.partition,
        offset: rec.offset,
        key: rec.key,
        value: rec.value as Buffer | null,
        headers: rec.headers,
      },
      error: r.error,
    }
  }

  return {
    consumer,
    stats,
    async start() {
      await consumer.connect()
      for (const topic of options.topics)
        await consumer.subscribe({ topic, fromBeginning: options.fromBeginning ?? true })
      running = true
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: options.concurrency ?? 1,
        eachBatch: async (payload) => {
          // Stopping: leave this batch unresolved for whoever owns the partition next.
          if (!running) return
          const run = handle(payload)
          // stop() only waits for it; the failure itself is kafkajs' to handle (through `run`).
          const settled = run.then(
            () => undefined,
            () => undefined,
          )
          inHand.add(settled)
          settled.then(() => inHand.delete(settled))
          await run
        },
      })
    },
    async stop() {
      if (!running) {
        await consumer.disconnect()
        return
      }
      running = false
      // Let the batch in hand finish, then commit everything handled while still a member.
      await Promise.all(inHand)
      await committer.flush()
      await consumer.stop()
      await consumer.disconnect()
    },
  }

  async function handle(payload: EachBatchPayload) {
    if (payload.batch.messages.length === 0) return
    const stopBeating = keepAlive(payload.heartbeat)
    try {
      await handleInHand(payload)
    } finally {
      stopBeating()
    }
  }

  async function handleInHand({ batch, heartbeat, isRunning, isStale, resolveOffset }: EachBatchPayload) {
    const active = () => isRunning() && !isStale() && !rebalancing
    const { decoded, rejected } = await decodeAll(batch.topic, batch.partition, batch.messages)
    const ctx: BatchContext = {
      heartbeat,
      isActive: active,
      offsetLag: batch.offsetLag(),
      commit: (offsets) => consumer.commitOffsets(offsets),
    }
    let handlerRejects: Rejection[] = []
    if (decoded.length > 0) {
      try {
        handlerRejects = (await options.handleBatch(decoded, ctx)) ?? []
      } catch (err) {
        // A heartbeat in the handler learnt that the group rebalances: kafkajs rejoins on that
        // error, but only unwrapped (wrapped, it is a non-retriable error that stops the consumer).
        if (mustRejoin(err)) {
          rebalancing = true
          throw err
        }
        const e = toRiskStreamError(err)
        log.warn(
          { code: e.code, retriable: e.retriable, topic: batch.topic, partition: batch.partition },
          'batch failed',
        )
        throw e
      }
    }
    const dead = [...rejected, ...handlerRejects]
    if (dead.length > 0) {
      // Raw bytes are needed for the DLQ; decoded records are mapped back to their source message.
      const byOffset = new Map(batch.messages.map((m) => [m.offset, m]))
      const items = dead.map((r) => {
        const u = asUnusable(r)
        const source = byOffset.get(u.record.offset)
        return {
          record: {
            ...u.record,
            key: source?.key ?? null,
            value: source?.value ?? null,
            headers: source?.headers,
          },
          error: u.error,
        }
      })
      await sendToDlq(options.dlqProducer, options.dlqTopic(batch.topic), items)
      stats.deadLettered += items.length
      for (const i of items)
        log.warn(
          {
            code: i.error.code,
            topic: batch.topic,
            partition: batch.partition,
            offset: i.record.offset,
          },
          'dead-lettered',
        )
    }
    if (!active()) return
    const last = batch.messages[batch.messages.length - 1]!.offset
    const next = (BigInt(last) + 1n).toString()
    // resolveOffset moves kafkajs' fetch position; the commit makes it durable for the group.
    resolveOffset(last)
    if (options.commit === 'handler') {
      stats.processed += batch.messages.length
      stats.batches++
      return
    }
    committer.offer(batch.topic, batch.partition, next)
    stats.processed += batch.messages.length
    stats.batches++
  }
}

/** kafkajs' own default, for a client not made by createKafka. */
const KAFKAJS_HEARTBEAT_MS = 3_000

/** Group answers after which this member must rejoin before committing anything. */
const REJOIN_ERRORS = new Set([
  'REBALANCE_IN_PROGRESS',
  'UNKNOWN_MEMBER_ID',
  'ILLEGAL_GENERATION',
  'NOT_COORDINATOR_FOR_GROUP',
])

function mustRejoin(err: unknown): boolean {
  const type = typeof err === 'object' && err !== null ? (err as { type?: unknown }).type : undefined
  return typeof type === 'string' && REJOIN_ERRORS.has(type)
}

/** Reads a whole (small) topic from the beginning to its current end, then returns. */
export async function readToEnd(
  kafka: Kafka,
  topic: string,
  onMessage: (m: KafkaMessage, partition: number) => void | Promise<void>,
): Promise<void> {
  const admin = kafka.admin()
  await admin.connect()
  let ends: { partition: number; high: string; low: string }[]
  try {
    ends = (await admin.fetchTopicOffsets(topic)).map((o) => ({
      partition: o.partition,
      high: o.high,
      low: o.low,
    }))
  } finally {
    await admin.disconnect()
  }
  const pending = new Set(ends.filter((e) => BigInt(e.high) > BigInt(e.low)).map((e) => e.partition))
  if (pending.size === 0) return
  const highs = new Map(ends.map((e) => [e.partition, BigInt(e.high)]))
  const consumer = kafka.consumer({
    groupId: `readtoend-${topic}-${process.pid}-${Date.now()}`,
    allowAutoTopicCreation: false,
  })
  await consumer.connect()
  try {
    await consumer.subscribe({ topic, fromBeginning: true })
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ message, partition }) => {
            await onMessage(message, partition)
            if (BigInt(message.offset) + 1n >= highs.get(partition)!) {
              pending.delete(partition)
              if (pending.size === 0) resolve()
            }
          },
        })
        .catch(reject)
    })
  } finally {
    await consumer.disconnect()
  }
}
