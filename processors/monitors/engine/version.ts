/**
 * Everything the monitors keep for ONE model version: sliding and tumbling windows of binned
 * predictions (drift + data quality), sliding and tumbling windows of labelled predictions
 * (performance), and the hysteresis detectors that turn window scores into events.
 *
 * Memory is O(columns × bins) per tumbling window and O(window) for the sliding rings; each
 * prediction costs O(columns) (one binIndex per column and one counter increment per window).
 * Every output is a function of the input order only (window ids are event counts or
 * epoch-aligned starts, event times come from the events), so a re-run reproduces it exactly.
 */
import type { Config } from '../../../lib/config/index.ts'
import { FEATURES } from '../../../lib/features/index.ts'
import {
  type AlarmBounds,
  CLEAR_ALPHA,
  PsiAlarmThresholds,
  psiNullSurvival,
} from '../../../lib/stats/drift-null.ts'
import {
  type ClassificationMetrics,
  classificationMetrics,
  type DetectorSnapshot,
  DropDetector,
  HysteresisDetector,
  psiBand,
  SlidingBinnedWindow,
  SlidingLabelWindow,
  TumblingBinnedWindows,
} from '../../../lib/stats/index.ts'
import {
  binEvent,
  type ColumnLayout,
  columnLayout,
  type MonitoredArtifact,
  N_FEATURES,
} from '../drift/columns.ts'
import { evaluateCounts, type WindowStats } from '../drift/evaluate.ts'
import { type DriftEventRecord, driftEventId, type WindowRow, type WindowType } from './types.ts'

export type DriftSettings = Config['drift']

/**
 * Data-quality rule (documented in the README of this folder): a window's quality score is
 * the largest, over features, of (missing rate − the reference's missing share) and the
 * out-of-range share. It goes through the same hysteresis as PSI with these thresholds:
 * 10 points more "not measured" than in training, or 10% of values outside the physiological
 * bounds, for K consecutive windows. Both are far outside sampling noise for windows of
 * ≥ 200 events (the noisiest feature, insulin at 49% missing, has a standard error of 3.5 points).
 */
export const QUALITY_THRESHOLD = 0.1

/** Detector state as stored in the `psi_state` / `concept_state` window rows. */
export const STATE_CODE = { ok: 0, pending: 1, alert: 2 } as const
export const QUALITY_CLEAR = 0.05

/** Labelled predictions kept per tumbling performance window (metrics need the scores for ROC-AUC). */
export const PERF_TUMBLING_CAP = 200_000

interface PerfBucket {
  start: number
  end: number
  labels: number[]
  probs: number[]
  total: number
}

export interface VersionSnapshot {
  seq: number
  labelSeq: number
  ring: string
  times: number[]
  /** Served probabilities of the sliding window's events, oldest first (absent in older checkpoints). */
  probs?: number[]
  labelRing: { labels: number[]; probs: number[]; preds: number[]; times: number[] }
  tumbling: { widthMs: number; start: number | null; count: number; counts: number[][]; late: number }[]
  perfTumbling: { widthMs: number; bucket: PerfBucket | null; late: number }[]
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
}

export class VersionMonitor {
  readonly layout: ColumnLayout
  readonly modelName: string
  readonly modelVersion: number
  seq: number
  labelSeq: number
  private readonly drift: DriftSettings
  private readonly artifact: MonitoredArtifact
  private readonly scratch: Uint16Array
  private readonly sliding: SlidingBinnedWindow
  /** Our own copy of the sliding window's contents (oldest first via head), for snapshots. */
  private readonly ring: Uint16Array
  private readonly ringTimes: Float64Array
  /** Served probability of each event in the sliding ring (for the performance estimate). */
  private readonly ringProbs: Float64Array
  private ringHead = 0
  private ringFilled = 0
  private readonly tumbling: { w: TumblingBinnedWindows; late: number }[]
  private readonly labels: SlidingLabelWindow
  private readonly labelRing: {
    labels: Uint8Array
    probs: Float64Array
    preds: Uint8Array
    times: Float64Array
  }
  private labelHead = 0
  private labelFilled = 0
  private readonly perfTumbling: { widthMs: number; bucket: PerfBucket | null; late: number }[]
  private readonly featureDetectors: HysteresisDetector[]
  /** Calibrated PSI alarm/clear thresholds per drift subject and window size (lib/stats/drift-null.ts). */
  readonly thresholds: PsiAlarmThresholds
  private readonly qualityDetector: HysteresisDetector
  private readonly conceptDetector: DropDetector
  /** The concept-drift rule applied to the ESTIMATED accuracy (no labels needed). */
  private readonly estimateDetector: DropDetector

