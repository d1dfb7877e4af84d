import type { Producer } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import type { RiskStreamError } from '../../lib/errors/index.ts'
import { BatchSender, toRequestEvent } from '../../producers/index.ts'
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
      { feature: 'requestId', rule: 'type' },
      { feature: 'eventTime', rule: 'type' },
    ])
  })
})

/** A kafkajs producer stand-in that records batches and can be told to fail. */
function fakeProducer(fail = false) {
  const batches: { topic: string; keys: string[] }[][] = []
  const producer = {
    sendBatch: async (b: {
      topicMessages: { topic: string; messages: { key: string }[] }[]
      acks: number
    }) => {
      expect(b.acks).toBe(-1)
      batches.push(b.topicMessages.map((t) => ({ topic: t.topic, keys: t.messages.map((m) => m.key) })))
      if (fail) throw Object.assign(new Error('broker gone'), { retriable: true })
      return []
    },
  } as unknown as Producer
  return { producer, batches }
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

  it('refuses messages after close', async () => {
    const { producer } = fakeProducer()
    const sender = new BatchSender(producer)
    await sender.close()
    await expect(sender.enqueue({ topic: 'a', key: '1', value: Buffer.from('x') })).rejects.toThrow(/closed/)
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
