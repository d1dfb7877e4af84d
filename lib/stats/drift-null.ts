/**
 * Calibrated PSI alarm thresholds: the sampling distribution of PSI when nothing has drifted,
 * calibrated by the trainer per reference (`calibratePsiNull`), turned into a per-subject
 * threshold and p-value by the monitors (`PsiAlarmThresholds`, `psiNullSurvival`) within a
 * false-alarm budget per million events (`perTestAlpha`).
 */

import { RiskStreamError } from '../errors/index.ts'
import { PSI_EPSILON } from './drift.ts'
import type { ReferenceDistribution } from './reference.ts'

/** What the trainer stores per reference: bootstrap moments of PSI under no drift, per window size. */
export interface PsiNullModel {
  method: 'two-sample-parametric-bootstrap'
  /** Training rows the reference was built from (m). */
  referenceN: number
  replicates: number
  seed: number
  /** Window sizes (events), ascending. */
  windows: number[]
  /** Mean, variance and skewness of PSI under no drift at each window size. */
  mean: number[]
  variance: number[]
  skewness?: number[]
}

/** Window sizes calibrated at training time (any other size is interpolated in 1/n). */
export const NULL_WINDOWS: readonly number[] = [50, 100, 250, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000]
export const NULL_REPLICATES = 10_000
export const NULL_SEED = 17

// ── special functions ─────────────────────────────────────────────────────────────────────

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; ~15 significant digits). */
export function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ]
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x)
  const z = x - 1
  let a = c[0]!
  const t = z + 7.5
  for (let i = 1; i < 9; i++) a += c[i]! / (z + i)
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a)
}

/**
 * ln Q(s, x), the log of the regularised UPPER incomplete gamma function, for s > 0, x ≥ 0.
 * Series for x < s + 1, continued fraction otherwise (Numerical Recipes gser / gcf); in log
 * space so tails of 1e-12 and below keep their precision.
 */
export function logGammaQ(s: number, x: number): number {
  if (!(s > 0) || !(x >= 0)) throw new RiskStreamError('INTERNAL', `logGammaQ: bad arguments s=${s} x=${x}`)
  if (x === 0) return 0
  const lead = s * Math.log(x) - x - logGamma(s)
  if (x < s + 1) {
    let sum = 1 / s
    let term = sum
    for (let k = 1; k < 10_000; k++) {
      term *= x / (s + k)
      sum += term
      if (term < sum * 1e-16) break
    }
    const p = Math.exp(lead) * sum
    return Math.log1p(-Math.min(p, 1))
  }
  // Lentz's continued fraction for Q.
  const tiny = 1e-300
  let b = x + 1 - s
  let c = 1 / tiny
  let d = 1 / b
  let h = d
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - s)
    b += 2
    d = an * d + b
    if (Math.abs(d) < tiny) d = tiny
    c = b + an / c
    if (Math.abs(c) < tiny) c = tiny
    d = 1 / d
    const del = d * c
    h *= del
    if (Math.abs(del - 1) < 1e-16) break
  }
  return lead + Math.log(h)
}

/** P(χ²(df) > x). */
export function chiSquareSurvival(x: number, df: number): number {
  if (x <= 0) return 1
  return Math.exp(logGammaQ(df / 2, x / 2))
}

/** The x with P(χ²(df) > x) = alpha, for non-integer df > 0 too (bisection on ln Q; 1e-12 relative). */
export function chiSquareUpperQuantile(alpha: number, df: number): number {
  if (!(alpha > 0 && alpha < 1)) throw new RiskStreamError('INTERNAL', `chi-square quantile: alpha=${alpha}`)
  if (!(df > 0)) throw new RiskStreamError('INTERNAL', `chi-square quantile: df=${df}`)
  const target = Math.log(alpha)
  let lo = 0
  let hi = Math.max(1, df)
  while (logGammaQ(df / 2, hi / 2) > target) hi *= 2
  for (let i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
    const mid = (lo + hi) / 2
    if (logGammaQ(df / 2, mid / 2) > target) lo = mid
    else hi = mid
  }
  return (lo + hi) / 2
}

// ── sampling ─────────────────────────────────────────────────────────────────────────────

