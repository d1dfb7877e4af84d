/**
 * Two-sample KS on the fine 50-quantile grid. PSI cannot see a change of shape INSIDE a decile
 * (values piling up at the top of a bin) and a fine PSI grid is too noisy; KS is cumulative, so
 * sparse bins do not blow it up, and 50 bins resolve the CDF to ~2% of the reference mass.
 * Missing values are left out (PSI already counts them).
 */
import { type DriftStatistic, visitCdfGaps } from '../drift.ts'

export const ks: DriftStatistic = {
  name: 'ks',
  grid: 'fine',
  /**
   * APPROXIMATION: the exact KS statistic is the sup over all x; we only see the CDFs at the
   * reference edges, so this is a lower bound that can miss a gap inside a bin. Both non-missing
   * masses are renormalised to 1. NaN if either side has no measured values.
   */
  compute(ref, counts) {
    let max = 0
    const refMass = visitCdfGaps(ref, counts, 'ks', (_, gap) => {
      max = Math.max(max, gap)
    })
    return Number.isNaN(refMass) ? Number.NaN : max
  },
  display: {
    label: 'KS',
    description:
      'Two-sample Kolmogorov–Smirnov statistic of the measured values, approximated on the reference grid (max CDF gap at the bin edges)',
    digits: 3,
  },
  // ≈ the 5% critical value for a 250-event window against a ~768-row reference:
  // 1.36·sqrt((n + m) / (n·m)) ≈ 0.099.
  reportThreshold: 0.1,
}
