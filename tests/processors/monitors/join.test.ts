import seedrandom from 'seedrandom'
import { describe, expect, it } from 'vitest'
import { LabelJoin } from '../../../processors/monitors/performance/join.ts'

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
