/**
 * The data-quality rule of one model version: a window's quality score is the largest, over
 * features, of (missing rate − the reference's missing share) and the out-of-range share, through
 * the same hysteresis as drift: 10 points more "not measured" than in training, or 10% of values
 * outside the physiological bounds, for K consecutive windows. Both are far outside sampling
 * noise for windows of ≥ 200 events (the noisiest feature, insulin at 49% missing, has a standard
 * error of 3.5 points).
 */
import { FEATURES } from '../../../../lib/features/index.ts'
import { type DetectorSnapshot, HysteresisDetector } from '../../../../lib/stats/index.ts'
import { N_FEATURES } from '../../drift/columns.ts'
import type { WindowStats } from '../../drift/evaluate.ts'
import type { VersionOutput, WindowRef } from '../output.ts'
import type { DriftSettings } from './settings.ts'

export const QUALITY_THRESHOLD = 0.1
export const QUALITY_CLEAR = 0.05

export class QualityRule {
  private readonly detector: HysteresisDetector

  constructor(private readonly drift: DriftSettings) {
    this.detector = new HysteresisDetector({
      threshold: QUALITY_THRESHOLD,
      clearThreshold: QUALITY_CLEAR,
      consecutive: drift.consecutiveWindows,
      minWindow: drift.minWindow,
    })
  }

  /** Missing rate and out-of-range count per feature, and the window's volume. */
  windowRows(s: WindowStats, w: WindowRef, out: VersionOutput): void {
    for (let f = 0; f < N_FEATURES; f++) {
      out.finite('quality', w, FEATURES[f]!, 'missing_rate', s.missingRate[f]!)
      out.finite('quality', w, FEATURES[f]!, 'out_of_range_count', s.outOfRangeCount[f]!)
    }
    out.finite('quality', w, '', 'volume', s.count)
  }

  evaluate(s: WindowStats, w: WindowRef, out: VersionOutput): void {
    let score = 0
    const offenders: string[] = []
    const scores: Record<string, number> = {}
    for (let f = 0; f < N_FEATURES; f++) {
      const excess = s.missingRate[f]! - s.refMissingShare[f]!
      const x = Math.max(excess, s.outOfRangeRate[f]!)
      if (x >= QUALITY_THRESHOLD) {
        offenders.push(FEATURES[f]!)
        scores[`missing_rate.${FEATURES[f]}`] = s.missingRate[f]!
        scores[`out_of_range_rate.${FEATURES[f]}`] = s.outOfRangeRate[f]!
      }
      score = Math.max(score, x)
    }
    const v = this.detector.update(score, s.count)
    if (!v.raised) return
    const evidence = {
      rule: `max over features of (missing rate − reference missing share, out-of-range share) >= ${QUALITY_THRESHOLD} for ${this.drift.consecutiveWindows} consecutive windows`,
      missingRate: Object.fromEntries(FEATURES.map((f, i) => [f, s.missingRate[i]])),
      referenceMissingShare: Object.fromEntries(FEATURES.map((f, i) => [f, s.refMissingShare[i]])),
      outOfRangeCount: Object.fromEntries(FEATURES.map((f, i) => [f, s.outOfRangeCount[i]])),
      score,
      window: w,
    }
    out.event(
      'data_quality',
      score >= 2 * QUALITY_THRESHOLD ? 'significant' : 'moderate',
      w,
      offenders,
      scores,
      evidence,
    )
  }

  snapshot(): DetectorSnapshot {
    return this.detector.snapshot()
  }

  restore(snap: DetectorSnapshot): void {
    this.detector.restore(snap)
  }
}