  constructor(opts: VersionMonitorOptions) {
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
    this.ring = new Uint16Array(size * cols)
    this.ringTimes = new Float64Array(size)
    this.ringProbs = new Float64Array(size)
    this.tumbling = opts.drift.timeWindowsMs.map((widthMs) => ({
      w: new TumblingBinnedWindows({ widthMs, features: cols, binsPerFeature: this.layout.slots }),
      late: 0,
    }))
    this.labels = new SlidingLabelWindow(size)
    this.labelRing = {
      labels: new Uint8Array(size),
      probs: new Float64Array(size),
      preds: new Uint8Array(size),
      times: new Float64Array(size),
    }
    this.perfTumbling = opts.drift.timeWindowsMs.map((widthMs) => ({ widthMs, bucket: null, late: 0 }))
    const hyst = {
      threshold: opts.drift.threshold,
      clearThreshold: opts.drift.clearThreshold,
      consecutive: opts.drift.consecutiveWindows,
      minWindow: opts.drift.minWindow,
    }
    this.featureDetectors = this.layout.driftSubjects.map(() => new HysteresisDetector(hyst))
    this.thresholds = new PsiAlarmThresholds(this.layout.refs, {
      falseAlarmsPerMillion: opts.drift.falseAlarmsPerMillion,
      evalEvery: opts.drift.evalEvery,
      floor: opts.drift.threshold,
      clearFloor: opts.drift.clearThreshold,
    })
    this.qualityDetector = new HysteresisDetector({
      ...hyst,
      threshold: QUALITY_THRESHOLD,
      clearThreshold: QUALITY_CLEAR,
    })
    this.estimateDetector = new DropDetector({
      dropThreshold: opts.drift.conceptDropThreshold,
      clearDrop: opts.drift.conceptDropThreshold / 2,
      consecutive: opts.drift.consecutiveWindows,
      minWindow: opts.drift.minWindow,
    })
    this.conceptDetector = new DropDetector({
      dropThreshold: opts.drift.conceptDropThreshold,
      clearDrop: opts.drift.conceptDropThreshold / 2,
      consecutive: opts.drift.consecutiveWindows,
      minWindow: opts.drift.conceptMinLabels,
    })
  }

  get threshold(): number {
    return this.artifact.threshold
  }

  /** One served prediction of this version. */
  addPrediction(
    features: Parameters<typeof binEvent>[1],
    probability: number,
    eventTime: number,
    rows: WindowRow[],
    events: DriftEventRecord[],
  ): void {
    binEvent(this.layout, features, probability, this.scratch)
    this.pushSliding(this.scratch, eventTime, probability)
    this.seq++
    for (const t of this.tumbling) {
      for (const closed of t.w.push(eventTime, this.scratch)) {
        // A late event's window was already written; re-writing it would change a stored row
        // after the fact, so late events are only counted (late_events on the next window).
        if (closed.late) {
          t.late++
          continue
        }
        this.windowRows(
          'tumbling',
          t.w.widthMs,
          closed.start,
          closed.start,
          closed.end,
          evaluateCounts(this.layout, closed.counts, closed.count),
          rows,
        )
        rows.push(
          this.row(
            'quality',
            'tumbling',
            t.w.widthMs,
            closed.start,
            closed.start,
            closed.end,
            closed.count,
            '',
            'late_events',
            t.late,
          ),
        )
        t.late = 0
      }
    }
    if (this.seq % this.drift.evalEvery === 0) this.evaluateSliding(eventTime, rows, events)
  }

