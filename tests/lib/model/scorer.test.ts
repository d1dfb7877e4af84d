import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import seedrandom from 'seedrandom'
import { describe, expect, it } from 'vitest'
import { isRiskStreamError } from '../../../lib/errors/index.ts'
import { createScorer, type ScorerOptions } from '../../../lib/model/scorer.ts'
import type { FlatTree, LinearModel, TreeEnsembleModel } from '../../../lib/model/types.ts'
import { randomTree } from './fixtures.ts'

const NaN_ = Number.NaN
const sigmoid = (m: number): number => 1 / (1 + Math.exp(-m))

/** x0 < 5 ? (x1 < 2 ? 1 : 2) : 3; missing x0 goes right, missing x1 goes left. */
const TREE: FlatTree = {
  feature: [0, 1, -1, -1, -1],
  threshold: [5, 2, 0, 0, 0],
  left: [1, 3, -1, -1, -1],
  right: [2, 4, -1, -1, -1],
  missingLeft: [0, 1, 0, 0, 0],
  value: [0, 0, 3, 1, 2],
}
/** x1 < 0.5 ? 20 : 10 (missing → left), children stored right-before-left to exercise arbitrary numbering. */
const STUMP: FlatTree = {
  feature: [1, -1, -1],
  threshold: [0.5, 0, 0],
  left: [2, -1, -1],
  right: [1, -1, -1],
  missingLeft: [1, 0, 0],
  value: [0, 10, 20],
}

const ensemble = (
  aggregation: 'sum' | 'mean',
  link: 'logistic' | 'identity',
  baseMargin = 0,
): TreeEnsembleModel => ({
  kind: 'tree_ensemble',
  nFeatures: 2,
  trees: [TREE, STUMP],
  baseMargin,
  aggregation,
  link,
})

