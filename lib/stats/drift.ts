/**
 * What a drift statistic is (the `DriftStatistic` contract every file in statistics/ fills in)
 * and the small math they share. The registry itself is statistics/registry.ts; adding a statistic
 * is one file there plus its registration (docs/architecture.md, "Where to add a statistic").
 *
 * All statistics take `counts` with `edges.length + 2` entries: the value bins of the
 * reference grid, then the missing-value slot (see reference.ts).
 */

import { RiskStreamError } from '../errors/index.ts'
import type { AlarmBounds, AlarmBudget } from './drift-null.ts'
import type { ReferenceDistribution } from './reference.ts'

/**
 * The reference grids an artifact carries: `coarse` = the deciles every reference has (PSI's
 * bands are calibrated for ~10 bins), `fine` = 50 quantile bins (`reference.fine`; absent in
 * older artifacts, where a fine-grid statistic falls back to the deciles).
 */
export const GRID_BINS = { coarse: 10, fine: 50 } as const
export type DriftGrid = keyof typeof GRID_BINS

/** Per-subject alarm bounds at a window size, derived from the statistic's null distribution. */
export interface AlarmThresholds {
  /** False-alarm probability per subject and evaluation the bounds are derived for. */
  readonly alpha: number
  at(subject: number, windowSize: number): AlarmBounds
}

/**
 * How an ALARM statistic obtains its thresholds: from its sampling distribution under no drift
 * against each subject's reference (drift-null.ts for PSI), for a false-alarm budget.
 */
export interface DriftAlarm {
  thresholds(refs: readonly ReferenceDistribution[], budget: AlarmBudget): AlarmThresholds
  /** P(statistic ≥ value) under no drift: the p-value reported in a drift event's evidence. */
  survival(ref: ReferenceDistribution, windowSize: number, value: number): number
  /** Level of the clear point (an alert clears under the null's 1 − clearAlpha quantile). */
  clearAlpha: number
}

export interface DriftStatistic {
  /** Name in window rows (`metric`), in the API and in drift events' evidence. */
  name: string
  /** The reference grid the monitors evaluate it on (its state: one count column per subject). */
  grid: DriftGrid
  /** NaN when the window is empty (no verdict possible). Pure. */
  compute(ref: ReferenceDistribution, counts: ArrayLike<number>): number
  display: {
    label: string
    description: string
    digits: number
    /**
     * A conventional reading guide for reports (never the monitors' alarm): the value from which
     * the shift is read as moderate / significant.
     */
    bands?: { moderate: number; significant: number }
  }
  /**
   * The value the ad-hoc drift report (lib/report) flags when the monitors have no calibrated
   * threshold for the subject: a convention, not an alarm.
   */
  reportThreshold: number
  /** Present on the statistic the monitors alarm on (its detectors, thresholds and events). */
  alarm?: DriftAlarm
}

/** Counts must have one slot per value bin plus the missing slot; returns their total. */
export function slotTotal(ref: ReferenceDistribution, counts: ArrayLike<number>, stat: string): number {
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

/**
 * Walks the CDFs of the reference and of the window's measured values (the missing slot left
 * out, both masses renormalised to 1) across the k − 1 boundaries between the k value bins:
 * `visit(i, gap)` with gap = |F_ref − F_win| after bin i. The CDFs both reach 1 after the last
 * bin. Returns the reference's measured mass, or NaN (nothing visited) when either side has no
 * measured value. Checks the slot count as slotTotal does.
 */
export function visitCdfGaps(
  ref: ReferenceDistribution,
  counts: ArrayLike<number>,
  stat: string,
  visit: (i: number, gap: number) => void,
): number {
  slotTotal(ref, counts, stat)
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
  for (let i = 0; i < k - 1; i++) {
    refCdf += ref.shares[i]! / refMass
    winCdf += counts[i]! / winMass
    visit(i, Math.abs(refCdf - winCdf))
  }
  return refMass
}

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

export type DriftBand = 'none' | 'moderate' | 'significant'

/** A value's band in the statistic's reading guide; NaN (empty window) or no guide → 'none'. */
export function bandOf(stat: Pick<DriftStatistic, 'display'>, value: number): DriftBand {
  const b = stat.display.bands
  if (!b || !(value >= b.moderate)) return 'none'
  return value > b.significant ? 'significant' : 'moderate'
}
