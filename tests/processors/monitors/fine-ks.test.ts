/**
 * KS on the 50-bin reference (lib/stats DRIFT_GRID_BINS.ks) when the artifact carries one
 * (`reference.fine`), the 10-bin PSI reference otherwise. PSI must not change either way.
 */
import { describe, expect, it } from 'vitest'
import { FEATURES } from '../../../lib/features/index.ts'
import {
  binCounts,
  buildReference,
  DRIFT_GRID_BINS,
  DRIFT_STATISTICS,
  type ReferenceDistribution,
} from '../../../lib/stats/index.ts'
import {
  binEvent,
  columnLayout,
  type MonitoredArtifact,
  PROB_COL,
} from '../../../processors/monitors/drift/columns.ts'
import { evaluateCounts } from '../../../processors/monitors/drift/evaluate.ts'
import { PIMA, pimaArtifact, score } from './streams.ts'

const KS = DRIFT_STATISTICS.ks
const PSI = DRIFT_STATISTICS.psi
const coarse = pimaArtifact()

function withFine(): MonitoredArtifact {
  const features: Record<string, ReferenceDistribution> = {}
  for (const f of FEATURES)
    features[f] = buildReference(
      PIMA.rows.map((r) => r[f]),
      DRIFT_GRID_BINS.ks,
    )
  return {
    ...coarse,
    reference: {
      ...coarse.reference,
      fine: { features, probability: buildReference(PIMA.rows.map(score), DRIFT_GRID_BINS.ks) },
    },
  }
}

/** Window: every Pima row with glucose moved to the TOP of its decile (a shape change PSI cannot see). */
function windowCounts(artifact: MonitoredArtifact) {
  const layout = columnLayout(artifact)
  const edges = coarse.reference.features.glucose!.edges
  const counts = layout.slots.map((s) => new Uint32Array(s))
  const out = new Uint16Array(layout.columns)
  const glucose: (number | null)[] = []
  for (const r of PIMA.rows) {
    const g = r.glucose
    const bin = g === null ? -1 : edges.findIndex((e) => g <= e)
    const moved = g === null || bin < 0 ? g : edges[bin]!
    glucose.push(moved)
    const v = { ...r, glucose: moved }
    binEvent(layout, v, score(v), out)
    for (let c = 0; c < layout.columns; c++) counts[c]![out[c]!]!++
  }
  return { layout, stats: evaluateCounts(layout, counts, PIMA.rows.length), glucose }
}

describe('KS on the fine reference grid', () => {
  it('adds one fine column per drift subject and bins on its edges', () => {
    const layout = columnLayout(withFine())
    expect(layout.columns).toBe(17 + 9)
    expect(layout.grids.fine.cols).toEqual([17, 18, 19, 20, 21, 22, 23, 24, 25])
    expect(layout.fine.map((f) => f.src)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, PROB_COL])
    const noFine = columnLayout(coarse)
    expect(noFine.columns).toBe(17)
    expect(noFine.grids.fine.cols).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8])
    expect(noFine.grids.fine.refs).toEqual(noFine.refs)
  })

  it('computes KS of a window on the 50-bin reference, exactly as lib/stats does', () => {
    const art = withFine()
    const { stats, glucose } = windowCounts(art)
    const fineRef = art.reference.fine!.features.glucose!
    const g = FEATURES.indexOf('glucose')
    expect(stats.drift.ks![g]).toBeCloseTo(KS.compute(fineRef, binCounts(fineRef.edges, glucose)), 12)
    // PSI stays on the 10-bin grid: values stayed inside their deciles, so it barely moves.
    const coarseRef = coarse.reference.features.glucose!
    expect(stats.drift.psi![g]).toBeCloseTo(PSI.compute(coarseRef, binCounts(coarseRef.edges, glucose)), 12)
    expect(stats.drift.psi![g]).toBeLessThan(0.01)
  })

  it('sees a within-decile shift that the 10-bin KS misses', () => {
    const fine = windowCounts(withFine()).stats
    const plain = windowCounts(coarse).stats
    const g = FEATURES.indexOf('glucose')
    // Moving every value to its decile's upper edge leaves the decile CDF unchanged…
    expect(plain.drift.ks![g]).toBeLessThan(0.01)
    // …while the 50-bin CDF sees mass missing inside each decile (up to ~4 fine bins of 2%).
    expect(fine.drift.ks![g]).toBeGreaterThan(0.05)
    // Other features are untouched: the same KS on either grid up to the finer resolution.
    const age = FEATURES.indexOf('age')
    expect(fine.drift.ks![age]).toBeLessThan(0.01)
  })

  it('falls back to the 10-bin reference for a subject whose fine reference is missing or malformed', () => {
    const art = withFine()
    const features = { ...art.reference.fine!.features }
    delete features.insulin
    features.bmi = { ...features.bmi!, shares: [1] }
    const layout = columnLayout({ ...art, reference: { ...art.reference, fine: { features } } })
    const insulin = FEATURES.indexOf('insulin')
    const bmi = FEATURES.indexOf('bmi')
    expect(layout.grids.fine.cols[insulin]).toBe(insulin)
    expect(layout.grids.fine.cols[bmi]).toBe(bmi)
    expect(layout.grids.fine.cols[PROB_COL]).toBe(PROB_COL) // no fine probability reference given
    expect(layout.grids.fine.cols[FEATURES.indexOf('glucose')]).toBeGreaterThanOrEqual(17)
  })
})