  /** One prediction of this version whose outcome is now known. `at` = the join's event time. */
  addLabelled(
    label: 0 | 1,
    probability: number,
    servedLabel: 0 | 1,
    labelledAt: number,
    rows: WindowRow[],
    events: DriftEventRecord[],
  ): void {
    this.labels.push(label, probability, servedLabel)
    const size = this.labels.size
    const h = this.labelHead
    this.labelRing.labels[h] = label
    this.labelRing.probs[h] = probability
    this.labelRing.preds[h] = servedLabel
    this.labelRing.times[h] = labelledAt
    this.labelHead = h + 1 === size ? 0 : h + 1
    if (this.labelFilled < size) this.labelFilled++
    this.labelSeq++
    for (const t of this.perfTumbling) {
      if (t.bucket && labelledAt >= t.bucket.end) {
        this.perfRows(
          'tumbling',
          t.widthMs,
          t.bucket.start,
          t.bucket.start,
          t.bucket.end,
          classificationMetrics(t.bucket.labels, t.bucket.probs, this.threshold),
          t.bucket.total,
          rows,
        )
        rows.push(
          this.row(
            'performance',
            'tumbling',
            t.widthMs,
            t.bucket.start,
            t.bucket.start,
            t.bucket.end,
            t.bucket.total,
            '',
            'late_labels',
            t.late,
          ),
        )
        t.bucket = null
        t.late = 0
      }
      if (!t.bucket) {
        const start = Math.floor(labelledAt / t.widthMs) * t.widthMs
        t.bucket = { start, end: start + t.widthMs, labels: [], probs: [], total: 0 }
      }
      if (labelledAt < t.bucket.start) {
        t.late++
        continue
      }
      t.bucket.total++
      if (t.bucket.labels.length < PERF_TUMBLING_CAP) {
        t.bucket.labels.push(label)
        t.bucket.probs.push(probability)
      }
    }
    if (this.labelSeq % this.drift.evalEvery === 0) this.evaluateLabels(labelledAt, rows, events)
  }

  private pushSliding(binned: Uint16Array, eventTime: number, probability: number): void {
    this.ringProbs[this.ringHead] = probability
    this.sliding.push(binned)
    const cols = this.layout.columns
    this.ring.set(binned, this.ringHead * cols)
    this.ringTimes[this.ringHead] = eventTime
    this.ringHead = this.ringHead + 1 === this.sliding.size ? 0 : this.ringHead + 1
    if (this.ringFilled < this.sliding.size) this.ringFilled++
  }

  /** Event time of the oldest event in the sliding ring. */
  private oldestTime(times: Float64Array, head: number, filled: number): number {
    return filled < times.length ? times[0]! : times[head]!
  }

