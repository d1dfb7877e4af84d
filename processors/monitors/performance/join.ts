/**
 * Bounded join of predictions with their outcomes by requestId. Labels arrive late, out of
 * order, or never, so both sides wait, bounded by a TTL on the engine's event-time clock and by
 * a maximum size; whatever leaves unjoined is counted by reason, never dropped silently.
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
  /**
   * Whether losses of a version are counted under it (default: all). The engine admits the
   * versions it has monitored: a prediction of any other version never joins in a running
   * engine, but a label of one (the spill finds its raw row) or a rebuild after a restart can
   * still bring its version here, and a producer inventing version numbers must not add a
   * series per number. Others count under UNKNOWN_VERSION.
   */
  attributable?: (version: number) => boolean
}

export interface JoinStats {
  joined: number
  /** Left unjoined because their event time fell out of the TTL. */
  expiredPredictions: number
  expiredOutcomes: number
  /** Left unjoined because the side was over its capacity (oldest event time first). */
  evictedPredictions: number
  evictedOutcomes: number
  /** Labels whose prediction had passed its TTL when they arrived (spill mode: classified by spill.ts). */
  lateOutcomes: number
  /** A second label for one request: another was waiting, or the prediction was already joined. */
  duplicateOutcomes: number
}

/** The version of a loss whose prediction is unknown: an outcome that never met its prediction. */
export const UNKNOWN_VERSION = 0

/** The join's losses (JoinStats' counts but `joined`), and labels whose version monitor was evicted (the engine's). */
export type LossKind = Exclude<keyof JoinStats, 'joined'> | 'labelsWithoutMonitor'
export type VersionLosses = Partial<Record<LossKind, number>>

/**
 * The label join's losses by the model version of their prediction (UNKNOWN_VERSION when there
 * was none: an outcome that expired or was evicted waiting, or a second label while the first
 * waited). Bounded by the versions the engine has monitored (JoinOptions.attributable), each one a
 * registered version with an artifact. `takeChanged` gives the
 * versions counted since its last call, so the rows written at a checkpoint (engine.takeLossRows)
 * cover only what moved.
 */
export class LossesByVersion {
  private readonly counts = new Map<number, VersionLosses>()
  private readonly changed = new Set<number>()

  add(version: number, kind: LossKind, n = 1): void {
    let c = this.counts.get(version)
    if (!c) {
      c = {}
      this.counts.set(version, c)
    }
    c[kind] = (c[kind] ?? 0) + n
    this.changed.add(version)
  }

  get(version: number): VersionLosses | undefined {
    return this.counts.get(version)
  }

  /** Versions counted since the last call, ascending, with their cumulative counts. */
  takeChanged(): [number, VersionLosses][] {
    const out = [...this.changed]
      .sort((a, b) => a - b)
      .map((v): [number, VersionLosses] => [v, { ...this.counts.get(v) }])
    this.changed.clear()
    return out
  }

  snapshot(): Record<string, VersionLosses> {
    return Object.fromEntries([...this.counts].map(([v, c]) => [String(v), { ...c }]))
  }

  /** Restores the counts; every version counts as changed, so the next rows refresh them all. */
  restore(s: Record<string, VersionLosses>): void {
    this.counts.clear()
    for (const [v, c] of Object.entries(s)) {
      this.counts.set(Number(v), { ...c })
      this.changed.add(Number(v))
    }
  }
}

/**
 * Min-heap of (time, id, value) with lazy deletion: an item whose value is no longer the map's is
 * stale, skipped when it reaches the top; the heap is rebuilt from the map when stale items
 * outnumber live ones, so memory stays O(pending). O(log n) per event.
 */
class TimeHeap<V> {
  private times: number[] = []
  private ids: string[] = []
  private values: V[] = []

  get length(): number {
    return this.times.length
  }

  push(id: string, time: number, value: V): void {
    this.times.push(time)
    this.ids.push(id)
    this.values.push(value)
    this.up(this.times.length - 1)
  }

