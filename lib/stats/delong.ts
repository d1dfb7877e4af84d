/**
 * DeLong's test for two correlated ROC-AUCs (two models scored on the SAME rows), after
 * DeLong, DeLong & Clarke-Pearson (1988), with the midrank computation of Sun & Xu (2014).
 * Pure and deterministic.
 *
 * For model r, the placement values are V10[i] = P(score of positive i > a random negative)
 * and V01[j] = P(a random positive > score of negative j), ties counting one half. AUC_r is
 * their mean; the covariance of (AUC_a, AUC_b) is S10/m + S01/n with S the sample covariance
 * matrices of the placements over the m positives and n negatives.
 */
import { RiskStreamError } from '../errors/index.ts'

/** Midranks (1-based, ties averaged) of `values`. */
function midranks(values: ArrayLike<number>): Float64Array {
  const n = values.length
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a]! - values[b]!)
  const ranks = new Float64Array(n)
  let i = 0
  while (i < n) {
    let j = i + 1
    while (j < n && values[order[j]!] === values[order[i]!]) j++
    const r = (i + 1 + j) / 2
    for (let k = i; k < j; k++) ranks[order[k]!] = r
    i = j
  }
  return ranks
}

/** Placement values of one model: V10 over positives, V01 over negatives, and its AUC. */
function placements(
  pos: Float64Array,
  neg: Float64Array,
): { v10: Float64Array; v01: Float64Array; auc: number } {
  const m = pos.length
  const n = neg.length
  const all = new Float64Array(m + n)
  all.set(pos, 0)
  all.set(neg, m)
  const rAll = midranks(all)
  const rPos = midranks(pos)
  const rNeg = midranks(neg)
  const v10 = new Float64Array(m)
  const v01 = new Float64Array(n)
  let sum = 0
  for (let i = 0; i < m; i++) {
    v10[i] = (rAll[i]! - rPos[i]!) / n
    sum += v10[i]!
  }
  for (let j = 0; j < n; j++) v01[j] = 1 - (rAll[m + j]! - rNeg[j]!) / m
  return { v10, v01, auc: sum / m }
}

function covariance(a: Float64Array, b: Float64Array): number {
  const n = a.length
  if (n < 2) return 0
  let ma = 0
  let mb = 0
  for (let i = 0; i < n; i++) {
    ma += a[i]!
    mb += b[i]!
  }
  ma /= n
  mb /= n
  let s = 0
  for (let i = 0; i < n; i++) s += (a[i]! - ma) * (b[i]! - mb)
  return s / (n - 1)
}

/** Standard normal CDF (erfc of Numerical Recipes, |error| < 1.2e-7). */
export function normalCdf(z: number): number {
  if (Number.isNaN(z)) return Number.NaN
  const x = Math.abs(z) / Math.SQRT2
  const t = 1 / (1 + 0.5 * x)
  const erfc =
    t *
    Math.exp(
      -x * x -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    )
  return z >= 0 ? 1 - erfc / 2 : erfc / 2
}

export interface DeLongResult {
  aucA: number
  aucB: number
  /** aucA − aucB. */
  difference: number
  /** Standard error of the difference (0 when the two rankings are identical). */
  se: number
  /** difference / se; NaN when se = 0 (no evidence either way). */
  z: number
  /** One-sided p-value for "A ranks better than B" (H1: aucA > aucB); 1 when se = 0. */
  pValue: number
  /** Two-sided p-value; 1 when se = 0. */
  pTwoSided: number
  positives: number
  negatives: number
}

/** DeLong's paired test of AUC(scoresA) against AUC(scoresB) on labels `yTrue` (1 = positive). */
export function delongTest(
  yTrue: ArrayLike<number>,
  scoresA: ArrayLike<number>,
  scoresB: ArrayLike<number>,
): DeLongResult {
  if (yTrue.length !== scoresA.length || yTrue.length !== scoresB.length) {
    throw new RiskStreamError(
      'INTERNAL',
      `delongTest: ${yTrue.length} labels vs ${scoresA.length} and ${scoresB.length} scores`,
    )
  }
  const posIdx: number[] = []
  const negIdx: number[] = []
  for (let i = 0; i < yTrue.length; i++) (yTrue[i] === 1 ? posIdx : negIdx).push(i)
  const m = posIdx.length
  const n = negIdx.length
  if (m === 0 || n === 0) {
    return {
      aucA: Number.NaN,
      aucB: Number.NaN,
      difference: Number.NaN,
      se: Number.NaN,
      z: Number.NaN,
      pValue: 1,
      pTwoSided: 1,
      positives: m,
      negatives: n,
    }
  }
  const pick = (s: ArrayLike<number>, idx: number[]) => Float64Array.from(idx, (i) => s[i]!)
  const a = placements(pick(scoresA, posIdx), pick(scoresA, negIdx))
  const b = placements(pick(scoresB, posIdx), pick(scoresB, negIdx))
  const var10 = covariance(a.v10, a.v10) + covariance(b.v10, b.v10) - 2 * covariance(a.v10, b.v10)
  const var01 = covariance(a.v01, a.v01) + covariance(b.v01, b.v01) - 2 * covariance(a.v01, b.v01)
  const variance = Math.max(0, var10 / m + var01 / n)
  const se = Math.sqrt(variance)
  const difference = a.auc - b.auc
  // Identical rankings (or numerically so): no evidence that either is better.
  if (!(se > 1e-12)) {
    return {
      aucA: a.auc,
      aucB: b.auc,
      difference,
      se: 0,
      z: Number.NaN,
      pValue: 1,
      pTwoSided: 1,
      positives: m,
      negatives: n,
    }
  }
  const z = difference / se
  return {
    aucA: a.auc,
    aucB: b.auc,
    difference,
    se,
    z,
    pValue: 1 - normalCdf(z),
    pTwoSided: 2 * (1 - normalCdf(Math.abs(z))),
    positives: m,
    negatives: n,
  }
}
