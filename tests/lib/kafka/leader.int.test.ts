/**
 * The Kafka election of one active process (lib/kafka/leader.ts) on the real broker: the first
 * member is active, a later one waits as a standby and does not take the lock when it joins
 * (no flapping), and the longest waiting standby takes over when the active one leaves.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { activeLock, campaign, createKafka, type Leadership } from '../../../lib/kafka/index.ts'
import { getLogger } from '../../../lib/log/index.ts'
import { testConfig, uniqueId } from '../../helpers/index.ts'

const config = testConfig()
const kafka = createKafka(config, { clientId: uniqueId('leader-') })
const held: Leadership[] = []
const log = getLogger('test')

afterAll(async () => {
  for (const l of held) await l.release().catch(() => undefined)
})

async function join(lock: { topic: string; groupId: string }, lost: string[]) {
  const l = await campaign(kafka, {
    ...lock,
    replicationFactor: 1,
    log,
    onLost: (why) => lost.push(why),
  })
  held.push(l)
  return l
}

describe('campaign', () => {
  it('one active member; standbys keep waiting as others join; the longest waiting takes over', async () => {
    const lock = activeLock(config.topics.prefix, uniqueId('role'))
    const lost: string[] = []
    const first = await join(lock, lost)
    await first.acquired
    expect(first.isActive()).toBe(true)
    const second = await join(lock, lost)
    const third = await join(lock, lost)
    // Both joins rebalanced the group: the active member kept the lock.
    expect(first.isActive()).toBe(true)
    expect(second.isActive()).toBe(false)
    expect(third.isActive()).toBe(false)
    await first.release()
    await second.acquired
    expect(second.isActive()).toBe(true)
    expect(third.isActive()).toBe(false)
    // A release is a hand-over, not a loss.
    expect(lost).toEqual([])
  }, 120_000)
})
