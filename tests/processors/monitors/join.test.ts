import seedrandom from 'seedrandom'
import { describe, expect, it } from 'vitest'
import { configWith } from '../../../lib/config/index.ts'
import { MonitorEngine } from '../../../processors/monitors/engine/engine.ts'
import type { PredictionEvent } from '../../../processors/monitors/engine/types.ts'
import { LabelJoin, type LossKind, UNKNOWN_VERSION } from '../../../processors/monitors/performance/join.ts'
import { PIMA, pimaArtifact, score, T0 } from './streams.ts'

const pred = (t: number) => ({ modelName: 'm', modelVersion: 1, probability: 0.5, label: 1, eventTime: t })

describe('LabelJoin', () => {
  it('joins in either order and counts the pair once', () => {
    const j = new LabelJoin({ ttlMs: 1000, maxSize: 10 })
    expect(j.addPrediction('a', pred(0), 0)).toBeUndefined()
    expect(j.addOutcome('a', { outcome: 1, labelledAt: 5 }, 5)).toEqual(pred(0))
    expect(j.addOutcome('b', { outcome: 0, labelledAt: 6 }, 6)).toBeUndefined()
    expect(j.addPrediction('b', pred(7), 7)).toEqual({ outcome: 0, labelledAt: 6 })
    expect(j.stats.joined).toBe(2)
    expect(j.predictions.size + j.outcomes.size).toBe(0)
  })

  it('evicts over capacity by event time, oldest first, and never the entries that were joined', () => {
    const j = new LabelJoin({ ttlMs: 1e12, maxSize: 1000 })
    for (let i = 0; i < 50_000; i++) j.addPrediction(`r${i}`, pred(i), i)
    expect(j.predictions.size).toBe(1000)
    expect(j.stats).toMatchObject({ evictedPredictions: 49_000, expiredPredictions: 0 })
    expect(Math.min(...[...j.predictions.values()].map((p) => p.eventTime))).toBe(49_000)
    // A late-arriving prediction with an OLD event time is the oldest entry: it goes first.
    j.addOutcome('r49500', { outcome: 1, labelledAt: 50_000 }, 50_000)
    j.addPrediction('late', pred(10), 50_001)
    j.addPrediction('r50000', pred(50_000), 50_002)
    expect(j.predictions.has('late')).toBe(false)
    expect(j.predictions.has('r49000')).toBe(true)
    expect(j.stats.joined).toBe(1)
  })

  it('is a function of the pending set: a rebuild in any order continues exactly like the original', () => {
    const rng = seedrandom.alea('join-order')
    const opts = { ttlMs: 5000, maxSize: 300 }
    const a = new LabelJoin(opts)
    let t = 0
    const stream: { kind: 'p' | 'o'; id: string; t: number }[] = []
    for (let i = 0; i < 20_000; i++) {
      t += Math.floor(rng() * 3)
      const id = `r${Math.floor(rng() * 6000)}`
      // Event times jitter up to 2 s behind the clock, as across partitions.
      stream.push({ kind: rng() < 0.5 ? 'p' : 'o', id, t: t - Math.floor(rng() * 2000) })
    }
    const feed = (j: LabelJoin, from: number, to: number) => {
      const out: string[] = []
      let clock = 0
      for (const e of stream.slice(from, to)) {
        clock = Math.max(clock, e.t)
        const hit =
          e.kind === 'p'
            ? j.addPrediction(e.id, pred(e.t), clock)
            : j.addOutcome(e.id, { outcome: 1, labelledAt: e.t }, clock)
        if (hit) out.push(e.id)
      }
      return out
    }
    const whole = new LabelJoin(opts)
    const all = feed(whole, 0, stream.length)
    const before = feed(a, 0, 10_000)
    // Rebuild from the pending entries in a shuffled order (as a restart reads them back).
    const b = new LabelJoin(opts)
    const shuffle = <T>(xs: T[]) =>
      xs
        .map((x) => [rng(), x] as const)
        .sort((p, q) => p[0] - q[0])
        .map((p) => p[1])
    for (const [id, p] of shuffle([...a.predictions])) b.restorePrediction(id, p)
    for (const [id, o] of shuffle([...a.outcomes])) b.restoreOutcome(id, o)
    Object.assign(b.stats, a.stats)
    // The clock resumes at the last event time seen.
    const after = (() => {
      const out: string[] = []
      let clock = Math.max(...stream.slice(0, 10_000).map((e) => e.t))
      for (const e of stream.slice(10_000)) {
        clock = Math.max(clock, e.t)
        const hit =
          e.kind === 'p'
            ? b.addPrediction(e.id, pred(e.t), clock)
            : b.addOutcome(e.id, { outcome: 1, labelledAt: e.t }, clock)
        if (hit) out.push(e.id)
      }
      return out
    })()
    expect([...before, ...after]).toEqual(all)
    expect(b.stats).toEqual(whole.stats)
    expect(whole.stats.expiredPredictions + whole.stats.evictedPredictions).toBeGreaterThan(0)
    expect(new Set(b.predictions.keys())).toEqual(new Set(whole.predictions.keys()))
  })

  it('expires by event-time TTL, including entries put back after a restart', () => {
    const j = new LabelJoin({ ttlMs: 100, maxSize: 1e6 })
    j.restorePrediction('old', pred(0))
    j.restoreOutcome('lonely', { outcome: 1, labelledAt: 10 })
    j.addPrediction('new', pred(150), 150)
    expect(j.predictions.has('old')).toBe(false)
    expect(j.outcomes.has('lonely')).toBe(false)
    expect(j.predictions.has('new')).toBe(true)
    expect(j.stats).toMatchObject({ expiredPredictions: 1, expiredOutcomes: 1 })
  })
})

