/**
 * Incremental detectors (River style: `update(x)` returns a verdict) that turn a noisy stream
 * of window scores into alerts that neither flap nor fire on one unlucky window.
 */

import { RiskStreamError } from '../errors/index.ts'

export type DetectorState = 'ok' | 'pending' | 'alert'

export interface DetectorVerdict {
  state: DetectorState
  /** The state differs from before this update. */
  changed: boolean
  /** This update raised the alert. */
  raised: boolean
  /** This update cleared the alert. */
  cleared: boolean
}

export interface HysteresisOptions {
  threshold: number
  clearThreshold: number
  consecutive: number
  minWindow: number
}

/** Plain-JSON state for persistence across restarts (options are not included: config may change). */
export interface DetectorSnapshot {
  state: DetectorState
  streak: number
}

/**
 * Raises an alert after `consecutive` scored windows in a row at or above `threshold` (a window
 * below it before that resets the streak), and clears it only when a score falls below
 * `clearThreshold` (≤ threshold); scores in between keep it raised: that gap is the hysteresis.
 * A window smaller than `minWindow`, or a NaN score, gives no verdict and leaves the streak
 * untouched (a half-empty window after a restart should neither raise nor reset anything).
 * `update` may pass the bounds for this score (calibrated thresholds depend on the window's
 * size, see drift-null.ts); otherwise the constructor's bounds apply.
 */
export class HysteresisDetector {
  readonly opts: Readonly<HysteresisOptions>
  private state: DetectorState = 'ok'
  private streak = 0

  constructor(opts: HysteresisOptions) {
    if (!(opts.clearThreshold <= opts.threshold)) {
      throw new RiskStreamError('CONFIG_INVALID', 'detector clearThreshold must be ≤ threshold')
    }
    if (!Number.isInteger(opts.consecutive) || opts.consecutive < 1) {
      throw new RiskStreamError('CONFIG_INVALID', 'detector consecutive must be a positive integer')
    }
    if (!(opts.minWindow >= 0)) throw new RiskStreamError('CONFIG_INVALID', 'detector minWindow must be ≥ 0')
    this.opts = { ...opts }
  }

  get current(): DetectorState {
    return this.state
  }

  update(
    score: number,
    windowSize: number,
    bounds?: { threshold: number; clearThreshold: number },
  ): DetectorVerdict {
    const before = this.state
    let raised = false
    let cleared = false
    const threshold = bounds?.threshold ?? this.opts.threshold
    const clearThreshold = Math.min(bounds?.clearThreshold ?? this.opts.clearThreshold, threshold)
    if (windowSize >= this.opts.minWindow && !Number.isNaN(score)) {
      if (this.state === 'alert') {
        if (score < clearThreshold) {
          this.state = 'ok'
          this.streak = 0
          cleared = true
        }
      } else if (score >= threshold) {
        this.streak++
        if (this.streak >= this.opts.consecutive) {
          this.state = 'alert'
          raised = true
        } else {
          this.state = 'pending'
        }
      } else {
        this.streak = 0
        this.state = 'ok'
      }
    }
    return { state: this.state, changed: this.state !== before, raised, cleared }
  }

  reset(): void {
    this.state = 'ok'
    this.streak = 0
  }

  snapshot(): DetectorSnapshot {
    return { state: this.state, streak: this.streak }
  }

  restore(snap: DetectorSnapshot): void {
    const ok =
      snap !== null &&
      typeof snap === 'object' &&
      (snap.state === 'ok' || snap.state === 'pending' || snap.state === 'alert') &&
      Number.isInteger(snap.streak) &&
      snap.streak >= 0
    if (!ok) throw new RiskStreamError('VALIDATION_FAILED', 'detector snapshot is malformed')
    this.state = snap.state
    this.streak = snap.streak
  }
}

export interface DropDetectorOptions {
  /** Alert when expected − value ≥ dropThreshold (e.g. 0.05 = five points of F1 below the gate value). */
  dropThreshold: number
  /** Clear when the drop falls below this (≤ dropThreshold). */
  clearDrop: number
  consecutive: number
  minWindow: number
}

/**
 * Concept-drift detector: a HysteresisDetector on the drop of a metric (e.g. rolling F1 on
 * labelled feedback) below the value expected from the model's evaluation.
 */
export class DropDetector {
  private readonly inner: HysteresisDetector

  constructor(opts: DropDetectorOptions) {
    this.inner = new HysteresisDetector({
      threshold: opts.dropThreshold,
      clearThreshold: opts.clearDrop,
      consecutive: opts.consecutive,
      minWindow: opts.minWindow,
    })
  }

  get current(): DetectorState {
    return this.inner.current
  }

  /** `windowSize` defaults to "large enough", for callers that gate on window size themselves. */
  update(
    metricValue: number,
    expected: number,
    windowSize = Number.POSITIVE_INFINITY,
  ): DetectorVerdict & { drop: number } {
    const drop = expected - metricValue
    return { ...this.inner.update(drop, windowSize), drop }
  }

  reset(): void {
    this.inner.reset()
  }

  snapshot(): DetectorSnapshot {
    return this.inner.snapshot()
  }

  restore(snap: DetectorSnapshot): void {
    this.inner.restore(snap)
  }
}
