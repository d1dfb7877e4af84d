/**
 * Performance before the labels (confidence-based performance estimation, CBPE): with
 * calibrated probabilities, an event served with probability p at threshold t is correct with
 * probability p when p ≥ t (predicted positive) and 1 − p otherwise, so the window's expected
 * confusion matrix is a sum of p's, and the expected ROC-AUC a sum over pairs of events
 * (lib/stats/cbpe.ts). Rows under monitor 'estimate' beside the realised
 * 'performance' windows (which need labels). Blind to concept drift by construction: it trusts
 * the probabilities. Summed oldest → newest, so a restored window gives the same bits.
 */
import {
  type DetectorSnapshot,
  DropDetector,
  estimatedRocAuc,
  type SlidingSeries,
} from '../../../../lib/stats/index.ts'
import type { MonitoredArtifact } from '../../drift/columns.ts'
import { STATE_CODE, type VersionOutput, type WindowRef } from '../output.ts'
import type { DriftSettings } from './settings.ts'

export class EstimateRule {
  /** The concept-drift rule applied to the ESTIMATED accuracy (no labels needed). */
  private readonly detector: DropDetector
  /** The window's usable probabilities, for the ROC-AUC estimate (reused across evaluations). */
  private readonly scratch: Float64Array

  constructor(
    private readonly artifact: MonitoredArtifact,
    private readonly drift: DriftSettings,
  ) {
    this.detector = new DropDetector({
      dropThreshold: drift.conceptDropThreshold,
      clearDrop: drift.conceptDropThreshold / 2,
      consecutive: drift.consecutiveWindows,
      minWindow: drift.minWindow,
    })
    this.scratch = new Float64Array(drift.window)
  }

  /** `probs`: the served probabilities of the sliding window's events; `w.windowSize` is replaced by the usable ones. */
  evaluate(probs: SlidingSeries, window: Omit<WindowRef, 'windowSize'>, out: VersionOutput): void {
    const t = this.artifact.threshold
    let tp = 0
    let fp = 0
    let fn = 0
    let tn = 0
    let m = 0
    for (let i = 0; i < probs.count; i++) {
      const p = probs.at(i)
      if (!(p >= 0 && p <= 1)) continue
      this.scratch[m] = p
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
    const w: WindowRef = { ...window, windowSize: m }
    const f1 = 2 * tp + fp + fn > 0 ? (2 * tp) / (2 * tp + fp + fn) : Number.NaN
    const expected = this.artifact.metrics.accuracy
    out.finite('estimate', w, '', 'estimated_accuracy', (tp + tn) / m)
    out.finite('estimate', w, '', 'estimated_f1', f1)
    out.finite('estimate', w, '', 'estimated_roc_auc', estimatedRocAuc(this.scratch.subarray(0, m)))
    out.finite('estimate', w, '', 'estimated_prevalence', (tp + fn) / m)
    out.finite('estimate', w, '', 'expected_accuracy', expected)

    // The concept-drift rule on the estimate: an early warning, flagged as estimated. It raises
    // its own kind, which the trainer does not treat as a retrain trigger.
    const v = this.detector.update((tp + tn) / m, expected, m)
    out.row('estimate', w, '', 'estimate_state', STATE_CODE[v.state])
    if (!v.raised) return
    const scores = {
      estimated_accuracy: (tp + tn) / m,
      expected_accuracy: expected,
      estimated_accuracy_drop: v.drop,
      ...(Number.isFinite(f1) ? { estimated_f1: f1 } : {}),
    }
    out.event(
      'estimated_performance_drop',
      v.drop >= 2 * this.drift.conceptDropThreshold ? 'significant' : 'moderate',
      w,
      [],
      scores,
      {
        estimated: true,
        rule: `validation accuracy − accuracy ESTIMATED from the served probabilities (CBPE) >= ${this.drift.conceptDropThreshold}, ${this.drift.consecutiveWindows} consecutive windows; no labels used, blind to concept drift`,
        estimatedConfusion: { tp, fp, fn, tn },
        window: w,
      },
    )
  }

  snapshot(): DetectorSnapshot {
    return this.detector.snapshot()
  }

  restore(snap: DetectorSnapshot): void {
    this.detector.restore(snap)
  }
}