  /** Deletes from `map`, oldest first, while the top is stale, older than `horizon`, or the map is over `maxSize`. */
  expire(
    map: Map<string, V>,
    maxSize: number,
    horizon: number,
    onExpire: (v: V) => void,
    onEvict: (v: V) => void,
  ): void {
    while (this.times.length > 0) {
      const id = this.ids[0]!
      const v = this.values[0]!
      if (map.get(id) !== v) {
        this.pop()
        continue
      }
      if (this.times[0]! < horizon) onExpire(v)
      else if (map.size > maxSize) onEvict(v)
      else break
      map.delete(id)
      this.pop()
    }
  }

  /** Rebuilds from the live entries when stale items dominate (O(n)). */
  /** Removes and returns the oldest live entry (skipping stale items). */
  takeOldest(map: Map<string, V>): [string, V] | undefined {
    while (this.times.length > 0) {
      const id = this.ids[0]!
      const v = this.values[0]!
      this.pop()
      if (map.get(id) !== v) continue
      map.delete(id)
      return [id, v]
    }
    return undefined
  }

  compact(map: Map<string, V>, timeOf: (v: V) => number): void {
    if (this.times.length <= 2 * map.size + 1024) return
    this.times = []
    this.ids = []
    this.values = []
    for (const [id, v] of map) {
      this.times.push(timeOf(v))
      this.ids.push(id)
      this.values.push(v)
    }
    for (let i = (this.times.length >> 1) - 1; i >= 0; i--) this.down(i)
  }

  clear(): void {
    this.times = []
    this.ids = []
    this.values = []
  }

  private less(a: number, b: number): boolean {
    const ta = this.times[a]!
    const tb = this.times[b]!
    return ta < tb || (ta === tb && this.ids[a]! < this.ids[b]!)
  }

  private swap(a: number, b: number): void {
    ;[this.times[a], this.times[b]] = [this.times[b]!, this.times[a]!]
    ;[this.ids[a], this.ids[b]] = [this.ids[b]!, this.ids[a]!]
    ;[this.values[a], this.values[b]] = [this.values[b]!, this.values[a]!]
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.less(i, parent)) break
      this.swap(i, parent)
      i = parent
    }
  }

  private down(i: number): void {
    const n = this.times.length
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < n && this.less(l, m)) m = l
      if (r < n && this.less(r, m)) m = r
      if (m === i) return
      this.swap(i, m)
      i = m
    }
  }

  private pop(): void {
    const last = this.times.length - 1
    if (last > 0) this.swap(0, last)
    this.times.pop()
    this.ids.pop()
    this.values.pop()
    if (last > 0) this.down(0)
  }
}

/**
 * Expiry and eviction follow EVENT TIME (oldest first, ties by requestId), not arrival order:
 * each side keeps a TimeHeap. So the join's future depends only on the SET of pending entries
 * and the clock, and a join rebuilt after a restart (pending rows read back in any order)
 * behaves exactly like the uninterrupted one.
 */
export class LabelJoin {
  readonly predictions = new Map<string, PendingPrediction>()
  readonly outcomes = new Map<string, PendingOutcome>()
  readonly stats: JoinStats = {
    joined: 0,
    expiredPredictions: 0,
    expiredOutcomes: 0,
    evictedPredictions: 0,
    evictedOutcomes: 0,
    lateOutcomes: 0,
    duplicateOutcomes: 0,
  }
  /** The losses counted in `stats`, by the version of their prediction (and labelsWithoutMonitor, counted by the engine). */
  readonly losses = new LossesByVersion()
  /** Spill mode: predictions kept in memory before the oldest go to ClickHouse (see enableSpill). */
  private spillBudget: number | undefined
  private readonly predictionOrder = new TimeHeap<PendingPrediction>()
  private readonly outcomeOrder = new TimeHeap<PendingOutcome>()

  constructor(private readonly opts: JoinOptions) {}

