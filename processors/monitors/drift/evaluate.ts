/**
 * Turns a window's slot counts into the numbers we store: per drift subject every monitored
 * statistic of the registry (lib/stats/statistics, each on its grid; never recomputed here), and
 * per feature the missing rate and out-of-range share. Pure; O(columns × bins × statistics).
 */
import { MONITOR_STATISTICS } from '../../../lib/stats/index.ts'
import { type ColumnLayout, N_FEATURES, OOR_BASE } from './columns.ts'

export interface WindowStats {
  count: number
  /** Per monitored statistic (by name), per drift subject (8 features + probability). NaN for an empty window. */
  drift: Record<string, number[]>
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
  const drift: Record<string, number[]> = {}
  for (const stat of MONITOR_STATISTICS) {
    const grid = layout.grids[stat.grid]
    const values: number[] = []
    for (let c = 0; c < layout.refs.length; c++)
      values.push(stat.compute(grid.refs[c]!, counts[grid.cols[c]!]!))
    drift[stat.name] = values
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
  return { count, drift, missingRate, refMissingShare, outOfRangeRate, outOfRangeCount }
}
