import seedrandom from 'seedrandom'
import { describe, expect, it } from 'vitest'
import { DropDetector, HysteresisDetector } from '../../../lib/stats/detectors.ts'

const opts = { threshold: 0.25, clearThreshold: 0.1, consecutive: 3, minWindow: 100 }

describe('HysteresisDetector', () => {
  it('raises exactly at update 50 + consecutive − 1 on a seeded stream and clears only below clearThreshold', () => {
    const rng = seedrandom('detector-stream')
    const d = new HysteresisDetector(opts)
    const raisedAt: number[] = []
    const clearedAt: number[] = []
    const states: string[] = []
    for (let i = 0; i < 80; i++) {
      let score: number
      if (i < 50)
        score = rng() * 0.249 // below threshold
      else if (i < 70)
        score = 0.25 + rng() // at or above threshold
      else if (i < 75)
        score = 0.1 + rng() * 0.14 // between clear and threshold: alert holds
      else score = rng() * 0.099 // below clearThreshold
      const v = d.update(score, 250)
      states.push(v.state)
      if (v.raised) raisedAt.push(i)
      if (v.cleared) clearedAt.push(i)
    }
    expect(raisedAt).toEqual([50 + opts.consecutive - 1])
    expect(states.slice(50, 52)).toEqual(['pending', 'pending'])
    expect(states.slice(52, 75).every((s) => s === 'alert')).toBe(true)
    expect(clearedAt).toEqual([75])
    expect(states[79]).toBe('ok')
  })

  it('ignores small windows without resetting the streak, and resets on a low score', () => {
    const d = new HysteresisDetector(opts)
    expect(d.update(0.5, 250)).toEqual({ state: 'pending', changed: true, raised: false, cleared: false })
    expect(d.update(0.0, 99)).toEqual({ state: 'pending', changed: false, raised: false, cleared: false })
    expect(d.update(Number.NaN, 250).state).toBe('pending')
    expect(d.update(0.5, 100).state).toBe('pending')
    expect(d.update(0.5, 100)).toEqual({ state: 'alert', changed: true, raised: true, cleared: false })
    d.reset()
    d.update(0.5, 250)
    d.update(0.5, 250)
    expect(d.update(0.2, 250)).toEqual({ state: 'ok', changed: true, raised: false, cleared: false })
    expect(d.update(0.5, 250).state).toBe('pending') // streak restarted at 1
  })

  it('round-trips its state through a plain-JSON snapshot', () => {
    const d = new HysteresisDetector(opts)
    d.update(0.5, 250)
    d.update(0.5, 250)
    const json = JSON.parse(JSON.stringify(d.snapshot()))
    expect(json).toEqual({ state: 'pending', streak: 2 })
    const restored = new HysteresisDetector(opts)
    restored.restore(json)
    expect(restored.update(0.5, 250).raised).toBe(true)
    expect(() => restored.restore({ state: 'bogus', streak: 1 } as never)).toThrow(
      expect.objectContaining({ code: 'VALIDATION_FAILED' }),
    )
  })

  it('rejects inconsistent options', () => {
    expect(() => new HysteresisDetector({ ...opts, clearThreshold: 0.3 })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    )
    expect(() => new HysteresisDetector({ ...opts, consecutive: 0 })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    )
  })
})

describe('DropDetector', () => {
  it('alerts when the metric falls dropThreshold below expectation, with the same hysteresis', () => {
    const d = new DropDetector({ dropThreshold: 0.05, clearDrop: 0.02, consecutive: 2, minWindow: 50 })
    expect(d.update(0.7, 0.72, 200)).toMatchObject({ state: 'ok', drop: expect.closeTo(0.02, 12) })
    expect(d.update(0.6, 0.72, 200).state).toBe('pending')
    expect(d.update(0.6, 0.72, 10).state).toBe('pending') // too few labels: no verdict
    expect(d.update(0.66, 0.72, 200)).toMatchObject({ state: 'alert', raised: true })
    expect(d.update(0.69, 0.72, 200).state).toBe('alert') // drop 0.03 ≥ clearDrop
    expect(d.update(0.71, 0.72)).toMatchObject({ state: 'ok', cleared: true })
  })
})
