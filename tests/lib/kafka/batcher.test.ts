import type { Producer } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import type { RiskStreamError } from '../../../lib/errors/index.ts'
import { BatchSender } from '../../../lib/kafka/batcher.ts'

/** A kafkajs producer stand-in that records batches and can be told to fail. */
function fakeProducer(fail = false) {
  const batches: { topic: string; keys: string[] }[][] = []
  const partitions: (number | undefined)[] = []
  const producer = {
    sendBatch: async (b: {
      topicMessages: { topic: string; messages: { key: string; partition?: number }[] }[]
      acks: number
    }) => {
      expect(b.acks).toBe(-1)
      batches.push(b.topicMessages.map((t) => ({ topic: t.topic, keys: t.messages.map((m) => m.key) })))
      partitions.push(...b.topicMessages.flatMap((t) => t.messages.map((m) => m.partition)))
      if (fail) throw Object.assign(new Error('broker gone'), { retriable: true })
      return []
    },
  } as unknown as Producer
  return { producer, batches, partitions }
}

describe('BatchSender', () => {
  it('sends full batches, then the remainder on flush, keeping order and grouping by topic', async () => {
    const { producer, batches } = fakeProducer()
    const sender = new BatchSender(producer, { batchSize: 4, lingerMs: 10_000 })
    const acks: string[] = []
    for (let i = 0; i < 10; i++) {
      sender.enqueue({ topic: i % 2 ? 'b' : 'a', key: `k${i}`, value: Buffer.from('x') }, (err) => {
        if (!err) acks.push(`k${i}`)
      })
    }
    await sender.flush()
    expect(batches.map((b) => b.reduce((n, t) => n + t.keys.length, 0))).toEqual([4, 4, 2])
    expect(batches[0]).toEqual([
      { topic: 'a', keys: ['k0', 'k2'] },
      { topic: 'b', keys: ['k1', 'k3'] },
    ])
    expect(acks).toEqual(Array.from({ length: 10 }, (_, i) => `k${i}`))
    expect(sender.queued).toBe(0)
  })

  it('a partial batch leaves after the linger time without a flush', async () => {
    const { producer, batches } = fakeProducer()
    const sender = new BatchSender(producer, { batchSize: 100, lingerMs: 5 })
    await sender.enqueue({ topic: 'a', key: 'k', value: Buffer.from('x') })
    expect(batches).toHaveLength(1)
  })

  it('reports a refused batch to every message as a retriable KAFKA_UNAVAILABLE error', async () => {
    const { producer } = fakeProducer(true)
    const sender = new BatchSender(producer, { batchSize: 2 })
    const errors: RiskStreamError[] = []
    const p = sender.enqueue({ topic: 'a', key: '1', value: Buffer.from('x') }, (e) => e && errors.push(e))
    sender.enqueue({ topic: 'a', key: '2', value: Buffer.from('x') }, (e) => e && errors.push(e))
    await expect(p).rejects.toMatchObject({ code: 'KAFKA_UNAVAILABLE', retriable: true })
    expect(errors).toHaveLength(2)
  })

  it('keeps an explicit partition, and callers enqueuing in the same tick share one request', async () => {
    const { producer, batches, partitions } = fakeProducer()
    const sender = new BatchSender(producer, { batchSize: 100, lingerMs: 0 })
    await Promise.all([
      sender.enqueue({ topic: 'p', key: 'a', value: Buffer.from('x'), partition: 2 }),
      sender.enqueue({ topic: 'p', key: 'b', value: Buffer.from('x'), partition: 0 }),
      sender.enqueue({ topic: 'p', key: 'c', value: Buffer.from('x') }),
    ])
    expect(batches.map((b) => b[0]!.keys)).toEqual([['a', 'b', 'c']])
    expect(partitions).toEqual([2, 0, undefined])
  })

  it('starts a new batch before one would exceed maxBatchBytes', async () => {
    const { producer, batches } = fakeProducer()
    const sender = new BatchSender(producer, { batchSize: 100, lingerMs: 10_000, maxBatchBytes: 500 })
    // 200-byte values + key + 70 bytes overhead = 271 bytes: one message per batch fits, two do not.
    for (const k of ['a', 'b', 'c']) sender.enqueue({ topic: 't', key: k, value: Buffer.alloc(200) })
    await sender.flush()
    expect(batches.map((b) => b[0]!.keys)).toEqual([['a'], ['b'], ['c']])
  })

  it('refuses messages after close', async () => {
    const { producer } = fakeProducer()
    const sender = new BatchSender(producer)
    await sender.close()
    await expect(sender.enqueue({ topic: 'a', key: '1', value: Buffer.from('x') })).rejects.toThrow(/closed/)
  })
})
