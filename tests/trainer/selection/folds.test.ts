import { describe, expect, it } from 'vitest'
import { groupStratifiedKFold, rowGroups, stratifiedKFold } from '../../../trainer/selection/folds.ts'

// 768 labels with Pima's prevalence (268 positives), in a fixed non-trivial order.
const y = Array.from({ length: 768 }, (_, i) => ((i * 7919) % 768 < 268 ? 1 : 0))

describe('stratifiedKFold', () => {
  it('partitions every row into exactly one test fold, disjoint from its train part', () => {
    const folds = stratifiedKFold(y, 10, 42)
    const seen = new Int32Array(y.length)
    for (const f of folds) {
      for (const i of f.test) seen[i]!++
      expect(f.train.length + f.test.length).toBe(y.length)
      const test = new Set(f.test)
      expect(f.train.some((i) => test.has(i))).toBe(false)
    }
    expect([...seen].every((c) => c === 1)).toBe(true)
  })

  it('keeps each class count per fold within ±1 and fold sizes within ±1', () => {
    const folds = stratifiedKFold(y, 10, 42)
    const pos = folds.map((f) => f.test.filter((i) => y[i] === 1).length)
    const neg = folds.map((f) => f.test.filter((i) => y[i] === 0).length)
    const sizes = folds.map((f) => f.test.length)
    expect(Math.max(...pos) - Math.min(...pos)).toBeLessThanOrEqual(1)
    expect(Math.max(...neg) - Math.min(...neg)).toBeLessThanOrEqual(1)
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1)
    expect(pos.reduce((a, b) => a + b)).toBe(268)
  })

  it('is deterministic for a seed and changes with the seed', () => {
    expect(stratifiedKFold(y, 5, 42)).toEqual(stratifiedKFold(y, 5, 42))
    expect(stratifiedKFold(y, 5, 43)[0]!.test).not.toEqual(stratifiedKFold(y, 5, 42)[0]!.test)
  })

  it('rejects k < 2 and a class smaller than k', () => {
    expect(() => stratifiedKFold(y, 1, 42)).toThrow(/k must be/)
    expect(() => stratifiedKFold([1, 0, 0, 0, 0, 0], 3, 42)).toThrow(/fewer than the 3 folds/)
  })
})

describe('group-aware folds', () => {
  it('rowGroups joins byte-identical feature rows (missing = missing) and rows sharing a key', () => {
    const nan = Number.NaN
    const X = Float64Array.from([1, 2, 1, 2, 1, nan, 3, 4, 1, nan, 5, 6])
    expect(Array.from(rowGroups(X, 6, 2))).toEqual([0, 0, 1, 2, 1, 3])
    expect(Array.from(rowGroups(X, 6, 2, ['a', null, 'b', '', 'x', 'a']))).toEqual([0, 0, 1, 2, 1, 0])
  })

  it('with one row per group it deals exactly like stratifiedKFold', () => {
    const groups = Int32Array.from(y, (_, i) => i)
    expect(groupStratifiedKFold(y, groups, 10, 42)).toEqual(stratifiedKFold(y, 10, 42))
  })

  it('duplicated rows never straddle folds, and folds stay balanced', () => {
    // Simulated stream: 3,000 draws with replacement from 768 source rows (many duplicates).
    const draws = Array.from({ length: 3000 }, (_, i) => (i * 2654435761) % 768)
    const X = Float64Array.from(draws.flatMap((r) => [r % 17, Math.floor(r / 17)]))
    const labels = draws.map((r) => y[r]!)
    const groups = rowGroups(X, draws.length, 2)
    expect(new Set(groups).size).toBeLessThanOrEqual(768)
    const folds = groupStratifiedKFold(labels, groups, 5, 42)
    const foldOfRow = new Int32Array(draws.length).fill(-1)
    folds.forEach((f, k) => {
      for (const i of f.test) foldOfRow[i] = k
      const trainSources = new Set(f.train.map((i) => draws[i]))
      expect(f.test.some((i) => trainSources.has(draws[i]))).toBe(false)
    })
    expect(foldOfRow.every((k) => k >= 0)).toBe(true)
    const sizes = folds.map((f) => f.test.length)
    expect(Math.max(...sizes) / Math.min(...sizes)).toBeLessThan(1.1)
    const rates = folds.map((f) => f.test.filter((i) => labels[i] === 1).length / f.test.length)
    expect(Math.max(...rates) - Math.min(...rates)).toBeLessThan(0.05)
    // plain stratified folds on the same rows DO leak duplicates across the split
    const leaky = stratifiedKFold(labels, 5, 42)
    const train0 = new Set(leaky[0]!.train.map((i) => draws[i]))
    expect(leaky[0]!.test.some((i) => train0.has(draws[i]))).toBe(true)
  })
})
