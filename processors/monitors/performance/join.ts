/**
 * Bounded join of predictions with their outcomes by requestId. Labels arrive late, out of
 * order, or never, so both sides wait: a prediction for its outcome, an outcome (arrived
 * first) for its prediction. Both maps are bounded by a TTL on the engine's event-time clock
 * and by a maximum size (oldest entries go first); whatever expires is counted, not joined.
 *
 * Expiry follows insertion order, which is (nearly) event-time order, so it only looks at the
 * head of a FIFO queue: O(1) amortised per event. (Iterating a Map from its head instead is
 * not O(1): V8 keeps deleted entries as holes until the table is rebuilt, and every walk from
 * the head steps over all of them — the bench profile showed that as the top cost.)
 */

export interface PendingPrediction {
  modelName: string
  modelVersion: number
  probability: number
  label: number
  eventTime: number
}

export interface PendingOutcome {
  outcome: number
  labelledAt: number
}

export interface JoinOptions {
  ttlMs: number
  maxSize: number
}

export interface JoinStats {
  joined: number
  expiredPredictions: number
  expiredOutcomes: number
}

/** Insertion-ordered keys with lazy deletion: stale queue entries are skipped when reached. */
class ExpiryQueue<V> {
  private ids: string[] = []
  private values: V[] = []
  private head = 0

  push(id: string, value: V): void {
    this.ids.push(id)
    this.values.push(value)
  }

  /** Deletes from `map`, oldest first, while `expired(value)` holds or the map is over `maxSize`. */
  expire(map: Map<string, V>, maxSize: number, expired: (v: V) => boolean, onExpire: () => void): void {
    while (this.head < this.ids.length) {
      const id = this.ids[this.head]!
      const value = this.values[this.head]!
      // Joined, re-delivered (moved to the tail) or already expired: nothing to do here.
      if (map.get(id) !== value) {
        this.head++
        continue
      }
      if (!expired(value) && map.size <= maxSize) break
      map.delete(id)
      onExpire()
      this.head++
    }
    if (this.head > 1024 && this.head * 2 > this.ids.length) {
      this.ids = this.ids.slice(this.head)
      this.values = this.values.slice(this.head)
      this.head = 0
    }
  }

  clear(): void {
    this.ids = []
    this.values = []
    this.head = 0
  }
}

export class LabelJoin {
  readonly predictions = new Map<string, PendingPrediction>()
  readonly outcomes = new Map<string, PendingOutcome>()
  readonly stats: JoinStats = { joined: 0, expiredPredictions: 0, expiredOutcomes: 0 }
  private readonly predictionOrder = new ExpiryQueue<PendingPrediction>()
  private readonly outcomeOrder = new ExpiryQueue<PendingOutcome>()

  constructor(private readonly opts: JoinOptions) {}

  /** Returns the outcome if it was already waiting (the pair is complete), else stores the prediction. */
  addPrediction(requestId: string, p: PendingPrediction, now: number): PendingOutcome | undefined {
    const o = this.outcomes.get(requestId)
    if (o) {
      this.outcomes.delete(requestId)
      this.stats.joined++
      return o
    }
    this.predictions.delete(requestId) // a re-delivered prediction moves to the tail
    this.predictions.set(requestId, p)
    this.predictionOrder.push(requestId, p)
    this.expire(now)
    return undefined
  }

  /** Returns the prediction if it was waiting (the pair is complete), else stores the outcome. */
  addOutcome(requestId: string, o: PendingOutcome, now: number): PendingPrediction | undefined {
    const p = this.predictions.get(requestId)
    if (p) {
      this.predictions.delete(requestId)
      this.stats.joined++
      return p
    }
    this.outcomes.delete(requestId)
    this.outcomes.set(requestId, o)
    this.outcomeOrder.push(requestId, o)
    this.expire(now)
    return undefined
  }

  /** Puts back a waiting prediction (restart rebuild), in the order given; no join, no expiry. */
  restorePrediction(requestId: string, p: PendingPrediction): void {
    this.predictions.set(requestId, p)
    this.predictionOrder.push(requestId, p)
  }

  /** Puts back a waiting outcome (restart rebuild), in the order given; no join, no expiry. */
  restoreOutcome(requestId: string, o: PendingOutcome): void {
    this.outcomes.set(requestId, o)
    this.outcomeOrder.push(requestId, o)
  }

  expire(now: number): void {
    const horizon = now - this.opts.ttlMs
    this.predictionOrder.expire(
      this.predictions,
      this.opts.maxSize,
      (p) => p.eventTime < horizon,
      () => this.stats.expiredPredictions++,
    )
    this.outcomeOrder.expire(
      this.outcomes,
      this.opts.maxSize,
      (o) => o.labelledAt < horizon,
      () => this.stats.expiredOutcomes++,
    )
  }

  clear(): void {
    this.predictions.clear()
    this.outcomes.clear()
    this.predictionOrder.clear()
    this.outcomeOrder.clear()
  }
}
