/**
 * Shadow (challenger) versions are monitored like the champion, apart from it: a champion and a
 * shadow version scoring the same requests give shadow rows keyed 'lane=shadow' (also when both
 * carry the same version number), leave the champion's rows, events and state as they are, raise
 * alarms that never ask for a retrain, resume from a checkpoint like an uninterrupted run, and
 * are capped in number. Seeded, pure engine code.
 */
import seedrandom from 'seedrandom'
import { describe, expect, it } from 'vitest'
import { configWith } from '../../../lib/config/index.ts'
import { MAX_SHADOW_VERSIONS, SHADOW_SEGMENT } from '../../../lib/segments/index.ts'
import { type EngineSnapshot, MonitorEngine } from '../../../processors/monitors/engine/engine.ts'
import type {
  DriftEventRecord,
  OutcomeEvent,
  PredictionEvent,
  WindowRow,
} from '../../../processors/monitors/engine/types.ts'
import { driftWantsRetrain } from '../../../trainer/service/policy.ts'
import { glucoseSd, PIMA, pimaArtifact, pimaStream, runWithRestart, score, T0 } from './streams.ts'

const drift = configWith({}).drift
const champion = pimaArtifact(0.5)
const challenger = pimaArtifact(0.4)
const CHAMPION_VERSION = 1

function engine(shadowVersion = 2) {
  return new MonitorEngine({
    modelName: 'm',
    drift,
    artifactFor: (v) => (v === CHAMPION_VERSION ? champion : v === shadowVersion ? challenger : undefined),
  })
}

interface Item {
  lane: 'champion' | 'shadow'
  p: PredictionEvent
}

/**
 * Pima rows drawn with replacement; each request is scored by the champion and by the shadow
 * version (a different model: its probability is pulled towards the middle). From `shiftAt` on
 * glucose is +1 SD. The shadow score follows its champion request, as the inference role emits it.
 */
function* stream(n: number, seed: string, shadowVersion = 2, shiftAt = Number.POSITIVE_INFINITY) {
  const rng = seedrandom.alea(seed)
  for (let k = 0; k < n; k++) {
    const i = Math.floor(rng() * PIMA.rows.length)
    const v = { ...PIMA.rows[i]! }
    if (k >= shiftAt && v.glucose !== null) v.glucose += glucoseSd
    const p = score(v)
    const t = T0 + k * 100
    const served: PredictionEvent = {
      requestId: `${seed}-${k}`,
      patientId: `p${i}`,
      modelName: 'm',
      modelVersion: CHAMPION_VERSION,
      probability: p,
      label: p >= 0.5 ? 1 : 0,
      threshold: 0.5,
      eventTime: t,
      scoredAt: t + 5,
      shadow: false,
      sourceSystem: null,
      ...v,
    }
    yield { lane: 'champion', p: served } as Item
    const q = 0.1 + 0.8 * p
    yield {
      lane: 'shadow',
      p: {
        ...served,
        modelVersion: shadowVersion,
        probability: q,
        label: q >= 0.4 ? 1 : 0,
        threshold: 0.4,
        shadow: true,
      },
    } as Item
  }
}

function run(e: MonitorEngine, items: Iterable<Item>) {
  const rows: WindowRow[] = []
  const raised: DriftEventRecord[] = []
  for (const x of items) {
    if (x.lane === 'shadow') e.onShadowPrediction(x.p)
    else e.onPrediction(x.p)
    const out = e.takeOutputs()
    rows.push(...out.rows)
    raised.push(...out.events)
  }
  return { rows, raised }
}

const championOnly = (items: Item[]) => items.filter((x) => x.lane === 'champion')
const shadowRows = (rows: WindowRow[]) => rows.filter((r) => r.segment === SHADOW_SEGMENT)
const withoutShadow = (s: EngineSnapshot) => {
  const { shadows: _, ...rest } = s
  const { shadowPredictions: __, ...counters } = rest.counters
  return { ...rest, counters }
}

