import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../lib/config/index.ts'
import { loadPima } from '../../lib/data/pima.ts'
import { FEATURES, type FeatureVector, validateFeatures } from '../../lib/features/index.ts'
import {
  type GeneratorOptions,
  generateEvents,
  MEASUREMENT_JITTER,
  plannedMalformed,
  type RequestEvent,
  type SimEvent,
} from '../../producers/generator.ts'
import { createRng, uuidFrom } from '../../producers/rng.ts'
import { loadScenario, MALFORMED_KINDS } from '../../producers/scenario.ts'

const data = loadPima(loadConfig().data.pimaCsvPath)
const base: GeneratorOptions = {
  data,
  count: 3000,
  seed: 11,
  runId: 'run-a',
  labelShare: 0.7,
  startTime: 1_700_000_000_000,
  eventIntervalMs: 10,
  sourceSystem: 'test',
}
const run = (o: Partial<GeneratorOptions> = {}): SimEvent[] => [...generateEvents({ ...base, ...o })]
const requests = (evs: SimEvent[]) => evs.filter((e): e is RequestEvent => e.type === 'request')
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
const values = (evs: RequestEvent[], f: (typeof FEATURES)[number]) =>
  evs.map((e) => e.request[f]).filter((x): x is number => x !== null)

describe('seeded generator', () => {
  it('reproduces the same stream for the same seed and run id', () => {
    expect(run()).toEqual(run())
  })

  it('changes ids but not content for a new run id, and content for a new seed', () => {
    const a = run({ count: 200 })
    const b = run({ count: 200, runId: 'run-b' })
    const strip = (e: SimEvent) => ({
      ...e.request,
      requestId: '',
      patientId: '',
      ...(e.type === 'request' ? { o: e.outcome } : {}),
    })
    expect(b.map(strip)).toEqual(a.map(strip))
    expect(b.every((e, i) => e.request.requestId !== a[i]!.request.requestId)).toBe(true)
    const c = run({ count: 200, seed: 12 })
    expect(c.map(strip)).not.toEqual(a.map(strip))
  })

  it('assigns unique UUID-shaped pseudonymous ids and spaced event times', () => {
    const evs = run()
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
    expect(evs.every((e) => uuid.test(e.request.requestId) && uuid.test(e.request.patientId))).toBe(true)
    expect(new Set(evs.map((e) => e.request.requestId)).size).toBe(evs.length)
    expect(evs[0]!.request.eventTime).toBe(base.startTime)
    expect(evs[10]!.request.eventTime).toBe(base.startTime + 100)
  })

  it('draws rows with replacement and keeps the data set distribution and the label share', () => {
    const evs = requests(run({ count: 6000 }))
    expect(mean(values(evs, 'glucose'))).toBeCloseTo(121.69, -0.5) // data: 121.69, SE ≈ 0.4
    expect(evs.filter((e) => e.outcome !== null).length / evs.length).toBeCloseTo(0.7, 1)
    const labelled = evs.filter((e) => e.outcome !== null).map((e) => e.outcome as number)
    expect(mean(labelled)).toBeCloseTo(0.349, 1)
    expect(evs.every((e) => validateFeatures(e.request).length === 0)).toBe(true)
  })

  it('simulated patients are new measurements, not byte-identical copies of Pima rows', () => {
    const key = (r: FeatureVector) => FEATURES.map((f) => r[f] ?? '').join(',')
    const source = new Set(data.rows.map((r) => key(r)))
    const evs = requests(run({ count: 4000 }))
    const copies = evs.filter((e) => source.has(key(e.request))).length
    expect(copies / evs.length).toBeLessThan(0.01)
    expect(evs.every((e) => validateFeatures(e.request).length === 0)).toBe(true)
    // jitter off: every event is a source row again (the switch is live)
    const exact = requests(run({ count: 500, patients: 'copy' }))
    expect(exact.every((e) => source.has(key(e.request)))).toBe(true)
  })

  it("synthetic patients keep each class's feature distribution and missingness", () => {
    const evs = requests(run({ count: 8000, labelShare: 1 }))
    const sd = (xs: number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)))
    for (const cls of [0, 1]) {
      const src = data.rows.filter((_, i) => data.labels[i] === cls)
      const gen = evs.filter((e) => e.outcome === cls).map((e) => e.request)
      for (const f of ['glucose', 'bmi', 'age', 'insulin'] as const) {
        const a = src.map((r) => r[f]).filter((x): x is number => x !== null)
        const b = gen.map((r) => r[f]).filter((x): x is number => x !== null)
        expect(Math.abs(mean(b) - mean(a)) / sd(a)).toBeLessThan(0.08)
        expect(sd(b) / sd(a)).toBeGreaterThan(0.85)
        expect(sd(b) / sd(a)).toBeLessThan(1.1)
        expect(b.length / gen.length).toBeCloseTo(a.length / src.length, 1)
      }
    }
    // new patients, not near-copies: most differ from every Pima row in glucose AND BMI
    const pairs = new Set(data.rows.map((r) => `${r.glucose}|${r.bmi}`))
    const near = evs.filter((e) => pairs.has(`${e.request.glucose}|${e.request.bmi}`)).length
    expect(near / evs.length).toBeLessThan(0.05)
  })

  it('the noise stays within measurement precision and leaves rows, labels and missingness alone', () => {
    const noisy = requests(run({ count: 3000, patients: 'jitter' }))
    const exact = requests(run({ count: 3000, patients: 'copy' }))
    // same rows and labels: the noise has its own random stream
    expect(noisy.map((e) => e.outcome)).toEqual(exact.map((e) => e.outcome))
    for (const f of FEATURES) {
      const diffs: number[] = []
      noisy.forEach((e, i) => {
        const a = e.request[f]
        const b = exact[i]!.request[f]
        expect(a === null).toBe(b === null)
        if (a !== null && b !== null) diffs.push(Math.abs(a - b))
      })
      const meanAbs = mean(diffs)
      const spec = MEASUREMENT_JITTER[f]
      if (!spec) expect(meanAbs).toBe(0)
      else {
        // E|N(0, sd)| ≈ 0.8 sd; relative noise judged at the feature's mean
        const typical = mean(values(exact, f))
        const sd = (spec.sd ?? 0) + (spec.cv ?? 0) * typical
        expect(meanAbs).toBeGreaterThan(0.4 * sd)
        expect(meanAbs).toBeLessThan(1.3 * sd + spec.step)
      }
    }
  })

  it('uuidFrom is deterministic for a seed', () => {
    expect(uuidFrom(createRng('x'))).toBe(uuidFrom(createRng('x')))
    expect(uuidFrom(createRng('x'))).not.toBe(uuidFrom(createRng('y')))
  })
})

