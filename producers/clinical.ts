/**
 * The clinical producer: what a clinical system (or our simulator) uses to publish
 * prediction requests and, later, their confirmed outcomes.
 *
 * - Every request and outcome is validated before it is sent, with the input domain every
 *   consumer applies (lib/events/domain.ts). An invalid row is rejected with VALIDATION_FAILED naming the field and
 *   the rule — never the value — and counted; nothing is silently dropped or coerced.
 * - Messages are keyed by requestId, so a request, its prediction and its outcome land in
 *   the same partition number of the co-partitioned topics.
 * - Sends are batched (BatchSender) on the process's shared idempotent producer, acks=all.
 * - The Avro contracts are registered with the schema registry on first use.
 */

import type { IHeaders } from 'kafkajs'
import { RiskStreamError } from '../lib/errors/index.ts'
import { type DomainContext, outcomeIssues, predictionRequestIssues } from '../lib/events/domain.ts'
import type { OutcomeLabelEvent as OutcomeEvent, PredictionRequestEvent } from '../lib/events/index.ts'
import type { FeatureName } from '../lib/features/index.ts'
import { type AckCallback, BatchSender, type BatchSenderOptions } from '../lib/kafka/batcher.ts'
import { getLogger } from '../lib/log/index.ts'
import type { Deps } from '../lib/runtime/index.ts'
import { toRequestEvent as contractEvent } from '../lib/serving/index.ts'

export {
  type AckCallback,
  BatchSender,
  type BatchSenderOptions,
  type OutgoingMessage,
} from '../lib/kafka/batcher.ts'

const log = getLogger('producer')

/** The contracts this role writes (lib/events; flat, null = not measured, epoch ms). */
export type { OutcomeLabelEvent as OutcomeEvent, PredictionRequestEvent } from '../lib/events/index.ts'

/** What callers pass: features may be omitted (= not measured); sourceSystem defaults per producer. */
export type PredictionRequestInput = Omit<PredictionRequestEvent, 'sourceSystem' | FeatureName> & {
  sourceSystem?: string
} & Partial<Record<FeatureName, unknown>>

export type OutcomeInput = Omit<OutcomeEvent, 'source'> & { source?: string }

export interface ClinicalProducerOptions extends BatchSenderOptions {
  /** sourceSystem / source written when the caller gives none. */
  sourceSystem?: string
  /** Share a sender with other publishers (the simulator uses it for its malformed records). */
  sender?: BatchSender
}

export interface ProducerStats {
  /** Requests acknowledged by the broker. */
  sent: number
  /** Requests refused by validation (never sent). */
  rejected: number
  /** Requests and outcomes that the broker did not acknowledge after kafkajs' retries. */
  failed: number
  outcomesSent: number
  outcomesRejected: number
}

export interface RowRejection {
  /** Position in the array given to sendRequests. */
  index: number
  error: RiskStreamError
}

export interface SendRequestsResult {
  sent: number
  rejected: RowRejection[]
  failed: RowRejection[]
}

export interface ClinicalProducer {
  /** Registers the PredictionRequest and OutcomeLabel contracts (done on first use anyway). */
  ready(): Promise<void>
  /** Validates, queues and resolves when the broker acknowledged the request. */
  sendRequest(req: PredictionRequestInput, headers?: IHeaders): Promise<void>
  /** Validates every row, sends the valid ones in batches, and reports each refused row. Never throws for a bad row. */
  sendRequests(reqs: readonly PredictionRequestInput[]): Promise<SendRequestsResult>
  sendOutcome(o: OutcomeInput): Promise<void>
  /**
   * Callback form for high-rate loops (no promise per message): validates and queues at once,
   * throwing VALIDATION_FAILED for a bad row; `onAck` runs when the broker answered.
   * Needs `await ready()` first.
   */
  enqueueRequest(req: PredictionRequestInput, onAck?: AckCallback, headers?: IHeaders): void
  enqueueOutcome(o: OutcomeInput, onAck?: AckCallback): void
  /** Sends everything queued and waits for the acknowledgements. */
  flush(): Promise<void>
  /** Flushes and refuses further sends. The shared Kafka producer stays open (closeDeps closes it). */
  close(): Promise<void>
  /** Blocks while the send queue is over its high-water mark (back-pressure for fast loops). */
  waitForCapacity(): Promise<void>
  readonly stats: Readonly<ProducerStats>
  readonly sender: BatchSender
}

/** Without a domain context event times are checked against the contract's range only. */
const ANY_TIME: DomainContext = {
  now: 0,
  skew: { maxAgeMs: Number.POSITIVE_INFINITY, maxAheadMs: Number.POSITIVE_INFINITY },
}

/**
 * Checks a request against the shared input domain (lib/events/domain.ts: what every consumer
 * would dead-letter) and returns it in the exact contract shape. Throws VALIDATION_FAILED whose
 * message and details name each offending field and rule, never a value.
 */
