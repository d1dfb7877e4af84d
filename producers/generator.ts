/**
 * The seeded event generator behind `replay` and `simulate`: a pure function of its options (no
 * I/O, no clock), so a seed reproduces the stream. Each event is a new patient drawn near a
 * source row (per-class Gaussian copula plus measurement noise, so no Pima row is copied for a
 * retrain to memorise), then shifted, blanked and labelled as the scenario's drifts say.
 */
import { FEATURE_SPEC, FEATURES, type FeatureName, type FeatureVector } from '../lib/features/index.ts'
import { normalCdf } from '../lib/stats/delong.ts'
import type { PredictionRequestEvent } from './clinical.ts'
import { createRng, type Rng, uuidFrom } from './rng.ts'
import {
  type CovariateMixDrift,
  driftStrength,
  type MalformedKind,
  matches,
  type PrevalenceDrift,
  type Scenario,
} from './scenario.ts'

export interface SourceData {
  rows: readonly FeatureVector[]
  labels: readonly number[]
}

export interface GeneratorOptions {
  data: SourceData
  count: number
  /** Seeds every content decision (rows, drifts, labels, malformed positions). */
  seed: string | number
  /** Seeds the identifiers together with `seed`: a new run id gives new request/patient ids. */
  runId: string
  scenario?: Scenario
  /** Share of valid requests whose outcome will be published, 0..1. */
  labelShare: number
  /** eventTime of event 0 (epoch ms) and the spacing of later events. */
  startTime: number
  eventIntervalMs: number
  sourceSystem: string
  /**
   * How a drawn source row becomes a patient (default 'synthetic'):
   * - 'synthetic': a NEW patient near the source row from the per-class Gaussian-copula model
   *   (see `ClassModel`), then measurement noise;
   * - 'jitter': the source row with measurement noise only (MEASUREMENT_JITTER);
   * - 'copy': the source row unchanged (byte-identical; for tests of the resampling itself).
   */
  patients?: 'synthetic' | 'jitter' | 'copy'
  /** Copula-space bandwidth of 'synthetic' patients (default SYNTHETIC_BANDWIDTH). */
  bandwidth?: number
}

/**
 * Measurement noise of each feature, about the repeatability of the measurement itself:
 * `sd` is absolute, `cv` relative (sd = cv × value); the result is rounded to `step` (the
 * precision the data set records) and clipped to the physiological bounds. Counts and
 * birth-date-derived values (pregnancies, age) are exact; missing stays missing.
 */
export const MEASUREMENT_JITTER: Readonly<
  Record<FeatureName, { sd?: number; cv?: number; step: number } | null>
> = {
  pregnancies: null,
  glucose: { cv: 0.03, step: 1 }, // plasma glucose assay CV ≈ 2–4 %
  bloodPressure: { sd: 3, step: 1 }, // diastolic, repeated cuff readings differ by a few mmHg
  skinThickness: { sd: 1.5, step: 1 }, // triceps skinfold caliper, ± 1–2 mm between readers
  insulin: { cv: 0.08, step: 1 }, // 2-h serum insulin immunoassay CV ≈ 5–10 %
  bmi: { sd: 0.4, step: 0.1 }, // weight/height measurement error
  diabetesPedigreeFunction: { cv: 0.03, step: 0.001 }, // family-history score, recorded to 3 decimals
  age: null,
}

/** Precision each feature is recorded with (the data set's own). */
const STEP: Record<FeatureName, number> = {
  pregnancies: 1,
  glucose: 1,
  bloodPressure: 1,
  skinThickness: 1,
  insulin: 1,
  bmi: 0.1,
  diabetesPedigreeFunction: 0.001,
  age: 1,
}

function roundTo(x: number, step: number): number {
  return Number((Math.round(x / step) * step).toFixed(Math.max(0, -Math.floor(Math.log10(step)))))
}

/** Inverse standard normal CDF (Acklam's rational approximation, relative error < 1.2e-9). */
function normalQuantile(p: number): number {
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
    2.506628277459239,
  ]
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155211578]
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ]
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416]
  const lo = 0.02425
  if (p <= 0) return Number.NEGATIVE_INFINITY
  if (p >= 1) return Number.POSITIVE_INFINITY
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p))
    return (
      (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
      ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1)
    )
  }
  if (p > 1 - lo) return -normalQuantile(1 - p)
  const q = p - 0.5
  const r = q * q
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  )
}

