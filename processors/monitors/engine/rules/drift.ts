/**
 * The data-drift rule of one model version. Every monitored statistic of the registry
 * (lib/stats/statistics) is written per subject for every window; the alarm statistic (PSI) also
 * drives one hysteresis detector per subject, against thresholds calibrated for its reference
 * and the window's size (its `alarm`, lib/stats/drift-null.ts), with the threshold and the
 * detector's state written beside it. An event names exactly the subjects in alert.
 */

import type { AlarmBounds } from '../../../../lib/stats/drift-null.ts'
import {
  ALARM_STATISTIC,
  type AlarmThresholds,
  bandOf,
  type DetectorSnapshot,
  HysteresisDetector,
  MONITOR_STATISTICS,
  REPORTED_STATISTICS,
} from '../../../../lib/stats/index.ts'
import type { ColumnLayout } from '../../drift/columns.ts'
import type { WindowStats } from '../../drift/evaluate.ts'
import { STATE_CODE, type VersionOutput, type WindowRef } from '../output.ts'
import type { DriftSettings } from './settings.ts'

const ALARM = ALARM_STATISTIC

export class DriftRule {
  /** Calibrated alarm/clear thresholds per drift subject and window size. */
  readonly thresholds: AlarmThresholds
  private readonly detectors: HysteresisDetector[]

  constructor(
    private readonly layout: ColumnLayout,
    private readonly drift: DriftSettings,
  ) {
    this.detectors = layout.driftSubjects.map(
      () =>
        new HysteresisDetector({
          threshold: drift.threshold,
          clearThreshold: drift.clearThreshold,
          consecutive: drift.consecutiveWindows,
          minWindow: drift.minWindow,
        }),
    )
    this.thresholds = ALARM.alarm.thresholds(layout.refs, {
      falseAlarmsPerMillion: drift.falseAlarmsPerMillion,
      evalEvery: drift.evalEvery,
      floor: drift.threshold,
      clearFloor: drift.clearThreshold,
    })
  }

  /** Every monitored statistic per subject (sliding and tumbling windows alike). */
  windowRows(s: WindowStats, w: WindowRef, out: VersionOutput): void {
    this.layout.driftSubjects.forEach((subject, c) => {
      for (const stat of MONITOR_STATISTICS)
        out.finite('drift', w, subject, stat.name, s.drift[stat.name]![c]!)
    })
  }

  /** The alarm: one detector per subject on the sliding window. */
  evaluate(s: WindowStats, w: WindowRef, out: VersionOutput): void {
    const count = s.count
    const values = s.drift[ALARM.name]!
    const subjects = this.layout.driftSubjects
    let raised = false
    const alerting: string[] = []
    const bounds: AlarmBounds[] = []
    this.detectors.forEach((d, c) => {
      const b = this.thresholds.at(c, count)
      bounds.push(b)
      const v = d.update(values[c]!, count, b)
      if (v.raised) raised = true
      if (v.state === 'alert') alerting.push(subjects[c]!)
      if (count >= this.drift.minWindow && Number.isFinite(values[c]!)) {
        out.row('drift', w, subjects[c]!, `${ALARM.name}_threshold`, b.threshold)
        out.row('drift', w, subjects[c]!, `${ALARM.name}_state`, STATE_CODE[v.state])
      }
    })
    if (!raised) return
    const scores: Record<string, number> = {}
    subjects.forEach((s, c) => {
      if (Number.isFinite(values[c]!)) scores[s] = values[c]!
    })
    const max = Math.max(...alerting.map((s) => scores[s] ?? 0))
    const severity = bandOf(ALARM, max) === 'significant' ? 'significant' : 'moderate'
    const perSubject = (f: (c: number) => unknown) => Object.fromEntries(subjects.map((s, c) => [s, f(c)]))
    const evidence = {
      rule: `${ALARM.display.label} >= its calibrated threshold (false-alarm budget ${this.drift.falseAlarmsPerMillion} per million events, ${this.thresholds.alpha.toExponential(2)} per subject and evaluation${this.drift.threshold > 0 ? `, floor ${this.drift.threshold}` : ''}) for ${this.drift.consecutiveWindows} consecutive sliding windows; clears below the null's ${100 * (1 - ALARM.alarm.clearAlpha)}th percentile${this.drift.clearThreshold > 0 ? ` or ${this.drift.clearThreshold}` : ''}`,
      [ALARM.name]: scores,
      thresholds: perSubject((c) => bounds[c]!.threshold),
      clearThresholds: perSubject((c) => bounds[c]!.clearThreshold),
      pValues: Object.fromEntries(
        alerting.map((s) => {
          const c = subjects.indexOf(s)
          return [s, ALARM.alarm.survival(this.layout.refs[c]!, count, scores[s] ?? 0)]
        }),
      ),
      calibration: perSubject((c) => bounds[c]!.source),
      // The other monitored statistics, as evidence beside the alarm statistic.
      ...Object.fromEntries(
        REPORTED_STATISTICS.map((stat) => [stat.name, perSubject((c) => s.drift[stat.name]![c])]),
      ),
      bands: Object.fromEntries(alerting.map((s) => [s, bandOf(ALARM, scores[s] ?? 0)])),
      window: w,
    }
    out.event('data_drift', severity, w, alerting, scores, evidence)
    if (severity === 'significant')
      out.event('retrain_recommended', severity, w, alerting, scores, {
        reason: 'significant data drift',
        ...evidence,
      })
  }

  /** Detector states under `<alarm statistic>:<subject>` (the checkpoint's keys). */
  snapshot(into: Record<string, DetectorSnapshot>): void {
    this.layout.driftSubjects.forEach((s, c) => {
      into[`${ALARM.name}:${s}`] = this.detectors[c]!.snapshot()
    })
  }

  /** Restores the detectors it finds; returns whether `key` was one of them. */
  restore(key: string, snap: DetectorSnapshot): boolean {
    if (!key.startsWith(`${ALARM.name}:`)) return false
    const c = this.layout.driftSubjects.indexOf(key.slice(ALARM.name.length + 1))
    if (c >= 0) this.detectors[c]!.restore(snap)
    return true
  }
}
