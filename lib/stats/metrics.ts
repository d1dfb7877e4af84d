/**
 * Binary classification metrics shared by the trainer (offline evaluation, threshold choice)
 * and the concept-drift monitor (rolling metrics on labelled feedback), so both report the
 * same numbers for the same data. Pure functions, no I/O.
 *
 * Conventions: a label is positive iff it equals 1 (anything else counts as negative);
 * probabilities are in [0, 1]; a predicted label is `prob >= threshold`. Ratios that are
 * undefined (0/0) are reported as 0, except ROC-AUC which is NaN with only one class present
 * (there is no ranking to judge, and 0 or 0.5 would both be misleading).
 */

import { RiskStreamError } from '../errors/index.ts'

export interface Confusion {
  tp: number
  fp: number
  tn: number
  fn: number
}

export interface ClassificationMetrics {
  n: number
  positives: number
  prevalence: number
  accuracy: number
  precision: number
  recall: number
  f1: number
  /** NaN when only one class is present. */
  rocAuc: number
  logLoss: number
  brier: number
  confusion: Confusion
  threshold: number
}

function assertSameLength(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  if (a.length !== b.length) {
    // A length mismatch is a caller bug (misaligned arrays), never a data problem.
    throw new RiskStreamError('INTERNAL', `${what}: ${a.length} labels vs ${b.length} values`)
  }
}

export function confusion(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): Confusion {
  assertSameLength(yTrue, yPred, 'confusion')
  let tp = 0
  let fp = 0
  let tn = 0
  let fn = 0
  for (let i = 0; i < yTrue.length; i++) {
    const actual = yTrue[i] === 1
    const predicted = yPred[i] === 1
    if (predicted) actual ? tp++ : fp++
    else actual ? fn++ : tn++
  }
  return { tp, fp, tn, fn }
}

// Each ratio is ONE division of integers. IEEE division is correctly rounded, so equal
// rationals (e.g. 2/4 and 3/6) give bit-identical doubles; the threshold rules
// (trainer/selection/threshold.ts) rely on that to detect ties exactly.
export function accuracy(c: Confusion): number {
  const n = c.tp + c.fp + c.tn + c.fn
  return n === 0 ? 0 : (c.tp + c.tn) / n
}

export function precision(c: Confusion): number {
  const d = c.tp + c.fp
  return d === 0 ? 0 : c.tp / d
}

export function recall(c: Confusion): number {
  const d = c.tp + c.fn
  return d === 0 ? 0 : c.tp / d
}

/** F1 = 2TP / (2TP + FP + FN), algebraically equal to 2PR/(P+R); 0 when TP = 0. */
export function f1(c: Confusion): number {
  const d = 2 * c.tp + c.fp + c.fn
  return c.tp === 0 || d === 0 ? 0 : (2 * c.tp) / d
}

/** Indices 0..n-1 sorted by value ascending. Array#sort is stable (ES2019), so runs are deterministic. */
function argsort(values: ArrayLike<number>): number[] {
  const idx = Array.from({ length: values.length }, (_, i) => i)
  return idx.sort((a, b) => values[a]! - values[b]!)
}

/**
 * ROC-AUC as the Mann–Whitney U statistic: the probability that a random positive scores
 * higher than a random negative, ties counting one half (average ranks). O(n log n).
 */
export function rocAuc(yTrue: ArrayLike<number>, scores: ArrayLike<number>): number {
  assertSameLength(yTrue, scores, 'rocAuc')
  const n = yTrue.length
  let nPos = 0
  for (let i = 0; i < n; i++) if (yTrue[i] === 1) nPos++
  const nNeg = n - nPos
  if (nPos === 0 || nNeg === 0) return Number.NaN
  const order = argsort(scores)
  let rankSumPos = 0
  let i = 0
  while (i < n) {
    // A run of equal scores [i, j) shares the average of ranks i+1 .. j.
    let j = i + 1
    while (j < n && scores[order[j]!] === scores[order[i]!]) j++
    const avgRank = (i + 1 + j) / 2
    for (let k = i; k < j; k++) if (yTrue[order[k]!] === 1) rankSumPos += avgRank
    i = j
  }
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg)
}

