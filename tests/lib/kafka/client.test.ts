/**
 * Which Kafka client errors are outages (worth waiting out) and which are the client's own TLS
 * or SASL settings being refused (never worth waiting out). Real kafkajs error classes, shaped
 * as kafkajs raises them (a connection error wrapped by the retrier); the integration proof
 * against a secured broker is tests/reliability/kafka-security.fast.test.ts.
 */
import {
  KafkaJSConnectionError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSSASLAuthenticationError,
} from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { isConnectionLoss, kafkaSecurityError } from '../../../lib/kafka/client.ts'

const retried = (e: Error) => new KafkaJSNumberOfRetriesExceeded(e, { retryCount: 5, retryTime: 1000 })
const connection = (message: string, code: string) =>
  new KafkaJSConnectionError(`Connection error: ${message}`, { broker: '127.0.0.1:9092', code })

describe('kafkaSecurityError / isConnectionLoss', () => {
  it('a refused SASL login is a security failure, not an outage', () => {
    // kafkajs' typings declare no constructor arguments; the runtime class takes the message.
    const SaslError = KafkaJSSASLAuthenticationError as unknown as new (message: string) => Error
    const err = new SaslError('SASL SCRAM SHA512 authentication failed: invalid credentials')
    expect(kafkaSecurityError(err)?.code).toBe('KAFKA_SECURITY_FAILED')
    expect(kafkaSecurityError(err)?.retriable).toBe(false)
    expect(kafkaSecurityError(err)?.message).toMatch(
      /check the KAFKA_SSL\* and KAFKA_SASL_\* settings: SASL authentication failed: /,
    )
    expect(isConnectionLoss(err)).toBe(false)
  })

  it('an unverifiable broker certificate, even wrapped by the retrier, names TLS and the CA setting', () => {
    const err = retried(
      connection('self-signed certificate in certificate chain', 'SELF_SIGNED_CERT_IN_CHAIN'),
    )
    const e = kafkaSecurityError(err)
    expect(e?.code).toBe('KAFKA_SECURITY_FAILED')
    expect(e?.message).toMatch(/SELF_SIGNED_CERT_IN_CHAIN.*KAFKA_SSL_CA_FILE/)
    expect(e?.cause).toBe(err)
    expect(isConnectionLoss(err)).toBe(false)
  })

  it('a refused or dropped connection stays an outage', () => {
    for (const err of [
      retried(connection('connect ECONNREFUSED 127.0.0.1:9092', 'ECONNREFUSED')),
      connection('Closed connection', 'ECONNRESET'),
    ]) {
      expect(kafkaSecurityError(err)).toBeNull()
      expect(isConnectionLoss(err)).toBe(true)
    }
  })

  it('anything else is neither', () => {
    expect(kafkaSecurityError(new Error('boom'))).toBeNull()
    expect(isConnectionLoss(new Error('boom'))).toBe(false)
  })
})
