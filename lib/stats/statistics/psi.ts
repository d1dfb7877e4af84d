/**
 * PSI on the 10-decile grid: the statistic the monitors alarm on. Its bands (0.1 / 0.25) are the
 * industry convention and are meant for ~10 bins; on a finer grid a window of a few hundred
 * events leaves bins nearly empty and PSI is inflated by sampling noise alone (≈ (bins − 1) /
 * windowSize with no drift). The alarm threshold is not a band: it is calibrated per subject and
 * window size from PSI's two-sample null (drift-null.ts). The missing slot is included (a jump in
 * "not measured" is drift).
 */

import { type DriftStatistic, PSI_EPSILON, slotTotal } from '../drift.ts'
import { CLEAR_ALPHA, PsiAlarmThresholds, psiNullSurvival } from '../drift-null.ts'

/** PSI's conventional reading guide (not its alarm threshold, which is calibrated). */
export const PSI_BANDS = Object.freeze({ moderate: 0.1, significant: 0.25 })

export const psi: DriftStatistic = {
  name: 'psi',
  grid: 'coarse',
  compute(ref, counts) {
    const total = slotTotal(ref, counts, 'psi')
    if (total === 0) return Number.NaN
    // psiFromShares inlined: no two arrays allocated per evaluation (hot path in the monitors).
    let sum = 0
    const k = ref.shares.length
    for (let i = 0; i <= k; i++) {
      const e = Math.max(i < k ? ref.shares[i]! : ref.missingShare, PSI_EPSILON)
      const a = Math.max(counts[i]! / total, PSI_EPSILON)
      sum += (a - e) * Math.log(a / e)
    }
    return sum
  },
  display: {
    label: 'PSI',
    description:
      'Population Stability Index over the reference decile bins plus the missing slot; <0.1 stable, 0.1–0.25 moderate, >0.25 significant shift',
    digits: 3,
    bands: PSI_BANDS,
  },
  reportThreshold: 0.25,
  alarm: {
    thresholds: (refs, budget) => new PsiAlarmThresholds(refs, budget),
    survival: psiNullSurvival,
    clearAlpha: CLEAR_ALPHA,
  },
}
