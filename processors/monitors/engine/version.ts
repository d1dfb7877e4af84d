/**
 * The monitors of ONE model version: its prediction windows (a sliding window of binned events
 * with their times and served probabilities, epoch-aligned tumbling windows) and the rules that
 * read them (rules/: drift, quality, the CBPE estimate, and performance on labelled predictions).
 * This file only routes events to windows and windows to rules, and assembles the checkpoint.
 *
 * Memory is O(columns × bins) per tumbling window and O(window) for the sliding rings; each
 * prediction costs O(columns). Every output is a function of the input order only (window ids
 * are event counts or epoch-aligned starts, times come from the events), so a re-run
 * reproduces it exactly.
 */
import {
  type DetectorSnapshot,
  SlidingBinnedWindow,
  SlidingSeries,
  type TumblingBinnedSnapshot,
  TumblingBinnedWindows,
  type TumblingLabelSnapshot,
} from '../../../lib/stats/index.ts'
import { binEvent, type ColumnLayout, columnLayout, type MonitoredArtifact } from '../drift/columns.ts'
import { evaluateCounts } from '../drift/evaluate.ts'
import { VersionOutput, type WindowRef } from './output.ts'
import { DriftRule } from './rules/drift.ts'
import { EstimateRule } from './rules/estimate.ts'
import { type LabelRingSnapshot, PerformanceRule } from './rules/performance.ts'
import { QualityRule } from './rules/quality.ts'
import type { DriftSettings } from './rules/settings.ts'
import type { DriftEventRecord, WindowRow } from './types.ts'

export type { DriftSettings } from './rules/settings.ts'

/**
 * A version's checkpoint (format 1, unchanged since checkpoints were introduced, so a checkpoint
 * written by any build restores): plain JSON assembled from the windows' and detectors' own
 * snapshots.
 */
export interface VersionSnapshot {
  seq: number
  labelSeq: number
  /** The sliding window's binned events, oldest first (SlidingBinnedWindow.snapshot). */
  ring: string
  times: number[]
  /** Served probabilities of the sliding window's events, oldest first (absent in older checkpoints). */
  probs?: number[]
  labelRing: LabelRingSnapshot
  tumbling: (TumblingBinnedSnapshot & { widthMs: number; late: number })[]
  perfTumbling: TumblingLabelSnapshot[]
  /** 'quality', 'concept', 'estimate', and '<alarm statistic>:<subject>' per drift subject. */
  detectors: Record<string, DetectorSnapshot>
}

export interface VersionMonitorOptions {
  modelName: string
  modelVersion: number
  artifact: MonitoredArtifact
  drift: DriftSettings
  /** Events already seen for this version (window ids continue after an eviction). */
  startSeq?: number
  startLabelSeq?: number
  /**
   * A segment's monitor (lib/segments): sliding windows only, rows and events tagged with the
   * key, no data-quality rule, and the drift rule only where `drift` (a segment whose defining
   * feature differs from the reference by construction, like an age band, only estimates).
   */
  segment?: { key: string; drift: boolean }
}

export class VersionMonitor {
  readonly layout: ColumnLayout
  readonly modelName: string
  readonly modelVersion: number
  seq: number
  labelSeq: number
  private readonly drift: DriftSettings
  private readonly scratch: Uint16Array
  private readonly sliding: SlidingBinnedWindow
  private readonly times: SlidingSeries
  /** Served probability of each event in the sliding window (for the performance estimate). */
  private readonly probs: SlidingSeries
  /** Tumbling windows, each with the late events counted since its last closed window. */
  private readonly tumbling: { w: TumblingBinnedWindows; late: number }[]
  private readonly out: VersionOutput
  private readonly driftRule: DriftRule
  private readonly qualityRule: QualityRule
  private readonly estimateRule: EstimateRule
  private readonly performanceRule: PerformanceRule
  private readonly artifact: MonitoredArtifact
  private readonly segment: { key: string; drift: boolean } | undefined

  constructor(opts: VersionMonitorOptions) {
    this.segment = opts.segment
    this.modelName = opts.modelName
    this.modelVersion = opts.modelVersion
    this.drift = opts.drift
    this.artifact = opts.artifact
    this.seq = opts.startSeq ?? 0
    this.labelSeq = opts.startLabelSeq ?? 0
    this.layout = columnLayout(opts.artifact)
    const cols = this.layout.columns
    this.scratch = new Uint16Array(cols)
    const size = opts.drift.window
    this.sliding = new SlidingBinnedWindow({ size, features: cols, binsPerFeature: this.layout.slots })
    this.times = new SlidingSeries(size)
    this.probs = new SlidingSeries(size)
    this.tumbling = opts.drift.timeWindowsMs.map((widthMs) => ({
      w: new TumblingBinnedWindows({ widthMs, features: cols, binsPerFeature: this.layout.slots }),
      late: 0,
    }))
    this.out = new VersionOutput(opts.modelName, opts.modelVersion, opts.segment?.key)
    this.driftRule = new DriftRule(this.layout, opts.drift)
    this.qualityRule = new QualityRule(opts.drift)
    this.estimateRule = new EstimateRule(opts.artifact, opts.drift)
    this.performanceRule = new PerformanceRule(opts.artifact, opts.drift)
  }

