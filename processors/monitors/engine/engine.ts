/**
 * The monitoring engine: pure, synchronous, no I/O. Feed it predictions and outcomes in
 * stream order; take its outputs (window rows and drift events); snapshot/restore its state.
 * The service (service.ts) wraps it with Kafka, ClickHouse and checkpoints; tests and the
 * benchmark drive it directly.
 *
 * Model versions: each served prediction carries the version that scored it, and goes to
 * that version's monitor. A new production version therefore starts with empty windows,
 * and in-flight predictions of the previous version still land in the previous version's
 * windows (no flapping at a switch, and no dependence on when the model-versions topic was
 * read — which keeps the output a function of the input order alone). Only the most recent
 * `maxVersions` monitors are kept; a version that comes back (rollback) restarts its windows,
 * but its event count, hence its window ids, continues.
 *
 * Segments (lib/segments): each prediction also goes to one monitor per segment family of its
 * version (its source system, its age band), capped per family, a value admitted once seen
 * SEGMENT_MIN_EVENTS times (before, and past the cap, 'other'); their rows and events carry the
 * segment key, and the whole population's outputs do not depend on them. Segment monitors see
 * no labels: the label join carries no segment (see docs/monitoring.md).
 *
 * Shadow versions (onShadowPrediction): each has a monitor of its own, against its own
 * artifact's reference, whose rows and alarms carry SHADOW_SEGMENT (so they stay apart from the
 * champion rows of the same version number, and no retrain follows them). A shadow score shares
 * its request id with the served one, so labels reach it through a join of its own (`shadowJoin`,
 * fed outcomes while a shadow monitor is live). Shadows never move the clock or touch the
 * champion's join, so the champion's outputs do not depend on them.
 */
import type { FeatureName } from '../../../lib/features/index.ts'
import {
  MAX_SHADOW_VERSIONS,
  OTHER_SEGMENT,
  SEGMENT_FAMILIES,
  SEGMENT_FAMILY_DRIFT,
  SegmentCap,
  type SegmentCapSnapshot,
  SHADOW_SEGMENT,
  segmentFamily,
  segmentKey,
  segmentValues,
} from '../../../lib/segments/index.ts'
import type { MonitoredArtifact } from '../drift/columns.ts'
import {
  type JoinStats,
  LabelJoin,
  type LossKind,
  type PendingOutcome,
  type PendingPrediction,
  UNKNOWN_VERSION,
  type VersionLosses,
} from '../performance/join.ts'
import {
  type DriftEventRecord,
  type OutcomeEvent,
  type PredictionEvent,
  toMs,
  type WindowRow,
} from './types.ts'
import { type DriftSettings, VersionMonitor, type VersionSnapshot } from './version.ts'

export interface EngineOptions {
  modelName: string
  drift: DriftSettings
  /** Artifact of a version, or undefined when unknown (its predictions are then only counted). */
  artifactFor: (version: number) => MonitoredArtifact | undefined
  /** Cap of each side of the label join (default drift.labelJoinMaxPending; the TTL is drift.labelJoinTtlMs). */
  joinMaxSize?: number
  maxVersions?: number
  /**
   * The latest time the clock may show (the service: now + EVENT_TIME_MAX_AHEAD_MS). Records
   * are checked at the edge; this is the backstop that keeps one future time from expiring
   * every pending label join and making later events count as late. Default: no limit.
   */
  clockLimit?: () => number
}

export interface EngineSnapshot {
  clock: number
  seqByVersion: Record<string, { seq: number; labelSeq: number }>
  versions: Record<string, VersionSnapshot>
  counters: EngineCounters
  /**
   * The label join's counts by reason (absent in older checkpoints), and its losses by version
   * (`byVersion`, absent in older checkpoints: their losses are restored under version 0, unknown).
   */
  join?: JoinStats & { byVersion?: Record<string, VersionLosses> }
  /** Per version: the segment cap and the segment monitors (absent in older checkpoints). */
  segments?: Record<string, { cap: SegmentCapSnapshot; monitors: Record<string, VersionSnapshot> }>
  /**
   * Shadow monitors as [version, state], oldest first (an array: an object would sort its
   * numeric keys and lose the eviction order), and the event counts of evicted ones (so a shadow
   * that comes back continues its window ids). Absent when no shadow prediction was seen.
   */
  shadows?: { versions: [number, VersionSnapshot][]; seqs: Record<string, number> }
}

