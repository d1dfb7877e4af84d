import { describe, expect, it } from 'vitest'
import { BackgroundCommitter, type TopicPartitionOffset } from '../../../lib/kafka/committer.ts'
import { waitFor } from '../../helpers/index.ts'

/** A commit function whose calls are recorded and settled by the test. */
function manualCommit() {
  const calls: { offsets: TopicPartitionOffset[]; resolve: () => void; reject: (e: Error) => void }[] = []
  const commit = (offsets: TopicPartitionOffset[]) =>
    new Promise<void>((resolve, reject) => calls.push({ offsets, resolve, reject }))
  return { calls, commit }
}

const flushMicrotasks = () => new Promise((r) => setImmediate(r))

describe('BackgroundCommitter', () => {
  it('keeps one commit in flight and coalesces later offers into the next one, newest offset per partition', async () => {
    const { calls, commit } = manualCommit()
    const c = new BackgroundCommitter({ commit })
    c.offer('t', 0, '10')
    c.offer('t', 0, '20')
    c.offer('t', 1, '5')
    expect(calls).toHaveLength(1)
    expect(calls[0]!.offsets).toEqual([{ topic: 't', partition: 0, offset: '10' }])
    calls[0]!.resolve()
    await flushMicrotasks()
    // The commit that landed starts the coalesced one by itself (no further offer needed:
    // the last batches of a stream must not wait for traffic that may never come).
    expect(calls).toHaveLength(2)
    expect(calls[1]!.offsets).toEqual([
      { topic: 't', partition: 0, offset: '20' },
      { topic: 't', partition: 1, offset: '5' },
    ])
    calls[1]!.resolve()
    await flushMicrotasks()
    expect(c.idle).toBe(true)
  })

  it('flush() commits what was offered while a commit was in flight', async () => {
    const { calls, commit } = manualCommit()
    const committed: string[] = []
    const c = new BackgroundCommitter({
      commit,
      onCommitted: (o) => committed.push(...o.map((x) => `${x.partition}:${x.offset}`)),
    })
    c.offer('t', 0, '1')
    c.offer('t', 0, '2')
    let flushed = false
    const f = c.flush().then(() => {
      flushed = true
    })
    calls[0]!.resolve()
    await waitFor(() => calls.length === 2, { timeoutMs: 1000, intervalMs: 1 })
    expect(flushed).toBe(false)
    calls[1]!.resolve()
    await f
    expect(committed).toEqual(['0:1', '0:2'])
  })

  it('keeps the offsets of a failed commit and retries them on a timer when nothing new comes', async () => {
    const { calls, commit } = manualCommit()
    const errors: unknown[] = []
    const c = new BackgroundCommitter({ commit, onError: (e) => errors.push(e), retryMs: 10 })
    c.offer('t', 0, '7')
    calls[0]!.reject(new Error('coordinator moved'))
    await waitFor(() => calls.length === 2, { timeoutMs: 2000, intervalMs: 2 })
    expect(errors).toHaveLength(1)
    expect(calls[1]!.offsets).toEqual([{ topic: 't', partition: 0, offset: '7' }])
    calls[1]!.resolve()
    await flushMicrotasks()
    expect(c.idle).toBe(true)
  })

  it('a newer offer wins over the failed commit it retries', async () => {
    const { calls, commit } = manualCommit()
    const c = new BackgroundCommitter({ commit, retryMs: 60_000 })
    c.offer('t', 0, '7')
    c.offer('t', 0, '9')
    calls[0]!.reject(new Error('x'))
    await flushMicrotasks()
    // A failure does not retry at once (the timer does) …
    expect(calls).toHaveLength(1)
    // … but a new offer does, with the newest offsets.
    c.offer('t', 1, '1')
    expect(calls[1]!.offsets).toEqual([
      { topic: 't', partition: 0, offset: '9' },
      { topic: 't', partition: 1, offset: '1' },
    ])
    calls[1]!.resolve()
    await flushMicrotasks()
  })

  it('after a rebalance forgets pending offsets of partitions no longer assigned', async () => {
    const { calls, commit } = manualCommit()
    const c = new BackgroundCommitter({ commit })
    c.offer('t', 0, '1')
    c.offer('t', 1, '3')
    c.offer('t', 2, '4')
    c.retain({ t: [2] })
    calls[0]!.resolve()
    await flushMicrotasks()
    expect(calls).toHaveLength(2)
    expect(calls[1]!.offsets).toEqual([{ topic: 't', partition: 2, offset: '4' }])
    calls[1]!.resolve()
    await c.flush()
    expect(c.idle).toBe(true)
  })
})
