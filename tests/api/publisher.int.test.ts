/**
 * The API's publisher on the real broker: concurrent publish() calls share produce requests
 * (one in flight, the others queued behind it), and each call resolves only once its own
 * records are on the topic.
 */
import type { Producer } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { coreServices } from '../../api/services.ts'
import { closeDeps } from '../../lib/runtime/index.ts'
import { collectMessages } from '../helpers/index.ts'
import { validRequest } from '../processors/inference/fixtures.ts'
import { openStack, type Stack } from './fixtures.ts'

let s: Stack

beforeAll(async () => {
  s = await openStack()
})

afterAll(async () => {
  if (s) await closeDeps(s.deps)
})

describe('API publisher', () => {
  it('concurrent publishes share produce requests and each resolves after its records are acknowledged', async () => {
    const { deps } = s
    let produceRequests = 0
    // The real producer, counted: every produce request the publisher makes goes through here.
    const counted: Producer = {
      ...deps.producer,
      send: (r) => {
        produceRequests++
        return deps.producer.send(r)
      },
      sendBatch: (b) => {
        produceRequests++
        return deps.producer.sendBatch(b)
      },
    }
    const services = coreServices({ ...deps, producer: counted })
    const calls = 60
    const ids = Array.from({ length: calls }, (_, i) => [`pub-${i}-a`, `pub-${i}-b`] as const)
    const acked: string[] = []
    try {
      await Promise.all(
        ids.map(async (pair) => {
          await services.publisher.publish([
            {
              topic: deps.topics.requests,
              schema: 'PredictionRequest',
              records: pair.map((id) => ({ key: id, value: validRequest(id) })),
            },
          ])
          acked.push(...pair)
        }),
      )
    } finally {
      await services.close?.()
    }
    expect(acked).toHaveLength(calls * 2)
    // One produce request per call would be 60; shared, a handful.
    expect(produceRequests).toBeGreaterThan(0)
    expect(produceRequests).toBeLessThan(calls / 2)
    const onTopic = await collectMessages(deps.kafka, deps.topics.requests, (ms) => ms.length >= calls * 2)
    expect(onTopic.map((m) => m.key).sort()).toEqual(ids.flat().sort())
  }, 120_000)
})