  private evaluateSliding(now: number, rows: WindowRow[], events: DriftEventRecord[]): void {
    const count = this.sliding.count
    const counts = this.layout.slots.map((_, c) => this.sliding.counts(c))
    const stats = evaluateCounts(this.layout, counts, count)
    const start = this.oldestTime(this.ringTimes, this.ringHead, this.ringFilled)
    const size = this.sliding.size
    this.windowRows('sliding', size, this.seq, start, now, stats, rows)
    if (count >= this.drift.minWindow) this.estimateRows(size, start, now, rows, events)
    const window = {
      windowType: 'sliding' as const,
      windowWidth: size,
      windowId: this.seq,
      windowStart: start,
      windowEnd: now,
      windowSize: count,
    }

    // Data drift: one detector per column, so an event names exactly the features in alert.
    // Each column's threshold is calibrated for its reference and this window's size (see
    // lib/stats/drift-null.ts); the verdict and its bounds are stored with the window's rows.
    let raised = false
    const alerting: string[] = []
    const bounds: AlarmBounds[] = []
    this.featureDetectors.forEach((d, c) => {
      const b = this.thresholds.at(c, count)
      bounds.push(b)
      const v = d.update(stats.psi[c]!, count, b)
      if (v.raised) raised = true
      if (v.state === 'alert') alerting.push(this.layout.driftSubjects[c]!)
      if (count >= this.drift.minWindow && Number.isFinite(stats.psi[c]!)) {
        const subject = this.layout.driftSubjects[c]!
        rows.push(
          this.row(
            'drift',
            'sliding',
            size,
            this.seq,
            start,
            now,
            count,
            subject,
            'psi_threshold',
            b.threshold,
          ),
          this.row(
            'drift',
            'sliding',
            size,
            this.seq,
            start,
            now,
            count,
            subject,
            'psi_state',
            STATE_CODE[v.state],
          ),
        )
      }
    })
    if (raised) {
      const scores: Record<string, number> = {}
      this.layout.driftSubjects.forEach((s, c) => {
        if (Number.isFinite(stats.psi[c]!)) scores[s] = stats.psi[c]!
      })
      const maxPsi = Math.max(...alerting.map((s) => scores[s] ?? 0))
      const severity = psiBand(maxPsi) === 'significant' ? 'significant' : 'moderate'
      const evidence = {
        rule: `PSI >= its calibrated threshold (false-alarm budget ${this.drift.falseAlarmsPerMillion} per million events, ${(this.thresholds.alpha).toExponential(2)} per subject and evaluation${this.drift.threshold > 0 ? `, floor ${this.drift.threshold}` : ''}) for ${this.drift.consecutiveWindows} consecutive sliding windows; clears below the null's ${100 * (1 - CLEAR_ALPHA)}th percentile${this.drift.clearThreshold > 0 ? ` or ${this.drift.clearThreshold}` : ''}`,
        psi: scores,
        thresholds: Object.fromEntries(this.layout.driftSubjects.map((s, c) => [s, bounds[c]!.threshold])),
        clearThresholds: Object.fromEntries(
          this.layout.driftSubjects.map((s, c) => [s, bounds[c]!.clearThreshold]),
        ),
        pValues: Object.fromEntries(
          alerting.map((s) => {
            const c = this.layout.driftSubjects.indexOf(s)
            return [s, psiNullSurvival(this.layout.refs[c]!, count, scores[s] ?? 0)]
          }),
        ),
        calibration: Object.fromEntries(this.layout.driftSubjects.map((s, c) => [s, bounds[c]!.source])),
        ks: Object.fromEntries(this.layout.driftSubjects.map((s, c) => [s, stats.ks[c]])),
        bands: Object.fromEntries(alerting.map((s) => [s, psiBand(scores[s] ?? 0)])),
        window,
      }
      events.push(this.event('data_drift', severity, window, alerting, scores, evidence))
      if (severity === 'significant') {
        events.push(
          this.event('retrain_recommended', severity, window, alerting, scores, {
            reason: 'significant data drift',
            ...evidence,
          }),
        )
      }
    }

    // Data quality: see QUALITY_THRESHOLD.
    let qualityScore = 0
    const offenders: string[] = []
    const qScores: Record<string, number> = {}
    for (let f = 0; f < N_FEATURES; f++) {
      const excess = stats.missingRate[f]! - stats.refMissingShare[f]!
      const s = Math.max(excess, stats.outOfRangeRate[f]!)
      if (s >= QUALITY_THRESHOLD) {
        offenders.push(FEATURES[f]!)
        qScores[`missing_rate.${FEATURES[f]}`] = stats.missingRate[f]!
        qScores[`out_of_range_rate.${FEATURES[f]}`] = stats.outOfRangeRate[f]!
      }
      qualityScore = Math.max(qualityScore, s)
    }
    const qv = this.qualityDetector.update(qualityScore, count)
    if (qv.raised) {
      const evidence = {
        rule: `max over features of (missing rate − reference missing share, out-of-range share) >= ${QUALITY_THRESHOLD} for ${this.drift.consecutiveWindows} consecutive windows`,
        missingRate: Object.fromEntries(FEATURES.map((f, i) => [f, stats.missingRate[i]])),
        referenceMissingShare: Object.fromEntries(FEATURES.map((f, i) => [f, stats.refMissingShare[i]])),
        outOfRangeCount: Object.fromEntries(FEATURES.map((f, i) => [f, stats.outOfRangeCount[i]])),
        score: qualityScore,
        window,
      }
      events.push(
        this.event(
          'data_quality',
          qualityScore >= 2 * QUALITY_THRESHOLD ? 'significant' : 'moderate',
          window,
          offenders,
          qScores,
          evidence,
        ),
      )
    }
  }