/** mulberry32: a small seeded generator, so a calibration is a pure function of its inputs. */
export function seededUniform(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Box–Muller, both variates used: one standard normal per call. */
function standardNormal(u: () => number): number {
  if (spare !== null) {
    const z = spare
    spare = null
    return z
  }
  let x = u()
  while (x <= 0) x = u()
  const r = Math.sqrt(-2 * Math.log(x))
  const th = 2 * Math.PI * u()
  spare = r * Math.sin(th)
  return r * Math.cos(th)
}
let spare: number | null = null

/**
 * Binomial(n, p): exact inversion (pmf recurrence) while the smaller tail mean is under 30;
 * beyond that the normal approximation rounded to an integer, whose mean and variance are
 * those of the binomial (all the moment fit below uses).
 */
export function sampleBinomial(n: number, p: number, u: () => number): number {
  if (n <= 0 || p <= 0) return 0
  if (p >= 1) return n
  const flip = p > 0.5
  const q = flip ? 1 - p : p
  let k: number
  if (n * q < 30) {
    // Inversion: walk the CDF from 0 with pmf(k+1) = pmf(k)·(n−k)/(k+1)·q/(1−q).
    const r = q / (1 - q)
    let pmf = Math.exp(n * Math.log1p(-q))
    let cdf = pmf
    const x = u()
    k = 0
    while (x > cdf && k < n) {
      pmf *= ((n - k) / (k + 1)) * r
      cdf += pmf
      k++
      if (pmf < 1e-300 && cdf < x) break
    }
  } else {
    const sd = Math.sqrt(n * q * (1 - q))
    k = Math.round(n * q + sd * standardNormal(u))
    k = Math.min(n, Math.max(0, k))
  }
  return flip ? n - k : k
}

/** Multinomial(n, probs) by conditional binomials; writes the counts into `out`. */
export function sampleMultinomial(
  n: number,
  probs: ArrayLike<number>,
  u: () => number,
  out: Float64Array,
): void {
  let left = n
  let mass = 1
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i]!
    if (left === 0 || p <= 0) {
      out[i] = 0
      continue
    }
    const c = i === probs.length - 1 || p >= mass ? left : sampleBinomial(left, p / mass, u)
    out[i] = c
    left -= c
    mass -= p
  }
}

// ── the null model ───────────────────────────────────────────────────────────────────────

/** Slot shares of a reference (value bins, then missing), renormalised to sum to 1. */
function slotShares(ref: ReferenceDistribution): number[] {
  const s = [...ref.shares, ref.missingShare]
  const total = s.reduce((a, b) => a + b, 0)
  return s.map((x) => (total > 0 ? x / total : 0))
}

/** PSI of two count vectors, with the monitors' ε floor (drift.ts). */
function psiCounts(ref: Float64Array, m: number, win: Float64Array, n: number): number {
  let sum = 0
  for (let i = 0; i < ref.length; i++) {
    const e = Math.max(ref[i]! / m, PSI_EPSILON)
    const a = Math.max(win[i]! / n, PSI_EPSILON)
    sum += (a - e) * Math.log(a / e)
  }
  return sum
}

/**
 * Bootstrap replicates of PSI under the two-sample null, one array per window size: replicate b
 * draws one reference sample and one window sample per size (the reference draw is shared by
 * the sizes, which leaves each size's distribution unchanged and halves the work).
 */
export function psiNullReplicatesBySize(
  ref: ReferenceDistribution,
  windowSizes: readonly number[],
  replicates: number,
  seed: number,
  referenceN = ref.n,
): Float64Array[] {
  const p = slotShares(ref)
  const u = seededUniform(seed)
  spare = null
  const r = new Float64Array(p.length)
  const w = new Float64Array(p.length)
  const out = windowSizes.map(() => new Float64Array(replicates))
  for (let b = 0; b < replicates; b++) {
    sampleMultinomial(referenceN, p, u, r)
    for (let j = 0; j < windowSizes.length; j++) {
      const n = windowSizes[j]!
      sampleMultinomial(n, p, u, w)
      out[j]![b] = psiCounts(r, referenceN, w, n)
    }
  }
  return out
}

