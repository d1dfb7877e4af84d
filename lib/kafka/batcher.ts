/**
 * Accumulates messages and sends them to Kafka in batches (one `producer.sendBatch` per
 * batch, acks=all, no compression). A batch leaves when it is full or when the oldest
 * queued message has waited `lingerMs`; only one batch is in flight at a time (the shared
 * producer is idempotent with one request in flight, so more would only queue inside
 * kafkajs), and while it flies the next batch fills up — that overlap is where the
 * throughput comes from.
 */
import { CompressionTypes, type IHeaders, type Producer } from 'kafkajs'
import { RiskStreamError, toRiskStreamError } from '../errors/index.ts'

export interface OutgoingMessage {
  topic: string
  key: string
  value: Buffer
  /** Broker CreateTime in ms; stamped at enqueue when absent. */
  timestamp?: number
  headers?: IHeaders
  /** Explicit partition (co-partitioned outputs); the key's hash decides when absent. */
  partition?: number
}

export interface BatchSenderOptions {
  /** Messages per sendBatch call. */
  batchSize?: number
  /**
   * A batch is also full at this many bytes (values + keys + ~70 bytes of record overhead
   * each): the broker refuses record batches over message.max.bytes (~1 MiB by default).
   */
  maxBatchBytes?: number
  /** Longest time a queued message waits for its batch to fill. */
  lingerMs?: number
  /** `waitForCapacity()` blocks while this many messages are queued. */
  highWaterMark?: number
  /**
   * Broker CreateTime = when the batch is sent rather than when the message was queued
   * (messages without their own timestamp). Outputs whose CreateTime measures latency use it,
   * so time spent waiting for the previous batch is counted, not hidden.
   */
  stampAtSend?: boolean
}

/** Called once per message when its batch was acknowledged (no argument) or refused. */
export type AckCallback = (err?: RiskStreamError) => void

type KafkaMessage = { key: string; value: Buffer; timestamp: string; headers?: IHeaders; partition?: number }

/**
 * One batch being filled: a single promise and one callback slot per message, so a
 * 100,000-message run does not allocate 100,000 promises (GC was a fifth of the CPU time).
 */
interface Batch {
  byTopic: Map<string, KafkaMessage[]>
  size: number
  bytes: number
  callbacks: (AckCallback | undefined)[]
  promise: Promise<void>
  resolve: () => void
  reject: (err: RiskStreamError) => void
}

function newBatch(): Batch {
  let resolve!: () => void
  let reject!: (err: RiskStreamError) => void
  const promise = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  // Callers may use callbacks only; a refused batch must not become an unhandled rejection.
  promise.catch(() => {})
  return { byTopic: new Map(), size: 0, bytes: 0, callbacks: [], promise, resolve, reject }
}

export class BatchSender {
  readonly batchSize: number
  readonly maxBatchBytes: number
  readonly lingerMs: number
  readonly highWaterMark: number
  /** Full batches waiting, then the one being filled (last). */
  private batches: Batch[] = []
  private queuedCount = 0
  private draining: Promise<void> | null = null
  private timer: NodeJS.Timeout | null = null
  private closed = false

  constructor(
    private readonly producer: Producer,
    options: BatchSenderOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 2000
    this.maxBatchBytes = options.maxBatchBytes ?? 512 * 1024
    this.lingerMs = options.lingerMs ?? 5
    this.highWaterMark = options.highWaterMark ?? this.batchSize * 3
    this.stampAtSend = options.stampAtSend ?? false
  }
  private readonly stampAtSend: boolean

  /** Messages queued and not yet handed to Kafka. */
  get queued(): number {
    return this.queuedCount
  }

  /**
   * Queues one message. The returned promise (shared by the whole batch) settles when the
   * broker acknowledged or refused the batch; `onAck`, if given, is called for this message.
   */
  enqueue(message: OutgoingMessage, onAck?: AckCallback): Promise<void> {
    if (this.closed) {
      const err = new RiskStreamError('INTERNAL', 'producer is closed')
      onAck?.(err)
      return Promise.reject(err)
    }
    const bytes = message.value.length + message.key.length + 70
    let batch = this.batches[this.batches.length - 1]
    if (!batch || this.isFull(batch) || (batch.size > 0 && batch.bytes + bytes > this.maxBatchBytes)) {
      batch = newBatch()
      this.batches.push(batch)
    }
    let list = batch.byTopic.get(message.topic)
    if (!list) {
      list = []
      batch.byTopic.set(message.topic, list)
    }
    list.push({
      key: message.key,
      value: message.value,
      // Empty = stamp at send (see stampAtSend).
      timestamp:
        message.timestamp !== undefined
          ? String(message.timestamp)
          : this.stampAtSend
            ? ''
            : String(Date.now()),
      headers: message.headers,
      partition: message.partition,
    })
    batch.callbacks.push(onAck)
    batch.size++
    batch.bytes += bytes
    this.queuedCount++
    if (this.isFull(batch)) this.startDrain()
    else this.timer ??= setTimeout(() => this.startDrain(), this.lingerMs)
    return batch.promise
  }

  /** Resolves once fewer than highWaterMark messages wait: the caller's back-pressure point. */
  async waitForCapacity(): Promise<void> {
    while (this.queuedCount >= this.highWaterMark) {
      this.startDrain()
      await this.draining
    }
  }

  /** Sends everything queued so far and waits for the acknowledgements. */
  async flush(): Promise<void> {
    while (this.queuedCount > 0 || this.draining) {
      this.startDrain()
      await this.draining
    }
  }

  /** Flushes, then refuses new messages. The shared producer itself is closed by closeDeps. */
  async close(): Promise<void> {
    await this.flush()
    this.closed = true
  }

  private isFull(batch: Batch): boolean {
    return batch.size >= this.batchSize || batch.bytes >= this.maxBatchBytes
  }

  private startDrain(): void {
    if (this.timer) {
      clearTimeout(this.timer)
      this.timer = null
    }
    if (this.draining || this.queuedCount === 0) return
    this.draining = this.drain().finally(() => {
      this.draining = null
      // Messages queued while the last batch flew wait at most one linger more.
      if (this.queuedCount > 0) {
        if (this.isFull(this.batches[0]!)) this.startDrain()
        else this.timer ??= setTimeout(() => this.startDrain(), this.lingerMs)
      }
    })
  }

  private async drain(): Promise<void> {
    // Full batches always go; a partial one only when the linger expired or a flush asked (timer cleared).
    while (this.batches.length > 0 && (this.isFull(this.batches[0]!) || !this.timer)) {
      const batch = this.batches.shift()!
      this.queuedCount -= batch.size
      let error: RiskStreamError | undefined
      if (this.stampAtSend) {
        const now = String(Date.now())
        for (const list of batch.byTopic.values())
          for (const m of list) if (m.timestamp === '') m.timestamp = now
      }
      try {
        await this.producer.sendBatch({
          topicMessages: [...batch.byTopic].map(([topic, messages]) => ({ topic, messages })),
          acks: -1,
          compression: CompressionTypes.None,
        })
      } catch (err) {
        // kafkajs already retried transient failures; what reaches here is reported per message.
        error = toRiskStreamError(err, 'KAFKA_UNAVAILABLE')
      }
      for (const cb of batch.callbacks) cb?.(error)
      if (error) batch.reject(error)
      else batch.resolve()
    }
  }
}
