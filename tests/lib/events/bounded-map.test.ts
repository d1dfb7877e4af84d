import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BoundedMap } from '../../../lib/events/bounded-map.ts'

describe('BoundedMap', () => {
  it('forgets the oldest-inserted key first; updating a key keeps its place', () => {
    const m = new BoundedMap<string, number>(3)
    m.set('a', 1)
    m.set('b', 2)
    m.set('c', 3)
    m.set('a', 10) // an update, not a new key: 'a' is still the oldest
    m.set('d', 4)
    expect(m.get('a')).toBeUndefined()
    expect([m.get('b'), m.get('c'), m.get('d')]).toEqual([2, 3, 4])
    expect(m.size).toBe(3)
  })

  it('refuses a capacity below 1', () => {
    expect(() => new BoundedMap(0)).toThrow(RangeError)
  })

  it('holds exactly what a first-in-first-out list of the same capacity holds', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer()), { maxLength: 200 }),
        (capacity, ops) => {
          const m = new BoundedMap<number, number>(capacity)
          const model: [number, number][] = []
          for (const [k, v] of ops) {
            m.set(k, v)
            const at = model.findIndex(([mk]) => mk === k)
            if (at >= 0) model[at] = [k, v]
            else {
              model.push([k, v])
              if (model.length > capacity) model.shift()
            }
          }
          expect(m.size).toBe(model.length)
          for (const [k, v] of model) expect(m.get(k)).toBe(v)
          for (let k = 0; k <= 20; k++) if (!model.some(([mk]) => mk === k)) expect(m.get(k)).toBeUndefined()
        },
      ),
    )
  })
})
