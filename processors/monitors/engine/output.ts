/**
 * How the rules of one model version write what they found: window rows keyed by the window they
 * describe, and drift events with deterministic ids. Pure; shared by version.ts and rules/.
 */
import type { WindowType } from '../../../lib/warehouse/index.ts'
import { type DriftEventRecord, driftEventId, type MonitorKind, type WindowRow } from './types.ts'

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

export class VersionOutput {
  private rows: WindowRow[] = []
  private events: DriftEventRecord[] = []

  constructor(
    readonly modelName: string,
    readonly modelVersion: number,
  ) {}

  /** Where the next rows and events go (the engine's output buffers of this call). */
  to(rows: WindowRow[], events: DriftEventRecord[]): this {
    this.rows = rows
    this.events = events
    return this
  }

  /** Appends one row (any value, undefined ones included: callers decide). */
  row(monitor: MonitorKind, w: WindowRef, subject: string, metric: string, value: number): void {
    this.rows.push({
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
    })
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
    this.events.push({
      eventId: driftEventId(this.modelName, this.modelVersion, kind, w.windowType, w.windowWidth, w.windowId),
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
