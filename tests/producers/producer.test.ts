import { describe, expect, it } from 'vitest'
import type { RiskStreamError } from '../../lib/errors/index.ts'
import { DEFAULT_SKEW, predictionRequestIssues } from '../../lib/events/domain.ts'
import { toRequestEvent } from '../../producers/index.ts'
import { TokenBucket } from '../../producers/token-bucket.ts'

const good = {
  requestId: 'r-1',
  patientId: 'p-1',
  eventTime: 1_700_000_000_000,
  glucose: 148,
  bmi: 33.6,
  age: 50,
}

function refusal(input: unknown): RiskStreamError {
  try {
    toRequestEvent(input as never, 'src')
  } catch (err) {
    return err as RiskStreamError
  }
  throw new Error('expected a refusal')
}

describe('request validation', () => {
  it('fills the contract shape: unset features are null, sourceSystem defaults', () => {
    const e = toRequestEvent(good, 'src')
    expect(e).toMatchObject({
      requestId: 'r-1',
      sourceSystem: 'src',
      glucose: 148,
      insulin: null,
      notes: null,
    })
  })

  it('refuses a non-number without coercing, naming feature and rule but not the value', () => {
    const e = refusal({ ...good, glucose: '987' })
    expect(e.code).toBe('VALIDATION_FAILED')
    expect(e.message).toContain('glucose: type')
    expect(e.message).not.toContain('987')
    expect(e.details.issues).toEqual([{ feature: 'glucose', rule: 'type' }])
  })

  it('refuses out-of-bounds and NaN values, listing every problem', () => {
    const e = refusal({ ...good, glucose: 6543, bmi: Number.NaN, age: -3 })
    expect(e.details.issues).toEqual([
      { feature: 'glucose', rule: 'range' },
      { feature: 'bmi', rule: 'type' },
      { feature: 'age', rule: 'range' },
    ])
    expect(e.message).not.toMatch(/6543|-3|NaN/)
  })

  it('refuses missing ids and a non-integer event time', () => {
    const e = refusal({ ...good, requestId: '', eventTime: 'yesterday' })
    expect(e.details.issues).toEqual([
      { feature: 'requestId', rule: 'missing' },
      { feature: 'eventTime', rule: 'type' },
    ])
  })

  it('names the same fields and rules as the consumers that would dead-letter the request', () => {
    const bad = { ...good, patientId: 'p\u0000', eventTime: 8.64e15, notes: 7, glucose: 6543 }
    const domain = { now: Date.now(), skew: DEFAULT_SKEW }
    const e = (() => {
      try {
        toRequestEvent(bad as never, 'src', domain)
      } catch (err) {
        return err as RiskStreamError
      }
      throw new Error('expected a refusal')
    })()
    const consumers = predictionRequestIssues({ ...bad, sourceSystem: 'src' } as never, domain)
    expect(consumers.map((i) => i.rule)).toEqual(['chars', 'contract_range', 'type', 'range'])
    expect(e.details.issues).toEqual(consumers.map((i) => ({ feature: i.field, rule: i.rule })))
  })
})

describe('TokenBucket', () => {
  it('allows the burst at once, then one token per 1/rate seconds', () => {
    let now = 0
    const bucket = new TokenBucket(100, 5, () => now)
    const waits = Array.from({ length: 8 }, () => bucket.reserve())
    // starts with one token; each later one costs 10 ms of debt
    expect(waits).toEqual([0, 10, 20, 30, 40, 50, 60, 70])
    now = 1000 // a long pause refills to the burst size, no more
    expect(Array.from({ length: 6 }, () => bucket.reserve() === 0)).toEqual([
      true,
      true,
      true,
      true,
      true,
      false,
    ])
  })

  it('rate 0 never waits', () => {
    const bucket = new TokenBucket(0)
    expect(Array.from({ length: 1000 }, () => bucket.reserve()).every((w) => w === 0)).toBe(true)
  })
})
