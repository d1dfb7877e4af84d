/**
 * Publishes a generated event stream: requests through the clinical producer (validated,
 * batched, keyed by requestId), malformed records as raw bytes on the same topic, and each
 * label `labelDelayMs` after its request was acknowledged — labels arrive late, and only for
 * the share of requests the generator marked.
 *
 * Timing guarantee the tests rely on: a request's broker timestamp is stamped when it is
 * queued, its outcome is queued no earlier than (request ack + delay) and stamped then, so
 * outcome timestamp − request timestamp ≥ labelDelayMs.
 */
import { isRiskStreamError, RiskStreamError } from '../lib/errors/index.ts'
import { BatchSender } from '../lib/kafka/batcher.ts'
import type { Deps } from '../lib/runtime/index.ts'
import { createClinicalProducer } from './clinical.ts'
import type { SimEvent } from './generator.ts'
import { INJECTED_HEADER, malformedPayload } from './malformed.ts'
import type { Rng } from './rng.ts'
import { TokenBucket } from './token-bucket.ts'

export interface Progress {
  /** Events handled so far (requests and malformed) and the planned total. */
  done: number
  total: number
  sent: number
  rejected: number
  failed: number
  outcomesSent: number
  elapsedMs: number
  /** Events per second so far. */
  rate: number
}

export interface PublishOptions {
  total: number
  /** Requests per second; 0 = as fast as possible. */
  rate: number
  labelDelayMs: number
  sourceSystem: string
  batchSize?: number
  lingerMs?: number
  /** Called about every `progressEveryMs` and once at the end. */
  onProgress?: (p: Progress) => void
  progressEveryMs?: number
  /** Rng for details inside malformed records. */
  poisonRng: Rng
  signal?: AbortSignal
}

export interface PublishSummary {
  /** Valid requests acknowledged by the broker. */
  sent: number
  /** Requests refused by the producer's validation (never sent). */
  rejected: number
  /** Records the broker did not acknowledge (after kafkajs' retries). */
  failed: number
  outcomesSent: number
  /** Malformed records published, by kind (only in poison scenarios). */
  malformed: Record<string, number>
  /** Whole run, including the wait for the last delayed labels. */
  durationMs: number
  /** Records on the request topic per second, over the time it took to publish them. */
  rate: number
}

interface DueOutcome {
  due: number
  requestId: string
  outcome: 0 | 1
  labelledAt: number
}

export async function publishEvents(
  deps: Deps,
  events: Iterable<SimEvent>,
  opts: PublishOptions,
): Promise<PublishSummary> {
  const { serde, topics } = deps
  // Rate-limited runs linger longer: a send per few messages costs more CPU than it saves latency.
  const sender = new BatchSender(deps.producer, {
    batchSize: opts.batchSize,
    lingerMs: opts.lingerMs ?? (opts.rate > 0 ? 50 : 5),
  })
  const producer = createClinicalProducer(deps, { sender, sourceSystem: opts.sourceSystem })
  // Registered up front: the callback-style sends and the malformed records need the writer schemas.
  await producer.ready()
  // The clock starts after registration: rates describe publishing, not registry round trips.
  const started = performance.now()

  const bucket = new TokenBucket(opts.rate)
  const due: DueOutcome[] = []
  let dueHead = 0
  const malformed: Record<string, number> = {}
  let malformedFailed = 0
  let done = 0
  let inFlight = 0
  let idle: (() => void) | null = null
  let firstError: unknown
  const settle = () => {
    inFlight--
    if (inFlight === 0 && idle) idle()
  }

  const progress = (): Progress => {
    const elapsedMs = performance.now() - started
    const s = producer.stats
    return {
      done,
      total: opts.total,
      sent: s.sent,
      rejected: s.rejected,
      failed: s.failed + malformedFailed,
      outcomesSent: s.outcomesSent,
      elapsedMs,
      rate: elapsedMs > 0 ? (done * 1000) / elapsedMs : 0,
    }
  }
  let lastProgress = started

  const publishDueOutcomes = (now: number) => {
    while (dueHead < due.length && due[dueHead]!.due <= now) {
      const o = due[dueHead++]!
      inFlight++
      producer.enqueueOutcome(
        { requestId: o.requestId, outcome: o.outcome, labelledAt: o.labelledAt },
        (err) => {
          if (err) firstError ??= err
          settle()
        },
      )
    }
    if (dueHead > 10_000) {
      due.splice(0, dueHead)
      dueHead = 0
    }
  }

  for (const ev of events) {
    if (opts.signal?.aborted) break
    await bucket.take()
    publishDueOutcomes(Date.now())
    if (ev.type === 'malformed') {
      const value = malformedPayload(ev.kind, ev.request, serde, topics.requests, opts.poisonRng)
      const kind = ev.kind
      inFlight++
      sender.enqueue(
        { topic: topics.requests, key: ev.request.requestId, value, headers: { [INJECTED_HEADER]: kind } },
        (err) => {
          if (err) malformedFailed++
          else malformed[kind] = (malformed[kind] ?? 0) + 1
          settle()
        },
      )
    } else {
      const { request, outcome } = ev
      try {
        inFlight++
        producer.enqueueRequest(request, (err) => {
          if (err) firstError ??= err
          else if (outcome !== null) {
            due.push({
              due: Date.now() + opts.labelDelayMs,
              requestId: request.requestId,
              outcome,
              labelledAt: request.eventTime + opts.labelDelayMs,
            })
          }
          settle()
        })
      } catch (err) {
        settle()
        // Validation refusals are counted by the producer and are part of a normal run.
        if (!(isRiskStreamError(err) && err.code === 'VALIDATION_FAILED')) throw err
      }
    }
    done++
    if (sender.queued >= sender.highWaterMark) await sender.waitForCapacity()
    if (opts.onProgress && performance.now() - lastProgress >= (opts.progressEveryMs ?? 1000)) {
      lastProgress = performance.now()
      opts.onProgress(progress())
    }
  }

  // All requests out; then the labels still waiting for their delay.
  await sender.flush()
  if (inFlight > 0) await new Promise<void>((r) => (idle = r))
  const requestsDoneAt = performance.now()
  const published = producer.stats.sent + Object.values(malformed).reduce((a, b) => a + b, 0)
  while (dueHead < due.length) {
    if (opts.signal?.aborted) break
    const wait = due[dueHead]!.due - Date.now()
    if (wait > 0) await new Promise((r) => setTimeout(r, Math.min(wait, 1000)))
    publishDueOutcomes(Date.now())
    if (opts.onProgress && performance.now() - lastProgress >= (opts.progressEveryMs ?? 1000)) {
      lastProgress = performance.now()
      opts.onProgress(progress())
    }
  }
  idle = null
  await sender.flush()
  if (inFlight > 0) await new Promise<void>((r) => (idle = r))
  opts.onProgress?.(progress())

  const s = producer.stats
  const summary: PublishSummary = {
    sent: s.sent,
    rejected: s.rejected,
    failed: s.failed + malformedFailed,
    outcomesSent: s.outcomesSent,
    malformed,
    durationMs: Math.round(performance.now() - started),
    rate: Math.round((published * 1000) / Math.max(1, requestsDoneAt - started)),
  }
  if (summary.sent === 0 && summary.failed > 0) {
    throw new RiskStreamError('KAFKA_UNAVAILABLE', `no request was acknowledged (${summary.failed} failed)`, {
      cause: firstError,
      details: { failed: summary.failed },
    })
  }
  return summary
}
