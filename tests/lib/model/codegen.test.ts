import seedrandom from 'seedrandom'
import { describe, expect, it } from 'vitest'
import { isRiskStreamError } from '../../../lib/errors/index.ts'
import {
  emptyPerfectForest,
  generateWalker,
  numberLiteral,
  type PerfectForest,
} from '../../../lib/model/codegen.ts'

/** Evaluates generated source the way the walker does: `new Function` in strict mode. */
const evaluate = (src: string): number => new Function(`'use strict'; return ${src}`)() as number

/** Doubles that print awkwardly: signed zeros, subnormals, extremes, long expansions, infinities. */
const TRICKY = [
  0,
  -0,
  5e-324,
  -5e-324,
  2.2250738585072014e-308,
  Number.MIN_VALUE * 3,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  0.1,
  0.1 + 0.2,
  1 / 3,
  -2 / 3,
  1e21,
  1e-7,
  123456789.12345679,
  2 ** 53 + 2,
  -(2 ** 31),
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
]

describe('numberLiteral', () => {
  it('prints every double so that it evaluates back to exactly the same value', () => {
    const rng = seedrandom('literal-bits')
    const view = new DataView(new ArrayBuffer(8))
    const values = [...TRICKY]
    // Random bit patterns cover all exponents, not just the [0, 1) that rng() returns.
    while (values.length < 2000) {
      view.setUint32(0, Math.floor(rng() * 2 ** 32))
      view.setUint32(4, Math.floor(rng() * 2 ** 32))
      const v = view.getFloat64(0)
      if (!Number.isNaN(v)) values.push(v)
    }
    for (const v of values) {
      const lit = numberLiteral(v)
      expect(Object.is(evaluate(lit), v), `${v} printed as ${lit}`).toBe(true)
      // Behind a unary minus too: "-" followed by a negative literal must not become "--".
      expect(Object.is(evaluate(`-${lit}`), -v), `-${lit}`).toBe(true)
    }
  })

  it('refuses NaN and anything that is not a number, so nothing else can reach the source', () => {
    for (const bad of [Number.NaN, '1; globalThis.pwned = 1', {}, null, 1n]) {
      let code: unknown
      try {
        numberLiteral(bad as number)
      } catch (err) {
        code = isRiskStreamError(err) && err.code
      }
      expect(code).toBe('ARTIFACT_CORRUPT')
    }
  })
})

/**
 * A random perfect forest. With probability `pPad` an internal slot is a leaf above depth D,
 * padded as the scorer pads it: every slot below is padding and every leaf below holds its value.
 */
function randomForest(rng: () => number, nTrees: number, D: number, nf: number, pPad: number): PerfectForest {
  const NI = (1 << D) - 1
  const NL = 1 << D
  const f = emptyPerfectForest(nTrees, D)
  for (let t = 0; t < nTrees; t++) {
    const place = (k: number, d: number, padValue: number | null): void => {
      if (d === D) {
        f.leaf[t * NL + k - NI] = padValue ?? rng() - 0.5
        return
      }
      const i = t * NI + k
      const pad = padValue ?? (d > 0 && rng() < pPad ? rng() - 0.5 : null)
      if (pad === null) {
        f.feature[i] = Math.floor(rng() * nf)
        f.threshold[i] = rng() < 0.1 ? -0 : rng() * 2 - 1
        f.nanRight[i] = rng() < 0.5 ? 1 : 0
        f.split[i] = 1
      }
      place(2 * k + 1, d + 1, pad)
      place(2 * k + 2, d + 1, pad)
    }
    place(0, 0, null)
  }
  return f
}

/** The layout's meaning, written as plainly as possible: walk each tree, add leaves in order. */
function referenceSum(f: PerfectForest, X: Float64Array, off: number): number {
  const NI = (1 << f.depth) - 1
  let s = 0
  for (let t = 0; t < f.nTrees; t++) {
    let k = 0
    for (let d = 0; d < f.depth; d++) {
      const i = t * NI + k
      const x = X[off + f.feature[i]!]!
      const right = Number.isNaN(x) ? f.nanRight[i] === 1 : x >= f.threshold[i]!
      k = 2 * k + (right ? 2 : 1)
    }
    s += f.leaf[t * (NI + 1) + k - NI]!
  }
  return s
}

