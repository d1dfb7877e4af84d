import seedrandom from 'seedrandom'
import { describe, expect, it } from 'vitest'
import { isRiskStreamError } from '../../../lib/errors/index.ts'
import { FEATURE_SPECS } from '../../../lib/features/index.ts'
import { createScorer } from '../../../lib/model/scorer.ts'
import type { FlatTree, LinearModel, TreeEnsembleModel } from '../../../lib/model/types.ts'
import {
  syntheticRows,
  WARM_UP_MAX_MS,
  WARM_UP_MAX_ROWS,
  type WarmUpReport,
  warmUp,
} from '../../../lib/model/warmup.ts'

const NF = FEATURE_SPECS.length

/** `nTrees` full trees of `depth`, thresholds inside the features' bounds (both ways get rows). */
function forest(nTrees: number, depth: number, seed: string): TreeEnsembleModel {
  const rng = seedrandom(seed)
  const nInternal = (1 << depth) - 1
  const n = 2 * nInternal + 1
  const tree = (): FlatTree => {
    const feature = Array.from({ length: n }, (_, i) => (i < nInternal ? Math.floor(rng() * NF) : -1))
    return {
      feature,
      threshold: feature.map((f) =>
        f < 0 ? 0 : FEATURE_SPECS[f]!.min + rng() * (FEATURE_SPECS[f]!.max - FEATURE_SPECS[f]!.min),
      ),
      left: Array.from({ length: n }, (_, i) => (i < nInternal ? 2 * i + 1 : -1)),
      right: Array.from({ length: n }, (_, i) => (i < nInternal ? 2 * i + 2 : -1)),
      missingLeft: Array.from({ length: n }, () => (rng() < 0.5 ? 1 : 0)),
      value: Array.from({ length: n }, () => rng() - 0.5),
    }
  }
  return {
    kind: 'tree_ensemble',
    nFeatures: NF,
    trees: Array.from({ length: nTrees }, tree),
    baseMargin: -0.3,
    aggregation: 'sum',
    link: 'logistic',
  }
}

/** Rows unlike the warm-up's: other seed, some missing values, some outside the bounds. */
function liveRows(n: number, seed: string): Float64Array {
  const rng = seedrandom(seed)
  return Float64Array.from({ length: n * NF }, (_, i) => {
    const { min, max } = FEATURE_SPECS[i % NF]!
    return rng() < 0.05 ? Number.NaN : min + (rng() * 1.2 - 0.1) * (max - min)
  })
}

/** Every way the report can be self-consistent with its budget. */
function expectWithinBudget(r: WarmUpReport, maxMs: number, maxRows: number): void {
  const settled = r.tier.batch !== 'warming' && r.tier.one !== 'warming'
  expect(r.stoppedBy === 'settled').toBe(settled)
  if (r.stoppedBy === 'rows') expect(r.rows).toBeGreaterThanOrEqual(maxRows)
  if (r.stoppedBy === 'time') expect(r.ms).toBeGreaterThanOrEqual(maxMs)
  // One step past the row budget at most (a 512-row batch and 32 single rows).
  expect(r.rows).toBeLessThan(maxRows + 512 + 32)
  // Budget checks are made between slices, so the last slice (and its yield) may overrun.
  expect(r.ms).toBeLessThan(maxMs + r.maxSliceMs + 250)
  expect(r.busyMs).toBeLessThanOrEqual(r.ms)
}