export function toRequestEvent(
  req: PredictionRequestInput,
  defaultSource: string,
  domain: DomainContext = ANY_TIME,
): PredictionRequestEvent {
  const r = req as unknown as Record<string, unknown>
  const source = r.sourceSystem ?? defaultSource
  const issues = predictionRequestIssues({ ...req, sourceSystem: source } as never, domain).map((i) => ({
    feature: i.field,
    rule: i.rule,
  }))
  if (issues.length > 0) {
    throw new RiskStreamError('VALIDATION_FAILED', issues.map((i) => `${i.feature}: ${i.rule}`).join(', '), {
      details: { issues, requestId: typeof r.requestId === 'string' ? r.requestId : undefined },
    })
  }
  return contractEvent(
    {
      requestId: req.requestId,
      patientId: req.patientId,
      eventTime: req.eventTime,
      sourceSystem: source as string,
      notes: r.notes as string | null | undefined,
    },
    r,
  )
}

function toOutcomeEvent(o: OutcomeInput, defaultSource: string, domain = ANY_TIME): OutcomeEvent {
  const source = o.source ?? defaultSource
  const issues = outcomeIssues({ ...o, source }, domain).map((i) => `${i.field}: ${i.rule}`)
  if (issues.length > 0)
    throw new RiskStreamError('VALIDATION_FAILED', issues.join(', '), { details: { issues } })
  return { requestId: o.requestId, outcome: o.outcome, labelledAt: o.labelledAt, source }
}

export function createClinicalProducer(deps: Deps, opts: ClinicalProducerOptions = {}): ClinicalProducer {
  const { serde, topics } = deps
  const defaultSource = opts.sourceSystem ?? 'riskstream-producer'
  const sender = opts.sender ?? new BatchSender(deps.producer, opts)
  const stats: ProducerStats = { sent: 0, rejected: 0, failed: 0, outcomesSent: 0, outcomesRejected: 0 }

  // Both contracts are registered once, on first use; concurrent callers share the promise.
  let registration: Promise<void> | undefined
  let registered = false
  const ready = (): Promise<void> => {
    if (registered) return Promise.resolve()
    registration ??= Promise.all([
      serde.register(topics.requests, 'PredictionRequest'),
      serde.register(topics.outcomes, 'OutcomeLabel'),
    ]).then(
      () => {
        registered = true
      },
      (err) => {
        registration = undefined // a registry outage is retriable: let the next call try again
        throw err
      },
    )
    return registration
  }
  const notReady = () =>
    new RiskStreamError('INTERNAL', 'call ready() before the callback-style send methods')

  /** Synchronous validate + encode + queue; throws VALIDATION_FAILED (counted) for a bad row. */
  function enqueueRequest(req: PredictionRequestInput, onAck?: AckCallback, headers?: IHeaders): void {
    if (!registered) throw notReady()
    let event: PredictionRequestEvent
    try {
      event = toRequestEvent(req, defaultSource, { now: Date.now(), skew: deps.config.events })
    } catch (err) {
      stats.rejected++
      throw err
    }
    const value = serde.encode(topics.requests, event)
    sender.enqueue({ topic: topics.requests, key: event.requestId, value, headers }, (err) => {
      if (err) stats.failed++
      else stats.sent++
      onAck?.(err)
    })
  }

  function enqueueOutcome(o: OutcomeInput, onAck?: AckCallback): void {
    if (!registered) throw notReady()
    let event: OutcomeEvent
    try {
      event = toOutcomeEvent(o, defaultSource, { now: Date.now(), skew: deps.config.events })
    } catch (err) {
      stats.outcomesRejected++
      throw err
    }
    const value = serde.encode(topics.outcomes, event)
    sender.enqueue({ topic: topics.outcomes, key: event.requestId, value }, (err) => {
      if (err) stats.failed++
      else stats.outcomesSent++
      onAck?.(err)
    })
  }

  const acked = (send: (cb: AckCallback) => void) =>
    new Promise<void>((resolve, reject) => send((err) => (err ? reject(err) : resolve())))

  async function sendRequest(req: PredictionRequestInput, headers?: IHeaders): Promise<void> {
    await ready()
    return acked((cb) => enqueueRequest(req, cb, headers))
  }

  async function sendOutcome(o: OutcomeInput): Promise<void> {
    await ready()
    return acked((cb) => enqueueOutcome(o, cb))
  }

  async function sendRequests(reqs: readonly PredictionRequestInput[]): Promise<SendRequestsResult> {
    await ready()
    const rejected: RowRejection[] = []
    const failed: RowRejection[] = []
    let queued = 0
    for (let index = 0; index < reqs.length; index++) {
      try {
        enqueueRequest(reqs[index]!, (error) => {
          if (error) failed.push({ index, error })
        })
        queued++
      } catch (err) {
        rejected.push({ index, error: err as RiskStreamError })
      }
      if (sender.queued >= sender.highWaterMark) await sender.waitForCapacity()
    }
    await sender.flush()
    if (rejected.length > 0)
      log.warn({ rejected: rejected.length, rows: reqs.length }, 'rows refused by validation')
    return { sent: queued - failed.length, rejected, failed }
  }

  return {
    ready,
    sendRequest,
    sendRequests,
    sendOutcome,
    enqueueRequest,
    enqueueOutcome,
    flush: () => sender.flush(),
    close: () => sender.close(),
    waitForCapacity: () => sender.waitForCapacity(),
    stats,
    sender,
  }
}
