import { describe, expect, it } from 'vitest'
import { toRiskStreamError } from '../../../lib/errors/index.ts'

const kafkaError = (name: string, retriable: boolean, cause?: unknown) =>
  Object.assign(new Error(name), { name, retriable, cause })

describe('toRiskStreamError', () => {
  it("keeps kafkajs' transient flag", () => {
    expect(toRiskStreamError(kafkaError('KafkaJSConnectionError', true), 'KAFKA_UNAVAILABLE').retriable).toBe(
      true,
    )
  })
  it('a broker refusal (non-retriable protocol error) is not retried as an outage', () => {
    const tooLarge = kafkaError('KafkaJSProtocolError', false)
    expect(toRiskStreamError(tooLarge, 'KAFKA_UNAVAILABLE').retriable).toBe(false)
    const wrapped = kafkaError('KafkaJSNonRetriableError', false, tooLarge)
    expect(toRiskStreamError(wrapped, 'KAFKA_UNAVAILABLE').retriable).toBe(false)
  })
  it('exhausted retries of a lost connection stay transient', () => {
    const exhausted = kafkaError(
      'KafkaJSNumberOfRetriesExceeded',
      false,
      kafkaError('KafkaJSConnectionError', true),
    )
    expect(toRiskStreamError(exhausted, 'KAFKA_UNAVAILABLE').retriable).toBe(true)
  })
})