describe('warmUp', () => {
  it('settles a 200-tree depth-3 ensemble on generated code, yielding between slices, scores unchanged', async () => {
    const model = forest(200, 3, 'warm-up-d3')
    const n = 777
    const X = liveRows(n, 'warm-up-live')
    const ref = createScorer(model, undefined, { layout: 'perfect' }).scoreBatch(X, n)
    const tiers: string[] = []
    const s = createScorer(model, undefined, { onTier: (layout, path) => tiers.push(`${path}:${layout}`) })
    expect(s.tier()).toEqual({ batch: 'warming', one: 'warming' })
    expect([...s.scoreBatch(X, n)]).toEqual([...ref])

    const order: string[] = []
    setTimeout(() => order.push('timer'), 0)
    let r = await warmUp(s, { bounds: FEATURE_SPECS })
    order.push('warm-up done')
    expect(order).toEqual(['timer', 'warm-up done'])
    expect(r.slices).toBeGreaterThan(1)
    expectWithinBudget(r, WARM_UP_MAX_MS, WARM_UP_MAX_ROWS)
    expect(r.tier).toEqual(s.tier())

    // On a busy machine the default budget may run out first (the report says so); the warm-up
    // resumes where it stopped, so a larger budget must settle it, on generated code.
    if (r.stoppedBy !== 'settled') r = await warmUp(s, { bounds: FEATURE_SPECS, maxMs: 20_000, maxRows: 5e6 })
    expect(r.stoppedBy).toBe('settled')
    expect(s.tier()).toEqual({ batch: 'codegen', one: 'codegen' })
    expect(tiers.sort()).toEqual(['batch:codegen', 'one:codegen'])

    expect([...s.scoreBatch(X, n)]).toEqual([...ref])
    for (let i = 0; i < n; i++) expect(s.scoreOne(X.subarray(i * NF, (i + 1) * NF))).toBe(ref[i])
    // Settled: nothing more to do.
    expect(await warmUp(s, { bounds: FEATURE_SPECS })).toMatchObject({ stoppedBy: 'settled', rows: 0 })
  })

  it('stops at the row budget and says so, still warming (the race starts only after 20k rows)', async () => {
    const s = createScorer(forest(50, 3, 'warm-up-rows'))
    const r = await warmUp(s, { bounds: FEATURE_SPECS, maxRows: 10_000 })
    expect(r.stoppedBy).toBe('rows')
    expect(r.tier).toEqual({ batch: 'warming', one: 'warming' })
    expectWithinBudget(r, WARM_UP_MAX_MS, 10_000)
  })

  it('stops at the time budget and says so', async () => {
    // 50 ms cannot settle 200 depth-3 trees: the first 20k rows alone take ~40 ms.
    const s = createScorer(forest(200, 3, 'warm-up-time'))
    const r = await warmUp(s, { bounds: FEATURE_SPECS, maxMs: 50 })
    expect(r.stoppedBy).toBe('time')
    expect(r.tier.batch).toBe('warming')
    expectWithinBudget(r, 50, WARM_UP_MAX_ROWS)
  })

  it('returns at once for scorers that never change tier', async () => {
    const linear: LinearModel = {
      kind: 'linear',
      nFeatures: NF,
      weights: new Array(NF).fill(0.01),
      intercept: -1,
      link: 'logistic',
    }
    const cases = [
      [createScorer(linear), 'linear'],
      [createScorer(forest(3, 9, 'warm-up-deep')), 'linked'], // deeper than 8: no generated code
      [createScorer(forest(3, 3, 'warm-up-layout'), undefined, { layout: 'perfect' }), 'perfect'],
      [createScorer(forest(3, 3, 'warm-up-layout'), undefined, { layout: 'codegen' }), 'codegen'],
    ] as const
    for (const [s, tier] of cases) {
      expect(s.tier()).toEqual({ batch: tier, one: tier })
      const r = await warmUp(s, { bounds: FEATURE_SPECS })
      expect(r).toMatchObject({ stoppedBy: 'settled', rows: 0, slices: 0, tier: { batch: tier, one: tier } })
    }
  })

  it('refuses bounds that do not match the scorer, with a coded error', async () => {
    const s = createScorer(forest(3, 3, 'warm-up-bounds'))
    for (const bounds of [
      FEATURE_SPECS.slice(1),
      FEATURE_SPECS.map((b, j) => (j === 2 ? { min: 5, max: 1 } : b)),
    ]) {
      const err = await warmUp(s, { bounds }).catch((e: unknown) => e)
      expect(isRiskStreamError(err) && err.code).toBe('BAD_REQUEST')
    }
  })
})

describe('syntheticRows', () => {
  it('draws the same rows every time, each value within its column bounds', () => {
    const a = syntheticRows(FEATURE_SPECS, NF, 2_000)
    expect(a).toEqual(syntheticRows(FEATURE_SPECS, NF, 2_000))
    for (let i = 0; i < a.length; i++) {
      const { min, max } = FEATURE_SPECS[i % NF]!
      expect(a[i]).toBeGreaterThanOrEqual(min)
      expect(a[i]).toBeLessThanOrEqual(max)
    }
    // Spread over the range, not stuck at one end.
    const glucose = Array.from({ length: 2_000 }, (_, r) => a[r * NF + 1]!)
    expect(Math.min(...glucose)).toBeLessThan(100)
    expect(Math.max(...glucose)).toBeGreaterThan(500)
  })
})