describe('shipped scenarios produce their declared drift', () => {
  it('glucose-shift: glucose mean up by 30 from event 1500, clipped values stay valid', () => {
    const evs = requests(run({ count: 4000, scenario: loadScenario('glucose-shift') }))
    const before = values(
      evs.filter((e) => e.index < 1500),
      'glucose',
    )
    const after = values(
      evs.filter((e) => e.index >= 1500),
      'glucose',
    )
    expect(mean(after) - mean(before)).toBeGreaterThan(30 - 4)
    expect(mean(after) - mean(before)).toBeLessThan(30 + 4)
    expect(evs.every((e) => validateFeatures(e.request).length === 0)).toBe(true)
  })

  it('a big shift is clipped to the physiological bound', () => {
    const scenario = {
      name: 'x',
      description: 'x',
      defaults: {},
      drifts: [{ kind: 'feature-shift' as const, feature: 'bmi' as const, shift: 500, at: 0 }],
    }
    const evs = requests(run({ count: 300, scenario }))
    expect(values(evs, 'bmi').every((x) => x === 90)).toBe(true)
  })

  it('aging-population: mean age rises from about 33 to about 40 years', () => {
    const evs = requests(run({ count: 4000, scenario: loadScenario('aging-population') }))
    const before = mean(
      values(
        evs.filter((e) => e.index < 1000),
        'age',
      ),
    )
    const after = mean(
      values(
        evs.filter((e) => e.index >= 2000),
        'age',
      ),
    )
    expect(before).toBeCloseTo(33.2, -0.5)
    expect(after).toBeGreaterThan(38)
    // 42.9 from the weights (6 × the 45+ rows), pulled towards the mean by the generated
    // patient's 0.8 correlation with its source row: about 40.9.
    expect(after).toBeLessThan(42.5)
  })

  it('concept-flip: the outcome of high-BMI, high-glucose patients turns around', () => {
    const evs = requests(run({ count: 6000, labelShare: 1, scenario: loadScenario('concept-flip') }))
    const group = (lo: number, hi: number) =>
      evs
        .filter(
          (e) =>
            e.index >= lo && e.index < hi && (e.request.bmi ?? 0) >= 30 && (e.request.glucose ?? 0) >= 140,
        )
        .map((e) => e.outcome as number)
    const before = mean(group(0, 1500))
    const after = mean(group(1500, 6000))
    // p = 0.8: after = 0.8 (1 − before) + 0.2 before
    expect(after).toBeCloseTo(0.8 * (1 - before) + 0.2 * before, 1)
    expect(before - after).toBeGreaterThan(0.3)
  })

  it('missing-burst: glucose, BMI and blood pressure mostly null inside the burst only', () => {
    const evs = requests(run({ count: 4000, scenario: loadScenario('missing-burst') }))
    const nullRate = (lo: number, hi: number) => {
      const sel = evs.filter((e) => e.index >= lo && e.index < hi)
      return sel.filter((e) => e.request.glucose === null).length / sel.length
    }
    expect(nullRate(1500, 2500)).toBeGreaterThan(0.86)
    expect(nullRate(0, 1500)).toBeLessThan(0.03)
    expect(nullRate(2500, 4000)).toBeLessThan(0.03)
  })

  it('poison: exactly one of each kind per 1,000 events, reported by plannedMalformed', () => {
    const scenario = loadScenario('poison')
    const evs = run({ count: 3500, scenario })
    const counts: Record<string, number> = {}
    for (const e of evs) if (e.type === 'malformed') counts[e.kind] = (counts[e.kind] ?? 0) + 1
    const planned = plannedMalformed({ count: 3500, seed: base.seed, scenario })
    expect(counts).toEqual(planned)
    for (const k of MALFORMED_KINDS) expect(planned[k]).toBeGreaterThanOrEqual(3)
    expect(evs.length).toBe(3500)
    for (let b = 0; b < 3; b++) {
      const block = evs.slice(b * 1000, (b + 1) * 1000).filter((e) => e.type === 'malformed')
      expect(block.length).toBe(MALFORMED_KINDS.length)
    }
  })
})
