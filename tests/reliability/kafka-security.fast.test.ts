/**
 * (7) Kafka SASL/SCRAM + TLS against a real broker: a second native Kafka (the stack's
 * `kafkaSecurity` option: SASL_SSL + SCRAM-SHA-512 on its client listener) in a temp dataDir on
 * free ports, reusing the main stack's jars. The project's own createKafka/createProducer, with
 * a config built from the KAFKA_SASL_* / KAFKA_SSL* settings, must
 *   (a) create a topic and round-trip a record,
 *   (b) be refused with a wrong password, writing nothing,
 *   (c) be refused without TLS or without SASL, with an error rather than a hang,
 *   (d) reject the broker's certificate when KAFKA_SSL_CA_FILE is not given (TLS is verified).
 * Each refusal is also checked in the broker's own log, so a closed connection is known to be
 * the broker refusing, not a crash.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Kafka } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { configWith, loadConfig } from '../../lib/config/index.ts'
import { createKafka, createProducer, isConnectionLoss, kafkaSecurityError } from '../../lib/kafka/client.ts'
import { kafkaCaFile } from '../../stack/kafka-security.ts'
import { startKafka, stopKafka } from '../../stack/native/kafka.ts'
import { nativePaths } from '../../stack/native/paths.ts'
import { kafkaBrokers, type StackOptions } from '../../stack/options.ts'
import { collectMessages, uniqueId, waitFor } from '../helpers/index.ts'
import { spawnCli } from './support/procs.ts'
import { publishTable, recordResult } from './support/results.ts'

const FILE = 'kafka-security'
const USER = 'riskstream-svc'
const PASSWORD = randomBytes(12).toString('hex')
/** Generous: only there so a client that never gives up fails the test instead of hanging it. */
const REFUSAL_BOUND_MS = 90_000

const dataDir = mkdtempSync(path.join(tmpdir(), 'riskstream-kafka-sec-'))
let stack: StackOptions | undefined
const seen: {
  roundTrip?: string
  wrongPassword?: string
  plaintext?: string
  noSasl?: string
  noCa?: string
} = {}

/** A port nothing listens on right now (the OS picks it). */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolvePort(port))
    })
  })
}

/** Config for the secured broker, with any setting overridden. */
function securedConfig(overrides: Record<string, string> = {}) {
  return configWith({
    KAFKA_BROKERS: kafkaBrokers(stack!),
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: USER,
    KAFKA_SASL_PASSWORD: PASSWORD,
    KAFKA_SSL: 'true',
    KAFKA_SSL_CA_FILE: kafkaCaFile(stack!),
    LOG_LEVEL: 'silent',
    ...overrides,
  })
}

/** Settles `p` into the error it rejected with; "hung" when it neither resolved nor failed in time. */
async function refusal(p: Promise<unknown>): Promise<{ error?: Error; hung?: true; resolved?: true }> {
  let timer: NodeJS.Timeout | undefined
  const bound = new Promise<{ hung: true }>((r) => {
    timer = setTimeout(() => r({ hung: true }), REFUSAL_BOUND_MS)
  })
  try {
    return await Promise.race([p.then(() => ({ resolved: true as const })), bound])
  } catch (err) {
    return { error: err as Error }
  } finally {
    clearTimeout(timer)
  }
}

/**
 * The error's name chain and its innermost message, e.g.
 * "KafkaJSNumberOfRetriesExceeded <- KafkaJSConnectionClosedError: Closed connection".
 */
function describeError(err: unknown): string {
  const names: string[] = []
  let message = ''
  for (
    let e = err as { name?: string; message?: string; cause?: unknown } | undefined, i = 0;
    e && i < 4;
    i++
  ) {
    names.push(String(e.name))
    message = String(e.message)
    e = e.cause as typeof e
  }
  return `${names.join(' <- ')}: ${message}`
}

