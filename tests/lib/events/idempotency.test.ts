import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { payloadDigest, RecentRequests } from '../../../lib/events/idempotency.ts'

const payload = fc.record({
  patientId: fc.string({ minLength: 1, maxLength: 20 }),
  eventTime: fc.integer({ min: 0, max: 2 ** 42 }),
  glucose: fc.option(fc.double({ min: 20, max: 600, noNaN: true }), { nil: null }),
  bmi: fc.option(fc.double({ min: 10, max: 90, noNaN: true }), { nil: null }),
})

describe('request idempotency', () => {
  it('a repeat of the same payload is "same"; another payload under the same id is "conflict"', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), payload, payload, (id, a, b) => {
        const recent = new RecentRequests()
        expect(recent.check(id, payloadDigest(a))).toBe('new')
        expect(recent.check(id, payloadDigest(a))).toBe('same')
        const sameDigest = payloadDigest(a) === payloadDigest(b)
        expect(recent.check(id, payloadDigest(b))).toBe(sameDigest ? 'same' : 'conflict')
      }),
    )
  })

  it('forgets the oldest ids beyond its bound', () => {
    const recent = new RecentRequests(2)
    recent.check('a', 'x')
    recent.check('b', 'x')
    recent.check('c', 'x')
    expect(recent.size).toBe(2)
    expect(recent.check('a', 'y')).toBe('new')
  })
})
