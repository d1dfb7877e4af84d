/**
 * Percentile bootstrap confidence intervals. Pure and seeded: the same inputs and seed give the
 * same interval.
 *
 * Resampling unit: a row, or a cluster of rows (`clusters[i]` = cluster id of row i). Rows of a
 * cluster (e.g. one patient, or byte-identical feature rows) are not independent, so they are
 * drawn together; otherwise duplicated rows make an interval look narrower than the data allow.
 */
import { RiskStreamError } from '../errors/index.ts'

/** mulberry32 over a 32-bit FNV-1a hash of the seed: small, fast, good enough for resampling. */
export function seededUniform(seed: string | number): () => number {
  let h = 0x811c9dc5
  for (const ch of String(seed)) {
    h ^= ch.charCodeAt(0)
    h = Math.imul(h, 0x01000193)
  }
  let a = h >>> 0
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export interface Interval {
  /** The statistic on the original sample (not the bootstrap mean). */
  estimate: number
  lo: number
  hi: number
  level: number
}

export interface BootstrapOptions {
  /** Resamples (default 1000). */
  resamples?: number
  /** Two-sided coverage (default 0.95). */
  level?: number
  seed?: string | number
  /** Cluster id per row; clusters are resampled whole. Default: every row its own cluster. */
  clusters?: ArrayLike<number>
}

/** Linear-interpolated quantile of sorted finite values (type 7, as numpy's default). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length
  if (n === 0) return Number.NaN
  const h = (n - 1) * q
  const lo = Math.floor(h)
  const hi = Math.min(n - 1, lo + 1)
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!)
}

/** Row indices of one resample: clusters drawn with replacement, each expanded to its rows. */
function makeResampler(n: number, clusters: ArrayLike<number> | undefined, rand: () => number) {
  if (!clusters) {
    return () => {
      const idx = new Int32Array(n)
      for (let i = 0; i < n; i++) idx[i] = Math.floor(rand() * n)
      return idx
    }
  }
  if (clusters.length !== n)
    throw new RiskStreamError('INTERNAL', `clusters: ${clusters.length} ids for ${n} rows`)
  const members = new Map<number, number[]>()
  for (let i = 0; i < n; i++) {
    const c = clusters[i]!
    const list = members.get(c)
    if (list) list.push(i)
    else members.set(c, [i])
  }
  const groups = [...members.values()]
  return () => {
    const out: number[] = []
    for (let g = 0; g < groups.length; g++)
      for (const i of groups[Math.floor(rand() * groups.length)]!) out.push(i)
    return Int32Array.from(out)
  }
}

/**
 * Percentile intervals of several statistics computed on the same resamples. `statistics`
 * maps a list of row indices (with repeats) to one value per statistic. Resamples where a
 * statistic is not finite (e.g. AUC of a one-class resample) are left out of that statistic.
 */
export function bootstrapIntervals(
  n: number,
  statistics: (rows: Int32Array) => number[],
  opts: BootstrapOptions = {},
): Interval[] {
  const resamples = opts.resamples ?? 1000
  const level = opts.level ?? 0.95
  if (!(level > 0 && level < 1))
    throw new RiskStreamError('INTERNAL', `level must be in (0, 1), got ${level}`)
  const all = Int32Array.from({ length: n }, (_, i) => i)
  const estimates = statistics(all)
  const draws: number[][] = estimates.map(() => [])
  const next = makeResampler(n, opts.clusters, seededUniform(`${opts.seed ?? 0}:bootstrap`))
  for (let b = 0; b < resamples && n > 0; b++) {
    const values = statistics(next())
    values.forEach((v, j) => {
      if (Number.isFinite(v)) draws[j]!.push(v)
    })
  }
  const alpha = (1 - level) / 2
  return estimates.map((estimate, j) => {
    const sorted = Float64Array.from(draws[j]!).sort()
    return { estimate, lo: quantileSorted(sorted, alpha), hi: quantileSorted(sorted, 1 - alpha), level }
  })
}

/**
 * Paired bootstrap of a difference `statistic(a) − statistic(b)` on the same resampled rows:
 * the interval of the difference and the one-sided p-value P(diff ≤ 0) under resampling
 * (with the usual +1 correction, so it is never exactly 0).
 */
export function pairedBootstrap(
  n: number,
  difference: (rows: Int32Array) => number,
  opts: BootstrapOptions = {},
): Interval & { pValue: number; resamples: number } {
  const resamples = opts.resamples ?? 1000
  const level = opts.level ?? 0.95
  const all = Int32Array.from({ length: n }, (_, i) => i)
  const estimate = difference(all)
  const next = makeResampler(n, opts.clusters, seededUniform(`${opts.seed ?? 0}:paired-bootstrap`))
  const diffs: number[] = []
  let notBetter = 0
  for (let b = 0; b < resamples && n > 0; b++) {
    const d = difference(next())
    if (!Number.isFinite(d)) continue
    diffs.push(d)
    if (d <= 0) notBetter++
  }
  const sorted = Float64Array.from(diffs).sort()
  const alpha = (1 - level) / 2
  return {
    estimate,
    lo: quantileSorted(sorted, alpha),
    hi: quantileSorted(sorted, 1 - alpha),
    level,
    pValue: diffs.length === 0 ? 1 : (notBetter + 1) / (diffs.length + 1),
    resamples: diffs.length,
  }
}
