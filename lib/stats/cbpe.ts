/**
 * Performance estimated from calibrated probabilities, before any label exists (confidence-based
 * performance estimation, CBPE). If p is calibrated, the label of an event served with p is
 * Bernoulli(p), so expected counts of positives, negatives and correctly ordered pairs are sums
 * of p's. Pure functions, no I/O.
 */

/**
 * Expected ROC-AUC of events whose labels are y ~ Bernoulli(p), ranked by p itself:
 *
 *   Σ_{i≠j} p_i (1 − p_j) · ([p_i > p_j] + ½[p_i = p_j])  /  Σ_{i≠j} p_i (1 − p_j)
 *
 * i.e. the expected number of correctly ordered (positive, negative) pairs, ties counted half as
 * the realised `rocAuc` counts them, over the expected number of such pairs (a ratio of
 * expectations, as NannyML's CBPE estimates it from the expected TPR/FPR at every threshold).
 * An event is never paired with itself, which the threshold sweep over cumulative sums would do.
 * O(n log n). NaN when fewer than two usable probabilities or no positive-negative pair can exist
 * (every p is 0, or every p is 1). Values outside [0, 1] and NaN are left out.
 */
export function estimatedRocAuc(probs: ArrayLike<number>): number {
  const ps: number[] = []
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i]!
    if (p >= 0 && p <= 1) ps.push(p)
  }
  ps.sort((a, b) => a - b)
  let concordant = 0
  let negBelow = 0 // Σ (1 − p) over strictly lower scores
  let posSum = 0
  let negSum = 0
  let selfSum = 0
  let i = 0
  while (i < ps.length) {
    let j = i
    let gPos = 0
    let gNeg = 0
    let gSelf = 0
    // A run of equal probabilities: their pairs count half in either order.
    while (j < ps.length && ps[j] === ps[i]) {
      const p = ps[j]!
      gPos += p
      gNeg += 1 - p
      gSelf += p * (1 - p)
      j++
    }
    concordant += gPos * negBelow + 0.5 * (gPos * gNeg - gSelf)
    negBelow += gNeg
    posSum += gPos
    negSum += gNeg
    selfSum += gSelf
    i = j
  }
  // Expected (positive, negative) pairs of distinct events: Σ_i p_i · (Σ_j (1 − p_j) − (1 − p_i)).
  const pairs = posSum * negSum - selfSum
  return ps.length >= 2 && pairs > 0 ? concordant / pairs : Number.NaN
}
