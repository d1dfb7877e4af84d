/**
 * Calibration of predicted probabilities: the reliability curve, the expected calibration
 * error (ECE) and Platt scaling (the recalibration map the trainer fits). Pure.
 *
 * Reliability bins are equal-width on [0, 1] (bin b holds p in [b/B, (b+1)/B), the last bin
 * closed), the convention of scikit-learn's `calibration_curve(strategy="uniform")`.
 * ECE = Σ_b (n_b / n) · |mean predicted_b − observed rate_b| over non-empty bins.
 */
import { RiskStreamError } from '../errors/index.ts'

export interface ReliabilityBin {
  lo: number
  hi: number
  n: number
  /** Mean predicted probability in the bin. */
  predicted: number
  /** Share of positives in the bin. */
  observed: number
}

export interface CalibrationReport {
  bins: ReliabilityBin[]
  /** Expected calibration error over the non-empty bins. */
  ece: number
  /** Largest |predicted − observed| over the non-empty bins. */
  mce: number
  brier: number
  n: number
}

function check(yTrue: ArrayLike<number>, probs: ArrayLike<number>, what: string): void {
  if (yTrue.length !== probs.length)
    throw new RiskStreamError('INTERNAL', `${what}: ${yTrue.length} labels vs ${probs.length} probabilities`)
}

/** Non-empty equal-width reliability bins (default 10). */
export function reliabilityCurve(
  yTrue: ArrayLike<number>,
  probs: ArrayLike<number>,
  nBins = 10,
): ReliabilityBin[] {
  check(yTrue, probs, 'reliabilityCurve')
  const n = new Float64Array(nBins)
  const sumP = new Float64Array(nBins)
  const pos = new Float64Array(nBins)
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i]!
    const b = Math.min(nBins - 1, Math.max(0, Math.floor(p * nBins)))
    n[b]!++
    sumP[b]! += p
    if (yTrue[i] === 1) pos[b]!++
  }
  const bins: ReliabilityBin[] = []
  for (let b = 0; b < nBins; b++) {
    if (n[b] === 0) continue
    bins.push({
      lo: b / nBins,
      hi: (b + 1) / nBins,
      n: n[b]!,
      predicted: sumP[b]! / n[b]!,
      observed: pos[b]! / n[b]!,
    })
  }
  return bins
}

export function calibrationReport(
  yTrue: ArrayLike<number>,
  probs: ArrayLike<number>,
  nBins = 10,
): CalibrationReport {
  const bins = reliabilityCurve(yTrue, probs, nBins)
  const total = probs.length
  let ece = 0
  let mce = 0
  for (const b of bins) {
    const gap = Math.abs(b.predicted - b.observed)
    ece += (b.n / total) * gap
    mce = Math.max(mce, gap)
  }
  let brier = 0
  for (let i = 0; i < total; i++) {
    const d = probs[i]! - (yTrue[i] === 1 ? 1 : 0)
    brier += d * d
  }
  return {
    bins,
    ece: total === 0 ? Number.NaN : ece,
    mce: total === 0 ? Number.NaN : mce,
    brier: total === 0 ? Number.NaN : brier / total,
    n: total,
  }
}

const logit = (p: number) => {
  const q = Math.min(1 - 1e-12, Math.max(1e-12, p))
  return Math.log(q / (1 - q))
}
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z))

/** Platt scaling p' = σ(a · logit(p) + b). */
export interface PlattMap {
  a: number
  b: number
}

/**
 * Fits Platt's map by Newton–Raphson on the log-likelihood, with Platt's (1999) smoothed
 * targets (N₊+1)/(N₊+2) and 1/(N₋+2) so that separable data do not send a to infinity.
 */
export function fitPlatt(yTrue: ArrayLike<number>, probs: ArrayLike<number>): PlattMap {
  check(yTrue, probs, 'fitPlatt')
  const n = probs.length
  let nPos = 0
  for (let i = 0; i < n; i++) if (yTrue[i] === 1) nPos++
  const hi = (nPos + 1) / (nPos + 2)
  const lo = 1 / (n - nPos + 2)
  const x = Float64Array.from({ length: n }, (_, i) => logit(probs[i]!))
  const t = Float64Array.from({ length: n }, (_, i) => (yTrue[i] === 1 ? hi : lo))
  let a = 1
  let b = 0
  for (let iter = 0; iter < 100; iter++) {
    let g0 = 0
    let g1 = 0
    let h00 = 1e-12
    let h01 = 0
    let h11 = 1e-12
    for (let i = 0; i < n; i++) {
      const p = sigmoid(a * x[i]! + b)
      const r = p - t[i]!
      const w = p * (1 - p)
      g0 += r * x[i]!
      g1 += r
      h00 += w * x[i]! * x[i]!
      h01 += w * x[i]!
      h11 += w
    }
    const det = h00 * h11 - h01 * h01
    if (!(Math.abs(det) > 0)) break
    const da = (h11 * g0 - h01 * g1) / det
    const db = (h00 * g1 - h01 * g0) / det
    a -= da
    b -= db
    if (Math.abs(da) < 1e-10 && Math.abs(db) < 1e-10) break
  }
  return { a, b }
}

export function applyPlatt(map: PlattMap, probs: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: probs.length }, (_, i) => sigmoid(map.a * logit(probs[i]!) + map.b))
}
