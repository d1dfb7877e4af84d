/**
 * Test helpers for the learner tests: the Pima data as a learner Dataset and a tiny
 * stratified k-fold split (the trainer's real CV lives elsewhere; this one only needs to be
 * obviously correct).
 */
import { loadConfig } from '../../../lib/config/index.ts'
import { loadPima } from '../../../lib/data/pima.ts'
import { toRow } from '../../../lib/features/index.ts'
import { createRng } from '../../../trainer/learners/random.ts'
import type { Dataset } from '../../../trainer/learners/types.ts'

export function pimaDataset(): Dataset {
  const pima = loadPima(loadConfig(process.env).data.pimaCsvPath)
  const nFeatures = 8
  const X = new Float64Array(pima.rows.length * nFeatures)
  pima.rows.forEach((v, r) => {
    X.set(toRow(v), r * nFeatures)
  })
  return { X, nRows: pima.rows.length, nFeatures, y: Uint8Array.from(pima.labels) }
}

export function takeRows(d: Dataset, rows: number[]): Dataset {
  const X = new Float64Array(rows.length * d.nFeatures)
  const y = new Uint8Array(rows.length)
  rows.forEach((r, i) => {
    X.set(d.X.subarray(r * d.nFeatures, (r + 1) * d.nFeatures), i * d.nFeatures)
    y[i] = d.y[r]!
  })
  return { X, y, nRows: rows.length, nFeatures: d.nFeatures }
}

/** Fold index per row: each class shuffled with the seed, then dealt round-robin. */
export function stratifiedFolds(y: Uint8Array, k: number, seed: number): number[] {
  const rng = createRng(`test-folds-${seed}`)
  const fold = new Array<number>(y.length).fill(-1)
  for (const cls of [0, 1]) {
    const idx: number[] = []
    y.forEach((v, i) => {
      if (v === cls) idx.push(i)
    })
    for (let i = idx.length - 1; i > 0; i--) {
      const j = rng.int(i + 1)
      ;[idx[i], idx[j]] = [idx[j]!, idx[i]!]
    }
    idx.forEach((r, i) => {
      fold[r] = i % k
    })
  }
  return fold
}
