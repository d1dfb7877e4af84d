/**
 * Segments (lib/segments): a shift in one source system is detected in that segment and not in
 * the whole population, where it is diluted; the number of segments is capped with an 'other'
 * bucket that is counted; segment monitors restart from a checkpoint like the rest. Seeded,
 * pure engine code.
 */
import seedrandom from 'seedrandom'
import { describe, expect, it } from 'vitest'
import { configWith } from '../../../lib/config/index.ts'
import { ageBand, SegmentCap, segmentValues } from '../../../lib/segments/index.ts'
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

function engine(segmentMaxPerFamily = drift.segmentMaxPerFamily) {
  return new MonitorEngine({
    modelName: 'm',
    drift: { ...drift, segmentMaxPerFamily },
    artifactFor: () => artifact,
  })
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
    const e = engine(3)
    const hostile = [...stream(3_000, 'seg-hostile')].map((p, k) => ({ ...p, sourceSystem: `s${k}` }))
    const { rows } = run(e, hostile)
    const snap = e.snapshot()
    expect(
      Object.keys(snap.segments!['1']!.monitors)
        .filter((k) => k.startsWith('source='))
        .sort(),
    ).toEqual(['source=other', 'source=s0', 'source=s1', 'source=s2'])
    expect(snap.segments!['1']!.cap.overflow.source).toBe(2_997)
    const overflow = rows.filter((r) => r.metric === 'segment_overflow' && r.segment === 'source=other')
    expect(overflow.at(-1)?.value).toBe(2_997)
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