/** One version's segments: which values each family admitted, and their monitors by key. */
interface VersionSegments {
  cap: SegmentCap
  monitors: Map<string, VersionMonitor>
}

/** Segment families whose segments raise drift alarms: they share one false-alarm budget. */
const DRIFT_FAMILIES = SEGMENT_FAMILIES.filter((f) => SEGMENT_FAMILY_DRIFT[f]).length

export interface EngineCounters {
  predictions: number
  outcomes: number
  otherModel: number
  unknownVersion: number
  /** Records whose time is outside [0, clockLimit]: skipped (the edge check should have refused them). */
  outOfRange?: number
  /** Labels joined to a prediction of a version whose monitor was evicted (no window to go to). */
  labelsWithoutMonitor?: number
  /** Shadow predictions monitored, and those of a version without an artifact (only counted). */
  shadowPredictions?: number
  shadowUnknownVersion?: number
  /** Labels joined to a shadow prediction whose shadow monitor was evicted. */
  shadowLabelsWithoutMonitor?: number
}

export interface EngineOutputs {
  rows: WindowRow[]
  events: DriftEventRecord[]
}

/** Join capacity when the settings carry none (LABEL_JOIN_MAX_PENDING's default). */
export const DEFAULT_JOIN_MAX_SIZE = 1_000_000

export class MonitorEngine {
  readonly join: LabelJoin
  /** The shadow lane's label join (same TTL and capacity; not spilled: past capacity, evicted and counted). */
  readonly shadowJoin: LabelJoin
  readonly counters: EngineCounters = { predictions: 0, outcomes: 0, otherModel: 0, unknownVersion: 0 }
  /** Event-time clock: the latest prediction event time or outcome time seen (drives join expiry). */
  clock = 0
  private readonly monitors = new Map<number, VersionMonitor>()
  private readonly seqByVersion = new Map<number, { seq: number; labelSeq: number }>()
  private readonly segments = new Map<number, VersionSegments>()
  /**
   * Segment monitors' settings: sliding windows only, and the drift budget split (Bonferroni)
   * over the families that alarm. Within a family the segments partition the events, so the
   * family's evaluations per million events are those of the whole population and the union
   * bound over its segments stays within its share.
   */
  private readonly segmentDrift: DriftSettings
  /** Shadow monitors by version, in creation order (the oldest is evicted past MAX_SHADOW_VERSIONS). */
  private readonly shadows = new Map<number, VersionMonitor>()
  /** Event counts of evicted shadow monitors. */
  private readonly shadowSeqs = new Map<number, number>()
  /** A shadow's own population: the whole budget, sliding windows like the segments. */
  private readonly shadowDrift: DriftSettings
  private rows: WindowRow[] = []
  private events: DriftEventRecord[] = []

  constructor(readonly opts: EngineOptions) {
    // Losses are counted under the versions this engine has monitored (live or evicted, both kept
    // in the checkpoint), so the attribution is the same after a restart.
    this.join = new LabelJoin({
      ttlMs: opts.drift.labelJoinTtlMs,
      maxSize: opts.joinMaxSize ?? opts.drift.labelJoinMaxPending ?? DEFAULT_JOIN_MAX_SIZE,
      attributable: (v) => this.monitors.has(v) || this.seqByVersion.has(v),
    })
    this.shadowJoin = new LabelJoin({
      ttlMs: opts.drift.labelJoinTtlMs,
      maxSize: opts.joinMaxSize ?? opts.drift.labelJoinMaxPending ?? DEFAULT_JOIN_MAX_SIZE,
      attributable: (v) => this.shadows.has(v) || this.shadowSeqs.has(v),
    })
    this.segmentDrift = {
      ...opts.drift,
      timeWindowsMs: [],
      falseAlarmsPerMillion: opts.drift.falseAlarmsPerMillion / Math.max(1, DRIFT_FAMILIES),
    }
    this.shadowDrift = { ...opts.drift, timeWindowsMs: [] }
  }

