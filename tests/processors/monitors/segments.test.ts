/**
 * Segments (lib/segments): a shift in one source system is detected in that segment and not in
 * the whole population, where it is diluted; the number of segments is capped with an 'other'
 * bucket that is counted; a value is admitted only once seen SEGMENT_MIN_EVENTS times, so a flood
 * of one-off values cannot take the slots of the real ones; segment monitors and the admission
 * state restart from a checkpoint like the rest. Seeded, pure engine code.
 */
import seedrandom from 'seedrandom'
import { describe, expect, it } from 'vitest'
import { configWith } from '../../../lib/config/index.ts'
import { BoundedMap } from '../../../lib/events/bounded-map.ts'
import {
  ageBand,
  CandidateCounts,
  SEGMENT_CANDIDATES_PER_FAMILY,
  SegmentCap,
  segmentValues,
} from '../../../lib/segments/index.ts'
import { MonitorEngine } from '../../../processors/monitors/engine/engine.ts'
import type {
  DriftEventRecord,
  PredictionEvent,
  WindowRow,
} from '../../../processors/monitors/engine/types.ts'
import { glucoseSd, PIMA, pimaArtifact, runWithRestart, score, T0 } from './streams.ts'

const drift = { ...configWith({}).drift, timeWindowsMs: [] }
const artifact = pimaArtifact(0.5)
const SOURCES = ['clinic-a', 'clinic-b', 'clinic-c', 'clinic-d', 'clinic-e']

function engine(segmentMaxPerFamily = drift.segmentMaxPerFamily, segmentMinEvents = drift.segmentMinEvents) {
  return new MonitorEngine({
    modelName: 'm',
    drift: { ...drift, segmentMaxPerFamily, segmentMinEvents },
    artifactFor: () => artifact,
  })
}

/** The source segments that have a monitor of their own, sorted. */
function sourceMonitors(e: MonitorEngine): string[] {
  return Object.keys(e.snapshot().segments!['1']!.monitors)
    .filter((k) => k.startsWith('source='))
    .sort()
}

/** Pima rows drawn with replacement from five clinics; from `shiftAt` on, one clinic's glucose is +`sds` SD. */
function* stream(n: number, seed: string, shift?: { at: number; source: string; sds: number }) {
  const rng = seedrandom.alea(seed)
  for (let k = 0; k < n; k++) {
    const i = Math.floor(rng() * PIMA.rows.length)
    const source = SOURCES[Math.floor(rng() * SOURCES.length)]!
    const v = { ...PIMA.rows[i]! }
    if (shift && k >= shift.at && source === shift.source && v.glucose !== null)
      v.glucose += shift.sds * glucoseSd
    const p = score(v)
    const t = T0 + k * 100
    const e: PredictionEvent = {
      requestId: `${seed}-${k}`,
      patientId: `p${i}`,
      modelName: 'm',
      modelVersion: 1,
      probability: p,
      label: p >= 0.5 ? 1 : 0,
      threshold: 0.5,
      eventTime: t,
      scoredAt: t + 5,
      shadow: false,
      sourceSystem: source,
      ...v,
    }
    yield e
  }
}

function run(e: MonitorEngine, events: Iterable<PredictionEvent>) {
  const rows: WindowRow[] = []
  const raised: { at: number; e: DriftEventRecord }[] = []
  let k = 0
  for (const p of events) {
    e.onPrediction(p)
    k++
    const out = e.takeOutputs()
    rows.push(...out.rows)
    for (const x of out.events) raised.push({ at: k, e: x })
  }
  return { rows, raised }
}

