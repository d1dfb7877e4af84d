/**
 * Load for the reliability runs: N prediction requests with unique ids (a share carrying the
 * canary patient data), outcomes for a share of them, sent at a steady rate so a fault can be
 * injected at a given fraction of the run.
 */
import type { Admin } from 'kafkajs'
import type { Deps } from '../../../lib/runtime/index.ts'
import { CANARY, CANARY_NOTES } from './canary.ts'

export interface RequestEvent {
  requestId: string
  patientId: string
  eventTime: number
  sourceSystem: string
  pregnancies: number | null
  glucose: number | null
  bloodPressure: number | null
  skinThickness: number | null
  insulin: number | null
  bmi: number | null
  diabetesPedigreeFunction: number | null
  age: number | null
  notes: string | null
}

/**
 * Start of yesterday (UTC): derived from now because consumers refuse event times more than
 * EVENT_TIME_MAX_AGE_MS old (lib/events/domain.ts); day-aligned, so time windows line up.
 */
export const T0 = Math.floor(Date.now() / 86_400_000) * 86_400_000 - 86_400_000

/** Request i of a run: deterministic values inside the bounds; every 10th carries the canaries. */
export function requestEvent(runId: string, i: number): RequestEvent {
  const canary = i % 10 === 0
  return {
    requestId: `${runId}-${i}`,
    patientId: canary ? CANARY.mrn : `pt-${i % 5000}`,
    eventTime: T0 + i * 100,
    sourceSystem: 'reliability',
    pregnancies: i % 8,
    glucose: canary ? CANARY.glucose : 70 + (i % 130),
    bloodPressure: 60 + (i % 30),
    skinThickness: 20 + (i % 20),
    insulin: i % 7 === 0 ? null : 50 + (i % 150),
    bmi: canary ? CANARY.bmi : 22 + (i % 20),
    diabetesPedigreeFunction: 0.1 + (i % 20) / 20,
    age: 21 + (i % 50),
    notes: canary ? CANARY_NOTES : null,
  }
}

export interface LoadOptions {
  runId: string
  n: number
  /** Requests per second. */
  rate: number
  /** Every k-th request (k = outcomeEvery) also gets an outcome (default 2: half of them). */
  outcomeEvery?: number
  /** Raw payload replacing the i-th request (poison pills); null keeps the valid one. */
  replace?: (i: number, event: RequestEvent) => Buffer | null
  onProgress?: (sent: number) => void
  /** Holds the load between slices while closed (see LoadGate); held time is not scheduled. */
  gate?: LoadGate
}

/**
 * Lets a test hold the load while a role restarts. Without it the load runs on during the
 * next life's start-up and the killed member's session timeout (~12 s at 2,000 requests/s is a
 * quarter of the run), so a kill meant for 10 % lands at 70 %.
 */
export class LoadGate {
  private closed: { opened: Promise<void>; open: () => void } | null = null

  constructor(initiallyHeld = false) {
    if (initiallyHeld) this.hold()
  }

  hold(): void {
    if (this.closed) return
    let open!: () => void
    const opened = new Promise<void>((r) => (open = r))
    this.closed = { opened, open }
  }

  release(): void {
    this.closed?.open()
    this.closed = null
  }

  /** Waits while held; resolves with the ms it waited. */
  async pass(): Promise<number> {
    const t0 = Date.now()
    while (this.closed) await this.closed.opened
    return Date.now() - t0
  }
}

/**
 * Sends the requests (round-robin over the partitions, keyed by id) in slices every 100 ms,
 * then their outcomes. Resolves when every record is acknowledged (acks=all).
 */
export async function sendLoad(deps: Deps, o: LoadOptions): Promise<{ requests: number; outcomes: number }> {
  const partitions = deps.config.topics.partitions
  const slice = Math.max(1, Math.round(o.rate / 10))
  const every = o.outcomeEvery ?? 2
  let outcomes = 0
  let started = Date.now()
  for (let from = 0; from < o.n; from += slice) {
    if (o.gate) started += await o.gate.pass()
    const to = Math.min(o.n, from + slice)
    const requests = []
    const labels = []
    for (let i = from; i < to; i++) {
      const event = requestEvent(o.runId, i)
      const raw = o.replace?.(i, event) ?? null
      requests.push({
        key: event.requestId,
        partition: i % partitions,
        value: raw ?? deps.serde.encode(deps.topics.requests, event),
      })
      if (raw === null && i % every === 0) {
        labels.push({
          key: event.requestId,
          partition: i % partitions,
          value: deps.serde.encode(deps.topics.outcomes, {
            requestId: event.requestId,
            outcome: i % 3 === 0 ? 1 : 0,
            labelledAt: event.eventTime + 60_000,
            source: 'reliability',
          }),
        })
      }
    }
    await deps.producer.send({ topic: deps.topics.requests, acks: -1, messages: requests })
    if (labels.length > 0)
      await deps.producer.send({ topic: deps.topics.outcomes, acks: -1, messages: labels })
    outcomes += labels.length
    o.onProgress?.(to)
    // Steady rate: wait until this slice's share of the schedule has elapsed.
    const due = started + (to / o.rate) * 1000
    const wait = due - Date.now()
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
  }
  return { requests: o.n, outcomes }
}

/** Sum over partitions of the group's committed offsets on `topic` (records it has finished). */
export async function committed(admin: Admin, groupId: string, topic: string): Promise<number> {
  const [t] = await admin.fetchOffsets({ groupId, topics: [topic] })
  return (t?.partitions ?? []).reduce((s, p) => s + Math.max(0, Number(p.offset)), 0)
}

/** Records ever written to `topic` (sum of high watermarks; nothing is compacted there). */
export async function written(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic)
  return offsets.reduce((s, o) => s + Number(o.high) - Number(o.low), 0)
}
