import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { FeatureVector } from '../../../lib/features/index.ts'
import { datasetFromRows, stratifiedSample } from '../../../trainer/pipeline/dataset.ts'

const row = (glucose: number | null, bmi: number): FeatureVector => ({
  pregnancies: 6,
  glucose,
  bloodPressure: 72,
  skinThickness: 35,
  insulin: null,
  bmi,
  diabetesPedigreeFunction: 0.627,
  age: 50,
})

describe('datasetFromRows', () => {
  it('fingerprints the documented canonical encoding', () => {
    const { data, fingerprint } = datasetFromRows(
      [row(148, 33.6), row(null, 26.6)],
      [1, 0],
      ['pima', 'kafka'],
    )
    const expected = createHash('sha256')
      .update('6,148,72,35,,33.6,0.627,50,1\n6,,72,35,,26.6,0.627,50,0\n')
      .digest('hex')
    expect(fingerprint).toEqual({ rows: 2, positives: 1, sha256: expected, sources: ['pima', 'kafka'] })
    expect(data.nRows).toBe(2)
    expect(data.nFeatures).toBe(8)
    expect(Number.isNaN(data.X[8 + 1])).toBe(true) // missing glucose of row 2 is NaN
    expect(Array.from(data.y)).toEqual([1, 0])
  })

  it('stratified-subsamples above maxRows and records the original size', () => {
    const n = 1000
    const rows = Array.from({ length: n }, (_, i) => row(100 + (i % 50), 20 + (i % 30)))
    const labels = Array.from({ length: n }, (_, i) => (i % 4 === 0 ? 1 : 0)) // 25 % positive
    const { data, fingerprint } = datasetFromRows(rows, labels, ['synthetic'], { maxRows: 200, seed: 42 })
    expect(data.nRows).toBe(200)
    expect(fingerprint.subsampledFrom).toBe(1000)
    expect(fingerprint.positives).toBe(50)
    const again = datasetFromRows(rows, labels, ['synthetic'], { maxRows: 200, seed: 42 })
    expect(again.fingerprint.sha256).toBe(fingerprint.sha256)
    expect(
      datasetFromRows(rows, labels, ['synthetic'], { maxRows: 200, seed: 7 }).fingerprint.sha256,
    ).not.toBe(fingerprint.sha256)
    expect(
      datasetFromRows(rows, labels, ['synthetic'], { maxRows: 5000 }).fingerprint.subsampledFrom,
    ).toBeUndefined()
  })

  it('keeps original order in the subsample', () => {
    const idx = stratifiedSample([1, 0, 0, 1, 0, 0, 1, 0, 0, 0], 5, 1)
    expect(idx).toEqual([...idx].sort((a, b) => a - b))
    expect(idx.filter((i) => [0, 3, 6].includes(i))).toHaveLength(2) // round(5 × 3/10)
  })

  it('rejects mismatched lengths and non-binary labels with DATASET_INVALID', () => {
    expect(() => datasetFromRows([row(1, 20)], [], [])).toThrow(/1 rows but 0 labels/)
    expect(() => datasetFromRows([row(1, 20)], [2], [])).toThrow(/must be 0 or 1/)
  })
})