/**
 * Bandwidth of synthetic patients in copula (normal-score) space. A new patient's scores are
 * (z_source + h·ε) / √(1 + h²) with ε drawn from the class's score correlation: each
 * feature's class distribution is kept, the source row only sets the neighbourhood. At 0.75
 * a patient keeps a correlation of 0.8 with its source row, which keeps covariate-mix drifts
 * (which weight source rows) effective while leaving no copy of any Pima row to memorise.
 */
export const SYNTHETIC_BANDWIDTH = 0.75

/**
 * The per-class generative model: for each class, each feature's empirical quantile function
 * (observed values only) and the correlation of the features' normal scores (pairwise over
 * observed values, shrunk 10 % towards the identity so it is positive definite). Missingness
 * follows the source row.
 */
class ClassModel {
  private readonly sorted: Record<FeatureName, number[]>[] = []
  private readonly scores: Float64Array[] = []
  private readonly chol: Float64Array[] = []
  private readonly classOf: number[]

  constructor(
    private readonly data: SourceData,
    private readonly h: number,
  ) {
    const p = FEATURES.length
    this.classOf = data.labels.map((l) => (l === 1 ? 1 : 0))
    this.scores = data.rows.map(() => new Float64Array(p).fill(Number.NaN))
    for (const cls of [0, 1]) {
      const members = data.rows.flatMap((_, i) => (this.classOf[i] === cls ? [i] : []))
      const sorted = {} as Record<FeatureName, number[]>
      FEATURES.forEach((f, j) => {
        const obs = members.filter((i) => data.rows[i]![f] !== null)
        const values = obs.map((i) => data.rows[i]![f] as number).sort((a, b) => a - b)
        sorted[f] = values
        // mid-rank normal scores of the observed values (ties share one score)
        for (const i of obs) {
          const x = data.rows[i]![f] as number
          let lo = 0
          let hi = values.length
          while (lo < hi) {
            const mid = (lo + hi) >> 1
            if (values[mid]! < x) lo = mid + 1
            else hi = mid
          }
          let end = lo
          while (end < values.length && values[end] === x) end++
          this.scores[i]![j] = normalQuantile((lo + end) / 2 / values.length)
        }
      })
      this.sorted[cls] = sorted
      // correlation of scores, pairwise complete, shrunk towards I
      const corr = new Float64Array(p * p)
      for (let a = 0; a < p; a++) {
        for (let b = 0; b < p; b++) {
          if (a === b) {
            corr[a * p + b] = 1
            continue
          }
          let sab = 0
          let saa = 0
          let sbb = 0
          for (const i of members) {
            const za = this.scores[i]![a]!
            const zb = this.scores[i]![b]!
            if (Number.isNaN(za) || Number.isNaN(zb)) continue
            sab += za * zb
            saa += za * za
            sbb += zb * zb
          }
          corr[a * p + b] = saa > 0 && sbb > 0 ? (0.9 * sab) / Math.sqrt(saa * sbb) : 0
        }
      }
      // Cholesky
      const L = new Float64Array(p * p)
      for (let a = 0; a < p; a++) {
        for (let b = 0; b <= a; b++) {
          let sum = corr[a * p + b]!
          for (let k = 0; k < b; k++) sum -= L[a * p + k]! * L[b * p + k]!
          L[a * p + b] = a === b ? Math.sqrt(Math.max(sum, 1e-9)) : sum / L[b * p + b]!
        }
      }
      this.chol[cls] = L
    }
  }

  /** A new patient near source row `i`, drawn from its class's model. */
  patient(i: number, rng: Rng): FeatureVector {
    const p = FEATURES.length
    const cls = this.classOf[i]!
    const L = this.chol[cls]!
    const e = Array.from({ length: p }, () => gaussian(rng))
    const out = { ...this.data.rows[i]! }
    const scale = 1 / Math.sqrt(1 + this.h * this.h)
    FEATURES.forEach((f, j) => {
      const z0 = this.scores[i]![j]!
      if (Number.isNaN(z0) || out[f] === null) return
      let eps = 0
      for (let k = 0; k <= j; k++) eps += L[j * p + k]! * e[k]!
      const u = normalCdf((z0 + this.h * eps) * scale)
      const values = this.sorted[cls]![f]
      const pos = u * (values.length - 1)
      const lo = Math.floor(pos)
      const hi = Math.min(values.length - 1, lo + 1)
      const x = values[lo]! + (pos - lo) * (values[hi]! - values[lo]!)
      out[f] = clip(f, roundTo(x, STEP[f]))
    })
    return out
  }
}