/** The broker's reason for a refusal, from its server.log (written asynchronously: waited for). */
async function brokerLogged(pattern: RegExp): Promise<string> {
  const file = path.join(nativePaths(stack!).logsDir, 'kafka', 'server.log')
  const read = () => {
    try {
      return readFileSync(file, 'utf8')
    } catch {
      return ''
    }
  }
  const m = await waitFor(() => pattern.exec(read()), { timeoutMs: 30_000, message: `${pattern} in ${file}` })
  return m[1] ?? m[0]
}

/** Records written to `topic` so far (sum of high watermarks), read through the right credentials. */
async function recordsOn(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    const offsets = await admin.fetchTopicOffsets(topic)
    return offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0)
  } finally {
    await admin.disconnect()
  }
}

beforeAll(async () => {
  const main = loadConfig().stack
  stack = {
    dataDir,
    kafkaPort: await freePort(),
    kafkaControllerPort: await freePort(),
    registryPort: 0, // no registry in this stack
    javaHome: main.javaHome,
    mode: 'native',
    // The main stack's jars: a second broker must not download Kafka again.
    kafkaLibsDir: nativePaths({ dataDir: main.dataDir }).kafkaLibs,
    kafkaSecurity: { users: [{ username: USER, password: PASSWORD }], mechanisms: ['SCRAM-SHA-512'] },
    log: (m) => console.log(`[secured-kafka] ${m}`),
  }
  await startKafka(stack)
})