describe('LabelJoin in spill mode', () => {
  it('never evicts predictions: the oldest over the budget are handed over, and join when put back', () => {
    const j = new LabelJoin({ ttlMs: 1e12, maxSize: 10 })
    j.enableSpill(100)
    for (let i = 0; i < 1000; i++) j.addPrediction(`r${i}`, pred(1000 - i), i)
    expect(j.predictions.size).toBe(1000)
    expect(j.stats.evictedPredictions).toBe(0)
    const out = j.takeSpill()
    expect(out).toHaveLength(900)
    expect(j.predictions.size).toBe(100)
    // Oldest event time first (r999 has the oldest), so the newest 100 stay.
    expect(out[0]![0]).toBe('r999')
    expect(Math.max(...out.map(([, p]) => p.eventTime))).toBeLessThan(
      Math.min(...[...j.predictions.values()].map((p) => p.eventTime)),
    )
    expect(j.takeSpill()).toHaveLength(0)
    const [id, p] = out[0]!
    j.restorePrediction(id, p)
    expect(j.addOutcome(id, { outcome: 1, labelledAt: 2000 }, 2000)).toEqual(p)
    expect(j.stats.joined).toBe(1)
  })

  it('counts a second label while the first waits as a duplicate and keeps the first', () => {
    const j = new LabelJoin({ ttlMs: 1e12, maxSize: 10 })
    j.addOutcome('a', { outcome: 1, labelledAt: 1 }, 1)
    j.addOutcome('a', { outcome: 0, labelledAt: 2 }, 2)
    expect(j.stats.duplicateOutcomes).toBe(1)
    expect(j.addPrediction('a', pred(0), 3)).toEqual({ outcome: 1, labelledAt: 1 })
  })

  it('discards a waiting label by reason, once', () => {
    const j = new LabelJoin({ ttlMs: 1e12, maxSize: 10 })
    j.addOutcome('a', { outcome: 1, labelledAt: 1 }, 1)
    j.addOutcome('b', { outcome: 1, labelledAt: 1 }, 1)
    j.discardOutcome('a', 'late')
    j.discardOutcome('a', 'late')
    j.discardOutcome('b', 'duplicate')
    expect(j.stats).toMatchObject({ lateOutcomes: 1, duplicateOutcomes: 1, expiredOutcomes: 0 })
    expect(j.outcomes.size).toBe(0)
    // Their stale heap items do not count as expiries later.
    j.addPrediction('c', pred(2e12), 2e12)
    expect(j.stats.expiredOutcomes).toBe(0)
  })
})