  get threshold(): number {
    return this.artifact.threshold
  }

  /** Calibrated alarm thresholds per drift subject and window size (rules/drift.ts). */
  get thresholds() {
    return this.driftRule.thresholds
  }

  /** One served prediction of this version. */
  addPrediction(
    features: Parameters<typeof binEvent>[1],
    probability: number,
    eventTime: number,
    rows: WindowRow[],
    events: DriftEventRecord[],
  ): void {
    const out = this.out.to(rows, events)
    binEvent(this.layout, features, probability, this.scratch)
    this.sliding.push(this.scratch)
    this.times.push(eventTime)
    this.probs.push(probability)
    this.seq++
    for (const t of this.tumbling) {
      for (const closed of t.w.push(eventTime, this.scratch)) {
        // A late event's window was already written; re-writing it would change a stored row
        // after the fact, so late events are only counted (late_events on the next window).
        if (closed.late) {
          t.late++
          continue
        }
        const w: WindowRef = {
          windowType: 'tumbling',
          windowWidth: t.w.widthMs,
          windowId: closed.start,
          windowStart: closed.start,
          windowEnd: closed.end,
          windowSize: closed.count,
        }
        const stats = evaluateCounts(this.layout, closed.counts, closed.count)
        this.driftRule.windowRows(stats, w, out)
        this.qualityRule.windowRows(stats, w, out)
        out.row('quality', w, '', 'late_events', t.late)
        t.late = 0
      }
    }
    if (this.seq % this.drift.evalEvery === 0) this.evaluateSliding(eventTime, out)
  }

  /** One prediction of this version whose outcome is now known, at the join's event time. */
  addLabelled(
    label: 0 | 1,
    probability: number,
    servedLabel: 0 | 1,
    labelledAt: number,
    rows: WindowRow[],
    events: DriftEventRecord[],
  ): void {
    this.labelSeq++
    this.performanceRule.add(
      label,
      probability,
      servedLabel,
      labelledAt,
      this.labelSeq,
      this.out.to(rows, events),
    )
  }

  private evaluateSliding(now: number, out: VersionOutput): void {
    const count = this.sliding.count
    const w: WindowRef = {
      windowType: 'sliding',
      windowWidth: this.sliding.size,
      windowId: this.seq,
      windowStart: this.times.oldest,
      windowEnd: now,
      windowSize: count,
    }
    if (this.segment && !this.segment.drift) {
      if (count >= this.drift.minWindow) this.estimateRule.evaluate(this.probs, w, out)
      return
    }
    const counts = this.layout.slots.map((_, c) => this.sliding.counts(c))
    const stats = evaluateCounts(this.layout, counts, count)
    if (this.segment) {
      this.driftRule.windowRows(stats, w, out)
      if (count >= this.drift.minWindow) this.estimateRule.evaluate(this.probs, w, out)
      this.driftRule.evaluate(stats, w, out)
      return
    }
    this.driftRule.windowRows(stats, w, out)
    this.qualityRule.windowRows(stats, w, out)
    if (count >= this.drift.minWindow) this.estimateRule.evaluate(this.probs, w, out)
    this.driftRule.evaluate(stats, w, out)
    this.qualityRule.evaluate(stats, w, out)
  }

  /** Plain-JSON state: window contents, open tumbling windows, detector states. */
  snapshot(): VersionSnapshot {
    const detectors: Record<string, DetectorSnapshot> = {
      quality: this.qualityRule.snapshot(),
      concept: this.performanceRule.snapshotDetector(),
      estimate: this.estimateRule.snapshot(),
    }
    this.driftRule.snapshot(detectors)
    return {
      seq: this.seq,
      labelSeq: this.labelSeq,
      ring: this.sliding.snapshot().ring,
      times: this.times.snapshot(),
      probs: this.probs.snapshot(),
      labelRing: this.performanceRule.snapshotLabels(),
      tumbling: this.tumbling.map((t) => ({ widthMs: t.w.widthMs, ...t.w.snapshot(), late: t.late })),
      perfTumbling: this.performanceRule.snapshotTumbling(),
      detectors,
    }
  }

  /** Restores a snapshot into a FRESH monitor (same artifact; settings may have changed). */
  restore(s: VersionSnapshot): void {
    this.sliding.restore({ ring: s.ring })
    this.times.restore(s.times)
    // An older checkpoint has no probabilities: the estimate then counts those events as NaN
    // (left out) until they slide out of the window.
    this.probs.restore(s.probs ?? s.times.map(() => Number.NaN))
    s.tumbling.forEach((ts, i) => {
      const t = this.tumbling[i]
      if (!t || t.w.widthMs !== ts.widthMs) return // configuration changed: start that width afresh
      t.late = ts.late
      t.w.restore(ts)
    })
    this.performanceRule.restore(s.labelRing, s.perfTumbling, s.detectors.concept)
    for (const [key, snap] of Object.entries(s.detectors)) {
      if (key === 'quality') this.qualityRule.restore(snap)
      else if (key === 'estimate') this.estimateRule.restore(snap)
      else if (key !== 'concept') this.driftRule.restore(key, snap)
    }
    this.seq = s.seq
    this.labelSeq = s.labelSeq
  }
}
