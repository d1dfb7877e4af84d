import seedrandom from 'seedrandom'
import { describe, expect, it } from 'vitest'
import { classificationMetrics } from '../../../lib/stats/metrics.ts'
import {
  SlidingBinnedWindow,
  SlidingLabelWindow,
  SlidingSeries,
  TumblingBinnedWindows,
  TumblingLabelWindows,
} from '../../../lib/stats/windows.ts'

describe('SlidingBinnedWindow', () => {
  it('equals a from-scratch recount of the last `size` events after many random pushes', () => {
    const rng = seedrandom('windows-sliding-recount')
    const binsPerFeature = [12, 5, 3]
    const size = 37
    const w = new SlidingBinnedWindow({ size, features: 3, binsPerFeature })
    const history: number[][] = []
    for (let i = 0; i < 5000; i++) {
      const ev = binsPerFeature.map((b) => Math.floor(rng() * b))
      w.push(ev)
      history.push(ev)
      if (i % 97 === 0 || i === 4999) {
        const last = history.slice(-size)
        expect(w.count).toBe(last.length)
        binsPerFeature.forEach((b, f) => {
          const expected = new Uint32Array(b)
          for (const e of last) expected[e[f]!]!++
          expect(Array.from(w.counts(f))).toEqual(Array.from(expected))
        })
      }
    }
  })

  it('fills up before evicting', () => {
    const w = new SlidingBinnedWindow({ size: 3, features: 1, binsPerFeature: [4] })
    w.push([0])
    w.push([1])
    expect(w.count).toBe(2)
    expect(Array.from(w.counts(0))).toEqual([1, 1, 0, 0])
    w.push([3])
    w.push([3]) // evicts the first 0
    expect(w.count).toBe(3)
    expect(Array.from(w.counts(0))).toEqual([0, 1, 0, 2])
  })

  it('rejects out-of-range bin indices instead of silently corrupting counts', () => {
    const w = new SlidingBinnedWindow({ size: 3, features: 2, binsPerFeature: [4, 2] })
    expect(() => w.push([4, 0])).toThrow(expect.objectContaining({ code: 'INTERNAL' }))
    expect(() => w.push([0])).toThrow(expect.objectContaining({ code: 'INTERNAL' }))
    expect(() => new SlidingBinnedWindow({ size: 0, features: 1, binsPerFeature: [2] })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    )
    expect(w.count).toBe(0)
  })
})

describe('TumblingBinnedWindows', () => {
  const opts = { widthMs: 1000, features: 2, binsPerFeature: [3, 2] }

  it('closes epoch-aligned windows when an event passes their end, with exact counts', () => {
    const w = new TumblingBinnedWindows(opts)
    expect(w.push(10_100, [0, 0])).toEqual([])
    expect(w.push(10_999, [1, 1])).toEqual([])
    expect(w.push(10_500, [2, 1])).toEqual([]) // out of order inside the open window: counted
    const closed = w.push(11_000, [0, 1]) // exactly at the end → closes [10000, 11000)
    expect(closed).toHaveLength(1)
    expect(closed[0]!.start).toBe(10_000)
    expect(closed[0]!.end).toBe(11_000)
    expect(closed[0]!.count).toBe(3)
    expect(closed[0]!.counts.map((c) => Array.from(c))).toEqual([
      [1, 1, 1],
      [1, 2],
    ])
    expect(closed[0]!.late).toBeUndefined()
    // A jump over idle time closes [11000, 12000) and emits no empty windows for the gap.
    const jumped = w.push(15_250, [1, 0])
    expect(jumped.map((x) => [x.start, x.count])).toEqual([[11_000, 1]])
    expect(w.open?.start).toBe(15_000)
    expect(w.lateEvents).toBe(0)
  })

  it('returns an event for an already-closed window as a late one-event window and counts it', () => {
    const w = new TumblingBinnedWindows(opts)
    w.push(5_000, [0, 0])
    w.push(6_100, [0, 0]) // closes [5000, 6000)
    const late = w.push(5_900, [2, 1])
    expect(late).toHaveLength(1)
    expect(late[0]).toMatchObject({ start: 5_000, end: 6_000, count: 1, late: true })
    expect(late[0]!.counts.map((c) => Array.from(c))).toEqual([
      [0, 0, 1],
      [0, 1],
    ])
    expect(w.lateEvents).toBe(1)
    // The late event did not touch the open window.
    expect(w.open?.count).toBe(1)
  })

  it('flush closes the open window; later events before its end are late', () => {
    const w = new TumblingBinnedWindows(opts)
    expect(w.flush()).toEqual([])
    w.push(2_100, [1, 0])
    w.push(2_200, [1, 0])
    const flushed = w.flush()
    expect(flushed.map((x) => [x.start, x.end, x.count])).toEqual([[2_000, 3_000, 2]])
    expect(w.flush()).toEqual([])
    expect(w.push(2_900, [0, 0])[0]?.late).toBe(true)
    expect(w.push(3_000, [0, 0])).toEqual([])
    expect(w.lateEvents).toBe(1)
    expect(w.open?.start).toBe(3_000)
  })
})

