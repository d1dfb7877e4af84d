/**
 * Reference distributions for drift monitoring: the trainer builds one per feature (and one for
 * the model's score) from the TRAINING data and stores it in the artifact; the monitors bin live
 * events on these frozen edges. Edges are never recomputed from live data: a window binned on
 * its own quantiles always looks uniform (tests/lib/stats/drift-pima.test.ts).
 */

import { RiskStreamError } from '../errors/index.ts'
import { calibratePsiNull, type PsiNullModel } from './drift-null.ts'

export interface ReferenceDistribution {
  /** Interior cut points, strictly increasing (deduplicated training quantiles). */
  edges: number[]
  /** Training share of each of the edges.length + 1 value bins; sums to 1 − missingShare. */
  shares: number[]
  /** Training share of missing values (null / NaN). */
  missingShare: number
  /** Number of training values the reference was built from, missing ones included. */
  n: number
  /**
   * PSI's sampling distribution under no drift for this reference, per window size
   * (drift-null.ts), computed at training time. Absent in older artifacts: the monitors then
   * use the analytic approximation.
   */
  psiNull?: PsiNullModel
}

function isMissing(x: number | null | undefined): boolean {
  return x === null || x === undefined || Number.isNaN(x)
}

/**
 * Type-1 (inverted CDF) quantile at p = j / bins of an ascending, non-empty array (numpy
 * `method="inverted_cdf"`): Q(p) = v_{⌈m·p⌉ − 1}, the smallest observed value whose empirical
 * CDF reaches p. An observed value rather than an interpolated one (numpy's default type 7), so
 * every edge is a real training value and, with the lower-bin rule of binIndex, no interior bin
 * is empty in training; a cut point such as 0.4 on integer-valued Pregnancies would make a bin
 * no value can fall into.
 */
function quantileSorted(sorted: Float64Array, j: number, bins: number): number {
  // Integer arithmetic: m·j is exact, so ⌈m·j / bins⌉ has no floating-point surprises.
  const rank = Math.ceil((sorted.length * j) / bins)
  return sorted[Math.max(rank - 1, 0)]!
}

/**
 * Builds the reference for one feature from its training values. With `psiNull`, also the
 * calibration of its PSI alarm threshold (drift-null.ts). `bins` value bins are
 * requested; ties can leave fewer: on discrete or heavily tied features (Pregnancies, Insulin)
 * quantiles coincide and are deduplicated, so the feature gets fewer, wider bins and a repeated
 * value owns its whole mass in one bin. Only the top bin can be empty in training (when ≥ 1/bins
 * of the mass sits at the maximum); live values above the maximum land there. Throws CONFIG_INVALID for bins < 1 and
 * DATASET_INVALID for an empty input.
 */
export function buildReference(
  values: ArrayLike<number | null>,
  bins = 10,
  opts: { psiNull?: boolean } = {},
): ReferenceDistribution {
  if (!Number.isInteger(bins) || bins < 1) {
    throw new RiskStreamError('CONFIG_INVALID', `reference bins must be a positive integer, got ${bins}`)
  }
  const n = values.length
  if (n === 0)
    throw new RiskStreamError('DATASET_INVALID', 'cannot build a reference distribution from no values')

  const present: number[] = []
  for (let i = 0; i < n; i++) {
    const x = values[i]
    if (!isMissing(x)) present.push(x as number)
  }
  const sorted = Float64Array.from(present).sort()
  const edges: number[] = []
  if (sorted.length > 0) {
    for (let j = 1; j < bins; j++) {
      const q = quantileSorted(sorted, j, bins)
      if (edges.length === 0 || q > edges[edges.length - 1]!) edges.push(q)
    }
  }

  const counts = binCounts(edges, values)
  const shares = Array.from(counts.subarray(0, edges.length + 1), (c) => c / n)
  const ref: ReferenceDistribution = { edges, shares, missingShare: counts[edges.length + 1]! / n, n }
  // The alarm threshold's null distribution (drift-null.ts), for references PSI alarms on.
  if (opts.psiNull) ref.psiNull = calibratePsiNull(ref)
  return ref
}

/**
 * Bin slot of a value: edges e_0 < … < e_{k-1} give k + 1 value bins with OPEN outer bins,
 * bin 0 = (−∞, e_0], bin i = (e_{i-1}, e_i], bin k = (e_{k-1}, +∞), so live values outside the
 * training range still land in the outermost bins; slot k + 1 holds missing values (null/NaN).
 * A value equal to an edge goes in the LOWER bin (binary search for the first edge ≥ x).
 */
export function binIndex(edges: number[], x: number | null): number {
  if (isMissing(x)) return edges.length + 1
  let lo = 0
  let hi = edges.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (edges[mid]! < (x as number)) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Number of count slots a window needs for this reference: the value bins plus the missing slot. */
export function binSlots(ref: Pick<ReferenceDistribution, 'edges'>): number {
  return ref.edges.length + 2
}

/** Counts of values per slot (edges.length + 2 entries, last one = missing). */
export function binCounts(edges: number[], values: ArrayLike<number | null>): Uint32Array {
  const counts = new Uint32Array(edges.length + 2)
  for (let i = 0; i < values.length; i++) counts[binIndex(edges, values[i] ?? null)]!++
  return counts
}
