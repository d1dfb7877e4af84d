/**
 * Incremental window state for the stream monitors. Events arrive already binned (one slot
 * index per feature, from `binIndex` on the artifact's reference edges), so a window is just
 * per-feature count arrays: memory O(features × bins), update O(features) per event, i.e.
 * O(1) per feature. Drift statistics then read the counts directly.
 *
 * `binsPerFeature[f]` is the number of SLOTS feature f can take, missing slot included,
 * i.e. `binSlots(ref)` = edges.length + 2.
 *
 * Every window owns its `snapshot()` (plain JSON, contents oldest first) and `restore()` into a
 * fresh window of the same shape, so a checkpoint holds the window itself, not a copy of it.
 */

import { RiskStreamError } from '../errors/index.ts'
import { type ClassificationMetrics, type Confusion, classificationMetrics } from './metrics.ts'

interface BinnedOpts {
  features: number
  binsPerFeature: number[]
}

function checkBinnedOpts(opts: BinnedOpts, what: string): void {
  if (!Number.isInteger(opts.features) || opts.features < 1 || opts.binsPerFeature.length !== opts.features) {
    throw new RiskStreamError(
      'CONFIG_INVALID',
      `${what}: ${opts.features} features but ${opts.binsPerFeature.length} bin counts`,
    )
  }
  for (const b of opts.binsPerFeature) {
    // Uint16 storage of slot indices in the sliding ring buffer.
    if (!Number.isInteger(b) || b < 1 || b > 65535) {
      throw new RiskStreamError('CONFIG_INVALID', `${what}: bins per feature must be an integer in 1..65535`)
    }
  }
}

/**
 * Typed arrays silently ignore out-of-range writes, which would corrupt counts without a
 * trace; so every index is checked (cheap next to everything else an event costs).
 */
function checkBinIdx(binIdx: ArrayLike<number>, binsPerFeature: number[], what: string): void {
  if (binIdx.length !== binsPerFeature.length) {
    throw new RiskStreamError(
      'INTERNAL',
      `${what}: event has ${binIdx.length} bin indices, expected ${binsPerFeature.length}`,
    )
  }
  for (let f = 0; f < binsPerFeature.length; f++) {
    const b = binIdx[f]!
    if (!Number.isInteger(b) || b < 0 || b >= binsPerFeature[f]!) {
      throw new RiskStreamError('INTERNAL', `${what}: bin index out of range for feature #${f}`)
    }
  }
}

/** Count-based sliding window over the last `size` events. */
export class SlidingBinnedWindow {
  readonly size: number
  private readonly features: number
  private readonly binsPerFeature: number[]
  /** Ring buffer: slot indices of the last `size` events, row-major (event × feature). */
  private readonly ring: Uint16Array
  private readonly perFeature: Uint32Array[]
  private head = 0
  private filled = 0

  constructor(opts: { size: number; features: number; binsPerFeature: number[] }) {
    if (!Number.isInteger(opts.size) || opts.size < 1) {
      throw new RiskStreamError(
        'CONFIG_INVALID',
        `sliding window size must be a positive integer, got ${opts.size}`,
      )
    }
    checkBinnedOpts(opts, 'SlidingBinnedWindow')
    this.size = opts.size
    this.features = opts.features
    this.binsPerFeature = [...opts.binsPerFeature]
    this.ring = new Uint16Array(opts.size * opts.features)
    this.perFeature = opts.binsPerFeature.map((b) => new Uint32Array(b))
  }

  /** Events currently in the window (≤ size). */
  get count(): number {
    return this.filled
  }

  push(binIdx: ArrayLike<number>): void {
    checkBinIdx(binIdx, this.binsPerFeature, 'SlidingBinnedWindow.push')
    const base = this.head * this.features
    if (this.filled === this.size) {
      // The slot we are about to overwrite holds the oldest event: take it out of the counts.
      for (let f = 0; f < this.features; f++) this.perFeature[f]![this.ring[base + f]!]!--
    } else {
      this.filled++
    }
    for (let f = 0; f < this.features; f++) {
      const b = binIdx[f]!
      this.ring[base + f] = b
      this.perFeature[f]![b]!++
    }
    this.head = this.head + 1 === this.size ? 0 : this.head + 1
  }

  /** LIVE view of a feature's counts (slots incl. missing); copy it if you keep it past the next push. */
  counts(feature: number): Uint32Array {
    const c = this.perFeature[feature]
    if (!c) throw new RiskStreamError('INTERNAL', `SlidingBinnedWindow: no feature #${feature}`)
    return c
  }

