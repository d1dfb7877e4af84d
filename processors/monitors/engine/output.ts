/**
 * How the rules of one model version write what they found: window rows keyed by the window they
 * describe, and drift events with deterministic ids. Pure; shared by version.ts and rules/.
 */
import type { WindowType } from '../../../lib/warehouse/index.ts'
import {
  type DriftEventRecord,
  type DriftKind,
  driftEventId,
  type MonitorKind,
  type WindowRow,
} from './types.ts'

/** The window a row or an event is about (also stored as `window` in events' evidence). */
export interface WindowRef {
  windowType: WindowType
  windowWidth: number
  windowId: number
  windowStart: number
  windowEnd: number
  windowSize: number
}

/** Detector state as stored in the `<statistic>_state` / `concept_state` / `estimate_state` rows. */
export const STATE_CODE = { ok: 0, pending: 1, alert: 2 } as const

/**
 * The kinds a segment's (or a shadow's) rule raises instead of the population's; the others
 * (retrain_recommended, data_quality) are not raised for a segment at all.
 */
const SEGMENT_KINDS: Partial<Record<DriftKind, DriftKind>> = {
  data_drift: 'segment_data_drift',
  estimated_performance_drop: 'segment_estimated_performance_drop',
  concept_drift: 'segment_concept_drift',
}

export class VersionOutput {
  private rows: WindowRow[] = []
  private events: DriftEventRecord[] = []

  constructor(
    readonly modelName: string,
    readonly modelVersion: number,
    /** Segment key (lib/segments); '' = the whole population, whose rows and events carry none. */
    readonly segment = '',
  ) {}

  /** Where the next rows and events go (the engine's output buffers of this call). */
  to(rows: WindowRow[], events: DriftEventRecord[]): this {
    this.rows = rows
    this.events = events
    return this
  }

  /** Appends one row (any value, undefined ones included: callers decide). */
  row(monitor: MonitorKind, w: WindowRef, subject: string, metric: string, value: number): void {
    const row: WindowRow = {
      modelName: this.modelName,
      modelVersion: this.modelVersion,
      monitor,
      windowType: w.windowType,
      windowWidth: w.windowWidth,
      windowId: w.windowId,
      windowStart: w.windowStart,
      windowEnd: w.windowEnd,
      windowSize: w.windowSize,
      subject,
      metric,
      value,
    }
    if (this.segment !== '') row.segment = this.segment
    this.rows.push(row)
  }

  /** Appends the row when the value is defined: an empty window's statistics are left out, not faked. */
  finite(monitor: MonitorKind, w: WindowRef, subject: string, metric: string, value: number): void {
    if (Number.isFinite(value)) this.row(monitor, w, subject, metric, value)
  }

  event(
    kind: DriftEventRecord['kind'],
    severity: DriftEventRecord['severity'],
    w: WindowRef,
    features: string[],
    scores: Record<string, number>,
    evidence: object,
  ): void {
    // A segment's alarm is its own kind, so readers of the population's verdicts never mistake it.
    if (this.segment !== '') {
      const segmentKind = SEGMENT_KINDS[kind]
      if (!segmentKind) return
      kind = segmentKind
      evidence = { segment: this.segment, ...evidence }
    }
    this.events.push({
      eventId: driftEventId(
        this.modelName,
        this.modelVersion,
        kind,
        w.windowType,
        w.windowWidth,
        w.windowId,
        this.segment,
      ),
      kind,
      severity,
      modelName: this.modelName,
      modelVersion: this.modelVersion,
      windowType: w.windowType,
      windowStart: w.windowStart,
      windowEnd: w.windowEnd,
      windowSize: w.windowSize,
      features,
      scores,
      evidenceJson: JSON.stringify(evidence),
      detectedAt: w.windowEnd,
    })
  }
}