/**
 * Calibrates a reference: mean, variance and skewness of PSI under the two-sample null at each
 * window size, by a parametric bootstrap that resamples BOTH sides from the reference shares p̂.
 * The null is two-sample because the reference shares are themselves an estimate from m training
 * rows: under no drift R ~ Multinomial(m, p), W ~ Multinomial(n, p), T = PSI(R / m, W / n), and
 * asymptotically T · (1/n + 1/m)⁻¹ ~ χ²(K − 1) over the K occupied slots, so the reference's own
 * sampling error does not shrink with the window and a small reference needs a higher threshold
 * at every window size. Deterministic (seeded).
 */
export function calibratePsiNull(
  ref: ReferenceDistribution,
  opts: { windows?: readonly number[]; replicates?: number; seed?: number } = {},
): PsiNullModel {
  const windows = [...(opts.windows ?? NULL_WINDOWS)].sort((a, b) => a - b)
  const replicates = opts.replicates ?? NULL_REPLICATES
  const seed = opts.seed ?? NULL_SEED
  if (!(ref.n >= 1)) throw new RiskStreamError('DATASET_INVALID', 'cannot calibrate a reference of no rows')
  const mean: number[] = []
  const variance: number[] = []
  const skewness: number[] = []
  const bySize = psiNullReplicatesBySize(ref, windows, replicates, seed)
  windows.forEach((_, i) => {
    const xs = bySize[i]!
    let s = 0
    for (const x of xs) s += x
    const mu = s / xs.length
    let m2 = 0
    let m3 = 0
    for (const x of xs) {
      const d = x - mu
      m2 += d * d
      m3 += d * d * d
    }
    const v = m2 / (xs.length - 1)
    mean.push(mu)
    variance.push(v)
    skewness.push(v > 0 ? m3 / xs.length / v ** 1.5 : 0)
  })
  return {
    method: 'two-sample-parametric-bootstrap',
    referenceN: ref.n,
    replicates,
    seed,
    windows,
    mean,
    variance,
    skewness,
  }
}

/** Shifted, scaled χ², shift + scale·χ²(df), describing PSI under no drift at one window size. */
export interface ScaledChiSquare {
  shift: number
  scale: number
  df: number
  source: 'calibrated' | 'analytic'
}

function occupiedSlots(ref: ReferenceDistribution): number {
  let k = ref.missingShare > 0 ? 1 : 0
  for (const s of ref.shares) if (s > 0) k++
  return k
}

function usableNull(m: PsiNullModel | undefined): m is PsiNullModel {
  if (!m || !Array.isArray(m.windows) || m.windows.length === 0) return false
  if (m.mean?.length !== m.windows.length || m.variance?.length !== m.windows.length) return false
  return m.windows.every(
    (w, i) =>
      Number.isFinite(w) &&
      w > 0 &&
      (i === 0 || w > m.windows[i - 1]!) &&
      m.mean[i]! > 0 &&
      m.variance[i]! > 0,
  )
}

/**
 * Null distribution of PSI for a window of `windowSize` events against this reference. The tail
 * the monitors need (false-alarm probabilities of 1e-5 and below) would take millions of
 * replicates, so it is a shifted, scaled χ², c + a·χ²(ν), matching the calibration's mean,
 * variance and skewness (Pearson type III): ν = 8 / skew², a = sd / √(2ν), c = mean − a·ν; two
 * moments only (Satterthwaite's a·χ²(ν)) without a usable skewness. The moments are interpolated
 * linearly in 1/n between calibrated window sizes. A reference without a calibration falls back
 * to the analytic form a = 1/n + 1/m, ν = occupied slots − 1. tests/lib/stats/drift-null.test.ts
 * checks the fitted quantiles against 400,000-replicate bootstraps.
 */
