/**
 * The election's assignment rule (lib/kafka/leader.ts chooseActive), on its own: who gets the
 * lock partition when members (re)join. The election itself on the real broker is
 * leader.int.test.ts; the failover of two monitors processes is
 * tests/reliability/monitor-standby.fast.test.ts.
 */
import { describe, expect, it } from 'vitest'
import { chooseActive } from '../../../lib/kafka/index.ts'

const standby = (memberId: string, since: number) => ({ memberId, active: false, since, acquiredAt: 0 })
const active = (memberId: string, since: number, acquiredAt: number) => ({
  memberId,
  active: true,
  since,
  acquiredAt,
})

describe('chooseActive', () => {
  it('the active member keeps the lock when standbys (even older ones) join', () => {
    expect(chooseActive([standby('a', 1), active('b', 5, 6), standby('c', 2)])).toBe('b')
  })

  it('without an active member, the longest waiting standby; ties by member id', () => {
    expect(chooseActive([standby('b', 20), standby('a', 10), standby('c', 30)])).toBe('a')
    expect(chooseActive([standby('y', 10), standby('x', 10)])).toBe('x')
    expect(chooseActive([])).toBeUndefined()
  })

  it('two active claims (a holder dropped while stalled rejoins): the later holder wins', () => {
    expect(chooseActive([active('stalled', 1, 2), active('successor', 3, 20_000)])).toBe('successor')
    expect(chooseActive([active('successor', 3, 20_000), active('stalled', 1, 2)])).toBe('successor')
  })
})