describe('segments', () => {
  it('keys each prediction by source system and age band, in one home', () => {
    expect(segmentValues({ sourceSystem: ' clinic-a ', age: 34 })).toEqual({
      source: 'clinic-a',
      age: '30-39',
    })
    expect(segmentValues({ sourceSystem: null, age: null })).toEqual({ source: 'unknown', age: 'unknown' })
    expect([21, 29.9, 30, 49, 50, 60, 81].map(ageBand)).toEqual([
      '<30',
      '<30',
      '30-39',
      '40-49',
      '50-59',
      '60+',
      '60+',
    ])
  })

  it('detects a shift in one source system in that segment, not in the whole population', () => {
    const shiftAt = 10_000
    const { rows, raised } = run(
      engine(),
      stream(40_000, 'seg-shift', { at: shiftAt, source: 'clinic-c', sds: 1 }),
    )
    const segmentAlarms = raised.filter((x) => x.e.kind === 'segment_data_drift')
    const evidence = segmentAlarms.map((x) => JSON.parse(x.e.evidenceJson).segment)
    // The shifted clinic alarms on glucose after the shift; no other clinic alarms at all.
    expect(new Set(evidence)).toEqual(new Set(['source=clinic-c']))
    const first = segmentAlarms[0]!
    expect(first.at).toBeGreaterThan(shiftAt)
    // A fifth of the traffic: about 1,000 of the clinic's events after the onset, 5,000 overall.
    expect(first.at).toBeLessThan(shiftAt + 10_000)
    expect(first.e.features).toContain('glucose')
    expect(first.e.eventId).toContain(':source=clinic-c')
    // Diluted to a fifth in the whole population: no data-drift alarm there within the run.
    expect(raised.filter((x) => x.e.kind === 'data_drift')).toEqual([])
    // The segment's rows carry its key; its threshold comes from the same calibration.
    const segPsi = rows.filter(
      (r) => r.segment === 'source=clinic-c' && r.subject === 'glucose' && r.metric === 'psi',
    )
    const popPsi = rows.filter(
      (r) => r.segment === undefined && r.subject === 'glucose' && r.metric === 'psi',
    )
    expect(Math.max(...segPsi.map((r) => r.value))).toBeGreaterThan(
      3 * Math.max(...popPsi.map((r) => r.value)),
    )
    const threshold = (seg: string | undefined) =>
      rows.findLast(
        (r) =>
          r.segment === seg &&
          r.subject === 'glucose' &&
          r.metric === 'psi_threshold' &&
          r.windowSize === 1000,
      )!.value
    expect(threshold('source=clinic-c')).toBeCloseTo(threshold(undefined), 12)
    // Age bands estimate performance only (no drift against the whole population's reference).
    const age = rows.filter((r) => r.segment?.startsWith('age='))
    expect(age.length).toBeGreaterThan(0)
    expect(new Set(age.map((r) => r.monitor))).toEqual(new Set(['estimate']))
  })

  it('raises no segment alarm on stationary traffic', () => {
    const { raised } = run(engine(), stream(40_000, 'seg-stable'))
    expect(raised.filter((x) => x.e.kind.startsWith('segment_') || x.e.kind === 'data_drift')).toEqual([])
  })

  it('leaves the whole population’s rows and events as they are without segments', () => {
    const a = run(engine(), stream(6_000, 'seg-same', { at: 2_000, source: 'clinic-a', sds: 1 }))
    const b = run(engine(0), stream(6_000, 'seg-same', { at: 2_000, source: 'clinic-a', sds: 1 }))
    expect(b.rows.some((r) => r.segment !== undefined)).toBe(false)
    expect(a.rows.filter((r) => r.segment === undefined)).toEqual(b.rows)
    expect(a.raised.filter((x) => !x.e.kind.startsWith('segment_'))).toEqual(b.raised)
  })

  it('caps the segments of a family: later values share an "other" segment, counted', () => {
    // Admission on first sight (SEGMENT_MIN_EVENTS=1): first come, first admitted.
    const cap = new SegmentCap(3)
    const keys = ['a', 'b', 'a', 'c', 'd', 'other', 'e', 'b'].map((v) => cap.keyFor('source', v))
    expect(keys).toEqual([
      'source=a',
      'source=b',
      'source=a',
      'source=c',
      'source=other',
      'source=other',
      'source=other',
      'source=b',
    ])
    expect(cap.overflow).toEqual({ source: 3 })

    // A producer inventing a source per request: the engine keeps 3 + 1 source monitors.
    const e = engine(3, 1)
    const hostile = [...stream(3_000, 'seg-hostile')].map((p, k) => ({ ...p, sourceSystem: `s${k}` }))
    const { rows } = run(e, hostile)
    const snap = e.snapshot()
    expect(sourceMonitors(e)).toEqual(['source=other', 'source=s0', 'source=s1', 'source=s2'])
    expect(snap.segments!['1']!.cap.overflow.source).toBe(2_997)
    const overflow = rows.filter((r) => r.metric === 'segment_overflow' && r.segment === 'source=other')
    expect(overflow.at(-1)?.value).toBe(2_997)
  })

  it('admits a value once seen SEGMENT_MIN_EVENTS times; before, its events go to "other"', () => {
    const cap = new SegmentCap(2, 3)
    const keys = ['a', 'b', 'a', 'a', 'a', 'b', 'c', 'b', 'c', 'c', 'c'].map((v) => cap.keyFor('source', v))
    expect(keys).toEqual([
      'source=other',
      'source=other',
      'source=other',
      'source=a', // a's third event
      'source=a',
      'source=other',
      'source=other',
      'source=b', // b's third: the family is full now
      'source=other',
      'source=other',
      'source=other',
    ])
    expect(cap.belowSupport).toEqual({ source: 5 })
    expect(cap.overflow).toEqual({ source: 3 })
    // A full family keeps no candidates: nothing more can be admitted.
    expect(cap.candidateCount('source')).toBe(0)
  })

  it('keeps the least recently seen candidates out first, in bounded memory', () => {
    const t = new CandidateCounts(3)
    for (const v of ['a', 'b', 'a', 'c', 'd']) t.hit(v) // 'b' is the least recently seen when 'd' arrives
    expect(t.entries()).toEqual([
      ['a', 2],
      ['c', 1],
      ['d', 1],
    ])
    expect(t.forgotten).toBe(1)
    t.delete('c')
    t.hit('e')
    t.hit('f') // full again: 'a' goes
    expect(t.entries()).toEqual([
      ['d', 1],
      ['e', 1],
      ['f', 1],
    ])
    expect(t.size).toBe(3)
    // Rebuilt from its entries, it forgets in the same order.
    const u = new CandidateCounts(3)
    for (const [v, n] of t.entries()) u.put(v, n)
    t.hit('g')
    u.hit('g')
    expect(u.entries()).toEqual(t.entries())
  })

  it('gives the real clinics their segments after a flood of 10,000 one-off sources, not the fakes', () => {
    const clinics = [...stream(20_000, 'seg-flood')]
    const flood = [...stream(10_000, 'seg-fakes')].map((p, k) => ({
      ...p,
      requestId: `fake-${k}`,
      sourceSystem: `fake-${k}`,
    }))
    const e = engine()
    const { raised } = run(e, [...flood, ...clinics])
    // Each clinic's 200th event admits it (about 1,000 events after the flood); no fake is admitted.
    expect(sourceMonitors(e)).toEqual([...SOURCES.map((s) => `source=${s}`), 'source=other'])
    const cap = e.snapshot().segments!['1']!.cap
    expect(cap.admitted.source!.sort()).toEqual(SOURCES)
    expect(cap.overflow.source ?? 0).toBe(0)
    // Memory stayed bounded: at most 1024 candidates at once; the least recently seen fakes were
    // forgotten to make room (for the later fakes, then for the five clinics).
    expect(cap.forgotten!.source).toBe(10_000 + SOURCES.length - SEGMENT_CANDIDATES_PER_FAMILY)
    // The admitted clinics left the table; the newest fakes still wait.
    expect(cap.candidates!.source!.length).toBe(SEGMENT_CANDIDATES_PER_FAMILY - SOURCES.length)
    expect(cap.candidates!.source!.every(([v, n]) => v.startsWith('fake-') && n === 1)).toBe(true)
    // Before admission: the 10,000 fakes and each clinic's first 199 events.
    expect(cap.belowSupport!.source).toBe(10_000 + SOURCES.length * 199)
    expect(raised.filter((x) => x.e.kind.startsWith('segment_') || x.e.kind === 'data_drift')).toEqual([])

    // The flood interleaved with the clinics (three new fakes before every clinic event, 24,000 in
    // all): a clinic is seen again about 15 fakes later, long before 1024 new ones pass, so it keeps
    // its candidacy (a first-in-first-out table would forget it after 1024 fakes, before its 200th).
    const mixed = engine()
    const interleaved = clinics.slice(0, 8_000).flatMap((p, k) => [
      ...[0, 1, 2].map((j) => ({
        ...flood[(3 * k + j) % flood.length]!,
        requestId: `mix-${3 * k + j}`,
        sourceSystem: `mix-${3 * k + j}`,
      })),
      p,
    ])
    run(mixed, interleaved)
    expect(sourceMonitors(mixed)).toEqual([...SOURCES.map((s) => `source=${s}`), 'source=other'])
    // The same sequence counted in a first-in-first-out table of the same size reaches 200 for no clinic.
    const fifo = new BoundedMap<string, number>(SEGMENT_CANDIDATES_PER_FAMILY)
    let supported = 0
    for (const p of interleaved) {
      const n = (fifo.get(p.sourceSystem!) ?? 0) + 1
      fifo.set(p.sourceSystem!, n)
      if (n === drift.segmentMinEvents) supported++
    }
    expect(supported).toBe(0)
    expect(mixed.snapshot().segments!['1']!.cap.candidates!.source!.length).toBeLessThanOrEqual(
      SEGMENT_CANDIDATES_PER_FAMILY,
    )
  })

  it('restores admission state: a restart while values await support admits them as an uninterrupted run', () => {
    // Cut while the clinics are candidates (about 60 events each).
    const items = [...stream(3_000, 'seg-admit-restart')]
    const { whole, before, after } = runWithRestart(() => engine(), run, items, 300)
    const monitored = (rows: WindowRow[]) => rows.filter((r) => r.subject !== 'label_join')
    expect(monitored([...before.rows, ...after.rows])).toEqual(monitored(whole.rows))
    expect(whole.rows.some((r) => r.segment === 'source=clinic-a')).toBe(true)

    // A checkpoint written before admission needed support has no candidates: restored empty.
    const cap = new SegmentCap(16, 3)
    cap.restore({ admitted: { source: ['clinic-a'] }, overflow: { source: 2 } })
    expect(['clinic-a', 'clinic-b', 'clinic-b', 'clinic-b'].map((v) => cap.keyFor('source', v))).toEqual([
      'source=clinic-a',
      'source=other',
      'source=other',
      'source=clinic-b',
    ])
    expect(cap.snapshot()).toEqual({
      admitted: { source: ['clinic-a', 'clinic-b'] },
      overflow: { source: 2 },
      candidates: { source: [] },
      belowSupport: { source: 2 },
      forgotten: {},
    })
  })

  it('resumes segment monitors from a checkpoint exactly as an uninterrupted run', () => {
    const items = [...stream(12_000, 'seg-restart', { at: 4_000, source: 'clinic-b', sds: 1 })]
    const { whole, before, after } = runWithRestart(() => engine(), run, items, 6_123)
    // The label join is rebuilt from ClickHouse by the service, not restored here: its rows differ.
    const monitored = (rows: WindowRow[]) => rows.filter((r) => r.subject !== 'label_join')
    expect(monitored([...before.rows, ...after.rows])).toEqual(monitored(whole.rows))
    expect(whole.rows.filter((r) => r.segment === 'source=clinic-b').length).toBeGreaterThan(100)
    expect([...before.raised, ...after.raised.map((x) => ({ ...x, at: x.at + 6_123 }))]).toEqual(whole.raised)
  })
})
