/**
 * Jensen–Shannon distance on PSI's grid: bounded in [0, 1], symmetric, finite without smoothing.
 * Registered for the ad-hoc report and comparison with Evidently; the monitors do not evaluate it
 * (MONITOR_STATISTICS in registry.ts): on the same grid it carries nearly the same information as PSI.
 */
import { type DriftStatistic, slotTotal } from '../drift.ts'

export const js: DriftStatistic = {
  name: 'js',
  grid: 'coarse',
  compute(ref, counts) {
    const total = slotTotal(ref, counts, 'js')
    if (total === 0) return Number.NaN
    const k = ref.shares.length
    let div = 0
    for (let i = 0; i <= k; i++) {
      const p = i < k ? ref.shares[i]! : ref.missingShare
      const q = counts[i]! / total
      const m = (p + q) / 2
      // 0·log 0 = 0; m > 0 whenever p or q is, so no smoothing is needed.
      if (p > 0) div += 0.5 * p * Math.log2(p / m)
      if (q > 0) div += 0.5 * q * Math.log2(q / m)
    }
    // Rounding can leave a tiny negative divergence for identical distributions.
    return Math.sqrt(Math.max(div, 0))
  },
  display: {
    label: 'JS',
    description:
      'Jensen–Shannon distance (sqrt of the base-2 divergence, in [0, 1]) over the reference bins plus the missing slot',
    digits: 3,
  },
  // Evidently's default for its "jensenshannon" test.
  reportThreshold: 0.1,
}