afterAll(async () => {
  const pass =
    seen.roundTrip === 'ok' &&
    /SASL/i.test(seen.wrongPassword ?? '') &&
    seen.plaintext !== undefined &&
    seen.noSasl !== undefined &&
    seen.noCa !== undefined
  recordResult(FILE, {
    id: '7c',
    fault: 'Kafka SASL_SSL + SCRAM-SHA-512 on a real native broker',
    events: seen.roundTrip === 'ok' ? 1 : 0,
    lost: 0,
    duplicated: 0,
    dlq: 0,
    recoveredS: null,
    pass,
    note: [
      `round trip ${seen.roundTrip ?? 'not run'}`,
      `wrong password refused: ${seen.wrongPassword ?? 'NOT refused'}`,
      `plaintext refused: ${seen.plaintext ?? 'NOT refused'}`,
      `TLS without SASL refused: ${seen.noSasl ?? 'NOT refused'}`,
      `no CA file: ${seen.noCa ?? 'NOT refused'}`,
    ]
      .join('; ')
      .replaceAll('|', '/'),
  })
  publishTable()
  try {
    if (stack) await stopKafka(stack)
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
})

describe('Kafka SASL_SSL + SCRAM-SHA-512 on a real broker (7)', () => {
  const topic = uniqueId('sec.')

  it('(a) the configured client creates a topic and round-trips a record over SASL_SSL', async () => {
    const kafka = createKafka(securedConfig())
    const admin = kafka.admin()
    await admin.connect()
    try {
      await admin.createTopics({
        topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
        waitForLeaders: true,
      })
    } finally {
      await admin.disconnect()
    }
    const producer = createProducer(kafka)
    await producer.connect()
    try {
      await producer.send({ topic, messages: [{ key: 'k1', value: 'over SASL_SSL' }] })
    } finally {
      await producer.disconnect()
    }
    const got = await collectMessages(kafka, topic, (m) => m.length >= 1)
    expect(got.map((m) => [m.key, m.value?.toString()])).toEqual([['k1', 'over SASL_SSL']])
    seen.roundTrip = 'ok'
  })

  it('(b) a wrong password is refused with a SASL authentication error and writes nothing', async () => {
    const producer = createProducer(createKafka(securedConfig({ KAFKA_SASL_PASSWORD: 'not-the-password' })))
    const r = await refusal(
      producer.connect().then(() => producer.send({ topic, messages: [{ value: 'must not land' }] })),
    )
    await producer.disconnect().catch(() => {})
    expect(r.hung, 'wrong password: no answer within the bound').toBeUndefined()
    expect(r.resolved, 'wrong password: the send succeeded').toBeUndefined()
    expect(r.error?.name).toBe('KafkaJSSASLAuthenticationError')
    expect(r.error?.message).toMatch(/SASL SCRAM SHA512 authentication failed/i)
    // Classified as a security failure, not an outage: nothing waits it out.
    expect(kafkaSecurityError(r.error)?.code).toBe('KAFKA_SECURITY_FAILED')
    expect(isConnectionLoss(r.error)).toBe(false)
    const broker = await brokerLogged(
      /Failed authentication with \S+ \([^)]*\) \([^)]*(invalid credentials[^)]*)\)/,
    )
    expect(await recordsOn(createKafka(securedConfig()), topic)).toBe(seen.roundTrip === 'ok' ? 1 : 0)
    seen.wrongPassword = `${r.error?.name} "SASL SCRAM SHA512 authentication failed" (broker: ${broker}); 0 records written`
  })

  it('(c) a client without TLS, or with TLS but without SASL, is refused with an error, not a hang', async () => {
    const plain = createKafka(securedConfig({ KAFKA_SSL: 'false', KAFKA_SASL_MECHANISM: 'none' })).admin()
    const noSasl = createKafka(securedConfig({ KAFKA_SASL_MECHANISM: 'none' })).admin()
    // Both at once: each runs through kafkajs' connection retries before it gives up.
    const [p, n] = await Promise.all([
      refusal(plain.connect().then(() => plain.listTopics())),
      refusal(noSasl.connect().then(() => noSasl.listTopics())),
    ])
    await Promise.all([plain.disconnect().catch(() => {}), noSasl.disconnect().catch(() => {})])
    for (const [what, r] of [
      ['plaintext', p],
      ['TLS without SASL', n],
    ] as const) {
      expect(r.hung, `${what}: no answer within the bound`).toBeUndefined()
      expect(r.resolved, `${what}: the broker let it in`).toBeUndefined()
      expect(r.error, what).toBeInstanceOf(Error)
    }
    const plainReason = await brokerLogged(
      /Failed authentication with \S+ \([^)]*\) \((SSL handshake failed)\)/,
    )
    const noSaslReason = await brokerLogged(/(Unexpected Kafka request of type \w+ during SASL handshake)/)
    seen.plaintext = `${describeError(p.error)} (broker: ${plainReason})`
    seen.noSasl = `${describeError(n.error)} (broker: ${noSaslReason})`
  })

  it('(d) without KAFKA_SSL_CA_FILE the client refuses the broker certificate (TLS is verified)', async () => {
    const admin = createKafka(securedConfig({ KAFKA_SSL_CA_FILE: '' })).admin()
    const r = await refusal(admin.connect().then(() => admin.listTopics()))
    await admin.disconnect().catch(() => {})
    expect(r.hung, 'no CA: no answer within the bound').toBeUndefined()
    expect(r.resolved, 'no CA: connected to an untrusted broker').toBeUndefined()
    expect(describeError(r.error)).toMatch(/self[- ]signed certificate|unable to (get|verify)/i)
    expect(kafkaSecurityError(r.error)?.code).toBe('KAFKA_SECURITY_FAILED')
    expect(isConnectionLoss(r.error)).toBe(false)
    seen.noCa = describeError(r.error)
  })

  it('(e) the CLI started with a wrong password stops with one line naming the security failure', async () => {
    const p = spawnCli('secured-cli', ['run', 'inference'], {
      KAFKA_BROKERS: kafkaBrokers(stack!),
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: USER,
      KAFKA_SASL_PASSWORD: 'not-the-password',
      KAFKA_SSL: 'true',
      KAFKA_SSL_CA_FILE: kafkaCaFile(stack!),
      TOPIC_PREFIX: `${uniqueId('sec')}.`,
      CLICKHOUSE_PATH: mkdtempSync(path.join(tmpdir(), 'riskstream-kafka-sec-ch-')),
      LOG_LEVEL: 'warn',
    })
    const { code } = await p.exitWithin(REFUSAL_BOUND_MS, 'a refused start-up must exit')
    expect(code).toBe(1)
    expect(p.stderrLines.filter((l) => l.length > 0)).toEqual([
      expect.stringMatching(
        /^riskstream: KAFKA_SECURITY_FAILED: Kafka refused the client: .*SASL authentication failed: /,
      ),
    ])
  })
})
