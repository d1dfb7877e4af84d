/**
 * Turns labelled feature vectors into the trainer's `Dataset` plus its fingerprint.
 *
 * Canonical row encoding (what `fingerprint.sha256` hashes), one line per row, in row order:
 *   the 8 features in FEATURES order, each as JavaScript's shortest round-trip decimal
 *   (`String(x)`, e.g. "33.6", "0.627") or the empty string when missing, then the label
 *   (0 or 1); comma-separated, each line terminated by "\n".
 *   Example: "6,148,72,35,,33.6,0.627,50,1\n"
 * The same rows in the same order always give the same hash, whatever their source.
 * De-duplication (by requestId) is the caller's job: this module trusts its input.
 */
import { createHash } from 'node:crypto'
import { RiskStreamError } from '../../lib/errors/index.ts'
import { FEATURES, type FeatureVector, toRow } from '../../lib/features/index.ts'
import type { DatasetFingerprint } from '../../lib/model/types.ts'
import { createRng, shuffleInPlace } from '../learners/random.ts'
import type { Dataset } from '../learners/types.ts'

export interface DatasetOptions {
  /** Above this many rows, keep a stratified random subsample of exactly this size. */
  maxRows?: number
  seed?: number
}

export function datasetFromRows(
  rows: FeatureVector[],
  labels: number[],
  sources: string[],
  opts: DatasetOptions = {},
): { data: Dataset; fingerprint: DatasetFingerprint } {
  if (rows.length !== labels.length) {
    throw new RiskStreamError('DATASET_INVALID', `${rows.length} rows but ${labels.length} labels`)
  }
  labels.forEach((l, i) => {
    if (l !== 0 && l !== 1) throw new RiskStreamError('DATASET_INVALID', `label at row ${i} must be 0 or 1`)
  })
  const total = rows.length
  const keep =
    opts.maxRows !== undefined && total > opts.maxRows
      ? stratifiedSample(labels, opts.maxRows, opts.seed ?? 0)
      : null
  const idx = keep ?? rows.map((_, i) => i)

  const p = FEATURES.length
  const X = new Float64Array(idx.length * p)
  const y = new Uint8Array(idx.length)
  idx.forEach((i, r) => {
    X.set(toRow(rows[i]!), r * p)
    y[r] = labels[i]!
  })
  const data: Dataset = { X, nRows: idx.length, nFeatures: p, y }
  const fingerprint = fingerprintDataset(data, sources)
  if (keep) fingerprint.subsampledFrom = total
  return { data, fingerprint }
}

/** Fingerprint of a Dataset: counts and sha256 of the canonical encoding (see file header). */
export function fingerprintDataset(data: Dataset, sources: string[]): DatasetFingerprint {
  const hash = createHash('sha256')
  const p = data.nFeatures
  let positives = 0
  for (let r = 0; r < data.nRows; r++) {
    const cells: string[] = []
    for (let j = 0; j < p; j++) {
      const v = data.X[r * p + j]!
      cells.push(Number.isNaN(v) ? '' : String(v))
    }
    cells.push(String(data.y[r]))
    hash.update(`${cells.join(',')}\n`)
    if (data.y[r] === 1) positives++
  }
  return { rows: data.nRows, positives, sha256: hash.digest('hex'), sources: [...sources] }
}

/**
 * Indices (ascending, so the original order survives) of a class-stratified random sample of
 * `size` rows: each class keeps its share, rounded, with the remainder fixing the total.
 */
export function stratifiedSample(labels: ArrayLike<number>, size: number, seed: number): number[] {
  const pos: number[] = []
  const neg: number[] = []
  for (let i = 0; i < labels.length; i++) (labels[i] === 1 ? pos : neg).push(i)
  const rng = createRng(`${seed}:subsample`)
  shuffleInPlace(pos, rng)
  shuffleInPlace(neg, rng)
  const nPos = Math.min(pos.length, Math.round((size * pos.length) / labels.length))
  const nNeg = Math.min(neg.length, size - nPos)
  return [...pos.slice(0, nPos), ...neg.slice(0, nNeg)].sort((a, b) => a - b)
}