describe('label join losses by model version', () => {
  const of = (version: number, t: number) => ({ ...pred(t), modelVersion: version })

  it('counts each loss under its prediction’s version, and under unknown when there was none', () => {
    const j = new LabelJoin({ ttlMs: 100, maxSize: 1e6 })
    // Version 1 served, then version 2 after a promotion: version 1's unlabelled predictions expire later.
    for (let i = 0; i < 10; i++) j.addPrediction(`a${i}`, of(1, i), i)
    j.addOutcome('nobody', { outcome: 1, labelledAt: 20 }, 20)
    j.addOutcome('nobody', { outcome: 0, labelledAt: 21 }, 21) // a second label while the first waits
    j.addOutcome('x', { outcome: 1, labelledAt: 22 }, 22)
    j.discardOutcome('x', 'late', 2)
    for (let i = 0; i < 4; i++) j.addPrediction(`b${i}`, of(2, 50 + i), 50 + i)
    j.addPrediction('b9', of(2, 140), 140) // clock 140: version 1's predictions and the waiting label expire
    expect(j.losses.get(1)).toEqual({ expiredPredictions: 10 })
    expect(j.losses.get(2)).toEqual({ lateOutcomes: 1 })
    expect(j.losses.get(UNKNOWN_VERSION)).toEqual({ duplicateOutcomes: 1, expiredOutcomes: 1 })
    // The versions add up to the totals.
    const sum = (kind: LossKind) => [0, 1, 2].reduce((a, v) => a + (j.losses.get(v)?.[kind] ?? 0), 0)
    for (const kind of [
      'expiredPredictions',
      'expiredOutcomes',
      'lateOutcomes',
      'duplicateOutcomes',
    ] as const)
      expect(sum(kind), kind).toBe(j.stats[kind])
    expect(j.losses.takeChanged().map(([v]) => v)).toEqual([0, 1, 2])
    expect(j.losses.takeChanged()).toEqual([])
    j.addPrediction('b10', of(2, 300), 300) // version 2's five waiting predictions expire
    expect(j.losses.takeChanged()).toEqual([[2, { lateOutcomes: 1, expiredPredictions: 5 }]])
  })

  it('counts a version the engine never monitored under unknown (no series per invented number)', () => {
    const j = new LabelJoin({ ttlMs: 100, maxSize: 1e6, attributable: (v) => v === 1 })
    j.addOutcome('x', { outcome: 1, labelledAt: 0 }, 0)
    j.discardOutcome('x', 'late', 4711) // its raw prediction names version 4711
    j.addPrediction('a', of(1, 0), 0)
    j.addPrediction('b', of(1, 200), 200)
    expect(j.losses.snapshot()).toEqual({ '0': { lateOutcomes: 1 }, '1': { expiredPredictions: 1 } })
    expect(j.stats).toMatchObject({ lateOutcomes: 1, expiredPredictions: 1 })
  })

  it('writes the changed versions’ losses as rows at a checkpoint, and restores them (older checkpoints: unknown)', () => {
    const drift = { ...configWith({}).drift, labelJoinTtlMs: 400_000 }
    const artifact = pimaArtifact(0.5)
    const make = () =>
      new MonitorEngine({ modelName: 'm', drift, artifactFor: () => artifact, maxVersions: 1 })
    const prediction = (k: number, version: number): PredictionEvent => {
      const v = { ...PIMA.rows[k % PIMA.rows.length]! }
      const p = score(v)
      return {
        requestId: `r${k}`,
        patientId: `p${k}`,
        modelName: 'm',
        modelVersion: version,
        probability: p,
        label: p >= 0.5 ? 1 : 0,
        threshold: 0.5,
        eventTime: T0 + k * 1000,
        scoredAt: T0 + k * 1000 + 5,
        shadow: false,
        ...v,
      }
    }
    const e = make()
    expect(e.takeLossRows(1)).toEqual([]) // nothing seen yet
    for (let k = 0; k < 100; k++) e.onPrediction(prediction(k, 1))
    // Promotion: version 2 serves; version 1's monitor is evicted (maxVersions 1).
    for (let k = 100; k < 300; k++) e.onPrediction(prediction(k, 2))
    // Labels of version 1 that are still waiting have no monitor to go to; one label has no prediction.
    for (let k = 90; k < 100; k++)
      e.onOutcome({ requestId: `r${k}`, outcome: 1, labelledAt: T0 + 300_000, source: 's' })
    e.onOutcome({ requestId: 'unknown-request', outcome: 1, labelledAt: T0 + 300_000, source: 's' })
    for (let k = 300; k < 800; k++) e.onPrediction(prediction(k, 2)) // the clock passes the TTL
    const rows = e.takeLossRows(7)
    const byVersion = Object.fromEntries(rows.map((r) => [`${r.modelVersion}/${r.metric}`, r.value]))
    // Version 1: 90 predictions expired unlabelled (k < 90; the other 10 were labelled), 10 labels without monitor.
    expect(byVersion).toEqual({
      '0/lost_expired_outcomes': 1,
      '1/lost_expired_predictions': 90,
      '1/lost_labels_without_monitor': 10,
      '2/lost_expired_predictions': e.join.losses.get(2)!.expiredPredictions,
    })
    expect(e.join.stats.expiredPredictions).toBe(90 + byVersion['2/lost_expired_predictions']!)
    expect(rows.every((r) => r.subject === 'label_join' && r.monitor === 'quality' && r.windowId === 7)).toBe(
      true,
    )
    expect(rows.every((r) => r.segment === undefined && r.windowEnd === e.clock)).toBe(true)
    expect(e.takeLossRows(8)).toEqual([]) // nothing changed since

    const snap = JSON.parse(JSON.stringify(e.snapshot()))
    const resumed = make()
    resumed.restore(snap)
    // After a restore every version's losses are written again, with their counts (the pending
    // count differs: the service, not the engine, refills the join).
    const counts = (rs: typeof rows) => rs.map(({ windowSize: _n, ...r }) => r)
    expect(counts(resumed.takeLossRows(7))).toEqual(counts(rows))

    // A checkpoint written before losses had versions: its totals come back under version 0.
    const { byVersion: _dropped, ...old } = snap.join
    const legacy = make()
    legacy.restore({ ...snap, join: old })
    const legacyRows = legacy.takeLossRows(9)
    expect(new Set(legacyRows.map((r) => r.modelVersion))).toEqual(new Set([UNKNOWN_VERSION]))
    expect(Object.fromEntries(legacyRows.map((r) => [r.metric, r.value]))).toEqual({
      lost_expired_predictions: e.join.stats.expiredPredictions,
      lost_expired_outcomes: 1,
      lost_labels_without_monitor: 10,
    })
  })
})
