/**
 * Data-drift statistics in the Evidently style: each statistic is a small descriptor (name,
 * description, default threshold) plus a pure function over a reference distribution and the
 * current window's bin counts, registered by name so configuration can pick one by string.
 *
 * All statistics take `counts` with `edges.length + 2` entries: the value bins of the
 * reference grid, then the missing-value slot (see reference.ts).
 *
 * What the monitors report (the decision):
 *   - PSI on the 10-decile grid (`DRIFT_GRID_BINS.psi`). It is the headline number because its
 *     bands (0.1 / 0.25) are the industry convention and are calibrated for ~10 bins; on a
 *     finer grid a window of a few hundred events leaves bins nearly empty and PSI is
 *     inflated by sampling noise alone (≈ (bins − 1) / windowSize for no drift at all).
 *   - KS on a finer 50-quantile grid (`DRIFT_GRID_BINS.ks`), stored as a second reference in
 *     the artifact. PSI cannot see a change of shape INSIDE a decile (e.g. values piling up at
 *     the top of a bin) and a fine PSI grid is too noisy; KS is cumulative, so sparse bins do
 *     not blow it up, and 50 bins resolve the CDF to ~2% of the reference mass. KS also
 *     answers "how far apart are the CDFs", which reads naturally next to PSI.
 *   - JS is registered (same grid as PSI, bounded in [0, 1], symmetric, finite without any
 *     smoothing) for ad-hoc use and comparison with Evidently reports, but is not reported by
 *     default: on the same grid it carries nearly the same information as PSI.
 *   Missing values: PSI and JS include the missing slot (a jump in "not measured" is drift);
 *   KS only compares the measured values, so the missing share is not double counted.
 */

import { RiskStreamError } from '../errors/index.ts'
import type { ReferenceDistribution } from './reference.ts'

export type DriftStatisticName = 'psi' | 'js' | 'ks'

export interface DriftStatistic {
  name: DriftStatisticName
  description: string
  /** value at which drift is flagged by default */
  defaultThreshold: number
  /** NaN when the window is empty (no verdict possible). */
  compute(ref: ReferenceDistribution, counts: ArrayLike<number>): number
}

/** Reference grid size (requested bins) each statistic is meant to be evaluated on. */
export const DRIFT_GRID_BINS = { psi: 10, js: 10, ks: 50 } as const satisfies Record<
  DriftStatisticName,
  number
>

/** The statistics the monitors report per feature, in display order (see the header for why). */
export const MONITOR_STATISTICS: readonly DriftStatisticName[] = ['psi', 'ks']

/**
 * Floor applied to every share before PSI's log ratio. An empty bin (share 0) would make
 * ln(a/e) infinite; flooring at 1e-4 keeps PSI finite while still heavily penalising mass
 * appearing where the reference had none (a 5% share into an empty bin adds ≈ 0.31).
 * Evidently replaces exact zeros with 0.0001 (get_binned_data); `max(share, eps)` agrees
 * with that except for shares in (0, 1e-4), i.e. below one event in ten thousand.
 */
export const PSI_EPSILON = 1e-4

/** PSI = Σ (a − e)·ln(a / e) with both shares floored at `eps`. Vectors must have equal length. */
export function psiFromShares(expected: number[], actual: number[], eps = PSI_EPSILON): number {
  if (expected.length !== actual.length) {
    throw new RiskStreamError(
      'INTERNAL',
      `psi: ${expected.length} expected vs ${actual.length} actual shares`,
    )
  }
  let sum = 0
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(expected[i]!, eps)
    const a = Math.max(actual[i]!, eps)
    sum += (a - e) * Math.log(a / e)
  }
  return sum
}

function checkCounts(ref: ReferenceDistribution, counts: ArrayLike<number>, stat: string): number {
  if (counts.length !== ref.edges.length + 2) {
    throw new RiskStreamError(
      'INTERNAL',
      `${stat}: expected ${ref.edges.length + 2} count slots (bins + missing), got ${counts.length}`,
    )
  }
  let total = 0
  for (let i = 0; i < counts.length; i++) total += counts[i]!
  return total
}

const psi: DriftStatistic = {
  name: 'psi',
  description:
    'Population Stability Index over the reference decile bins plus the missing slot; <0.1 stable, 0.1–0.25 moderate, >0.25 significant shift',
  defaultThreshold: 0.25,
  compute(ref, counts) {
    const total = checkCounts(ref, counts, 'psi')
    if (total === 0) return Number.NaN
    // Inline psiFromShares to avoid allocating two arrays per evaluation (hot path in monitors).
    let sum = 0
    const k = ref.shares.length
    for (let i = 0; i <= k; i++) {
      const e = Math.max(i < k ? ref.shares[i]! : ref.missingShare, PSI_EPSILON)
      const a = Math.max(counts[i]! / total, PSI_EPSILON)
      sum += (a - e) * Math.log(a / e)
    }
    return sum
  },
}

const js: DriftStatistic = {
  name: 'js',
  description:
    'Jensen–Shannon distance (sqrt of the base-2 divergence, in [0, 1]) over the reference bins plus the missing slot',
  // Evidently's default for its "jensenshannon" test.
  defaultThreshold: 0.1,
  compute(ref, counts) {
    const total = checkCounts(ref, counts, 'js')
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
}

const ks: DriftStatistic = {
  name: 'ks',
  description:
    'Two-sample Kolmogorov–Smirnov statistic of the measured values, approximated on the reference grid (max CDF gap at the bin edges)',
  // ≈ the 5% critical value for a 250-event window against a ~768-row reference:
  // 1.36·sqrt((n + m) / (n·m)) ≈ 0.099.
  defaultThreshold: 0.1,
  /**
   * APPROXIMATION: the exact KS statistic is the sup over all x; we only see the CDFs at the
   * reference edges, so this is a lower bound that can miss a gap inside a bin (hence the
   * finer 50-quantile grid for KS). Missing values are excluded and both non-missing masses
   * renormalised to 1. NaN if either side has no measured values.
   */
  compute(ref, counts) {
    checkCounts(ref, counts, 'ks')
    const k = ref.shares.length
    let refMass = 0
    let winMass = 0
    for (let i = 0; i < k; i++) {
      refMass += ref.shares[i]!
      winMass += counts[i]!
    }
    if (refMass <= 0 || winMass === 0) return Number.NaN
    let refCdf = 0
    let winCdf = 0
    let max = 0
    // Boundaries are the k − 1 edges; the CDFs both reach 1 after the last bin.
    for (let i = 0; i < k - 1; i++) {
      refCdf += ref.shares[i]! / refMass
      winCdf += counts[i]! / winMass
      max = Math.max(max, Math.abs(refCdf - winCdf))
    }
    return max
  },
}

export const DRIFT_STATISTICS: Readonly<Record<DriftStatisticName, DriftStatistic>> = { psi, js, ks }

export function getDriftStatistic(name: string): DriftStatistic {
  if (!Object.hasOwn(DRIFT_STATISTICS, name)) {
    throw new RiskStreamError('CONFIG_INVALID', `unknown drift statistic "${name}"`, {
      details: { known: Object.keys(DRIFT_STATISTICS) },
    })
  }
  return DRIFT_STATISTICS[name as DriftStatisticName]
}

export type PsiBand = 'none' | 'moderate' | 'significant'

/** Conventional PSI bands: < 0.1 none, 0.1–0.25 moderate, > 0.25 significant. NaN (empty window) → 'none'. */
export function psiBand(value: number): PsiBand {
  if (!(value >= 0.1)) return 'none'
  return value > 0.25 ? 'significant' : 'moderate'
}