describe('createScorer: trees', () => {
  const cases: [number[], number, number][] = [
    // row, TREE output, STUMP output
    [[1, 1], 1, 10],
    [[1, 3], 2, 10],
    [[7, 0], 3, 20],
    [[5, 0], 3, 20], // equal to the threshold goes right (x < t goes left)
    [[NaN_, 0], 3, 20], // missing x0 → right
    [[1, NaN_], 1, 20], // missing x1 → left in both trees
  ]

  for (const layout of ['codegen', 'perfect', 'linked'] as const) {
    it(`routes rows, thresholds and missing values as the contract says (${layout})`, () => {
      const sum = createScorer(ensemble('sum', 'identity', 0.5), undefined, { layout })
      const mean = createScorer(ensemble('mean', 'identity'), undefined, { layout })
      const logit = createScorer(ensemble('sum', 'logistic', -30), undefined, { layout })
      const X = Float64Array.from(cases.flatMap((c) => c[0]))
      const batch = sum.scoreBatch(X, cases.length)
      cases.forEach(([row, a, b], i) => {
        expect(sum.scoreOne(row)).toBe(0.5 + a + b)
        expect(batch[i]).toBe(0.5 + a + b)
        expect(mean.scoreOne(row)).toBe((a + b) / 2)
        expect(logit.scoreOne(row)).toBeCloseTo(sigmoid(-30 + a + b), 14)
      })
    })
  }

  it('gives the same scores in every layout and loop order on a random deep ensemble', () => {
    const rng = seedrandom('scorer-layouts')
    const tree = (maxDepth: number): FlatTree =>
      randomTree({ rnd: rng, maxDepth, nFeatures: 4, pLeaf: 0.3, leafValue: rng })
    const model: TreeEnsembleModel = {
      kind: 'tree_ensemble',
      nFeatures: 4,
      trees: Array.from({ length: 30 }, () => tree(6)),
      baseMargin: 0.1,
      aggregation: 'sum',
      link: 'logistic',
    }
    const n = 1001 // not a multiple of the 4-row interleave
    const X = Float64Array.from({ length: n * 4 }, () => (rng() < 0.1 ? NaN_ : rng()))
    const ref = createScorer(model, undefined, { layout: 'linked', treeLoop: 'rows' }).scoreBatch(X, n)
    for (const opts of [
      { layout: 'codegen' as const },
      { layout: 'perfect' as const },
      { layout: 'linked' as const },
      {},
    ]) {
      const s = createScorer(model, undefined, opts)
      const out = s.scoreBatch(X, n, new Float64Array(n))
      for (let r = 0; r < n; r++) {
        expect(out[r]).toBeCloseTo(ref[r]!, 12)
        expect(s.scoreOne(X.subarray(r * 4, r * 4 + 4))).toBeCloseTo(ref[r]!, 12)
      }
    }
  })

  it('gives bit-identical scores with generated code and the array walkers, at every depth', () => {
    const rng = seedrandom('scorer-codegen-exact')
    // Thresholds from a small pool, so rows can hit them exactly (x === t goes right).
    const pool = Array.from({ length: 40 }, (_, i) => (i === 0 ? -0 : (rng() - 0.5) * 10 ** (i % 7)))
    // Early leaves (p = 0.25 below the root) make trees shallower than the ensemble's depth.
    const tree = (maxDepth: number, nf: number): FlatTree =>
      randomTree({
        rnd: rng,
        maxDepth,
        nFeatures: nf,
        pLeaf: 0.25,
        threshold: () => pool[Math.floor(rng() * pool.length)]!,
        shuffleChildren: true,
      })
    const variants: Pick<TreeEnsembleModel, 'aggregation' | 'link'>[] = [
      { aggregation: 'sum', link: 'logistic' },
      { aggregation: 'mean', link: 'identity' },
      { aggregation: 'sum', link: 'identity' },
    ]
    for (let depth = 0; depth <= 8; depth++) {
      const nf = 3 + (depth % 4) * 3
      const model: TreeEnsembleModel = {
        kind: 'tree_ensemble',
        nFeatures: nf,
        trees: Array.from({ length: 25 + depth }, () => tree(depth, nf)),
        baseMargin: rng() - 0.5,
        ...variants[depth % variants.length]!,
      }
      const n = 203
      const X = Float64Array.from({ length: n * nf }, () => {
        const u = rng()
        if (u < 0.15) return NaN_
        if (u < 0.2) return rng() < 0.5 ? 0 : -0
        if (u < 0.5) return pool[Math.floor(rng() * pool.length)]!
        return (rng() - 0.5) * 10 ** Math.floor(rng() * 7)
      })
      const perfect = createScorer(model, undefined, { layout: 'perfect' })
      const ref = perfect.scoreBatch(X, n)
      const linked = createScorer(model, undefined, { layout: 'linked', treeLoop: 'rows' }).scoreBatch(X, n)
      const codegen = createScorer(model, undefined, { layout: 'codegen' })
      const out = new Float64Array(n + 1).fill(9)
      codegen.scoreBatch(X, n, out)
      expect(out[n], 'nothing written past nRows').toBe(9)
      for (let r = 0; r < n; r++) {
        const row = X.subarray(r * nf, (r + 1) * nf)
        expect(out[r], `depth ${depth} row ${r}`).toBe(ref[r])
        expect(linked[r], `depth ${depth} row ${r} (linked)`).toBe(ref[r])
        expect(codegen.scoreOne(row), `depth ${depth} row ${r} (scoreOne)`).toBe(ref[r])
        expect(perfect.scoreOne(row)).toBe(ref[r])
      }
    }
  })

  it('moves a long-lived default scorer to generated code without changing a single score', () => {
    const rng = seedrandom('scorer-tiering')
    const nf = 6
    const tree = (): FlatTree => {
      // A full depth-4 tree, children at 2i+1 / 2i+2.
      const n = 31
      const internal = (i: number) => i < 15
      return {
        feature: Array.from({ length: n }, (_, i) => (internal(i) ? Math.floor(rng() * nf) : -1)),
        threshold: Array.from({ length: n }, () => rng()),
        left: Array.from({ length: n }, (_, i) => (internal(i) ? 2 * i + 1 : -1)),
        right: Array.from({ length: n }, (_, i) => (internal(i) ? 2 * i + 2 : -1)),
        missingLeft: Array.from({ length: n }, () => (rng() < 0.5 ? 1 : 0)),
        value: Array.from({ length: n }, () => rng() - 0.5),
      }
    }
    const model: TreeEnsembleModel = {
      kind: 'tree_ensemble',
      nFeatures: nf,
      trees: Array.from({ length: 60 }, tree),
      baseMargin: -0.2,
      aggregation: 'sum',
      link: 'logistic',
    }
    const n = 999
    const X = Float64Array.from({ length: n * nf }, () => (rng() < 0.05 ? NaN_ : rng()))
    const ref = createScorer(model, undefined, { layout: 'perfect' }).scoreBatch(X, n)
    const tiers: string[] = []
    const opts: ScorerOptions = { onTier: (layout, path) => tiers.push(`${path}:${layout}`) }
    const s = createScorer(model, undefined, opts)
    const out = new Float64Array(n)
    const deadline = Date.now() + 20_000
    let batches = 0
    while (!tiers.includes('batch:codegen') && Date.now() < deadline) {
      s.scoreBatch(X, n, out)
      batches++
      for (let r = 0; r < n; r++)
        if (out[r] !== ref[r]) expect(out[r], `batch ${batches} row ${r}`).toBe(ref[r])
    }
    expect(tiers).toContain('batch:codegen')
    expect(batches).toBeGreaterThan(20_000 / n) // not before the scorer has proven long-lived
    s.scoreBatch(X, n, out)
    expect([...out]).toEqual([...ref])
    let calls = 0
    while (!tiers.includes('one:codegen') && Date.now() < deadline) {
      const r = calls++ % n
      const p = s.scoreOne(X.subarray(r * nf, (r + 1) * nf))
      if (p !== ref[r]) expect(p, `call ${calls}`).toBe(ref[r])
    }
    expect(tiers).toEqual(['batch:codegen', 'one:codegen'])
    for (let r = 0; r < n; r++) expect(s.scoreOne(X.subarray(r * nf, (r + 1) * nf))).toBe(ref[r])
  })

  it('falls back to the array walker where code generation is disabled', () => {
    const scorerPath = fileURLToPath(new URL('../../../lib/model/scorer.ts', import.meta.url))
    const script = `
      const { createScorer } = await import(${JSON.stringify(scorerPath)})
      const tree = ${JSON.stringify(TREE)}
      const model = { kind: 'tree_ensemble', nFeatures: 2, trees: [tree], baseMargin: 0, aggregation: 'sum', link: 'identity' }
      const tiers = []
      const s = createScorer(model, undefined, { onTier: (l, p) => tiers.push(p + ':' + l) })
      const X = Float64Array.from({ length: 60000 }, (_, i) => [1, 1, 7, 0, 1, 3][i % 6])
      s.scoreBatch(X, 30000)
      const out = s.scoreBatch(X, 30000)
      let explicit = 'no error'
      try { createScorer(model, undefined, { layout: 'codegen' }) } catch (e) { explicit = e.constructor.name }
      console.log(JSON.stringify({ tiers, out: Array.from(out.slice(0, 3)), one: s.scoreOne([1, 3]), explicit }))
    `
    const stdout = execFileSync(
      process.execPath,
      ['--disallow-code-generation-from-strings', '--import', 'tsx', '--input-type=module', '-e', script],
      { encoding: 'utf8' },
    )
    expect(JSON.parse(stdout)).toEqual({
      tiers: ['batch:perfect', 'one:perfect'],
      out: [1, 3, 2],
      one: 2,
      explicit: 'EvalError',
    })
  })

  it('applies imputation to tree inputs when the preprocessing asks for it', () => {
    const s = createScorer(ensemble('sum', 'identity'), { impute: [7, null] })
    expect(s.scoreOne([NaN_, 0])).toBe(3 + 20) // imputed 7 → right; same as the native route here
    const s2 = createScorer(ensemble('sum', 'identity'), { impute: [1, null] })
    expect(s2.scoreOne([NaN_, 1])).toBe(1 + 10) // imputed 1 → left, then x1 = 1 → left; stump → 10
  })

  it('rejects malformed models and wrong row sizes with coded errors', () => {
    const cyclic: TreeEnsembleModel = {
      ...ensemble('sum', 'identity'),
      trees: [{ ...TREE, left: [1, 0, -1, -1, -1] }],
    }
    expect(() => createScorer(cyclic)).toThrowError(/reached twice|ARTIFACT|verification/)
    try {
      createScorer(cyclic)
    } catch (err) {
      expect(isRiskStreamError(err) && err.code).toBe('ARTIFACT_CORRUPT')
    }
    const s = createScorer(ensemble('sum', 'identity'))
    expect(() => s.scoreOne([1, 2, 3])).toThrowError(/expected 2/)
    expect(() => s.scoreBatch(new Float64Array(3), 2)).toThrowError(/needs 4 values/)
  })
})

