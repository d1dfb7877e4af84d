/**
 * Wasserstein-1 (earth mover's) distance of the measured values on the reference grid, normed by
 * the reference's standard deviation on the same grid (Evidently's "normed Wasserstein"), so it
 * reads in reference SDs whatever the feature's unit: 0.1 means the mass moved a tenth of an SD
 * on average. Unlike KS (the largest CDF gap) it adds up every gap weighted by how far apart
 * the values are, so a small shift of the whole distribution shows as clearly as a large shift
 * of a small part.
 *
 * On the grid each value bin stands for one point: an interior bin its midpoint, an outer (open)
 * bin its inner edge, so values beyond the training range are not extrapolated. Then
 *   W₁ = Σ_j |F_ref(j) − F_win(j)| · (x_{j+1} − x_j)
 * over consecutive points. Missing values are left out (as for KS). NaN when either side has no
 * measured value or the reference has no spread on the grid.
 */
import { type DriftStatistic, visitCdfGaps } from '../drift.ts'

/** The point each value bin stands for (see the header); edges.length + 1 of them. */
function binPoints(edges: readonly number[]): number[] {
  const k = edges.length
  if (k === 0) return [0]
  const xs = [edges[0]!]
  for (let j = 1; j < k; j++) xs.push((edges[j - 1]! + edges[j]!) / 2)
  xs.push(edges[k - 1]!)
  return xs
}

export const wasserstein: DriftStatistic = {
  name: 'wasserstein',
  grid: 'fine',
  compute(ref, counts) {
    const xs = binPoints(ref.edges)
    let w = 0
    const refMass = visitCdfGaps(ref, counts, 'wasserstein', (i, gap) => {
      w += gap * (xs[i + 1]! - xs[i]!)
    })
    if (Number.isNaN(refMass)) return Number.NaN
    const k = ref.shares.length
    let mean = 0
    for (let i = 0; i < k; i++) mean += (ref.shares[i]! / refMass) * xs[i]!
    let variance = 0
    for (let i = 0; i < k; i++) variance += (ref.shares[i]! / refMass) * (xs[i]! - mean) ** 2
    return variance > 0 ? w / Math.sqrt(variance) : Number.NaN
  },
  display: {
    label: 'Wasserstein',
    description:
      "Wasserstein-1 distance of the measured values on the reference grid, in units of the reference's standard deviation",
    digits: 3,
  },
  // Evidently's default for its normed Wasserstein test.
  reportThreshold: 0.1,
}