  /**
   * A prediction of the shadow (challenger) version, scored on a served request: into that
   * version's shadow monitor (drift against its own reference, the performance estimate).
   */
  onShadowPrediction(p: PredictionEvent): void {
    if (p.modelName !== this.opts.modelName) {
      this.counters.otherModel++
      return
    }
    const t = toMs(p.eventTime)
    if (this.outOfRange(t)) return
    const m = this.shadowMonitorFor(p.modelVersion)
    if (!m) {
      this.counters.shadowUnknownVersion = (this.counters.shadowUnknownVersion ?? 0) + 1
      return
    }
    this.counters.shadowPredictions = (this.counters.shadowPredictions ?? 0) + 1
    m.addPrediction(p as Record<FeatureName, number | null>, p.probability, t, this.rows, this.events)
    const pending = pendingOf(p, t)
    const o = this.shadowJoin.addPrediction(p.requestId, pending, this.clock)
    if (o) this.shadowLabelled(pending, o)
    if (m.seq % this.opts.drift.evalEvery === 0) this.joinRows(m.modelVersion, m.seq, t, 'shadow')
  }

  private shadowLabelled(p: PendingPrediction, o: PendingOutcome): void {
    const m = this.shadows.get(p.modelVersion)
    if (!m) {
      this.counters.shadowLabelsWithoutMonitor = (this.counters.shadowLabelsWithoutMonitor ?? 0) + 1
      this.shadowJoin.attribute('labelsWithoutMonitor', p.modelVersion)
      return
    }
    m.addLabelled(
      o.outcome === 1 ? 1 : 0,
      p.probability,
      p.label === 1 ? 1 : 0,
      o.labelledAt,
      this.rows,
      this.events,
    )
  }

  /** Shadow versions with a live monitor. */
  get shadowVersions(): number[] {
    return [...this.shadows.keys()]
  }

  private shadowMonitorFor(version: number): VersionMonitor | undefined {
    const existing = this.shadows.get(version)
    if (existing) return existing
    const artifact = this.opts.artifactFor(version)
    if (!artifact) return undefined
    const m = new VersionMonitor({
      modelName: this.opts.modelName,
      modelVersion: version,
      artifact,
      drift: this.shadowDrift,
      startSeq: this.shadowSeqs.get(version),
      segment: { key: SHADOW_SEGMENT, drift: true },
    })
    this.shadows.set(version, m)
    if (this.shadows.size > MAX_SHADOW_VERSIONS)
      for (const [v, old] of this.shadows) {
        if (v === version) continue
        this.shadowSeqs.set(v, old.seq)
        this.shadows.delete(v)
        break
      }
    return m
  }

  onPrediction(p: PredictionEvent): void {
    if (p.modelName !== this.opts.modelName || p.shadow) {
      this.counters.otherModel++
      return
    }
    const t = toMs(p.eventTime)
    if (this.outOfRange(t)) return
    this.counters.predictions++
    if (t > this.clock) this.advance(t)
    const m = this.monitorFor(p.modelVersion)
    if (!m) {
      this.counters.unknownVersion++
      return
    }
    m.addPrediction(p as Record<FeatureName, number | null>, p.probability, t, this.rows, this.events)
    this.addToSegments(p, t)
    const pending = pendingOf(p, t)
    const o = this.join.addPrediction(p.requestId, pending, this.clock)
    if (o) this.labelled(pending, o)
    if (m.seq % this.opts.drift.evalEvery === 0) {
      this.joinRows(m.modelVersion, m.seq, t)
      this.overflowRows(m.modelVersion, m.seq, t)
    }
  }

  onOutcome(o: OutcomeEvent): void {
    const t = toMs(o.labelledAt)
    if (this.outOfRange(t)) return
    this.counters.outcomes++
    if (t > this.clock) this.advance(t)
    const pending: PendingOutcome = { outcome: o.outcome, labelledAt: t }
    const p = this.join.addOutcome(o.requestId, pending, this.clock)
    if (p) this.labelled(p, pending)
    // Only while a shadow is monitored: otherwise every outcome would wait here for its TTL.
    if (this.shadows.size > 0) {
      const s = this.shadowJoin.addOutcome(o.requestId, pending, this.clock)
      if (s) this.shadowLabelled(s, pending)
    }
  }

