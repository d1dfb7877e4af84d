import seedrandom from 'seedrandom'
import { describe, expect, it } from 'vitest'
import { delongTest, normalCdf } from '../../../lib/stats/delong.ts'
import { rocAuc } from '../../../lib/stats/metrics.ts'

/** O(m·n) placements straight from the definition, and DeLong's variance of AUC_a − AUC_b. */
function bruteDeLong(y: number[], a: number[], b: number[]) {
  const pos = y.flatMap((v, i) => (v === 1 ? [i] : []))
  const neg = y.flatMap((v, i) => (v === 1 ? [] : [i]))
  const psi = (x: number, z: number) => (x > z ? 1 : x === z ? 0.5 : 0)
  const place = (s: number[]) => ({
    v10: pos.map((i) => neg.reduce((acc, j) => acc + psi(s[i]!, s[j]!), 0) / neg.length),
    v01: neg.map((j) => pos.reduce((acc, i) => acc + psi(s[i]!, s[j]!), 0) / pos.length),
  })
  const cov = (u: number[], v: number[]) => {
    const mu = u.reduce((x, z) => x + z, 0) / u.length
    const mv = v.reduce((x, z) => x + z, 0) / v.length
    return u.reduce((acc, _, k) => acc + (u[k]! - mu) * (v[k]! - mv), 0) / (u.length - 1)
  }
  const pa = place(a)
  const pb = place(b)
  const v10 = cov(pa.v10, pa.v10) + cov(pb.v10, pb.v10) - 2 * cov(pa.v10, pb.v10)
  const v01 = cov(pa.v01, pa.v01) + cov(pb.v01, pb.v01) - 2 * cov(pa.v01, pb.v01)
  return Math.sqrt(v10 / pos.length + v01 / neg.length)
}

function sample(n: number, seed: string, noiseB: number) {
  const rng = seedrandom(seed)
  const y: number[] = []
  const a: number[] = []
  const b: number[] = []
  for (let i = 0; i < n; i++) {
    const label = rng() < 0.35 ? 1 : 0
    const signal = label + (rng() - 0.5) * 1.6
    y.push(label)
    // rounded so that ties occur within and across classes
    a.push(Math.round(signal * 20) / 20)
    b.push(Math.round((signal + (rng() - 0.5) * noiseB) * 20) / 20)
  }
  return { y, a, b }
}

describe('DeLong test for paired ROC-AUCs', () => {
  it('normal CDF matches known values', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 7)
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 6)
    expect(normalCdf(-1.644854)).toBeCloseTo(0.05, 6)
  })

  it('AUCs equal the Mann–Whitney AUC and the standard error equals the O(m·n) definition (with ties)', () => {
    const { y, a, b } = sample(300, 'dl-1', 1.5)
    const r = delongTest(y, a, b)
    expect(r.aucA).toBeCloseTo(rocAuc(y, a), 12)
    expect(r.aucB).toBeCloseTo(rocAuc(y, b), 12)
    expect(r.se).toBeCloseTo(bruteDeLong(y, a, b), 12)
    expect(r.z).toBeCloseTo(r.difference / r.se, 12)
    expect(r.positives + r.negatives).toBe(300)
  })

  it('a model equal to the champion has no evidence of being better (p = 1)', () => {
    const { y, a } = sample(400, 'dl-2', 0)
    const r = delongTest(y, a, [...a])
    expect(r.difference).toBe(0)
    expect(r.se).toBe(0)
    expect(r.pValue).toBe(1)
    expect(r.pTwoSided).toBe(1)
  })

  it('a clearly better ranking is significant, the reverse is not', () => {
    const { y, a, b } = sample(600, 'dl-3', 3)
    const better = delongTest(y, a, b)
    expect(better.difference).toBeGreaterThan(0.05)
    expect(better.pValue).toBeLessThan(0.01)
    const worse = delongTest(y, b, a)
    expect(worse.pValue).toBeGreaterThan(0.99)
    expect(worse.pTwoSided).toBeCloseTo(better.pTwoSided, 12)
  })

  it('one class only: no test (p = 1, AUC NaN)', () => {
    const r = delongTest([1, 1, 1], [0.1, 0.2, 0.3], [0.3, 0.2, 0.1])
    expect(r.pValue).toBe(1)
    expect(r.aucA).toBeNaN()
  })
})