  /** Returns the outcome if it was already waiting (the pair is complete), else stores the prediction. */
  addPrediction(requestId: string, p: PendingPrediction, now: number): PendingOutcome | undefined {
    const o = this.outcomes.get(requestId)
    if (o) {
      this.outcomes.delete(requestId)
      this.stats.joined++
      return o
    }
    this.restorePrediction(requestId, p) // a re-delivered prediction replaces the waiting one
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
    // The first label of a request is the one that joins; a second one while it waits is counted.
    if (this.outcomes.has(requestId)) this.lose('duplicateOutcomes', UNKNOWN_VERSION)
    else this.restoreOutcome(requestId, o)
    this.expire(now)
    return undefined
  }

  /**
   * Switches the prediction side to spill mode: no capacity eviction; whatever exceeds `budget`
   * leaves only through takeSpill(), into ClickHouse, and restorePrediction() puts one back when
   * its label arrives (the service's spill.ts). The outcome side keeps maxSize. A second outcome
   * for a request whose outcome is still waiting is counted as a duplicate (the first is kept).
   */
  enableSpill(budget: number): void {
    this.spillBudget = budget
  }

  get spillEnabled(): boolean {
    return this.spillBudget !== undefined
  }

  /** Spill mode: removes and returns the oldest predictions (event time, then requestId) over the budget. */
  takeSpill(): [string, PendingPrediction][] {
    const out: [string, PendingPrediction][] = []
    if (this.spillBudget === undefined) return out
    while (this.predictions.size > this.spillBudget) {
      const e = this.predictionOrder.takeOldest(this.predictions)
      if (!e) break
      out.push(e)
    }
    return out
  }

  /**
   * Drops a waiting outcome that cannot join any more (its prediction, of `version`, is gone),
   * counted by reason.
   */
  discardOutcome(requestId: string, reason: 'late' | 'duplicate', version: number = UNKNOWN_VERSION): void {
    if (!this.outcomes.delete(requestId)) return
    this.lose(reason === 'late' ? 'lateOutcomes' : 'duplicateOutcomes', version)
  }

  /** Counts one loss in the totals and under its prediction's version. */
  lose(kind: Exclude<LossKind, 'labelsWithoutMonitor'>, version: number): void {
    this.stats[kind]++
    this.attribute(kind, version)
  }

  /** Counts one loss under its prediction's version only (labelsWithoutMonitor: the engine keeps the total). */
  attribute(kind: LossKind, version: number): void {
    this.losses.add(this.opts.attributable?.(version) === false ? UNKNOWN_VERSION : version, kind)
  }

  /** Puts back a waiting prediction (restart rebuild, any order); no join, no expiry. */
  restorePrediction(requestId: string, p: PendingPrediction): void {
    this.predictions.set(requestId, p)
    this.predictionOrder.push(requestId, p.eventTime, p)
  }

  /** Puts back a waiting outcome (restart rebuild, any order); no join, no expiry. */
  restoreOutcome(requestId: string, o: PendingOutcome): void {
    this.outcomes.set(requestId, o)
    this.outcomeOrder.push(requestId, o.labelledAt, o)
  }

  expire(now: number): void {
    const horizon = now - this.opts.ttlMs
    this.predictionOrder.expire(
      this.predictions,
      this.spillBudget === undefined ? this.opts.maxSize : Number.POSITIVE_INFINITY,
      horizon,
      (p) => this.lose('expiredPredictions', p.modelVersion),
      (p) => this.lose('evictedPredictions', p.modelVersion),
    )
    this.outcomeOrder.expire(
      this.outcomes,
      this.opts.maxSize,
      horizon,
      () => this.lose('expiredOutcomes', UNKNOWN_VERSION),
      () => this.lose('evictedOutcomes', UNKNOWN_VERSION),
    )
    this.predictionOrder.compact(this.predictions, (p) => p.eventTime)
    this.outcomeOrder.compact(this.outcomes, (o) => o.labelledAt)
  }

  clear(): void {
    this.predictions.clear()
    this.outcomes.clear()
    this.predictionOrder.clear()
    this.outcomeOrder.clear()
  }
}
