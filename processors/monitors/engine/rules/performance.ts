/**
 * The concept-drift rule of one model version, on labelled predictions (a prediction whose
 * outcome the label join found): sliding and event-time tumbling windows of labels, their
 * metrics beside the validation metrics the artifact promised, and a drop detector on accuracy
 * that raises `concept_drift` and `retrain_recommended`.
 */
import {
  type ClassificationMetrics,
  classificationMetrics,
  type DetectorSnapshot,
  DropDetector,
  SlidingLabelWindow,
  SlidingSeries,
  type TumblingLabelSnapshot,
  TumblingLabelWindows,
} from '../../../../lib/stats/index.ts'
import type { MonitoredArtifact } from '../../drift/columns.ts'
import { STATE_CODE, type VersionOutput, type WindowRef } from '../output.ts'
import type { DriftSettings } from './settings.ts'

/** Labelled predictions kept per tumbling performance window (metrics need the scores for ROC-AUC). */
export const PERF_TUMBLING_CAP = 200_000

/** The checkpoint's form of the sliding label window: oldest first, with the join times. */
export interface LabelRingSnapshot {
  labels: number[]
  probs: number[]
  preds: number[]
  times: number[]
}

export class PerformanceRule {
  private readonly labels: SlidingLabelWindow
  /** Join time of each label in the sliding window (its start is the oldest). */
  private readonly times: SlidingSeries
  private readonly tumbling: TumblingLabelWindows[]
  private readonly detector: DropDetector

  constructor(
    private readonly artifact: MonitoredArtifact,
    private readonly drift: DriftSettings,
  ) {
    this.labels = new SlidingLabelWindow(drift.window)
    this.times = new SlidingSeries(drift.window)
    this.tumbling = drift.timeWindowsMs.map(
      (widthMs) => new TumblingLabelWindows({ widthMs, cap: PERF_TUMBLING_CAP }),
    )
    this.detector = new DropDetector({
      dropThreshold: drift.conceptDropThreshold,
      clearDrop: drift.conceptDropThreshold / 2,
      consecutive: drift.consecutiveWindows,
      minWindow: drift.conceptMinLabels,
    })
  }

  /** One labelled prediction; `labelSeq` counts it already. Evaluates every `evalEvery` labels. */
  add(
    label: 0 | 1,
    probability: number,
    servedLabel: 0 | 1,
    labelledAt: number,
    labelSeq: number,
    out: VersionOutput,
  ): void {
    this.labels.push(label, probability, servedLabel)
    this.times.push(labelledAt)
    for (const t of this.tumbling) {
      const closed = t.push(labelledAt, label, probability)
      if (!closed) continue
      const b = closed.bucket
      const w: WindowRef = {
        windowType: 'tumbling',
        windowWidth: t.widthMs,
        windowId: b.start,
        windowStart: b.start,
        windowEnd: b.end,
        windowSize: b.total,
      }
      this.metricRows(classificationMetrics(b.labels, b.probs, this.artifact.threshold), b.total, w, out)
      out.row('performance', w, '', 'late_labels', closed.late)
    }
    if (labelSeq % this.drift.evalEvery === 0) this.evaluate(labelledAt, labelSeq, out)
  }

  private evaluate(now: number, labelSeq: number, out: VersionOutput): void {
    const m = this.labels.metrics(this.artifact.threshold)
    const n = this.labels.count
    const w: WindowRef = {
      windowType: 'sliding',
      windowWidth: this.labels.size,
      windowId: labelSeq,
      windowStart: this.times.oldest,
      windowEnd: now,
      windowSize: n,
    }
    this.metricRows(m, n, w, out)
    const expected = this.artifact.metrics
    const v = this.detector.update(m.accuracy, expected.accuracy, n)
    out.row('performance', w, '', 'concept_state', STATE_CODE[v.state])
    if (!v.raised) return
    const scores = {
      accuracy: m.accuracy,
      expected_accuracy: expected.accuracy,
      accuracy_drop: v.drop,
      f1: m.f1,
      expected_f1: expected.f1,
      roc_auc: Number.isFinite(m.rocAuc) ? m.rocAuc : 0,
      expected_roc_auc: expected.roc_auc,
    }
    const evidence = {
      rule: `validation accuracy − window accuracy >= ${this.drift.conceptDropThreshold} with >= ${this.drift.conceptMinLabels} labels, ${this.drift.consecutiveWindows} consecutive windows`,
      recent: { ...m, confusion: m.confusion },
      expected: {
        accuracy: expected.accuracy,
        f1: expected.f1,
        roc_auc: expected.roc_auc,
        brier: expected.brier,
      },
      window: w,
    }
    const severity = v.drop >= 2 * this.drift.conceptDropThreshold ? 'significant' : 'moderate'
    out.event('concept_drift', severity, w, [], scores, evidence)
    out.event('retrain_recommended', severity, w, [], scores, { reason: 'concept drift', ...evidence })
  }

  private metricRows(m: ClassificationMetrics, total: number, w: WindowRef, out: VersionOutput): void {
    const e = this.artifact.metrics
    out.finite('performance', w, '', 'accuracy', m.accuracy)
    out.finite('performance', w, '', 'precision', m.precision)
    out.finite('performance', w, '', 'recall', m.recall)
    out.finite('performance', w, '', 'f1', m.f1)
    out.finite('performance', w, '', 'roc_auc', m.rocAuc)
    out.finite('performance', w, '', 'brier', m.brier)
    out.finite('performance', w, '', 'prevalence', m.prevalence)
    out.finite('performance', w, '', 'labels', total)
    out.finite('performance', w, '', 'expected_accuracy', e.accuracy)
    out.finite('performance', w, '', 'expected_f1', e.f1)
    out.finite('performance', w, '', 'expected_roc_auc', e.roc_auc)
    out.finite('performance', w, '', 'expected_brier', e.brier)
    out.finite('performance', w, '', 'accuracy_drop', e.accuracy - m.accuracy)
  }

  snapshotLabels(): LabelRingSnapshot {
    return { ...this.labels.snapshot(), times: this.times.snapshot() }
  }

  snapshotTumbling(): TumblingLabelSnapshot[] {
    return this.tumbling.map((t) => t.snapshot())
  }

  snapshotDetector(): DetectorSnapshot {
    return this.detector.snapshot()
  }

  /** Into a FRESH rule. A bucket of a width no longer configured is dropped (that width starts afresh). */
  restore(
    labels: LabelRingSnapshot,
    tumbling: readonly TumblingLabelSnapshot[],
    detector?: DetectorSnapshot,
  ): void {
    this.labels.restore(labels)
    this.times.restore(labels.times)
    tumbling.forEach((s, i) => {
      const t = this.tumbling[i]
      if (t && t.widthMs === s.widthMs) t.restore(s)
    })
    if (detector) this.detector.restore(detector)
  }
}
