/**
 * Detection proofs on seeded Pima streams, driving the pure engine (no Kafka, no ClickHouse).
 * The reference comes from the same data the streams resample, so the stable stream is
 * drift-free by construction; each scenario starts at event 5,000, after the windows have
 * filled (window 1,000, evaluated every 250 events, 2 consecutive windows over each subject's
 * calibrated PSI threshold to alert: ≈ 0.08–0.10 for these references at the default budget).
 * The detection indices are exact for these seeds: any change to binning, PSI or hysteresis
 * that moves them is a behaviour change worth looking at.
 */
import { describe, expect, it } from 'vitest'
import { configWith } from '../../../lib/config/index.ts'
import { MonitorEngine } from '../../../processors/monitors/engine/engine.ts'
import type { DriftEventRecord } from '../../../processors/monitors/engine/types.ts'
import { pimaArtifact, pimaStream, type Scenario } from './streams.ts'

const drift = configWith({}).drift
const artifact = pimaArtifact()

function run(scenario: Scenario, n: number, seed: string) {
  const engine = new MonitorEngine({ modelName: 'diabetes-risk', drift, artifactFor: () => artifact })
  const events: { at: number; e: DriftEventRecord }[] = []
  let k = 0
  let evaluated = 0
  let over = 0
  for (const item of pimaStream({ n, seed, scenario })) {
    if (item.type === 'prediction') {
      engine.onPrediction(item.value)
      k++
    } else engine.onOutcome(item.value)
    const taken = engine.takeOutputs()
    // The whole population's outputs (segments.test.ts covers the segments').
    const out = {
      rows: taken.rows.filter((r) => r.segment === undefined),
      events: taken.events.filter((e) => !e.kind.startsWith('segment_')),
    }
    // Each evaluated subject has a psi row and its calibrated psi_threshold row.
    const thresholds = new Map<string, number>()
    for (const r of out.rows)
      if (r.metric === 'psi_threshold') thresholds.set(`${r.windowId}:${r.subject}`, r.value)
    for (const r of out.rows) {
      const t = thresholds.get(`${r.windowId}:${r.subject}`)
      if (r.windowType === 'sliding' && r.metric === 'psi' && t !== undefined) {
        evaluated++
        if (r.value >= t) over++
      }
    }
    for (const e of out.events) events.push({ at: k, e })
  }
  return { events, evaluated, over, engine }
}

describe('monitor engine detection on seeded Pima streams', () => {
  it('raises no event on a stable stream of 200,000 predictions', () => {
    const r = run({ kind: 'stable' }, 200_000, 'stable')
    // Measured false-alarm rate: windows (feature × evaluation) at or over the PSI threshold.
    const rate = r.over / r.evaluated
    console.log(
      `stable: ${r.over}/${r.evaluated} feature-windows over their calibrated PSI threshold (rate ${rate.toExponential(2)}), ${r.events.length} events`,
    )
    expect(r.evaluated).toBe(800 * 9)
    expect(r.events).toEqual([])
    expect(rate).toBeLessThan(0.001)
  })

  it('names glucose 750 events after a +1 SD glucose shift at event 5,000', () => {
    const r = run({ kind: 'glucose_shift', at: 5000, sds: 1 }, 8000, 'glucose')
    const first = r.events.find((x) => x.e.kind === 'data_drift')
    expect(first?.at).toBe(5750)
    expect(first?.e.features).toContain('glucose')
    expect(first?.e.severity).toBe('significant')
    expect(first?.e.scores.glucose).toBeGreaterThan(0.25)
    expect(first?.e.eventId).toBe('diabetes-risk:v1:data_drift:sliding:1000:5750')
    // A significant shift also recommends retraining, with the same window.
    expect(r.events.some((x) => x.e.kind === 'retrain_recommended' && x.at === 5750)).toBe(true)
    // No verdict before onset.
    expect(r.events.filter((x) => x.at < 5000)).toEqual([])
  })

  it('names age (and only age) after the population ages by 10 years', () => {
    const r = run({ kind: 'aging', at: 5000, years: 10 }, 8000, 'aging')
    const first = r.events.find((x) => x.e.kind === 'data_drift')
    expect(first?.at).toBe(5500)
    expect(first?.e.features).toEqual(['age'])
  })

  it('raises concept_drift when 30% of labels flip, with the accuracy drop as evidence', () => {
    const r = run({ kind: 'concept_flip', at: 5000, share: 0.3 }, 10_000, 'concept')
    const first = r.events.find((x) => x.e.kind === 'concept_drift')
    expect(first?.at).toBe(6020)
    expect(first!.e.scores.accuracy_drop).toBeGreaterThanOrEqual(drift.conceptDropThreshold)
    expect(first!.e.scores.expected_accuracy).toBeCloseTo(artifact.metrics.accuracy, 10)
    expect(first!.e.windowSize).toBeGreaterThanOrEqual(drift.conceptMinLabels)
    // The inputs did not move: no data drift.
    expect(r.events.some((x) => x.e.kind === 'data_drift')).toBe(false)
  })

  it('raises data_quality naming glucose when 30% of glucose values go missing', () => {
    const r = run({ kind: 'missing_burst', at: 5000, feature: 'glucose', share: 0.3 }, 8000, 'missing')
    const q = r.events.find((x) => x.e.kind === 'data_quality')
    expect(q?.at).toBe(5750)
    expect(q?.e.features).toEqual(['glucose'])
    expect(q!.e.scores['missing_rate.glucose']).toBeGreaterThan(0.1)
  })

  it('restores a snapshot into a fresh engine and continues with identical outputs', () => {
    const items = [
      ...pimaStream({ n: 6000, seed: 'snap', scenario: { kind: 'glucose_shift', at: 3000, sds: 1 } }),
    ]
    const feed = (e: MonitorEngine, from: number, to: number) => {
      const rows = []
      for (const it of items.slice(from, to)) {
        if (it.type === 'prediction') e.onPrediction(it.value)
        else e.onOutcome(it.value)
        rows.push(...e.takeOutputs().rows)
      }
      return rows
    }
    const mk = () => new MonitorEngine({ modelName: 'diabetes-risk', drift, artifactFor: () => artifact })
    const whole = mk()
    const all = feed(whole, 0, items.length)
    const a = mk()
    const before = feed(a, 0, 4321)
    const b = mk()
    b.restore(JSON.parse(JSON.stringify(a.snapshot())))
    for (const [id, p] of a.join.predictions) b.join.predictions.set(id, p)
    for (const [id, o] of a.join.outcomes) b.join.outcomes.set(id, o)
    const after = feed(b, 4321, items.length)
    expect([...before, ...after]).toEqual(all)
  })
})