  /**
   * A time no window may hold: not finite, before 1970, or past the clock limit. Such a record
   * is counted and skipped, so it can neither close every time window nor poison window rows.
   */
  private outOfRange(t: number): boolean {
    const limit = this.opts.clockLimit?.() ?? Number.POSITIVE_INFINITY
    if (Number.isFinite(t) && t >= 0 && t <= limit) return false
    this.counters.outOfRange = (this.counters.outOfRange ?? 0) + 1
    return true
  }

  /** Moves the clock forward to `t`, never past the limit. */
  private advance(t: number): void {
    const limit = this.opts.clockLimit?.() ?? Number.POSITIVE_INFINITY
    this.clock = Math.max(this.clock, Math.min(t, limit))
  }

  /** Rows and events produced since the last call. */
  takeOutputs(): EngineOutputs {
    const out = { rows: this.rows, events: this.events }
    this.rows = []
    this.events = []
    return out
  }

  /** Versions with a live monitor (for tests and status). */
  get activeVersions(): number[] {
    return [...this.monitors.keys()]
  }

  snapshot(): EngineSnapshot {
    this.syncSeqs()
    return {
      clock: this.clock,
      seqByVersion: Object.fromEntries(this.seqByVersion),
      versions: Object.fromEntries([...this.monitors].map(([v, m]) => [String(v), m.snapshot()])),
      counters: { ...this.counters },
      join: { ...this.join.stats, byVersion: this.join.losses.snapshot() },
      ...(this.segments.size > 0
        ? {
            segments: Object.fromEntries(
              [...this.segments].map(([v, s]) => [
                String(v),
                {
                  cap: s.cap.snapshot(),
                  monitors: Object.fromEntries([...s.monitors].map(([k, m]) => [k, m.snapshot()])),
                },
              ]),
            ),
          }
        : {}),
      ...(this.shadows.size > 0 || this.shadowSeqs.size > 0
        ? {
            shadows: {
              versions: [...this.shadows].map(([v, m]): [number, VersionSnapshot] => [v, m.snapshot()]),
              seqs: Object.fromEntries(this.shadowSeqs),
            },
          }
        : {}),
    }
  }

  /** Restores state into a fresh engine. The join is NOT in the snapshot (see service.ts: rebuilt from ClickHouse). */
  restore(s: EngineSnapshot): void {
    // A checkpoint written with a clock beyond the limit is pulled back to it.
    this.clock = Math.min(s.clock, this.opts.clockLimit?.() ?? Number.POSITIVE_INFINITY)
    Object.assign(this.counters, s.counters)
    if (s.join) {
      const { byVersion, ...totals } = s.join
      Object.assign(this.join.stats, totals)
      this.join.losses.restore(byVersion ?? unattributedLosses(totals, s.counters.labelsWithoutMonitor))
    }
    for (const [v, seqs] of Object.entries(s.seqByVersion)) this.seqByVersion.set(Number(v), seqs)
    for (const [v, vs] of Object.entries(s.versions)) {
      const m = this.monitorFor(Number(v))
      m?.restore(vs)
    }
    for (const [v, ss] of Object.entries(s.segments ?? {})) {
      const version = Number(v)
      const state = this.segmentsOf(version)
      if (!state) continue
      state.cap.restore(ss.cap)
      for (const [key, ms] of Object.entries(ss.monitors))
        this.segmentMonitor(version, state, key)?.restore(ms)
    }
    for (const [v, seq] of Object.entries(s.shadows?.seqs ?? {})) this.shadowSeqs.set(Number(v), seq)
    for (const [v, ms] of s.shadows?.versions ?? []) this.shadowMonitorFor(v)?.restore(ms)
  }

  /**
   * Events sent to a family's 'other' segment because the family was full, cumulative per
   * version: a row on that segment (monitor 'quality', metric 'segment_overflow') at the whole
   * population's sliding evaluations, once anything overflowed.
   */
  private overflowRows(version: number, seq: number, t: number): void {
    const state = this.segments.get(version)
    if (!state) return
    for (const family of SEGMENT_FAMILIES) {
      const n = state.cap.overflow[family]
      if (!n) continue
      this.rows.push({
        ...this.pointRow(version, seq, t, state.monitors.size, '', 'segment_overflow', n),
        segment: segmentKey(family, OTHER_SEGMENT),
      })
    }
  }