  /** The window's events oldest first: Uint16 slot indices, row-major (event × feature), base64. */
  snapshot(): SlidingBinnedSnapshot {
    const n = this.filled
    const first = n < this.size ? 0 : this.head
    const f = this.features
    const ordered = new Uint16Array(n * f)
    for (let i = 0; i < n; i++) {
      const slot = (first + i) % this.size
      ordered.set(this.ring.subarray(slot * f, slot * f + f), i * f)
    }
    return { ring: Buffer.from(ordered.buffer, ordered.byteOffset, ordered.byteLength).toString('base64') }
  }

  /** Refills a FRESH window by re-pushing the snapshot's events in order (counts and ring exact). */
  restore(s: SlidingBinnedSnapshot): void {
    if (this.filled !== 0)
      throw new RiskStreamError('INTERNAL', 'SlidingBinnedWindow.restore: window not fresh')
    const bytes = Buffer.from(s.ring, 'base64')
    const ordered = new Uint16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength))
    const f = this.features
    for (let i = 0; i + f <= ordered.length; i += f) this.push(ordered.subarray(i, i + f))
  }
}

export interface SlidingBinnedSnapshot {
  ring: string
}

/**
 * The last `size` numbers pushed (e.g. event times, served probabilities), kept beside a sliding
 * window that pushes in step with it. Reads are oldest first.
 */
export class SlidingSeries {
  readonly size: number
  private readonly values: Float64Array
  private head = 0
  private filled = 0

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) {
      throw new RiskStreamError('CONFIG_INVALID', `series size must be a positive integer, got ${size}`)
    }
    this.size = size
    this.values = new Float64Array(size)
  }

  get count(): number {
    return this.filled
  }

  push(x: number): void {
    this.values[this.head] = x
    this.head = this.head + 1 === this.size ? 0 : this.head + 1
    if (this.filled < this.size) this.filled++
  }

  /** The i-th value, oldest first (0 ≤ i < count). */
  at(i: number): number {
    const first = this.filled < this.size ? 0 : this.head
    return this.values[(first + i) % this.size]!
  }

  /** The oldest value (NaN when empty). */
  get oldest(): number {
    return this.filled === 0 ? Number.NaN : this.at(0)
  }

  snapshot(): number[] {
    const out: number[] = []
    for (let i = 0; i < this.filled; i++) out.push(this.at(i))
    return out
  }

  /** Refills a FRESH series (only the last `size` values are kept). */
  restore(values: readonly number[]): void {
    if (this.filled !== 0) throw new RiskStreamError('INTERNAL', 'SlidingSeries.restore: series not fresh')
    for (const x of values) this.push(x)
  }
}

export interface ClosedWindow {
  /** Inclusive start, epoch ms (aligned to a multiple of widthMs). */
  start: number
  /** Exclusive end, epoch ms. */
  end: number
  count: number
  /** Per-feature slot counts; owned by the caller (not reused). */
  counts: Uint32Array[]
  /**
   * Set on a single-event pseudo-window returned for an event whose window already closed:
   * the caller decides whether to merge it into the stored aggregate or drop it.
   */
  late?: boolean
}

/**
 * Event-time tumbling windows [k·widthMs, (k+1)·widthMs), aligned to the epoch so every
 * monitor instance and every restart agrees on window boundaries.
 *
 * Only one window is open at a time. An event at or after its end closes it (and opens the
 * event's own window); events out of order WITHIN the open window are simply counted. An event
 * before the open window's start (or before the end of the last flushed window) is late: it is
 * counted in `lateEvents` and returned as a `late: true` one-event window. Intervals with no
 * events produce no window at all (an idle stream emits nothing, rather than a burst of empties).
 */
export class TumblingBinnedWindows {
  readonly widthMs: number
  private readonly features: number
  private readonly binsPerFeature: number[]
  private current: ClosedWindow | null = null
  /** Events with time < this belong to windows already closed. */
  private closedBefore = Number.NEGATIVE_INFINITY
  private late = 0

  constructor(opts: { widthMs: number; features: number; binsPerFeature: number[] }) {
    if (!(opts.widthMs > 0) || !Number.isFinite(opts.widthMs)) {
      throw new RiskStreamError('CONFIG_INVALID', `tumbling window width must be a positive number of ms`)
    }
    checkBinnedOpts(opts, 'TumblingBinnedWindows')
    this.widthMs = opts.widthMs
    this.features = opts.features
    this.binsPerFeature = [...opts.binsPerFeature]
  }

  get lateEvents(): number {
    return this.late
  }

  /** The open window, if any (for progress displays); do not mutate. */
  get open(): Readonly<ClosedWindow> | null {
    return this.current
  }