export function psiNullDistribution(ref: ReferenceDistribution, windowSize: number): ScaledChiSquare {
  const n = Math.max(1, windowSize)
  const cal = ref.psiNull
  if (!usableNull(cal)) {
    const df = Math.max(1, occupiedSlots(ref) - 1)
    return { shift: 0, scale: 1 / n + 1 / Math.max(1, ref.n), df, source: 'analytic' }
  }
  // Linear interpolation in x = 1/n between the two nearest grid points (extrapolation at the
  // ends from the outermost segment), floored at a small share of the nearest grid value.
  const xs = cal.windows.map((w) => 1 / w)
  const x = 1 / n
  let i = 0
  if (xs.length > 1) {
    // xs descends (windows ascend); find the segment [i, i+1] with xs[i] ≥ x ≥ xs[i+1].
    i = xs.findIndex((_, k) => k < xs.length - 1 && x >= xs[k + 1]!)
    if (i < 0) i = xs.length - 2
  }
  const lerp = (ys: number[]) => {
    if (xs.length === 1) return ys[0]!
    const t = (x - xs[i]!) / (xs[i + 1]! - xs[i]!)
    const y = ys[i]! + t * (ys[i + 1]! - ys[i]!)
    const nearest = ys[Math.abs(x - xs[i]!) < Math.abs(x - xs[i + 1]!) ? i : i + 1]!
    return Math.max(y, nearest * 0.05)
  }
  const mean = lerp(cal.mean)
  const variance = lerp(cal.variance)
  const skew = cal.skewness?.length === cal.windows.length ? lerp(cal.skewness) : Number.NaN
  if (skew > 0.05 && Number.isFinite(skew)) {
    const df = 8 / (skew * skew)
    const scale = Math.sqrt(variance / (2 * df))
    return { shift: mean - scale * df, scale, df, source: 'calibrated' }
  }
  return { shift: 0, scale: variance / (2 * mean), df: (2 * mean * mean) / variance, source: 'calibrated' }
}

/**
 * Empty-bin jumps. A window bin with a small expected count (n·e of a few events) is empty with
 * probability ≈ (1 − e)ⁿ, and then PSI's ε floor adds about e·ln(e / ε) at once: on sparse grids
 * (window 250, 30 bins) those jumps, not the bulk, make the far tail. The moment fit sees them
 * only on average, so the survival function adds them explicitly:
 *   P(PSI ≥ q) ≈ S(q) + Σᵢ (1 − eᵢ)ⁿ · S(q − Jᵢ),  Jᵢ = eᵢ·ln(eᵢ / ε),
 * with S the fitted bulk, over the bins that are empty RARELY (< 5 % of windows; a bin empty
 * more often is part of the bulk the moments describe). Slightly conservative (the moments
 * include the rare jumps once too); nothing where bins are well filled ((1 − 0.1)¹⁰⁰⁰ ≈ 10⁻⁴⁶).
 */
const RARE_EMPTY = 0.05

function emptyBinJumps(ref: ReferenceDistribution, windowSize: number): { p: number; jump: number }[] {
  const out: { p: number; jump: number }[] = []
  for (const e of [...ref.shares, ref.missingShare]) {
    if (!(e > PSI_EPSILON)) continue
    const p = Math.exp(windowSize * Math.log1p(-Math.min(e, 0.999999)))
    // A bin empty in more than 5 % of windows is part of the bulk its moments describe.
    if (p > 1e-15 && p < RARE_EMPTY) out.push({ p, jump: e * Math.log(e / PSI_EPSILON) })
  }
  return out
}

function bulkSurvival(d: ScaledChiSquare, value: number): number {
  return chiSquareSurvival((value - d.shift) / d.scale, d.df)
}

/** P(PSI ≥ value) under no drift at this window size (the p-value of an observed PSI). */
export function psiNullSurvival(ref: ReferenceDistribution, windowSize: number, value: number): number {
  const d = psiNullDistribution(ref, windowSize)
  let s = bulkSurvival(d, value)
  for (const j of emptyBinJumps(ref, windowSize)) s += j.p * bulkSurvival(d, value - j.jump)
  return Math.min(1, s)
}

/** PSI value exceeded with probability `alpha` under no drift, at this window size. */
export function psiNullQuantile(ref: ReferenceDistribution, windowSize: number, alpha: number): number {
  const d = psiNullDistribution(ref, windowSize)
  const bulk = Math.max(0, d.shift + d.scale * chiSquareUpperQuantile(alpha, d.df))
  const jumps = emptyBinJumps(ref, windowSize)
  if (jumps.length === 0 || psiNullSurvival(ref, windowSize, bulk) <= alpha * (1 + 1e-9)) return bulk
  // The survival falls with q: bisect between the bulk quantile and bulk + the largest jump.
  let lo = bulk
  let hi = bulk + Math.max(...jumps.map((j) => j.jump))
  while (psiNullSurvival(ref, windowSize, hi) > alpha) hi += hi - lo
  for (let i = 0; i < 60 && hi - lo > 1e-9 * hi; i++) {
    const mid = (lo + hi) / 2
    if (psiNullSurvival(ref, windowSize, mid) > alpha) lo = mid
    else hi = mid
  }
  return hi
}