  private evaluateLabels(now: number, rows: WindowRow[], events: DriftEventRecord[]): void {
    const m = this.labels.metrics(this.threshold)
    const n = this.labels.count
    const start = this.oldestTime(this.labelRing.times, this.labelHead, this.labelFilled)
    const size = this.labels.size
    this.perfRows('sliding', size, this.labelSeq, start, now, m, n, rows)
    const expected = this.artifact.metrics
    const v = this.conceptDetector.update(m.accuracy, expected.accuracy, n)
    rows.push(
      this.row(
        'performance',
        'sliding',
        size,
        this.labelSeq,
        start,
        now,
        n,
        '',
        'concept_state',
        STATE_CODE[v.state],
      ),
    )
    if (v.raised) {
      const window = {
        windowType: 'sliding' as const,
        windowWidth: size,
        windowId: this.labelSeq,
        windowStart: start,
        windowEnd: now,
        windowSize: n,
      }
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
        window,
      }
      const severity = v.drop >= 2 * this.drift.conceptDropThreshold ? 'significant' : 'moderate'
      events.push(this.event('concept_drift', severity, window, [], scores, evidence))
      events.push(
        this.event('retrain_recommended', severity, window, [], scores, {
          reason: 'concept drift',
          ...evidence,
        }),
      )
    }
  }

  /**
   * Performance before the labels (confidence-based performance estimation, CBPE): with
   * calibrated probabilities, an event served with probability p at threshold t is correct with
   * probability p when p ≥ t (predicted positive) and 1 − p otherwise, so the window's expected
   * confusion matrix is a sum of p's. Rows under monitor 'estimate' beside the realised
   * 'performance' windows (which need labels). Blind to concept drift by construction: it trusts
   * the probabilities. Summed oldest → newest, so a restored window gives the same bits.
   */
  private estimateRows(
    size: number,
    start: number,
    now: number,
    rows: WindowRow[],
    events: DriftEventRecord[],
  ): void {
    const n = this.ringFilled
    const first = n < size ? 0 : this.ringHead
    const t = this.threshold
    let tp = 0
    let fp = 0
    let fn = 0
    let tn = 0
    let m = 0
    for (let i = 0; i < n; i++) {
      const p = this.ringProbs[(first + i) % size]!
      if (!(p >= 0 && p <= 1)) continue
      m++
      if (p >= t) {
        tp += p
        fp += 1 - p
      } else {
        fn += p
        tn += 1 - p
      }
    }
    if (m === 0) return
    const f1 = 2 * tp + fp + fn > 0 ? (2 * tp) / (2 * tp + fp + fn) : Number.NaN
    const values: [string, number][] = [
      ['estimated_accuracy', (tp + tn) / m],
      ['estimated_f1', f1],
      ['estimated_prevalence', (tp + fn) / m],
      ['expected_accuracy', this.artifact.metrics.accuracy],
    ]
    for (const [metric, value] of values)
      if (Number.isFinite(value))
        rows.push(this.row('estimate', 'sliding', size, this.seq, start, now, m, '', metric, value))

    // The concept-drift rule on the estimate: an early warning, flagged as estimated. It raises
    // its own kind, which the trainer does not treat as a retrain trigger.
    const expected = this.artifact.metrics.accuracy
    const v = this.estimateDetector.update((tp + tn) / m, expected, m)
    rows.push(
      this.row(
        'estimate',
        'sliding',
        size,
        this.seq,
        start,
        now,
        m,
        '',
        'estimate_state',
        STATE_CODE[v.state],
      ),
    )
    if (v.raised) {
      const window = {
        windowType: 'sliding' as const,
        windowWidth: size,
        windowId: this.seq,
        windowStart: start,
        windowEnd: now,
        windowSize: m,
      }
      const scores = {
        estimated_accuracy: (tp + tn) / m,
        expected_accuracy: expected,
        estimated_accuracy_drop: v.drop,
        ...(Number.isFinite(f1) ? { estimated_f1: f1 } : {}),
      }
      events.push(
        this.event(
          'estimated_performance_drop',
          v.drop >= 2 * this.drift.conceptDropThreshold ? 'significant' : 'moderate',
          window,
          [],
          scores,
          {
            estimated: true,
            rule: `validation accuracy − accuracy ESTIMATED from the served probabilities (CBPE) >= ${this.drift.conceptDropThreshold}, ${this.drift.consecutiveWindows} consecutive windows; no labels used, blind to concept drift`,
            estimatedConfusion: { tp, fp, fn, tn },
            window,
          },
        ),
      )
    }
  }

  private row(
    monitor: WindowRow['monitor'],
    windowType: WindowType,
    windowWidth: number,
    windowId: number,
    windowStart: number,
    windowEnd: number,
    windowSize: number,
    subject: string,
    metric: string,
    value: number,
  ): WindowRow {
    return {
      modelName: this.modelName,
      modelVersion: this.modelVersion,
      monitor,
      windowType,
      windowWidth,
      windowId,
      windowStart,
      windowEnd,
      windowSize,
      subject,
      metric,
      value,
    }
  }

  private windowRows(
    type: WindowType,
    width: number,
    id: number,
    start: number,
    end: number,
    s: WindowStats,
    rows: WindowRow[],
  ): void {
    const r = (monitor: WindowRow['monitor'], subject: string, metric: string, value: number) => {
      // Undefined statistics (an empty window) are left out rather than stored as a fake number.
      if (Number.isFinite(value))
        rows.push(this.row(monitor, type, width, id, start, end, s.count, subject, metric, value))
    }
    this.layout.driftSubjects.forEach((subject, c) => {
      r('drift', subject, 'psi', s.psi[c]!)
      r('drift', subject, 'ks', s.ks[c]!)
    })
    for (let f = 0; f < N_FEATURES; f++) {
      r('quality', FEATURES[f]!, 'missing_rate', s.missingRate[f]!)
      r('quality', FEATURES[f]!, 'out_of_range_count', s.outOfRangeCount[f]!)
    }
    r('quality', '', 'volume', s.count)
  }

  private perfRows(
    type: WindowType,
    width: number,
    id: number,
    start: number,
    end: number,
    m: ClassificationMetrics,
    total: number,
    rows: WindowRow[],
  ): void {
    const e = this.artifact.metrics
    const values: [string, number][] = [
      ['accuracy', m.accuracy],
      ['precision', m.precision],
      ['recall', m.recall],
      ['f1', m.f1],
      ['roc_auc', m.rocAuc],
      ['brier', m.brier],
      ['prevalence', m.prevalence],
      ['labels', total],
      ['expected_accuracy', e.accuracy],
      ['expected_f1', e.f1],
      ['expected_roc_auc', e.roc_auc],
      ['expected_brier', e.brier],
      ['accuracy_drop', e.accuracy - m.accuracy],
    ]
    for (const [metric, value] of values) {
      if (Number.isFinite(value))
        rows.push(this.row('performance', type, width, id, start, end, total, '', metric, value))
    }
  }

  private event(
    kind: DriftEventRecord['kind'],
    severity: DriftEventRecord['severity'],
    w: {
      windowType: WindowType
      windowWidth: number
      windowId: number
      windowStart: number
      windowEnd: number
      windowSize: number
    },
    features: string[],
    scores: Record<string, number>,
    evidence: object,
  ): DriftEventRecord {
    return {
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
    }
  }

  /** Plain-JSON state: window contents, open tumbling windows, detector states. */
  snapshot(): VersionSnapshot {
    const cols = this.layout.columns
    const n = this.ringFilled
    const size = this.sliding.size
    const first = n < size ? 0 : this.ringHead
    const ordered = new Uint16Array(n * cols)
    const times: number[] = []
    const probs: number[] = []
    for (let i = 0; i < n; i++) {
      const slot = (first + i) % size
      ordered.set(this.ring.subarray(slot * cols, slot * cols + cols), i * cols)
      times.push(this.ringTimes[slot]!)
      probs.push(this.ringProbs[slot]!)
    }
    const ln = this.labelFilled
    const lfirst = ln < size ? 0 : this.labelHead
    const labelRing = {
      labels: [] as number[],
      probs: [] as number[],
      preds: [] as number[],
      times: [] as number[],
    }
    for (let i = 0; i < ln; i++) {
      const slot = (lfirst + i) % size
      labelRing.labels.push(this.labelRing.labels[slot]!)
      labelRing.probs.push(this.labelRing.probs[slot]!)
      labelRing.preds.push(this.labelRing.preds[slot]!)
      labelRing.times.push(this.labelRing.times[slot]!)
    }
    const detectors: Record<string, DetectorSnapshot> = {
      quality: this.qualityDetector.snapshot(),
      concept: this.conceptDetector.snapshot(),
      estimate: this.estimateDetector.snapshot(),
    }
    this.layout.driftSubjects.forEach((s, c) => {
      detectors[`psi:${s}`] = this.featureDetectors[c]!.snapshot()
    })
    return {
      seq: this.seq,
      labelSeq: this.labelSeq,
      ring: Buffer.from(ordered.buffer, ordered.byteOffset, ordered.byteLength).toString('base64'),
      times,
      probs,
      labelRing,
      tumbling: this.tumbling.map((t) => {
        const open = t.w.open
        return {
          widthMs: t.w.widthMs,
          start: open ? open.start : null,
          count: open ? open.count : 0,
          counts: open ? open.counts.map((c) => Array.from(c)) : [],
          late: t.late,
        }
      }),
      perfTumbling: this.perfTumbling.map((t) => ({
        widthMs: t.widthMs,
        bucket: t.bucket ? { ...t.bucket, labels: [...t.bucket.labels], probs: [...t.bucket.probs] } : null,
        late: t.late,
      })),
      detectors,
    }
  }

  /** Restores a snapshot into a FRESH monitor (same artifact and settings). */
  restore(s: VersionSnapshot): void {
    const cols = this.layout.columns
    const bytes = Buffer.from(s.ring, 'base64')
    const ordered = new Uint16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength))
    // Re-pushing the window's contents in order rebuilds both the counts and the ring exactly.
    // An older checkpoint has no probabilities: the estimate then counts those events as NaN
    // (left out) until they slide out of the window.
    for (let i = 0; i < s.times.length; i++)
      this.pushSliding(ordered.subarray(i * cols, i * cols + cols), s.times[i]!, s.probs?.[i] ?? Number.NaN)
    const lr = s.labelRing
    for (let i = 0; i < lr.labels.length; i++) {
      const h = this.labelHead
      this.labels.push(lr.labels[i] as 0 | 1, lr.probs[i]!, lr.preds[i] as 0 | 1)
      this.labelRing.labels[h] = lr.labels[i]!
      this.labelRing.probs[h] = lr.probs[i]!
      this.labelRing.preds[h] = lr.preds[i]!
      this.labelRing.times[h] = lr.times[i]!
      this.labelHead = h + 1 === this.labels.size ? 0 : h + 1
      if (this.labelFilled < this.labels.size) this.labelFilled++
    }
    s.tumbling.forEach((ts, i) => {
      const t = this.tumbling[i]
      if (!t || t.w.widthMs !== ts.widthMs) return // configuration changed: start that width afresh
      t.late = ts.late
      if (ts.start === null) return
      // Counts per column each sum to `count`, so `count` synthetic events whose slot in column c
      // enumerates column c's counts reproduce the open window exactly.
      const cursor = ts.counts.map(() => ({ slot: 0, used: 0 }))
      const vec = new Uint16Array(cols)
      for (let e = 0; e < ts.count; e++) {
        ts.counts.forEach((counts, c) => {
          const cur = cursor[c]!
          while (cur.used >= counts[cur.slot]!) {
            cur.slot++
            cur.used = 0
          }
          vec[c] = cur.slot
          cur.used++
        })
        t.w.push(ts.start, vec)
      }
    })
    s.perfTumbling.forEach((ps, i) => {
      const t = this.perfTumbling[i]
      if (!t || t.widthMs !== ps.widthMs) return
      t.bucket = ps.bucket
        ? { ...ps.bucket, labels: [...ps.bucket.labels], probs: [...ps.bucket.probs] }
        : null
      t.late = ps.late
    })
    for (const [key, snap] of Object.entries(s.detectors)) {
      if (key === 'quality') this.qualityDetector.restore(snap)
      else if (key === 'concept') this.conceptDetector.restore(snap)
      else if (key === 'estimate') this.estimateDetector.restore(snap)
      else {
        const c = this.layout.driftSubjects.indexOf(key.slice('psi:'.length))
        if (c >= 0) this.featureDetectors[c]!.restore(snap)
      }
    }
    this.seq = s.seq
    this.labelSeq = s.labelSeq
  }
}