describe('createScorer: linear', () => {
  const model: LinearModel = {
    kind: 'linear',
    nFeatures: 3,
    weights: [0.5, -1, 2],
    intercept: -0.25,
    link: 'logistic',
  }
  const pre = { impute: [10, 20, 30], center: [10, 18, 25], scale: [2, 4, 5] }
  const manual = (row: number[]): number => {
    let m = -0.25
    row.forEach((x, j) => {
      const v = Number.isNaN(x) ? pre.impute[j]! : x
      m += model.weights[j]! * ((v - pre.center[j]!) / pre.scale[j]!)
    })
    return sigmoid(m)
  }

  it('is the logistic of the dot product after impute and standardise', () => {
    const rows = [
      [12, 14, 35],
      [NaN_, 22, NaN_],
      [8, NaN_, 20],
    ]
    const s = createScorer(model, pre)
    const batch = s.scoreBatch(Float64Array.from(rows.flat()), 3)
    rows.forEach((row, i) => {
      expect(s.scoreOne(row)).toBeCloseTo(manual(row), 14)
      expect(batch[i]).toBeCloseTo(manual(row), 14)
    })
  })

  it('does not modify its input', () => {
    const X = Float64Array.of(NaN_, 1, 2)
    createScorer(model, pre).scoreBatch(X, 1)
    expect(Number.isNaN(X[0])).toBe(true)
  })
})
