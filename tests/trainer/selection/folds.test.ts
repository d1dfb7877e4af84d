import { describe, expect, it } from 'vitest'
import { stratifiedKFold } from '../../../trainer/selection/folds.ts'

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