  /** One served prediction into its version's segment monitors (one per family). */
  private addToSegments(p: PredictionEvent, t: number): void {
    const state = this.segmentsOf(p.modelVersion)
    if (!state) return
    const values = segmentValues(p)
    for (const family of SEGMENT_FAMILIES) {
      const key = state.cap.keyFor(family, values[family])
      const m = this.segmentMonitor(p.modelVersion, state, key)
      m?.addPrediction(p as Record<FeatureName, number | null>, p.probability, t, this.rows, this.events)
    }
  }

  private segmentsOf(version: number): VersionSegments | undefined {
    const max = this.opts.drift.segmentMaxPerFamily ?? 0
    if (max <= 0) return undefined
    let s = this.segments.get(version)
    if (!s) {
      s = { cap: new SegmentCap(max, this.opts.drift.segmentMinEvents ?? 1), monitors: new Map() }
      this.segments.set(version, s)
    }
    return s
  }

  private segmentMonitor(version: number, state: VersionSegments, key: string): VersionMonitor | undefined {
    const existing = state.monitors.get(key)
    if (existing) return existing
    const artifact = this.opts.artifactFor(version)
    if (!artifact) return undefined
    const family = segmentFamily(key)
    const m = new VersionMonitor({
      modelName: this.opts.modelName,
      modelVersion: version,
      artifact,
      drift: this.segmentDrift,
      segment: { key, drift: SEGMENT_FAMILY_DRIFT[family] ?? false },
    })
    state.monitors.set(key, m)
    return m
  }

  /**
   * The label join's state at a sliding evaluation, so no label leaves without a count: rows under
   * monitor 'quality' (subject 'label_join'; the shadow lane's join at a shadow's evaluations,
   * keyed SHADOW_SEGMENT), cumulative over the engine (all versions): joined,
   * expired (TTL) and evicted (capacity) on each side, labels whose version monitor was evicted,
   * and the pending counts.
   */
  private joinRows(version: number, seq: number, t: number, lane: 'champion' | 'shadow' = 'champion'): void {
    const shadow = lane === 'shadow'
    const join = shadow ? this.shadowJoin : this.join
    const s = join.stats
    const values: [string, number][] = [
      ['joined', s.joined],
      ['expired_predictions', s.expiredPredictions],
      ['evicted_predictions', s.evictedPredictions],
      ['expired_outcomes', s.expiredOutcomes],
      ['evicted_outcomes', s.evictedOutcomes],
      [
        'labels_without_monitor',
        (shadow ? this.counters.shadowLabelsWithoutMonitor : this.counters.labelsWithoutMonitor) ?? 0,
      ],
      ['pending_predictions', join.predictions.size],
      ['pending_outcomes', join.outcomes.size],
    ]
    for (const [metric, value] of values)
      this.rows.push({
        ...this.pointRow(version, seq, t, join.predictions.size, 'label_join', metric, value),
        // The shadow lane's join: its own rows, beside the shadow's windows.
        ...(shadow ? { segment: SHADOW_SEGMENT } : {}),
      })
  }

  /**
   * The champion join's losses by version, for the versions counted since the last call: rows
   * under monitor 'quality', subject 'label_join', the version in `modelVersion` (0 = unknown: an
   * outcome that never met its prediction), metric `lost_<the total's metric>` (lost_expired_predictions,
   * lost_late_outcomes, …), cumulative. Written at checkpoints (pipeline.ts, window id = the
   * checkpoint's number, like the spill's rows), so they are exact at every checkpoint; the
   * metrics collector turns them into riskstream_label_join_lost_total{version}.
   */
  takeLossRows(windowId: number): WindowRow[] {
    // No served prediction or label yet: no loss, and no time for a row (see spill.ts).
    if (this.clock === 0) return []
    const rows: WindowRow[] = []
    for (const [version, losses] of this.join.losses.takeChanged())
      for (const [kind, value] of Object.entries(losses) as [LossKind, number][])
        rows.push(
          this.pointRow(
            version,
            windowId,
            this.clock,
            this.join.predictions.size,
            'label_join',
            LOSS_METRICS[kind],
            value,
          ),
        )
    return rows
  }