/** Standard normal draw (Box–Muller) from a uniform source. */
function gaussian(rng: Rng): number {
  const u = Math.max(rng.next(), 1e-12)
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next())
}

function jitterRow(row: FeatureVector, rng: Rng): FeatureVector {
  const out = { ...row }
  for (const f of FEATURES) {
    const spec = MEASUREMENT_JITTER[f]
    const x = row[f]
    if (!spec || x === null) continue
    const sd = (spec.sd ?? 0) + (spec.cv ?? 0) * Math.abs(x)
    out[f] = clip(f, roundTo(x + sd * gaussian(rng), spec.step))
  }
  return out
}

export interface RequestEvent {
  type: 'request'
  index: number
  request: PredictionRequestEvent
  /** The label to publish later, or null when this request gets none. */
  outcome: 0 | 1 | null
}

export interface MalformedEvent {
  type: 'malformed'
  index: number
  kind: MalformedKind
  /** The valid request the malformed bytes are derived from. */
  request: PredictionRequestEvent
}

export type SimEvent = RequestEvent | MalformedEvent

/** Exact number of each malformed kind a run of `count` events will carry. */
export function plannedMalformed(
  opts: Pick<GeneratorOptions, 'count' | 'seed' | 'scenario'>,
): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const kind of malformedSlots(opts).values()) counts[kind] = (counts[kind] ?? 0) + 1
  return counts
}

/**
 * Where malformed records go: in each block of `every` events, one slot per kind at
 * distinct, seeded positions (a separate RNG stream, so poison does not alter valid traffic).
 */
function malformedSlots(
  opts: Pick<GeneratorOptions, 'count' | 'seed' | 'scenario'>,
): Map<number, MalformedKind> {
  const slots = new Map<number, MalformedKind>()
  const spec = opts.scenario?.malformed
  if (!spec) return slots
  const rng = createRng(`${opts.seed}:malformed`)
  for (let blockStart = 0; blockStart < opts.count; blockStart += spec.every) {
    const taken = new Set<number>()
    for (const kind of spec.kinds) {
      let offset: number
      do offset = rng.int(spec.every)
      while (taken.has(offset))
      taken.add(offset)
      if (blockStart + offset < opts.count) slots.set(blockStart + offset, kind)
    }
  }
  return slots
}

/** Means of the non-null values of each feature: the centre a scale change stretches around. */
function featureMeans(rows: readonly FeatureVector[]): Record<FeatureName, number> {
  const means = {} as Record<FeatureName, number>
  for (const f of FEATURES) {
    let sum = 0
    let n = 0
    for (const r of rows) {
      const x = r[f]
      if (x !== null) {
        sum += x
        n++
      }
    }
    means[f] = n > 0 ? sum / n : 0
  }
  return means
}

function clip(f: FeatureName, x: number): number {
  const spec = FEATURE_SPEC[f]
  return Math.min(spec.max, Math.max(spec.min, x))
}

/** Draws row indexes; weighted draws are cached per (class, active mixes) combination. */
class RowSampler {
  private readonly cache = new Map<string, { idx: number[]; cum: Float64Array }>()
  constructor(private readonly data: SourceData) {}

  draw(rng: Rng, cls: 0 | 1 | null, mixes: readonly CovariateMixDrift[], mixKey: string): number {
    if (cls === null && mixes.length === 0) return rng.int(this.data.rows.length)
    const key = `${cls}|${mixKey}`
    let table = this.cache.get(key)
    if (!table) {
      const idx: number[] = []
      const weights: number[] = []
      this.data.rows.forEach((row, i) => {
        if (cls !== null && this.data.labels[i] !== cls) return
        let w = 1
        for (const m of mixes) if (matches(m.when, row[m.when.feature])) w *= m.weight
        idx.push(i)
        weights.push(w)
      })
      const cum = new Float64Array(weights.length)
      let acc = 0
      weights.forEach((w, j) => {
        acc += w
        cum[j] = acc
      })
      table = { idx, cum }
      this.cache.set(key, table)
    }
    const target = rng.next() * table.cum[table.cum.length - 1]!
    let lo = 0
    let hi = table.cum.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (table.cum[mid]! > target) hi = mid
      else lo = mid + 1
    }
    return table.idx[lo]!
  }
}