/** Mean binary cross-entropy (natural log), probabilities clipped to [eps, 1 − eps]. NaN if empty. */
export function logLoss(yTrue: ArrayLike<number>, probs: ArrayLike<number>, eps = 1e-15): number {
  assertSameLength(yTrue, probs, 'logLoss')
  if (yTrue.length === 0) return Number.NaN
  let sum = 0
  for (let i = 0; i < yTrue.length; i++) {
    const p = Math.min(Math.max(probs[i]!, eps), 1 - eps)
    sum -= yTrue[i] === 1 ? Math.log(p) : Math.log(1 - p)
  }
  return sum / yTrue.length
}

/** Mean squared error of the probabilities against 0/1 labels. NaN if empty. */
export function brier(yTrue: ArrayLike<number>, probs: ArrayLike<number>): number {
  assertSameLength(yTrue, probs, 'brier')
  if (yTrue.length === 0) return Number.NaN
  let sum = 0
  for (let i = 0; i < yTrue.length; i++) {
    const d = probs[i]! - (yTrue[i] === 1 ? 1 : 0)
    sum += d * d
  }
  return sum / yTrue.length
}

export function classificationMetrics(
  yTrue: ArrayLike<number>,
  probs: ArrayLike<number>,
  threshold: number,
): ClassificationMetrics {
  assertSameLength(yTrue, probs, 'classificationMetrics')
  const yPred = new Uint8Array(probs.length)
  let positives = 0
  for (let i = 0; i < probs.length; i++) {
    yPred[i] = probs[i]! >= threshold ? 1 : 0
    if (yTrue[i] === 1) positives++
  }
  const c = confusion(yTrue, yPred)
  const n = yTrue.length
  return {
    n,
    positives,
    prevalence: n === 0 ? 0 : positives / n,
    accuracy: accuracy(c),
    precision: precision(c),
    recall: recall(c),
    f1: f1(c),
    rocAuc: rocAuc(yTrue, probs),
    logLoss: logLoss(yTrue, probs),
    brier: brier(yTrue, probs),
    confusion: c,
    threshold,
  }
}

export interface ThresholdChoice {
  threshold: number
  f1: number
  accuracy: number
  /** true when the rule's floor was met; false means the rule fell back (trainer/selection/threshold.ts). */
  constrained: boolean
}

/**
 * Every distinct threshold with its F1 and accuracy, highest threshold first: sorted once, then
 * each step moves one tie group to the positive side (an O(1) update of the confusion matrix).
 * The sweep behind every threshold rule, so they all see the same candidates.
 */
export function* thresholdSweep(
  yTrue: ArrayLike<number>,
  probs: ArrayLike<number>,
): Generator<ThresholdChoice & { confusion: Confusion }> {
  const n = yTrue.length
  let nPos = 0
  for (let i = 0; i < n; i++) if (yTrue[i] === 1) nPos++
  const nNeg = n - nPos
  const order = argsort(probs).reverse()
  let tp = 0
  let fp = 0
  let i = 0
  while (i < n) {
    const t = probs[order[i]!]!
    while (i < n && probs[order[i]!] === t) {
      if (yTrue[order[i]!] === 1) tp++
      else fp++
      i++
    }
    const c: Confusion = { tp, fp, tn: nNeg - fp, fn: nPos - tp }
    yield { threshold: t, f1: f1(c), accuracy: accuracy(c), constrained: true, confusion: c }
  }
}

/**
 * Mean and SAMPLE standard deviation (n − 1 denominator, the usual choice for "mean ± std
 * over k CV folds"). std is 0 for a single value; both are NaN for an empty list.
 */
export function meanStd(values: number[]): { mean: number; std: number } {
  const n = values.length
  if (n === 0) return { mean: Number.NaN, std: Number.NaN }
  let sum = 0
  for (const v of values) sum += v
  const mean = sum / n
  if (n === 1) return { mean, std: 0 }
  let ss = 0
  for (const v of values) ss += (v - mean) * (v - mean)
  return { mean, std: Math.sqrt(ss / (n - 1)) }
}
