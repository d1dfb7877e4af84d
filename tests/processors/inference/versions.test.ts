import { describe, expect, it } from 'vitest'
import {
  cursorOf,
  decideServing,
  decideShadow,
  isNewer,
  slotOfKey,
  type VersionEventLike,
} from '../../../processors/inference/versions.ts'

const M = 'diabetes-risk'
function ev(over: Partial<VersionEventLike>): VersionEventLike {
  return {
    eventId: 'e',
    modelName: M,
    version: 1,
    stage: 'production',
    artifactSha256: 'sha1',
    shadow: false,
    seq: 1000,
    ...over,
  }
}

describe('slotOfKey', () => {
  it('maps the serving, shadow and other keys', () => {
    expect(slotOfKey(M, M)).toBe('serving')
    expect(slotOfKey(`${M}#shadow`, M)).toBe('shadow')
    expect(slotOfKey(`${M}#v3`, M)).toBe('other')
    expect(slotOfKey('other-model', M)).toBe('other')
    expect(slotOfKey(null, M)).toBe('other')
  })
})

describe('decideServing', () => {
  const v1 = ev({ eventId: 'a', version: 1, seq: 1000 })
  const cur = cursorOf(v1, '5')

  it('loads the first production event', () => {
    expect(decideServing(null, v1, '5', M)).toEqual({ action: 'load' })
  })
  it('loads a newer production event for a higher version', () => {
    expect(
      decideServing(cur, ev({ eventId: 'b', version: 2, artifactSha256: 'sha2', seq: 2000 }), '6', M),
    ).toEqual({ action: 'load' })
  })
  it('treats a duplicate (same eventId) as a no-op, whatever its offset', () => {
    expect(decideServing(cur, v1, '9', M)).toEqual({ action: 'ignore', reason: 'duplicate' })
  })
  it('treats an event older than the current one as a no-op, even for a higher version', () => {
    const older = ev({ eventId: 'z', version: 7, artifactSha256: 'sha7', seq: 999 })
    expect(decideServing(cur, older, '6', M)).toEqual({ action: 'ignore', reason: 'older' })
  })
  it('applies a rollback: a newer event pointing at a lower version', () => {
    const v3 = cursorOf(ev({ eventId: 'c', version: 3, artifactSha256: 'sha3', seq: 3000 }), '7')
    const rollback = ev({ eventId: 'd', version: 2, artifactSha256: 'sha2', seq: 4000 })
    expect(decideServing(v3, rollback, '8', M)).toEqual({ action: 'load' })
  })
  it('refuses an event at the applied sequence, whatever its offset (a re-published event)', () => {
    const same = ev({ eventId: 'b', version: 2, artifactSha256: 'sha2', seq: 1000 })
    expect(decideServing(cur, same, '6', M)).toEqual({ action: 'ignore', reason: 'older' })
    expect(decideServing(cur, same, '4', M)).toEqual({ action: 'ignore', reason: 'older' })
  })
  it('only advances the cursor for a newer event of the version already served', () => {
    expect(decideServing(cur, ev({ eventId: 'a2', version: 1, seq: 1500 }), '6', M)).toEqual({
      action: 'advance',
    })
    // same version but a different artifact checksum is a real change
    expect(
      decideServing(cur, ev({ eventId: 'a3', version: 1, artifactSha256: 'other', seq: 1500 }), '6', M),
    ).toEqual({ action: 'load' })
  })
  it('ignores non-production stages, tombstones and other models', () => {
    expect(decideServing(cur, ev({ eventId: 'x', stage: 'archived', seq: 5000 }), '9', M)).toEqual({
      action: 'ignore',
      reason: 'not-production',
    })
    expect(decideServing(cur, null, '9', M)).toEqual({ action: 'ignore', reason: 'not-production' })
    expect(decideServing(cur, ev({ eventId: 'x', modelName: 'other', seq: 5000 }), '9', M)).toEqual({
      action: 'ignore',
      reason: 'other-model',
    })
  })
})

describe('decideShadow', () => {
  const cand = ev({
    eventId: 's1',
    version: 4,
    stage: 'candidate',
    shadow: true,
    artifactSha256: 'sha4',
    seq: 2000,
  })

  it('loads a shadow candidate', () => {
    expect(decideShadow(null, null, cand, '3', M, 1)).toEqual({ action: 'load' })
  })
  it('ignores a shadow for the version already served', () => {
    expect(decideShadow(null, null, ev({ ...cand, version: 1 }), '3', M, 1)).toEqual({
      action: 'ignore',
      reason: 'same-as-serving',
    })
  })
  it('clears on a non-shadow record or a tombstone', () => {
    const c = cursorOf(cand, '3')
    expect(
      decideShadow(c, c, ev({ eventId: 's2', version: 4, stage: 'rejected', seq: 3000 }), '4', M, 1),
    ).toEqual({ action: 'clear' })
    expect(
      decideShadow(
        c,
        c,
        ev({ eventId: 's2', version: 4, stage: 'candidate', shadow: false, seq: 3000 }),
        '4',
        M,
        1,
      ),
    ).toEqual({ action: 'clear' })
    expect(decideShadow(c, c, null, '4', M, 1)).toEqual({ action: 'clear' })
    expect(decideShadow(null, null, null, '4', M, 1)).toEqual({ action: 'ignore', reason: 'already-empty' })
  })
  it('treats duplicates and older events as no-ops, also after a clear', () => {
    const c = cursorOf(cand, '3')
    expect(decideShadow(c, c, cand, '9', M, 1)).toEqual({ action: 'ignore', reason: 'duplicate' })
    const cleared = cursorOf(ev({ eventId: 's2', version: 4, stage: 'rejected', seq: 3000 }), '4')
    const stale = ev({ eventId: 's0', version: 3, stage: 'candidate', shadow: true, seq: 2500 })
    expect(decideShadow(null, cleared, stale, '5', M, 1)).toEqual({ action: 'ignore', reason: 'older' })
  })
})

describe('isNewer', () => {
  it('compares the signed sequence only: a later offset never makes an event newer', () => {
    const c = cursorOf(ev({ seq: 1000 }), '9')
    expect(isNewer(c, { seq: 1001 }, '1')).toBe(true)
    expect(isNewer(c, { seq: 999 }, '100')).toBe(false)
    expect(isNewer(c, { seq: 1000 }, '10')).toBe(false)
    expect(isNewer(c, { seq: 1000 }, '9')).toBe(false)
  })
})