export function* generateEvents(opts: GeneratorOptions): Generator<SimEvent> {
  const { data, scenario } = opts
  if (data.rows.length === 0) return
  const rng = createRng(opts.seed)
  const idRng = createRng(`${opts.seed}:${opts.runId}:ids`)
  const slots = malformedSlots(opts)
  const drifts = scenario?.drifts ?? []
  const shifts = drifts.filter((d) => d.kind === 'feature-shift')
  const mixes = drifts.filter((d) => d.kind === 'covariate-mix')
  const prevalence = drifts.find((d): d is PrevalenceDrift => d.kind === 'prevalence')
  const flips = drifts.filter((d) => d.kind === 'concept-flip')
  const bursts = drifts.filter((d) => d.kind === 'missing-burst')
  const means = featureMeans(data.rows)
  const sampler = new RowSampler(data)
  // A separate stream: the patients' values do not change which rows, drifts or labels are drawn.
  const patientRng = createRng(`${opts.seed}:patients`)
  const patients = opts.patients ?? 'synthetic'
  const model = patients === 'synthetic' ? new ClassModel(data, opts.bandwidth ?? SYNTHETIC_BANDWIDTH) : null
  const patientOf = (i: number): FeatureVector => {
    if (patients === 'copy') return data.rows[i]!
    return jitterRow(model ? model.patient(i, patientRng) : data.rows[i]!, patientRng)
  }

  for (let i = 0; i < opts.count; i++) {
    // 1. Which source row: prevalence picks the class, covariate mixes weight the rows.
    let cls: 0 | 1 | null = null
    if (prevalence && rng.chance(driftStrength(prevalence, i)))
      cls = rng.chance(prevalence.positiveRate) ? 1 : 0
    const active = mixes.length === 0 ? mixes : mixes.filter((m) => rng.chance(driftStrength(m, i)))
    const mixKey = active.length === 0 ? '' : active.map((m) => mixes.indexOf(m)).join(',')
    const rowIndex = sampler.draw(rng, cls, active, mixKey)
    const row = patientOf(rowIndex)

    // 2. Features: data drift (clipped to bounds), then missing-value bursts.
    const request: PredictionRequestEvent = {
      requestId: uuidFrom(idRng),
      patientId: uuidFrom(idRng),
      eventTime: opts.startTime + Math.round(i * opts.eventIntervalMs),
      sourceSystem: opts.sourceSystem,
      notes: null,
      ...row,
    }
    const features = request
    for (const s of shifts) {
      const strength = driftStrength(s, i)
      const x = features[s.feature]
      if (strength === 0 || x === null) continue
      const scale = 1 + ((s.scale ?? 1) - 1) * strength
      const shift = (s.shift ?? 0) * strength
      const mean = means[s.feature]
      features[s.feature] = clip(s.feature, Math.round((mean + (x - mean) * scale + shift) * 1000) / 1000)
    }
    for (const b of bursts) {
      if (i < b.start || i >= b.end) continue
      for (const f of b.features) if (rng.chance(b.probability)) features[f] = null
    }

    // 3. The label: will one follow, and is the concept drifting for this patient?
    let outcome = data.labels[rowIndex] as 0 | 1
    for (const c of flips) {
      if (matches(c.when, features[c.when.feature]) && rng.chance(c.probability * driftStrength(c, i))) {
        outcome = outcome === 1 ? 0 : 1
      }
    }
    const labelled = rng.chance(opts.labelShare)

    const kind = slots.get(i)
    if (kind) yield { type: 'malformed', index: i, kind, request }
    else yield { type: 'request', index: i, request, outcome: labelled ? outcome : null }
  }
}

/** The RNG used to pick details inside malformed records (e.g. which feature goes out of range). */
export function poisonContentRng(seed: string | number): Rng {
  return createRng(`${seed}:poison-content`)
}
