/**
 * Turns a window's slot counts into the numbers we store: per drift column PSI and KS against
 * the reference (lib/stats — never recomputed here), and per feature the missing rate and
 * out-of-range share. Pure; O(columns × bins).
 */
import { getDriftStatistic } from '../../../lib/stats/index.ts'
import { type ColumnLayout, N_FEATURES, OOR_BASE } from './columns.ts'

const PSI = getDriftStatistic('psi')
/**
 * The companion statistic lib/stats documents for the monitors (MONITOR_STATISTICS = psi, ks),
 * on the 50-bin grid when the artifact carries it (layout.ksCols/ksRefs, see columns.ts), else
 * on the PSI deciles: a lower bound of the exact KS (see lib/stats/drift.ts).
 */
const KS = getDriftStatistic('ks')

export interface WindowStats {
  count: number
  /** Per drift column (8 features + probability). NaN for an empty window. */
  psi: number[]
  ks: number[]
  /** Per feature: missing count / count; reference missing share kept for the quality rule. */
  missingRate: number[]
  refMissingShare: number[]
  /** Per feature: out-of-range count / count. */
  outOfRangeRate: number[]
  outOfRangeCount: number[]
}

export function evaluateCounts(
  layout: ColumnLayout,
  counts: ArrayLike<number>[],
  count: number,
): WindowStats {
  const psi: number[] = []
  const ks: number[] = []
  for (let c = 0; c < layout.refs.length; c++) {
    psi.push(PSI.compute(layout.refs[c]!, counts[c]!))
    ks.push(KS.compute(layout.ksRefs[c]!, counts[layout.ksCols[c]!]!))
  }
  const missingRate: number[] = []
  const refMissingShare: number[] = []
  const outOfRangeRate: number[] = []
  const outOfRangeCount: number[] = []
  for (let f = 0; f < N_FEATURES; f++) {
    const ref = layout.refs[f]!
    const missing = counts[f]![ref.edges.length + 1]!
    missingRate.push(count === 0 ? 0 : missing / count)
    refMissingShare.push(ref.missingShare)
    const oor = counts[OOR_BASE + f]![1]!
    outOfRangeCount.push(oor)
    outOfRangeRate.push(count === 0 ? 0 : oor / count)
  }
  return { count, psi, ks, missingRate, refMissingShare, outOfRangeRate, outOfRangeCount }
}
