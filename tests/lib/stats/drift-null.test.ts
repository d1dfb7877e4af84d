/**
 * Calibrated PSI thresholds (lib/stats/drift-null.ts): the special functions against known
 * values, the samplers' moments, the fitted null's tail against a large seeded bootstrap, the
 * analytic fallback, the budget arithmetic, and a detector driven by calibrated bounds.
 */
import seedrandom from 'seedrandom'
import { describe, expect, it } from 'vitest'
import { HysteresisDetector } from '../../../lib/stats/detectors.ts'
import {
  CLEAR_ALPHA,
  calibratePsiNull,
  chiSquareSurvival,
  chiSquareUpperQuantile,
  PsiAlarmThresholds,
  perTestAlpha,
  psiNullDistribution,
  psiNullQuantile,
  psiNullReplicatesBySize,
  psiNullSurvival,
  sampleBinomial,
  sampleMultinomial,
  seededUniform,
} from '../../../lib/stats/drift-null.ts'
import { buildReference } from '../../../lib/stats/reference.ts'

/** A skewed, tied, partly missing feature of 768 training rows (Pima-sized). */
function trainingValues(seed: string, m = 768): (number | null)[] {
  const rng = seedrandom(seed)
  return Array.from({ length: m }, () => (rng() < 0.1 ? null : Math.round(rng() * rng() * 100)))
}

describe('chi-square tail', () => {
  it('matches tabulated quantiles and the closed form for 2 degrees of freedom', () => {
    expect(chiSquareUpperQuantile(0.05, 9)).toBeCloseTo(16.919, 3)
    expect(chiSquareUpperQuantile(0.01, 1)).toBeCloseTo(6.6349, 3)
    expect(chiSquareUpperQuantile(0.001, 10)).toBeCloseTo(29.588, 3)
    // χ²(2) is exponential: P(X > x) = exp(−x/2).
    for (const a of [0.1, 1e-4, 1e-9]) expect(chiSquareUpperQuantile(a, 2)).toBeCloseTo(-2 * Math.log(a), 6)
    for (const [a, df] of [
      [1e-6, 9],
      [3e-5, 4.7],
      [0.5, 30],
    ] as const) {
      expect(chiSquareSurvival(chiSquareUpperQuantile(a, df), df) / a).toBeCloseTo(1, 6)
    }
  })
})

describe('samplers', () => {
  it('binomial and multinomial draws have the right means and variances', () => {
    const u = seededUniform(1)
    for (const [n, p] of [
      [20, 0.3],
      [5000, 0.1],
      [768, 0.97],
    ] as const) {
      let s = 0
      let ss = 0
      const reps = 20_000
      for (let i = 0; i < reps; i++) {
        const k = sampleBinomial(n, p, u)
        expect(k).toBeGreaterThanOrEqual(0)
        expect(k).toBeLessThanOrEqual(n)
        s += k
        ss += k * k
      }
      const mean = s / reps
      const variance = ss / reps - mean * mean
      expect(Math.abs(mean - n * p)).toBeLessThan(4 * Math.sqrt((n * p * (1 - p)) / reps))
      expect(variance / (n * p * (1 - p))).toBeGreaterThan(0.95)
      expect(variance / (n * p * (1 - p))).toBeLessThan(1.05)
    }
    const out = new Float64Array(4)
    sampleMultinomial(1000, [0.5, 0, 0.25, 0.25], u, out)
    expect(out.reduce((a, b) => a + b, 0)).toBe(1000)
    expect(out[1]).toBe(0)
  })
})

