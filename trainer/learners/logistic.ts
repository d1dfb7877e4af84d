/**
 * L2-regularised logistic regression WITH an intercept (family 'logistic_regression'),
 * fitted by Newton's method (IRLS). We write our own because ml-logistic-regression has no
 * intercept and is slow. With 8 features the Newton system is 9×9, solved by Cholesky.
 *
 * Objective (scikit-learn's convention divided by C):
 *   Σ_i [log(1 + e^{m_i}) − y_i m_i] + ‖w‖² / (2C),   m_i = b + w·z_i
 * The intercept b is not penalised. Inputs z are the features after median imputation and
 * standardisation, both learnt on the training rows only and exported as Preprocessing, so
 * the exported weights live on the standardised scale.
 */
import type { LinearModel, Preprocessing } from '../../lib/model/types.ts'
import { sigmoid } from './gradient-boosting.ts'
import type { Dataset, Learner, ParamSpace, TrainedModel } from './types.ts'

export interface LogisticParams {
  [key: string]: number
  /** Inverse L2 strength (larger = weaker penalty), as in scikit-learn. */
  C: number
  max_iter: number
  /** Converged when the largest Newton step component is below this. */
  tol: number
}

export const LOGISTIC_DEFAULTS: LogisticParams = { C: 1, max_iter: 100, tol: 1e-10 }

const SEARCH_SPACE: ParamSpace = {
  C: { type: 'float', min: 1e-3, max: 100, log: true },
}

/** Median of the non-missing values of column f (0 when the column is all missing). */
function columnMedian(X: Float64Array, nRows: number, nf: number, f: number): number {
  const v: number[] = []
  for (let r = 0; r < nRows; r++) {
    const x = X[r * nf + f]!
    if (!Number.isNaN(x)) v.push(x)
  }
  if (v.length === 0) return 0
  v.sort((a, b) => a - b)
  const h = v.length >> 1
  return v.length % 2 ? v[h]! : (v[h - 1]! + v[h]!) / 2
}

/** Learns median imputation and standardisation on the training rows. */
export function fitPreprocessing(X: Float64Array, nRows: number, nf: number): Required<Preprocessing> {
  const impute: number[] = []
  const center: number[] = []
  const scale: number[] = []
  for (let f = 0; f < nf; f++) {
    const med = columnMedian(X, nRows, nf, f)
    let s = 0
    let s2 = 0
    for (let r = 0; r < nRows; r++) {
      const x = X[r * nf + f]!
      const v = Number.isNaN(x) ? med : x
      s += v
    }
    const mean = s / Math.max(1, nRows)
    for (let r = 0; r < nRows; r++) {
      const x = X[r * nf + f]!
      const d = (Number.isNaN(x) ? med : x) - mean
      s2 += d * d
    }
    const sd = Math.sqrt(s2 / Math.max(1, nRows))
    impute.push(med)
    center.push(mean)
    // A constant column carries no information; scale 1 keeps it harmless instead of ÷0.
    scale.push(sd > 1e-12 ? sd : 1)
  }
  return { impute, center, scale }
}

/** Applies preprocessing to a row-major matrix, returning a new standardised matrix. */
export function transform(
  X: Float64Array,
  nRows: number,
  nf: number,
  pre: Required<Preprocessing>,
): Float64Array {
  const Z = new Float64Array(nRows * nf)
  for (let r = 0; r < nRows; r++) {
    for (let f = 0; f < nf; f++) {
      const x = X[r * nf + f]!
      Z[r * nf + f] = ((Number.isNaN(x) ? pre.impute[f]! : x) - pre.center[f]!) / pre.scale[f]!
    }
  }
  return Z
}

/**
 * Solves A x = b for a symmetric positive-definite A (row-major d×d) by Cholesky.
 * Returns null when A is not numerically positive definite.
 */
export function choleskySolve(A: Float64Array, b: Float64Array, d: number): Float64Array | null {
  const L = new Float64Array(d * d)
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * d + j]!
      for (let k = 0; k < j; k++) s -= L[i * d + k]! * L[j * d + k]!
      if (i === j) {
        if (!(s > 0)) return null
        L[i * d + i] = Math.sqrt(s)
      } else L[i * d + j] = s / L[j * d + j]!
    }
  }
  const z = new Float64Array(d)
  for (let i = 0; i < d; i++) {
    let s = b[i]!
    for (let k = 0; k < i; k++) s -= L[i * d + k]! * z[k]!
    z[i] = s / L[i * d + i]!
  }
  const x = new Float64Array(d)
  for (let i = d - 1; i >= 0; i--) {
    let s = z[i]!
    for (let k = i + 1; k < d; k++) s -= L[k * d + i]! * x[k]!
    x[i] = s / L[i * d + i]!
  }
  return x
}

/** Penalised objective at beta = [b, w_1..w_d] on standardised rows Z. */
function objective(
  Z: Float64Array,
  y: Uint8Array,
  n: number,
  nf: number,
  beta: Float64Array,
  C: number,
): number {
  let s = 0
  for (let r = 0; r < n; r++) {
    let m = beta[0]!
    for (let f = 0; f < nf; f++) m += beta[f + 1]! * Z[r * nf + f]!
    s += (m > 0 ? m + Math.log1p(Math.exp(-m)) : Math.log1p(Math.exp(m))) - y[r]! * m
  }
  let w2 = 0
  for (let f = 1; f <= nf; f++) w2 += beta[f]! * beta[f]!
  return s + w2 / (2 * C)
}