describe('SlidingLabelWindow', () => {
  it('computes metrics on exactly the last N labelled predictions', () => {
    const rng = seedrandom('windows-labels')
    const w = new SlidingLabelWindow(50)
    const all: { y: 0 | 1; p: number; pred: 0 | 1 }[] = []
    for (let i = 0; i < 173; i++) {
      const y: 0 | 1 = rng() < 0.4 ? 1 : 0
      const p = Math.min(1, rng() * 0.7 + y * 0.3)
      const pred: 0 | 1 = p >= 0.45 ? 1 : 0
      w.push(y, p, pred)
      all.push({ y, p, pred })
    }
    const last = all.slice(-50)
    const expected = classificationMetrics(
      last.map((e) => e.y),
      last.map((e) => e.p),
      0.5,
    )
    expect(w.count).toBe(50)
    expect(w.metrics(0.5)).toEqual(expected)
    // The served confusion uses the predLabels as pushed (threshold 0.45 at serving time).
    expect(w.servedConfusion()).toEqual(
      classificationMetrics(
        last.map((e) => e.y),
        last.map((e) => e.pred),
        1,
      ).confusion,
    )
  })
})

describe('snapshot / restore', () => {
  it('a restored window continues exactly like the original (sliding bins, series, labels, tumbling)', () => {
    const rng = seedrandom('windows-snapshot')
    const bins = [6, 3]
    const a = {
      bins: new SlidingBinnedWindow({ size: 50, features: 2, binsPerFeature: bins }),
      series: new SlidingSeries(50),
      labels: new SlidingLabelWindow(50),
      tumbling: new TumblingBinnedWindows({ widthMs: 1000, features: 2, binsPerFeature: bins }),
      buckets: new TumblingLabelWindows({ widthMs: 1000, cap: 30 }),
    }
    const b = {
      bins: new SlidingBinnedWindow({ size: 50, features: 2, binsPerFeature: bins }),
      series: new SlidingSeries(50),
      labels: new SlidingLabelWindow(50),
      tumbling: new TumblingBinnedWindows({ widthMs: 1000, features: 2, binsPerFeature: bins }),
      buckets: new TumblingLabelWindows({ widthMs: 1000, cap: 30 }),
    }
    const closedA: unknown[] = []
    const closedB: unknown[] = []
    const step = (w: typeof a, closed: unknown[], t: number, r: () => number) => {
      const ev = bins.map((n) => Math.floor(r() * n))
      const p = r()
      const y = r() < p ? 1 : 0
      w.bins.push(ev)
      w.series.push(t)
      w.labels.push(y, p, p >= 0.5 ? 1 : 0)
      closed.push(...w.tumbling.push(t, ev), w.buckets.push(t, y, p))
    }
    let t = 0
    for (let i = 0; i < 137; i++) {
      t += Math.floor(rng() * 40)
      step(a, closedA, t, rng)
    }
    const json = JSON.parse(
      JSON.stringify({
        bins: a.bins.snapshot(),
        series: a.series.snapshot(),
        labels: a.labels.snapshot(),
        tumbling: a.tumbling.snapshot(),
        buckets: a.buckets.snapshot(),
      }),
    )
    b.bins.restore(json.bins)
    b.series.restore(json.series)
    b.labels.restore(json.labels)
    b.tumbling.restore(json.tumbling)
    b.buckets.restore(json.buckets)
    closedA.length = 0
    for (let i = 0; i < 200; i++) {
      const dt = Math.floor(rng() * 40) - 5
      // Some steps go back in time: late events and late labels after the restore too.
      t += dt
      step(a, closedA, t, seedrandom(`step-${i}`))
      step(b, closedB, t, seedrandom(`step-${i}`))
    }
    expect(closedB).toEqual(closedA)
    for (let f = 0; f < 2; f++) expect(Array.from(b.bins.counts(f))).toEqual(Array.from(a.bins.counts(f)))
    expect(b.series.snapshot()).toEqual(a.series.snapshot())
    expect(b.labels.metrics(0.5)).toEqual(a.labels.metrics(0.5))
    expect(b.labels.servedConfusion()).toEqual(a.labels.servedConfusion())
    expect(b.tumbling.snapshot()).toEqual(a.tumbling.snapshot())
    expect(b.buckets.snapshot()).toEqual(a.buckets.snapshot())
  })

  it('refuses to restore into a window that already holds events', () => {
    const w = new SlidingBinnedWindow({ size: 3, features: 1, binsPerFeature: [4] })
    w.push([1])
    expect(() => w.restore(w.snapshot())).toThrow(expect.objectContaining({ code: 'INTERNAL' }))
  })
})