describe('shadow versions', () => {
  it('monitors the shadow apart and leaves the champion’s outputs and state unchanged', () => {
    const items = [...stream(6_000, 'shadow-apart', 2, 3_000)]
    const alone = engine()
    const a = run(alone, championOnly(items))
    const both = engine()
    const b = run(both, items)
    expect(b.rows.filter((r) => r.segment !== SHADOW_SEGMENT)).toEqual(a.rows)
    expect(b.raised.filter((e) => !e.eventId.endsWith(`:${SHADOW_SEGMENT}`))).toEqual(a.raised)
    expect(withoutShadow(both.snapshot())).toEqual(alone.snapshot())
    expect(both.counters.shadowPredictions).toBe(6_000)

    const rows = shadowRows(b.rows)
    expect(new Set(rows.map((r) => r.modelVersion))).toEqual(new Set([2]))
    // 'quality': the shadow join's label counts.
    expect(new Set(rows.map((r) => r.monitor))).toEqual(new Set(['drift', 'estimate', 'quality']))
    // Its own artifact: the estimate uses the shadow's threshold and probabilities, not the champion's.
    const last = (rs: WindowRow[], metric: string) => rs.filter((r) => r.metric === metric).at(-1)!.value
    expect(last(rows, 'estimated_accuracy')).not.toBe(
      last(
        a.rows.filter((r) => r.monitor === 'estimate'),
        'estimated_accuracy',
      ),
    )
    expect(rows.filter((r) => r.subject === '__probability' && r.metric === 'psi').length).toBeGreaterThan(10)

    // The glucose shift is seen by both; the shadow's alarm is a segment kind, never a retrain.
    const shadowAlarms = b.raised.filter((e) => e.eventId.endsWith(`:${SHADOW_SEGMENT}`))
    expect(shadowAlarms.map((e) => e.kind)).toContain('segment_data_drift')
    for (const e of shadowAlarms) {
      expect(e.modelVersion).toBe(2)
      expect(JSON.parse(e.evidenceJson).segment).toBe(SHADOW_SEGMENT)
      expect(driftWantsRetrain({ ...e, severity: 'significant' })).toBe(false)
    }
    expect(a.raised.map((e) => e.kind)).toContain('data_drift')
  })

  it('keeps a shadow of the champion’s own version number apart from the champion rows', () => {
    const items = [...stream(3_000, 'shadow-same', CHAMPION_VERSION)]
    const alone = engine(CHAMPION_VERSION)
    const a = run(alone, championOnly(items))
    const b = run(engine(CHAMPION_VERSION), items)
    expect(b.rows.filter((r) => r.segment !== SHADOW_SEGMENT)).toEqual(a.rows)
    const rows = shadowRows(b.rows)
    expect(rows.length).toBeGreaterThan(0)
    expect(new Set(rows.map((r) => r.modelVersion))).toEqual(new Set([CHAMPION_VERSION]))
  })

  it('resumes shadow monitors from a checkpoint exactly as an uninterrupted run', () => {
    const items = [...stream(8_000, 'shadow-restart', 2, 4_000)]
    const { whole, before, after } = runWithRestart(() => engine(), run, items, 9_117)
    const monitored = (rows: WindowRow[]) => rows.filter((r) => r.subject !== 'label_join')
    expect(monitored([...before.rows, ...after.rows])).toEqual(monitored(whole.rows))
    expect([...before.raised, ...after.raised]).toEqual(whole.raised)
    expect(shadowRows(whole.rows).length).toBeGreaterThan(100)
    expect(whole.raised.some((e) => e.eventId.endsWith(`:${SHADOW_SEGMENT}`))).toBe(true)
  })

  it('joins labels to the shadow through a join of its own: realised performance in its lane, the champion’s unchanged', () => {
    // Served predictions and their labels (20 events later); the concept flips from event 3,000.
    const base = [
      ...pimaStream({
        n: 8_000,
        seed: 'shadow-labels',
        scenario: { kind: 'concept_flip', at: 3_000, share: 0.5 },
        modelName: 'm',
      }),
    ]
    type Fed = { kind: 'prediction' | 'shadow'; p: PredictionEvent } | { kind: 'outcome'; o: OutcomeEvent }
    const fed: Fed[] = []
    for (const x of base) {
      if (x.type === 'outcome') {
        fed.push({ kind: 'outcome', o: x.value })
        continue
      }
      fed.push({ kind: 'prediction', p: x.value })
      const q = 0.1 + 0.8 * x.value.probability
      fed.push({
        kind: 'shadow',
        p: { ...x.value, modelVersion: 2, probability: q, label: q >= 0.4 ? 1 : 0, shadow: true },
      })
    }
    const feed = (e: MonitorEngine, items: Fed[]) => {
      const rows: WindowRow[] = []
      const raised: DriftEventRecord[] = []
      for (const x of items) {
        if (x.kind === 'outcome') e.onOutcome(x.o)
        else if (x.kind === 'shadow') e.onShadowPrediction(x.p)
        else e.onPrediction(x.p)
        const out = e.takeOutputs()
        rows.push(...out.rows)
        raised.push(...out.events)
      }
      return { rows, raised }
    }
    const alone = engine()
    const a = feed(
      alone,
      fed.filter((x) => x.kind !== 'shadow'),
    )
    const both = engine()
    const b = feed(both, fed)
    expect(b.rows.filter((r) => r.segment !== SHADOW_SEGMENT)).toEqual(a.rows)
    expect(b.raised.filter((e) => !e.eventId.endsWith(`:${SHADOW_SEGMENT}`))).toEqual(a.raised)
    const labels = base.filter((x) => x.type === 'outcome').length
    expect(both.shadowJoin.stats.joined).toBe(labels)
    expect(both.join.stats).toEqual(alone.join.stats)
    // The shadow join's counts are rows of the shadow lane.
    const counts = shadowRows(b.rows).filter((r) => r.subject === 'label_join' && r.metric === 'joined')
    expect(counts.length).toBeGreaterThan(10)
    expect(counts.at(-1)!.value).toBeGreaterThan(labels - 2 * drift.evalEvery)

    const perf = shadowRows(b.rows).filter((r) => r.monitor === 'performance')
    expect(new Set(perf.map((r) => r.modelVersion))).toEqual(new Set([2]))
    expect(perf.filter((r) => r.metric === 'accuracy').length).toBeGreaterThan(10)
    // Realised on the shadow's own probabilities and threshold: not the champion's figures.
    const last = (rs: WindowRow[]) => rs.filter((r) => r.metric === 'accuracy').at(-1)!.value
    expect(last(perf)).not.toBe(last(a.rows.filter((r) => r.monitor === 'performance')))
    // The flipped concept is seen in both lanes; the shadow's alarm never asks for a retrain.
    expect(a.raised.map((e) => e.kind)).toContain('concept_drift')
    const shadowConcept = b.raised.filter((e) => e.kind === 'segment_concept_drift')
    expect(shadowConcept.length).toBeGreaterThan(0)
    for (const e of shadowConcept) {
      expect(e.modelVersion).toBe(2)
      expect(driftWantsRetrain({ ...e, severity: 'significant' })).toBe(false)
    }
    expect(b.raised.some((e) => e.kind === 'retrain_recommended' && e.modelVersion === 2)).toBe(false)
  })

  it('caps the live shadow versions; an evicted shadow that comes back continues its window ids', () => {
    const e = new MonitorEngine({ modelName: 'm', drift, artifactFor: () => challenger })
    const items = [...stream(drift.evalEvery * 2, 'shadow-cap')].filter((x) => x.lane === 'shadow')
    const feed = (version: number) => {
      for (const x of items) e.onShadowPrediction({ ...x.p, modelVersion: version })
      return shadowRows(e.takeOutputs().rows)
    }
    feed(2)
    feed(3)
    feed(4)
    expect(e.shadowVersions).toHaveLength(MAX_SHADOW_VERSIONS)
    expect(e.shadowVersions).toEqual([3, 4])
    const back = feed(2)
    expect(Math.min(...back.map((r) => r.windowId))).toBeGreaterThan(items.length)
    const restored = new MonitorEngine({ modelName: 'm', drift, artifactFor: () => challenger })
    restored.restore(JSON.parse(JSON.stringify(e.snapshot())))
    expect(restored.shadowVersions).toEqual(e.shadowVersions)
  })
})
