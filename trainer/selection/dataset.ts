import type { Dataset } from '../learners/types.ts'

/** The rows at `indices` (in that order) as a new Dataset. */
export function subsetDataset(data: Dataset, indices: ArrayLike<number>): Dataset {
  const p = data.nFeatures
  const X = new Float64Array(indices.length * p)
  const y = new Uint8Array(indices.length)
  for (let r = 0; r < indices.length; r++) {
    const i = indices[r]!
    X.set(data.X.subarray(i * p, (i + 1) * p), r * p)
    y[r] = data.y[i]!
  }
  return { X, nRows: indices.length, nFeatures: p, y }
}