/**
 * Gradient of the penalised objective, exported so tests can check it vanishes at the fit.
 * Index 0 is the intercept.
 */
export function penalisedGradient(
  Z: Float64Array,
  y: Uint8Array,
  n: number,
  nf: number,
  beta: ArrayLike<number>,
  C: number,
): Float64Array {
  const g = new Float64Array(nf + 1)
  for (let r = 0; r < n; r++) {
    let m = beta[0]!
    for (let f = 0; f < nf; f++) m += beta[f + 1]! * Z[r * nf + f]!
    const e = sigmoid(m) - y[r]!
    g[0]! += e
    for (let f = 0; f < nf; f++) g[f + 1]! += e * Z[r * nf + f]!
  }
  for (let f = 1; f <= nf; f++) g[f]! += beta[f]! / C
  return g
}

/** Newton/IRLS with backtracking; returns [intercept, weights...] on the standardised scale. */
export function fitLogisticCoefficients(
  Z: Float64Array,
  y: Uint8Array,
  n: number,
  nf: number,
  C: number,
  maxIter = 100,
  tol = 1e-10,
): Float64Array {
  if (!(C > 0)) throw new RangeError(`C must be > 0, got ${C}`)
  const d = nf + 1
  const beta = new Float64Array(d)
  let pos = 0
  for (let r = 0; r < n; r++) pos += y[r]!
  const p0 = Math.min(Math.max(pos / Math.max(1, n), 1e-6), 1 - 1e-6)
  beta[0] = Math.log(p0 / (1 - p0))
  let obj = objective(Z, y, n, nf, beta, C)
  const H = new Float64Array(d * d)
  const x = new Float64Array(d)
  x[0] = 1
  for (let it = 0; it < maxIter; it++) {
    const g = penalisedGradient(Z, y, n, nf, beta, C)
    H.fill(0)
    for (let r = 0; r < n; r++) {
      let m = beta[0]!
      for (let f = 0; f < nf; f++) {
        x[f + 1] = Z[r * nf + f]!
        m += beta[f + 1]! * x[f + 1]!
      }
      const pr = sigmoid(m)
      const w = pr * (1 - pr)
      for (let i = 0; i < d; i++) {
        const wi = w * x[i]!
        for (let j = 0; j <= i; j++) H[i * d + j]! += wi * x[j]!
      }
    }
    for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) H[j * d + i] = H[i * d + j]!
    for (let f = 1; f < d; f++) H[f * d + f]! += 1 / C
    // A tiny ridge rescues a numerically singular Hessian (e.g. perfectly separable data).
    let step = choleskySolve(H, g, d)
    for (let jitter = 1e-10; step === null && jitter < 1; jitter *= 100) {
      const Hj = H.slice()
      for (let i = 0; i < d; i++) Hj[i * d + i]! += jitter
      step = choleskySolve(Hj, g, d)
    }
    if (step === null) break
    // Backtracking: Newton steps can overshoot far from the optimum.
    let t = 1
    const next = beta.slice()
    let nextObj = obj
    for (let k = 0; k < 30; k++) {
      for (let i = 0; i < d; i++) next[i] = beta[i]! - t * step[i]!
      nextObj = objective(Z, y, n, nf, next, C)
      if (nextObj <= obj + 1e-12 * Math.abs(obj)) break
      t /= 2
    }
    let maxStep = 0
    for (let i = 0; i < d; i++) maxStep = Math.max(maxStep, Math.abs(t * step[i]!))
    beta.set(next)
    obj = nextObj
    if (maxStep < tol) break
  }
  return beta
}

export function fitLogistic(data: Dataset, params: LogisticParams, _seed: number): TrainedModel {
  const p = { ...LOGISTIC_DEFAULTS, ...params }
  const { nRows: n, nFeatures: nf } = data
  const pre = fitPreprocessing(data.X, n, nf)
  const Z = transform(data.X, n, nf, pre)
  const beta = fitLogisticCoefficients(Z, data.y, n, nf, p.C, p.max_iter, p.tol)
  const intercept = beta[0]!
  const weights = Array.from(beta.subarray(1))
  const model: LinearModel = { kind: 'linear', nFeatures: nf, weights, intercept, link: 'logistic' }
  return {
    family: 'logistic_regression',
    predictProba(X: Float64Array, nRows: number): Float64Array {
      const Zt = transform(X, nRows, nf, pre)
      const out = new Float64Array(nRows)
      for (let r = 0; r < nRows; r++) {
        let m = intercept
        for (let f = 0; f < nf; f++) m += weights[f]! * Zt[r * nf + f]!
        out[r] = sigmoid(m)
      }
      return out
    },
    export: () => ({ model: structuredClone(model), preprocessing: structuredClone(pre) }),
  }
}

export const logisticLearner: Learner<LogisticParams> = {
  family: 'logistic_regression',
  defaults: LOGISTIC_DEFAULTS,
  searchSpace: SEARCH_SPACE,
  fit: fitLogistic,
}
