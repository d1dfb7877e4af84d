/**
 * The seeded event generator behind `replay` and `simulate`: a pure function of its options
 * (no I/O, no clock), so a seed reproduces the same stream and unit tests can check every
 * drift statistically without a broker.
 *
 * Per event i: draw a source row (with replacement; prevalence and covariate-mix drifts
 * change the draw weights), copy its features with measurement noise (MEASUREMENT_JITTER:
 * a simulated patient is a new measurement, not a byte-identical copy of a Pima row, so
 * duplicated rows cannot leak between a retrain's folds), apply feature shifts (clipped to the
 * physiological bounds so valid traffic stays valid), apply missing-value bursts, decide
 * whether a label will follow (labelShare) and what it is (the row's Outcome, flipped by
 * concept drifts), and — in a poison scenario — whether this slot carries a malformed record.
 */
import { FEATURE_SPEC, FEATURES, type FeatureName, type FeatureVector } from '../lib/features/index.ts'
import type { PredictionRequestEvent } from './index.ts'
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
  /** Add measurement noise to every copied row (default true; see MEASUREMENT_JITTER). */
  jitter?: boolean
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
    const noisy = Math.round((x + sd * gaussian(rng)) / spec.step) * spec.step
    // Rounding to the step in binary floating point: keep the decimals the data records.
    out[f] = clip(f, Number(noisy.toFixed(Math.max(0, -Math.floor(Math.log10(spec.step))))))
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
  // A separate stream: the noise does not change which rows, drifts or labels are drawn.
  const jitterRng = createRng(`${opts.seed}:jitter`)
  const jitter = opts.jitter ?? true

  for (let i = 0; i < opts.count; i++) {
    // 1. Which source row: prevalence picks the class, covariate mixes weight the rows.
    let cls: 0 | 1 | null = null
    if (prevalence && rng.chance(driftStrength(prevalence, i)))
      cls = rng.chance(prevalence.positiveRate) ? 1 : 0
    const active = mixes.length === 0 ? mixes : mixes.filter((m) => rng.chance(driftStrength(m, i)))
    const mixKey = active.length === 0 ? '' : active.map((m) => mixes.indexOf(m)).join(',')
    const rowIndex = sampler.draw(rng, cls, active, mixKey)
    const row = jitter ? jitterRow(data.rows[rowIndex]!, jitterRng) : data.rows[rowIndex]!

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
