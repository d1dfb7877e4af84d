/**
 * Feature binning for the histogram tree learner (the LightGBM / scikit-learn
 * HistGradientBoosting approach): each feature is cut into at most 255 bins at quantiles of
 * the TRAINING data, and trees search splits over bin boundaries instead of raw values.
 * That makes split search O(bins) instead of O(rows log rows) per node.
 *
 * Thresholds are real numbers (midpoints between neighbouring training values), so a split
 * "bin <= b goes left" is exactly "x < thresholds[b] goes left", the rule exported trees use.
 * This holds by construction: bin(x) = number of thresholds t with t <= x.
 *
 * Missing values (NaN) get their own bin, MISSING_BIN, whatever the feature's bin count.
 */

/** Maximum number of bins for non-missing values. */
export const MAX_BINS = 255
/** Bin index reserved for NaN; histograms have HIST_BINS slots per feature. */
export const MISSING_BIN = 255
export const HIST_BINS = 256

export interface BinMapper {
  nFeatures: number
  /** Per feature, ascending cut points; feature f has thresholds[f].length + 1 value bins. */
  thresholds: Float64Array[]
}

/**
 * Learns cut points per feature. With at most `maxBins` distinct values, every gap between
 * distinct values is a cut; otherwise cuts sit at `maxBins` evenly spaced quantiles
 * (deduplicated, so heavily tied features get fewer bins).
 */
export function fitBins(X: Float64Array, nRows: number, nFeatures: number, maxBins = MAX_BINS): BinMapper {
  if (maxBins < 2 || maxBins > MAX_BINS) throw new RangeError(`maxBins must be in [2, ${MAX_BINS}]`)
  const thresholds: Float64Array[] = []
  const col = new Float64Array(nRows)
  for (let f = 0; f < nFeatures; f++) {
    let m = 0
    for (let r = 0; r < nRows; r++) {
      const v = X[r * nFeatures + f]!
      if (!Number.isNaN(v)) col[m++] = v
    }
    const sorted = col.subarray(0, m).slice().sort()
    // Distinct values in ascending order.
    const distinct: number[] = []
    for (let i = 0; i < m; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) distinct.push(sorted[i]!)
    const cuts: number[] = []
    if (distinct.length <= maxBins) {
      for (let i = 1; i < distinct.length; i++) cuts.push(midpoint(distinct[i - 1]!, distinct[i]!))
    } else {
      for (let k = 1; k < maxBins; k++) {
        const idx = Math.round((k * m) / maxBins)
        const lo = sorted[idx - 1]!
        const hi = sorted[idx]!
        if (lo === hi) continue // a tie straddles this quantile: no cut here
        const c = midpoint(lo, hi)
        if (cuts.length === 0 || c > cuts[cuts.length - 1]!) cuts.push(c)
      }
    }
    thresholds.push(Float64Array.from(cuts))
  }
  return { nFeatures, thresholds }
}

/** A cut strictly above `lo` and at most `hi`, so `lo` bins left and `hi` bins right. */
function midpoint(lo: number, hi: number): number {
  const mid = lo + (hi - lo) / 2
  return mid > lo ? mid : hi
}

/** Bin index of one value: count of thresholds <= x (binary search), MISSING_BIN for NaN. */
export function binValue(thresholds: Float64Array, x: number): number {
  if (Number.isNaN(x)) return MISSING_BIN
  let lo = 0
  let hi = thresholds.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (thresholds[mid]! <= x) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * Bins a row-major matrix into a ROW-major Uint8Array (binned[r * nFeatures + f]). Histogram
 * building visits a node's rows in arbitrary order; with the row's bins in one cache line
 * (next to its gradient and hessian reads) a row costs a few cache misses, not one per feature.
 */
export function applyBins(mapper: BinMapper, X: Float64Array, nRows: number): Uint8Array {
  const nf = mapper.nFeatures
  const out = new Uint8Array(nf * nRows)
  for (let f = 0; f < nf; f++) {
    const t = mapper.thresholds[f]!
    for (let r = 0; r < nRows; r++) out[r * nf + f] = binValue(t, X[r * nf + f]!)
  }
  return out
}