/**
 * False-alarm probability per subject per evaluation that keeps the expected number of false
 * alarms within `falseAlarmsPerMillion` per 10⁶ events. The monitors evaluate S subjects every
 * `evalEvery` events, 10⁶ / evalEvery evaluations per million events; by the union bound
 * (Bonferroni over subjects and evaluations, however much the windows overlap)
 *   E[false alarms per 10⁶ events] ≤ (10⁶ / evalEvery) · S · α,
 * so α = budget · evalEvery / (10⁶ · S). Conservative when windows overlap (their exceedances
 * cluster) and when several consecutive windows are required; bench/monitoring.bench.ts
 * measures the rate.
 */
export function perTestAlpha(o: {
  falseAlarmsPerMillion: number
  evalEvery: number
  subjects: number
}): number {
  if (!(o.falseAlarmsPerMillion > 0) || !(o.evalEvery >= 1) || !(o.subjects >= 1)) {
    throw new RiskStreamError(
      'CONFIG_INVALID',
      'false-alarm budget, evaluation cadence and subjects must be positive',
    )
  }
  return Math.min(0.5, (o.falseAlarmsPerMillion * o.evalEvery) / (1e6 * o.subjects))
}

// ── thresholds for a set of monitored subjects ───────────────────────────────────────────

/** Level of the clear point: an alert clears once PSI is back under the null's 95th percentile. */
export const CLEAR_ALPHA = 0.05

export interface AlarmBounds {
  /** PSI at or above which this subject's window counts as drifted. */
  threshold: number
  /** PSI below which an active alert clears (≤ threshold). */
  clearThreshold: number
  /** False-alarm probability per evaluation the threshold was derived for. */
  alpha: number
  source: ScaledChiSquare['source']
  /** The configured floor (DRIFT_THRESHOLD) was above the calibrated value. */
  floored: boolean
}

export interface AlarmBudget {
  /** Expected false alarms per 10⁶ stationary events, over all subjects. */
  falseAlarmsPerMillion: number
  /** Events between two evaluations of the sliding window. */
  evalEvery: number
  /** Optional floor under the calibrated threshold (0 = none). */
  floor?: number
  /** Optional floor under the clear point (0 = none). */
  clearFloor?: number
}

/**
 * Calibrated alarm and clear thresholds per subject and window size, for one model version's
 * references (one per monitored subject). Cached per (subject, size): a sliding window has one
 * size once full, so this is a handful of quantile computations per version.
 */
export class PsiAlarmThresholds {
  readonly alpha: number
  private readonly cache = new Map<number, AlarmBounds>()

  constructor(
    readonly refs: readonly ReferenceDistribution[],
    readonly budget: AlarmBudget,
  ) {
    this.alpha = perTestAlpha({
      falseAlarmsPerMillion: budget.falseAlarmsPerMillion,
      evalEvery: budget.evalEvery,
      subjects: refs.length,
    })
  }

  at(subject: number, windowSize: number): AlarmBounds {
    const key = windowSize * 1024 + subject
    const hit = this.cache.get(key)
    if (hit) return hit
    const ref = this.refs[subject]
    if (!ref) throw new RiskStreamError('INTERNAL', `no reference for subject #${subject}`)
    const calibrated = psiNullQuantile(ref, windowSize, this.alpha)
    const floor = this.budget.floor ?? 0
    const threshold = Math.max(calibrated, floor)
    const clear = Math.max(psiNullQuantile(ref, windowSize, CLEAR_ALPHA), this.budget.clearFloor ?? 0)
    const bounds: AlarmBounds = {
      threshold,
      clearThreshold: Math.min(clear, threshold),
      alpha: this.alpha,
      source: psiNullDistribution(ref, windowSize).source,
      floored: floor > calibrated,
    }
    this.cache.set(key, bounds)
    return bounds
  }
}