  push(eventTimeMs: number, binIdx: ArrayLike<number>): ClosedWindow[] {
    if (!Number.isFinite(eventTimeMs))
      throw new RiskStreamError('INTERNAL', 'TumblingBinnedWindows: event time must be finite')
    checkBinIdx(binIdx, this.binsPerFeature, 'TumblingBinnedWindows.push')
    if (eventTimeMs < this.closedBefore) {
      this.late++
      const lateWindow = this.newWindow(eventTimeMs)
      lateWindow.late = true
      this.add(lateWindow, binIdx)
      return [lateWindow]
    }
    const closed: ClosedWindow[] = []
    if (this.current && eventTimeMs >= this.current.end) {
      closed.push(this.current)
      this.current = null
    }
    if (!this.current) {
      this.current = this.newWindow(eventTimeMs)
      this.closedBefore = this.current.start
    }
    this.add(this.current, binIdx)
    return closed
  }

  /** Closes the open window (e.g. on shutdown or an idle timer); later events before its end are late. */
  flush(): ClosedWindow[] {
    if (!this.current) return []
    const w = this.current
    this.current = null
    this.closedBefore = w.end
    return [w]
  }

  /** The open window (start null when none); `late` counts are not part of it. */
  snapshot(): TumblingBinnedSnapshot {
    const open = this.current
    return {
      start: open ? open.start : null,
      count: open ? open.count : 0,
      counts: open ? open.counts.map((c) => Array.from(c)) : [],
    }
  }

  /**
   * Reopens the snapshot's window in a FRESH instance, as if its events had just been pushed:
   * events before its start are late, events at or after its end close it.
   */
  restore(s: TumblingBinnedSnapshot): void {
    if (this.current || this.closedBefore !== Number.NEGATIVE_INFINITY)
      throw new RiskStreamError('INTERNAL', 'TumblingBinnedWindows.restore: windows not fresh')
    if (s.start === null || s.count === 0) return
    const w = this.newWindow(s.start)
    if (w.start !== s.start || s.counts.length !== this.features)
      throw new RiskStreamError('VALIDATION_FAILED', 'tumbling window snapshot does not fit these windows')
    s.counts.forEach((counts, f) => {
      if (counts.length !== this.binsPerFeature[f])
        throw new RiskStreamError(
          'VALIDATION_FAILED',
          `tumbling window snapshot: feature #${f} has the wrong bins`,
        )
      w.counts[f]!.set(counts)
    })
    w.count = s.count
    this.current = w
    this.closedBefore = w.start
  }

  private newWindow(t: number): ClosedWindow {
    const start = Math.floor(t / this.widthMs) * this.widthMs
    return {
      start,
      end: start + this.widthMs,
      count: 0,
      counts: this.binsPerFeature.map((b) => new Uint32Array(b)),
    }
  }

  private add(w: ClosedWindow, binIdx: ArrayLike<number>): void {
    w.count++
    for (let f = 0; f < this.features; f++) w.counts[f]![binIdx[f]!]!++
  }
}

export interface TumblingBinnedSnapshot {
  /** Start of the open window, null when none is open. */
  start: number | null
  count: number
  /** Per-feature slot counts of the open window. */
  counts: number[][]
}

/**
 * The last `size` labelled predictions (label joined to its prediction), for concept-drift
 * metrics. Pushing is O(1); `metrics()` runs metrics.ts on the window contents (O(n log n) for
 * ROC-AUC), which is fine at the monitors' evaluation cadence.
 */
