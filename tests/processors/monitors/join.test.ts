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

  it('expires by size, oldest first, and never the entries that were joined or moved', () => {
    const j = new LabelJoin({ ttlMs: 1e12, maxSize: 1000 })
    for (let i = 0; i < 50_000; i++) j.addPrediction(`r${i}`, pred(i), i)
    expect(j.predictions.size).toBe(1000)
    expect(j.stats.expiredPredictions).toBe(49_000)
    expect([...j.predictions.keys()][0]).toBe('r49000')
    // A re-delivered prediction moves to the tail and survives the next evictions.
    j.addPrediction('r49000', pred(49_000), 50_000)
    for (let i = 50_000; i < 50_999; i++) j.addPrediction(`r${i}`, pred(i), i)
    expect(j.predictions.has('r49000')).toBe(true)
    expect(j.predictions.has('r49001')).toBe(false)
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
