/**
 * The consumer group timing is one validated setting pair: every consumer a client from
 * createKafka makes gets it unless it sets its own, and a heartbeat too slow for the session
 * is refused at start-up. The behaviour it buys (recovery in seconds, no rebalance under slow
 * batches) is measured in tests/reliability/recovery.fast.test.ts and slow-batch.fast.test.ts.
 */
import { describe, expect, it } from 'vitest'
import { configWith } from '../../../lib/config/index.ts'
import { createKafka, groupTiming } from '../../../lib/kafka/index.ts'

describe('consumer group timing', () => {
  it('defaults to a 6 s session with 1 s heartbeats, and the client carries it', () => {
    const config = configWith({})
    expect(config.kafka.sessionTimeoutMs).toBe(6000)
    expect(config.kafka.heartbeatIntervalMs).toBe(1000)
    expect(groupTiming(createKafka(config))).toEqual({ sessionTimeout: 6000, heartbeatInterval: 1000 })
  })

  it('takes the configured values', () => {
    const config = configWith({ KAFKA_SESSION_TIMEOUT_MS: '45000', KAFKA_HEARTBEAT_INTERVAL_MS: '3000' })
    expect(groupTiming(createKafka(config))).toEqual({ sessionTimeout: 45000, heartbeatInterval: 3000 })
  })

  it('refuses a heartbeat interval above a third of the session', () => {
    expect(() =>
      configWith({ KAFKA_SESSION_TIMEOUT_MS: '6000', KAFKA_HEARTBEAT_INTERVAL_MS: '2500' }),
    ).toThrow(/KAFKA_HEARTBEAT_INTERVAL_MS=2500 must be at most a third of KAFKA_SESSION_TIMEOUT_MS=6000/)
    expect(() => configWith({ KAFKA_SESSION_TIMEOUT_MS: '500' })).toThrow(/KAFKA_SESSION_TIMEOUT_MS/)
  })
})