export class SlidingLabelWindow {
  readonly size: number
  private readonly labels: Uint8Array
  private readonly probs: Float64Array
  private readonly preds: Uint8Array
  private head = 0
  private filled = 0
  /** Confusion of the labels the model actually SERVED (predLabel at its own threshold then), kept incrementally. */
  private readonly served: Confusion = { tp: 0, fp: 0, tn: 0, fn: 0 }

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) {
      throw new RiskStreamError('CONFIG_INVALID', `label window size must be a positive integer, got ${size}`)
    }
    this.size = size
    this.labels = new Uint8Array(size)
    this.probs = new Float64Array(size)
    this.preds = new Uint8Array(size)
  }

  get count(): number {
    return this.filled
  }

  push(label: 0 | 1, prob: number, predLabel: 0 | 1): void {
    if (this.filled === this.size) this.tally(this.labels[this.head]!, this.preds[this.head]!, -1)
    else this.filled++
    this.labels[this.head] = label
    this.probs[this.head] = prob
    this.preds[this.head] = predLabel
    this.tally(label, predLabel, 1)
    this.head = this.head + 1 === this.size ? 0 : this.head + 1
  }

  /**
   * Metrics of the window at `threshold` (label = prob >= threshold). The contents are
   * unrolled oldest → newest first, so float sums (log loss, Brier) are bit-identical to a
   * batch computation over the same events in arrival order.
   */
  metrics(threshold: number): ClassificationMetrics {
    const n = this.filled
    const start = n === this.size ? this.head : 0
    const labels = new Uint8Array(n)
    const probs = new Float64Array(n)
    for (let i = 0; i < n; i++) {
      const k = (start + i) % this.size
      labels[i] = this.labels[k]!
      probs[i] = this.probs[k]!
    }
    return classificationMetrics(labels, probs, threshold)
  }

  /** Confusion of the served labels in the window (what clinicians were actually told). */
  servedConfusion(): Confusion {
    return { ...this.served }
  }

  /** The window's labelled predictions, oldest first. */
  snapshot(): SlidingLabelSnapshot {
    const out: SlidingLabelSnapshot = { labels: [], probs: [], preds: [] }
    const n = this.filled
    const start = n === this.size ? this.head : 0
    for (let i = 0; i < n; i++) {
      const k = (start + i) % this.size
      out.labels.push(this.labels[k]!)
      out.probs.push(this.probs[k]!)
      out.preds.push(this.preds[k]!)
    }
    return out
  }

  /** Refills a FRESH window by re-pushing the snapshot in order (the served confusion follows). */
  restore(s: SlidingLabelSnapshot): void {
    if (this.filled !== 0)
      throw new RiskStreamError('INTERNAL', 'SlidingLabelWindow.restore: window not fresh')
    for (let i = 0; i < s.labels.length; i++)
      this.push(s.labels[i] === 1 ? 1 : 0, s.probs[i]!, s.preds[i] === 1 ? 1 : 0)
  }

  private tally(label: number, pred: number, delta: 1 | -1): void {
    const key: keyof Confusion = pred === 1 ? (label === 1 ? 'tp' : 'fp') : label === 1 ? 'fn' : 'tn'
    this.served[key] += delta
  }
}

export interface SlidingLabelSnapshot {
  labels: number[]
  probs: number[]
  preds: number[]
}

/** One event-time bucket of labelled predictions (scores kept up to a cap, for ROC-AUC). */
export interface LabelBucket {
  start: number
  end: number
  labels: number[]
  probs: number[]
  /** Labels counted in the bucket, including those beyond the cap. */
  total: number
}

export interface TumblingLabelSnapshot {
  widthMs: number
  bucket: LabelBucket | null
  /** Labels before the open bucket's start since the last bucket closed. */
  late: number
}

/**
 * Event-time tumbling buckets of labelled predictions, [k·widthMs, (k+1)·widthMs) by the time the
 * label was joined. One bucket is open at a time; a label at or after its end closes it (with
 * the late count since the previous close) and opens the label's own bucket; a label before the
 * open bucket's start is only counted as late. The first `cap` labels of a bucket keep their
 * score (metrics need them); `total` counts them all.
 */
export class TumblingLabelWindows {
  readonly widthMs: number
  private readonly cap: number
  private bucket: LabelBucket | null = null
  private late = 0

  constructor(opts: { widthMs: number; cap: number }) {
    if (!(opts.widthMs > 0) || !Number.isFinite(opts.widthMs)) {
      throw new RiskStreamError('CONFIG_INVALID', 'tumbling window width must be a positive number of ms')
    }
    this.widthMs = opts.widthMs
    this.cap = opts.cap
  }

  /** Adds one label; returns the bucket it closed (with its late count), if any. */
  push(labelledAt: number, label: 0 | 1, prob: number): { bucket: LabelBucket; late: number } | null {
    let closed: { bucket: LabelBucket; late: number } | null = null
    if (this.bucket && labelledAt >= this.bucket.end) {
      closed = { bucket: this.bucket, late: this.late }
      this.bucket = null
      this.late = 0
    }
    if (!this.bucket) {
      const start = Math.floor(labelledAt / this.widthMs) * this.widthMs
      this.bucket = { start, end: start + this.widthMs, labels: [], probs: [], total: 0 }
    }
    if (labelledAt < this.bucket.start) {
      this.late++
      return closed
    }
    this.bucket.total++
    if (this.bucket.labels.length < this.cap) {
      this.bucket.labels.push(label)
      this.bucket.probs.push(prob)
    }
    return closed
  }

  snapshot(): TumblingLabelSnapshot {
    const b = this.bucket
    return {
      widthMs: this.widthMs,
      bucket: b ? { ...b, labels: [...b.labels], probs: [...b.probs] } : null,
      late: this.late,
    }
  }

  /** Restores a snapshot of the same width (another width: the caller starts afresh). */
  restore(s: TumblingLabelSnapshot): void {
    if (s.widthMs !== this.widthMs)
      throw new RiskStreamError('VALIDATION_FAILED', 'label bucket snapshot has another width')
    this.bucket = s.bucket ? { ...s.bucket, labels: [...s.bucket.labels], probs: [...s.bucket.probs] } : null
    this.late = s.late
  }
}
