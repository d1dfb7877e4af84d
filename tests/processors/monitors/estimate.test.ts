/**
 * Performance before labels (CBPE rows, monitor 'estimate'): with labels drawn from the served
 * probabilities (calibrated by construction) the estimated accuracy of each full sliding window
 * tracks the realised accuracy of the same events; flipped labels (concept drift) are invisible
 * to it by design. Seeded, pure engine code.
 */
import seedrandom from 'seedrandom'
import { describe, expect, it } from 'vitest'
import { configWith } from '../../../lib/config/index.ts'
import { rocAuc } from '../../../lib/stats/index.ts'
import type { DriftEventRecord, WindowRow } from '../../../processors/monitors/engine/types.ts'
import { VersionMonitor } from '../../../processors/monitors/engine/version.ts'
import { PIMA, pimaArtifact, score, T0 } from './streams.ts'

const drift = { ...configWith({}).drift, timeWindowsMs: [] }
const artifact = pimaArtifact(0.5, { psiNull: false })
const probs = PIMA.rows.map(score)

function run(flip: number, n: number) {
  const rng = seedrandom.alea(`estimate-${flip}`)
  const mon = new VersionMonitor({ modelName: 'm', modelVersion: 1, artifact, drift })
  const size = drift.window
  const correct: number[] = []
  const rows: WindowRow[] = []
  const events: DriftEventRecord[] = []
  const ys: number[] = []
  const served: number[] = []
  const pairs: { estimated: number; realised: number; f1: number; auc: number; realisedAuc: number }[] = []
  for (let k = 0; k < n; k++) {
    const i = Math.floor(rng() * PIMA.rows.length)
    const p = probs[i]!
    let y = rng() < p ? 1 : 0
    if (rng() < flip) y = 1 - y
    correct.push((p >= 0.5 ? 1 : 0) === y ? 1 : 0)
    ys.push(y)
    served.push(p)
    mon.addPrediction(PIMA.rows[i]!, p, T0 + k * 100, rows, events)
    const est = rows.filter((r) => r.monitor === 'estimate')
    const acc = est.find((r) => r.metric === 'estimated_accuracy')
    if (acc && acc.windowSize === size) {
      const last = correct.slice(-size)
      pairs.push({
        estimated: acc.value,
        realised: last.reduce((a, b) => a + b, 0) / size,
        f1: est.find((r) => r.metric === 'estimated_f1')!.value,
        auc: est.find((r) => r.metric === 'estimated_roc_auc')!.value,
        realisedAuc: rocAuc(ys.slice(-size), served.slice(-size)),
      })
      expect(acc).toMatchObject({ windowType: 'sliding', windowWidth: size, windowId: k + 1, subject: '' })
    }
    rows.length = 0
    events.length = 0
  }
  const mae = pairs.reduce((s, x) => s + Math.abs(x.estimated - x.realised), 0) / pairs.length
  const aucMae = pairs.reduce((s, x) => s + Math.abs(x.auc - x.realisedAuc), 0) / pairs.length
  return { pairs, mae, aucMae }
}

describe('performance estimated before labels (CBPE)', () => {
  it('tracks realised accuracy within 0.03 per window on calibrated, stationary traffic', () => {
    const r = run(0, 40_000)
    expect(r.pairs.length).toBe((40_000 - 1000) / drift.evalEvery + 1)
    expect(r.mae).toBeLessThan(0.03)
    for (const x of r.pairs) expect(x.f1).toBeGreaterThan(0)
  })

  it('writes the estimated ROC-AUC of every window, tracking the realised ROC-AUC of the same events', () => {
    const r = run(0, 20_000)
    // One window of 1,000 events has a realised ROC-AUC with a sampling SD of ≈ 0.015 by itself.
    expect(r.aucMae).toBeLessThan(0.03)
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
    expect(Math.abs(mean(r.pairs.map((x) => x.auc - x.realisedAuc)))).toBeLessThan(0.01)
    for (const x of r.pairs) expect(x.auc).toBeGreaterThan(0.5)
  })

  it('raises an estimated_performance_drop, flagged as estimated, when the served probabilities lose their confidence', () => {
    const run = (squeezeFrom: number) => {
      const rng = seedrandom.alea('estimate-alert')
      const mon = new VersionMonitor({ modelName: 'm', modelVersion: 1, artifact, drift })
      const rows: WindowRow[] = []
      const events: { at: number; e: DriftEventRecord }[] = []
      const out: DriftEventRecord[] = []
      for (let k = 0; k < 9000; k++) {
        const i = Math.floor(rng() * PIMA.rows.length)
        // From `squeezeFrom` on, every score sits near 0.5: the model is no longer sure of anything.
        const p = k >= squeezeFrom ? 0.45 + 0.1 * rng() : probs[i]!
        mon.addPrediction(PIMA.rows[i]!, p, T0 + k * 100, rows, out)
        for (const e of out) events.push({ at: k + 1, e })
        out.length = 0
        rows.length = 0
      }
      return events.filter((x) => x.e.kind === 'estimated_performance_drop')
    }
    expect(run(Number.POSITIVE_INFINITY)).toEqual([])
    const raised = run(5000)
    expect(raised.length).toBe(1)
    const first = raised[0]!
    expect(first.at).toBeGreaterThan(5000)
    expect(first.at).toBeLessThanOrEqual(6000)
    expect(first.e.scores.estimated_accuracy_drop).toBeGreaterThanOrEqual(drift.conceptDropThreshold)
    expect(JSON.parse(first.e.evidenceJson)).toMatchObject({ estimated: true })
  })

  it('does not see concept drift: flipped labels lower realised, not estimated, accuracy', () => {
    const stable = run(0, 20_000)
    const flipped = run(0.3, 20_000)
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
    expect(mean(flipped.pairs.map((x) => x.estimated))).toBeCloseTo(
      mean(stable.pairs.map((x) => x.estimated)),
      2,
    )
    expect(mean(flipped.pairs.map((x) => x.realised))).toBeLessThan(
      mean(stable.pairs.map((x) => x.realised)) - 0.05,
    )
  })
})