describe('two-sample PSI null', () => {
  const ref = buildReference(trainingValues('null-ref'), 10)

  it('is deterministic for a seed and grows with the reference sampling error', () => {
    const a = calibratePsiNull(ref, { replicates: 2000 })
    expect(calibratePsiNull(ref, { replicates: 2000 })).toEqual(a)
    // Means fall with the window but level off at the reference's own error (the 1/m term).
    for (let i = 1; i < a.windows.length; i++) expect(a.mean[i]!).toBeLessThan(a.mean[i - 1]!)
    const k = ref.shares.filter((s) => s > 0).length + (ref.missingShare > 0 ? 1 : 0)
    expect(a.mean.at(-1)! / ((k - 1) / ref.n)).toBeGreaterThan(0.8)
    // A smaller reference needs a higher threshold at the same window size.
    const small = buildReference(trainingValues('null-ref', 384), 10, { psiNull: true })
    const big = buildReference(trainingValues('null-ref', 768), 10, { psiNull: true })
    expect(psiNullQuantile(small, 5000, 1e-5)).toBeGreaterThan(psiNullQuantile(big, 5000, 1e-5) * 1.3)
  })

  it('puts the fitted quantiles where a 400,000-replicate bootstrap puts them', () => {
    const cal = { ...ref, psiNull: calibratePsiNull(ref) }
    for (const n of [250, 1000, 5000]) {
      const [xs] = psiNullReplicatesBySize(ref, [n], 400_000, 4242 + n) as [Float64Array]
      for (const alpha of [1e-2, 1e-3, 1e-4]) {
        const q = psiNullQuantile(cal, n, alpha)
        let over = 0
        for (const x of xs) if (x >= q) over++
        const ratio = over / xs.length / alpha
        // 40 expected exceedances at 1e-4: ±50 % is > 3 standard errors.
        expect(ratio, `n=${n} alpha=${alpha}`).toBeGreaterThan(0.5)
        expect(ratio, `n=${n} alpha=${alpha}`).toBeLessThan(alpha >= 1e-3 ? 1.3 : 1.6)
        expect(psiNullSurvival(cal, n, q) / alpha).toBeCloseTo(1, 6)
      }
    }
  })

  it('accounts for empty-bin jumps on a sparse grid (window 250, 30 bins)', () => {
    // ~8 events per bin: a window bin is sometimes empty, and the ε floor then adds e·ln(e/ε) at once.
    const sparse = buildReference(trainingValues('null-sparse'), 30, { psiNull: true })
    const [xs] = psiNullReplicatesBySize(sparse, [250], 400_000, 77) as [Float64Array]
    for (const alpha of [1e-3, 1e-4]) {
      const q = psiNullQuantile(sparse, 250, alpha)
      let over = 0
      for (const x of xs) if (x >= q) over++
      expect(over / xs.length / alpha, `alpha=${alpha}`).toBeLessThan(2)
      expect(psiNullSurvival(sparse, 250, q) / alpha).toBeCloseTo(1, 5)
    }
  })

  it('interpolates between calibrated window sizes and falls back to the analytic form', () => {
    const cal = { ...ref, psiNull: calibratePsiNull(ref, { replicates: 4000 }) }
    const q = (n: number) => psiNullQuantile(cal, n, 1e-5)
    expect(q(750)).toBeLessThan(q(500))
    expect(q(750)).toBeGreaterThan(q(1000))
    expect(psiNullDistribution(cal, 750).source).toBe('calibrated')
    const old = psiNullDistribution(ref, 1000)
    expect(old.source).toBe('analytic')
    expect(old.scale).toBeCloseTo(1 / 1000 + 1 / ref.n, 12)
    expect(old.df).toBe(ref.shares.filter((s) => s > 0).length + (ref.missingShare > 0 ? 1 : 0) - 1)
    // A malformed stored calibration is ignored rather than trusted.
    const broken = { ...ref, psiNull: { ...cal.psiNull, mean: [1] } }
    expect(psiNullDistribution(broken, 1000).source).toBe('analytic')
  })
})

describe('false-alarm budget', () => {
  it('splits the budget over subjects and evaluations (Bonferroni)', () => {
    expect(perTestAlpha({ falseAlarmsPerMillion: 1, evalEvery: 250, subjects: 9 })).toBeCloseTo(250 / 9e6, 15)
    expect(perTestAlpha({ falseAlarmsPerMillion: 1e6, evalEvery: 1000, subjects: 1 })).toBe(0.5)
    expect(() => perTestAlpha({ falseAlarmsPerMillion: 0, evalEvery: 250, subjects: 9 })).toThrow()
  })

  it('derives per-subject thresholds that fall with the window, honour the floor and sit above the clear point', () => {
    const refs = ['a', 'b', 'c'].map((s) => buildReference(trainingValues(s), 10, { psiNull: true }))
    const t = new PsiAlarmThresholds(refs, { falseAlarmsPerMillion: 1, evalEvery: 250 })
    expect(t.alpha).toBeCloseTo(250 / 3e6, 15)
    for (let c = 0; c < 3; c++) {
      const b250 = t.at(c, 250)
      const b5000 = t.at(c, 5000)
      expect(b5000.threshold).toBeLessThan(b250.threshold)
      expect(b250.clearThreshold).toBeLessThan(b250.threshold)
      expect(b250.clearThreshold).toBeCloseTo(psiNullQuantile(refs[c]!, 250, CLEAR_ALPHA), 12)
      expect(b250.source).toBe('calibrated')
      expect(t.at(c, 250)).toBe(b250) // cached
    }
    const floored = new PsiAlarmThresholds(refs, { falseAlarmsPerMillion: 1, evalEvery: 250, floor: 0.5 })
    expect(floored.at(0, 5000)).toMatchObject({ threshold: 0.5, floored: true })
  })

  it('drives a hysteresis detector with per-window bounds', () => {
    const d = new HysteresisDetector({ threshold: 0, clearThreshold: 0, consecutive: 2, minWindow: 100 })
    const b = { threshold: 0.2, clearThreshold: 0.1 }
    expect(d.update(0.15, 250, b).state).toBe('ok')
    expect(d.update(0.25, 250, b).state).toBe('pending')
    expect(d.update(0.3, 250, b).raised).toBe(true)
    expect(d.update(0.12, 250, b).state).toBe('alert')
    expect(d.update(0.09, 250, b).cleared).toBe(true)
  })
})