/** Rows with missing values, signed zeros and values equal to thresholds (the `>=` edge). */
function randomRows(rng: () => number, f: PerfectForest, n: number, nf: number): Float64Array {
  return Float64Array.from({ length: n * nf }, () => {
    const u = rng()
    if (u < 0.1) return Number.NaN
    if (u < 0.15) return rng() < 0.5 ? 0 : -0
    if (u < 0.3 && f.threshold.length > 0) return f.threshold[Math.floor(rng() * f.threshold.length)]!
    return rng() * 2.2 - 1.1
  })
}

describe('generateWalker', () => {
  it('sums exactly what the plain walk sums, for every depth, literal-level split and chunking', () => {
    const rng = seedrandom('codegen-walker')
    const nf = 5
    for (let D = 0; D <= 8; D++) {
      const forest = randomForest(rng, 23, D, nf, 0.15)
      const n = 37 // odd: the last row goes through the one-row code
      const X = randomRows(rng, forest, n, nf)
      const ref = Array.from({ length: n }, (_, r) => referenceSum(forest, X, r * nf))
      for (const opts of [
        {},
        { literalLevels: 0 },
        { literalLevels: 1, chunkCost: 1, rowBlock: 3 },
        { literalLevels: 5, chunkCost: 1e6, rowBlock: 1 },
      ]) {
        const w = generateWalker(forest, nf, opts)
        const out = new Float64Array(n + 1).fill(42)
        w.sumBatch(X, n, out)
        for (let r = 0; r < n; r++) {
          expect(out[r], `D=${D} ${JSON.stringify(opts)} row ${r}`).toBe(ref[r])
          expect(w.sumOne(X, r * nf), `D=${D} one row ${r}`).toBe(ref[r])
        }
        expect(out[n]).toBe(42) // nothing written past the batch
      }
    }
  })

  it('scores a row anywhere in a buffer, and batches of 0, 1 and 2 rows', () => {
    const rng = seedrandom('codegen-small')
    const nf = 3
    const forest = randomForest(rng, 9, 3, nf, 0)
    const X = randomRows(rng, forest, 2, nf)
    const ref = [referenceSum(forest, X, 0), referenceSum(forest, X, nf)]
    const w = generateWalker(forest, nf)
    const out = new Float64Array(2).fill(7)
    w.sumBatch(X, 0, out)
    expect([...out]).toEqual([7, 7])
    w.sumBatch(X, 1, out)
    expect([...out]).toEqual([ref[0], 7])
    w.sumBatch(X, 2, out)
    expect([...out]).toEqual(ref)
    expect(w.sumOne(X, nf)).toBe(ref[1])
  })

  it('refuses layouts whose numbers would not be what the source promises', () => {
    const rng = seedrandom('codegen-bad')
    const good = randomForest(rng, 2, 2, 3, 0)
    const cases: [string, PerfectForest, number][] = [
      ['feature index out of range', { ...good, feature: Int32Array.from(good.feature, () => 3) }, 3],
      ['negative feature index', { ...good, feature: Int32Array.from(good.feature, () => -1) }, 3],
      [
        'fractional feature index',
        { ...good, feature: Float64Array.from(good.feature, () => 1.5) as unknown as Int32Array },
        3,
      ],
      ['NaN threshold', { ...good, threshold: good.threshold.map(() => Number.NaN) }, 3],
      ['infinite threshold', { ...good, threshold: good.threshold.map(() => Number.POSITIVE_INFINITY) }, 3],
      ['missing direction other than 0/1', { ...good, nanRight: Int32Array.from(good.nanRight, () => 2) }, 3],
      // Padding slots are walked through the arrays below the literal levels: checked too.
      [
        'feature index out of range on a padding slot',
        {
          ...good,
          split: new Uint8Array(good.split.length),
          feature: Int32Array.from(good.feature, () => 9),
        },
        3,
      ],
      ['arrays shorter than the depth says', { ...good, depth: 3 }, 3],
      ['fractional feature count', good, 2.5],
    ]
    for (const [what, forest, nf] of cases) {
      let code: unknown
      try {
        generateWalker(forest, nf)
      } catch (err) {
        code = isRiskStreamError(err) && err.code
      }
      expect(code, what).toBe('ARTIFACT_CORRUPT')
    }
  })
})