  /** A counter's value at one moment, as a zero-width `quality` row (counts, not a window's statistic). */
  private pointRow(
    version: number,
    windowId: number,
    t: number,
    windowSize: number,
    subject: string,
    metric: string,
    value: number,
  ): WindowRow {
    return {
      modelName: this.opts.modelName,
      modelVersion: version,
      monitor: 'quality',
      windowType: 'sliding',
      windowWidth: this.opts.drift.window,
      windowId,
      windowStart: t,
      windowEnd: t,
      windowSize,
      subject,
      metric,
      value,
    }
  }

  private labelled(p: PendingPrediction, o: PendingOutcome): void {
    if (p.modelName !== this.opts.modelName) return
    const m = this.monitors.get(p.modelVersion)
    if (!m) {
      // That version's windows are gone; its labels no longer have a window to go to: counted.
      this.counters.labelsWithoutMonitor = (this.counters.labelsWithoutMonitor ?? 0) + 1
      this.join.attribute('labelsWithoutMonitor', p.modelVersion)
      return
    }
    const label = o.outcome === 1 ? 1 : 0
    m.addLabelled(label, p.probability, p.label === 1 ? 1 : 0, o.labelledAt, this.rows, this.events)
  }

  private monitorFor(version: number): VersionMonitor | undefined {
    const existing = this.monitors.get(version)
    if (existing) return existing
    const artifact = this.opts.artifactFor(version)
    if (!artifact) return undefined
    this.syncSeqs()
    const seqs = this.seqByVersion.get(version)
    const m = new VersionMonitor({
      modelName: this.opts.modelName,
      modelVersion: version,
      artifact,
      drift: this.opts.drift,
      startSeq: seqs?.seq,
      startLabelSeq: seqs?.labelSeq,
    })
    this.monitors.set(version, m)
    const max = this.opts.maxVersions ?? 3
    if (this.monitors.size > max) {
      // Evict the oldest-created monitor other than this one (Map keeps creation order).
      for (const [v, old] of this.monitors) {
        if (v === version) continue
        this.seqByVersion.set(v, { seq: old.seq, labelSeq: old.labelSeq })
        this.monitors.delete(v)
        this.segments.delete(v)
        break
      }
    }
    return m
  }

  private syncSeqs(): void {
    for (const [v, m] of this.monitors) this.seqByVersion.set(v, { seq: m.seq, labelSeq: m.labelSeq })
  }
}

/** The row metric of each loss kind: `lost_` and the metric of its total (see joinRows). */
const LOSS_METRICS: Readonly<Record<LossKind, string>> = {
  expiredPredictions: 'lost_expired_predictions',
  evictedPredictions: 'lost_evicted_predictions',
  expiredOutcomes: 'lost_expired_outcomes',
  evictedOutcomes: 'lost_evicted_outcomes',
  lateOutcomes: 'lost_late_outcomes',
  duplicateOutcomes: 'lost_duplicate_outcomes',
  labelsWithoutMonitor: 'lost_labels_without_monitor',
}

/** An older checkpoint's loss totals, all under version 0 (unknown), so the versions still sum to the totals. */
function unattributedLosses(totals: JoinStats, labelsWithoutMonitor = 0): Record<string, VersionLosses> {
  const { joined: _joined, ...lost } = totals
  const losses: VersionLosses = {}
  for (const [kind, n] of Object.entries({ ...lost, labelsWithoutMonitor }) as [LossKind, number][])
    if (n > 0) losses[kind] = n
  return Object.keys(losses).length > 0 ? { [UNKNOWN_VERSION]: losses } : {}
}

/** What a label join keeps of a prediction (or a shadow score) until its outcome arrives. */
function pendingOf(
  p: Pick<PendingPrediction, 'modelName' | 'modelVersion' | 'probability' | 'label'>,
  eventTime: number,
): PendingPrediction {
  return {
    modelName: p.modelName,
    modelVersion: p.modelVersion,
    probability: p.probability,
    label: p.label,
    eventTime,
  }
}
