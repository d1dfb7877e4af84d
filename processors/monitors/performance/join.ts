/**
 * Bounded join of predictions with their outcomes by requestId. Labels arrive late, out of
 * order, or never, so both sides wait: a prediction for its outcome, an outcome (arrived
 * first) for its prediction. Both maps are bounded by a TTL on the engine's event-time clock
 * and by a maximum size (oldest entries go first); whatever expires is counted, not joined.
 *
 * Maps iterate in insertion order, which is (nearly) event-time order, so expiry only looks
 * at the head: O(1) amortised per event.
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

export class LabelJoin {
  readonly predictions = new Map<string, PendingPrediction>()
  readonly outcomes = new Map<string, PendingOutcome>()
  readonly stats: JoinStats = { joined: 0, expiredPredictions: 0, expiredOutcomes: 0 }

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
    this.expire(now)
    return undefined
  }

  expire(now: number): void {
    const horizon = now - this.opts.ttlMs
    for (const [id, p] of this.predictions) {
      if (p.eventTime >= horizon && this.predictions.size <= this.opts.maxSize) break
      this.predictions.delete(id)
      this.stats.expiredPredictions++
    }
    for (const [id, o] of this.outcomes) {
      if (o.labelledAt >= horizon && this.outcomes.size <= this.opts.maxSize) break
      this.outcomes.delete(id)
      this.stats.expiredOutcomes++
    }
  }

  clear(): void {
    this.predictions.clear()
    this.outcomes.clear()
  }
}
