/**
 * Calibration of predicted probabilities: the reliability curve, the expected calibration
 * error (ECE) and two recalibration maps (Platt scaling and isotonic regression). Pure.
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

/** Isotonic map: a non-decreasing step function through (x[k], y[k]), linear in between. */
export interface IsotonicMap {
  x: number[]
  y: number[]
}

/** Pool-adjacent-violators fit of P(y = 1) as a non-decreasing function of the probability. */
export function fitIsotonic(yTrue: ArrayLike<number>, probs: ArrayLike<number>): IsotonicMap {
  check(yTrue, probs, 'fitIsotonic')
  const order = Array.from({ length: probs.length }, (_, i) => i).sort((a, b) => probs[a]! - probs[b]!)
  // Blocks of (sum of labels, weight, mean x); equal x values start in one block.
  const sums: number[] = []
  const weights: number[] = []
  const xs: number[] = []
  for (const i of order) {
    const x = probs[i]!
    const yv = yTrue[i] === 1 ? 1 : 0
    const last = xs.length - 1
    if (last >= 0 && xs[last] === x && weights[last]! > 0) {
      sums[last]! += yv
      weights[last]!++
    } else {
      sums.push(yv)
      weights.push(1)
      xs.push(x)
    }
  }
  // PAV over the blocks; a merged block keeps the x range it covers (first and last x).
  const bs: number[] = []
  const bw: number[] = []
  const bxLo: number[] = []
  const bxHi: number[] = []
  for (let k = 0; k < xs.length; k++) {
    bs.push(sums[k]!)
    bw.push(weights[k]!)
    bxLo.push(xs[k]!)
    bxHi.push(xs[k]!)
    while (
      bs.length > 1 &&
      bs[bs.length - 2]! / bw[bw.length - 2]! > bs[bs.length - 1]! / bw[bw.length - 1]!
    ) {
      const s = bs.pop()!
      const w = bw.pop()!
      const hiX = bxHi.pop()!
      bxLo.pop()
      bs[bs.length - 1]! += s
      bw[bw.length - 1]! += w
      bxHi[bxHi.length - 1] = hiX
    }
  }
  const x: number[] = []
  const y: number[] = []
  for (let k = 0; k < bs.length; k++) {
    const v = bs[k]! / bw[k]!
    x.push(bxLo[k]!)
    y.push(v)
    if (bxHi[k]! !== bxLo[k]!) {
      x.push(bxHi[k]!)
      y.push(v)
    }
  }
  return { x, y }
}

/** Applies an isotonic map: clamped outside its range, linear interpolation inside. */
export function applyIsotonic(map: IsotonicMap, probs: ArrayLike<number>): Float64Array {
  const { x, y } = map
  const out = new Float64Array(probs.length)
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i]!
    if (x.length === 0) out[i] = p
    else if (p <= x[0]!) out[i] = y[0]!
    else if (p >= x[x.length - 1]!) out[i] = y[y.length - 1]!
    else {
      let lo = 0
      let hi = x.length - 1
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1
        if (x[mid]! <= p) lo = mid
        else hi = mid
      }
      const span = x[hi]! - x[lo]!
      out[i] = span > 0 ? y[lo]! + ((p - x[lo]!) / span) * (y[hi]! - y[lo]!) : y[hi]!
    }
  }
  return out
}
