/**
 * Fault 9: configuration and start-up faults, through the real CLI as a child process.
 * Each must stop start-up (non-zero exit) with a clear one-line message on stderr
 * (`riskstream: <CODE>: <message>`), never a stack trace as the only output.
 * Also (7) that SASL/SCRAM and TLS settings reach the Kafka client (unit, no services).
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { configWith } from '../../lib/config/index.ts'
import { uniqueId } from '../helpers/index.ts'
import { spawnCli } from './support/procs.ts'
import { publishTable, recordResult } from './support/results.ts'

const FILE = 'startup'
const chdb = () => mkdtempSync(path.join(tmpdir(), 'riskstream-rel-startup-'))

afterAll(() => {
  publishTable()
})

/** Runs `riskstream <args>` to its exit; returns exit code, stderr lines and seconds taken. */
async function cli(args: string[], env: Record<string, string>) {
  const t0 = Date.now()
  const p = spawnCli(`startup-${args.join('-')}`, args, {
    TOPIC_PREFIX: `${uniqueId('rs')}.`,
    CLICKHOUSE_PATH: chdb(),
    LOG_LEVEL: 'warn',
    ...env,
  })
  const { code } = await p.exited
  // Logs go to stdout (asynchronously, so they may interleave late); the error line goes to stderr.
  const stderr = p.stderrLines.filter((l) => l.length > 0)
  return { code, lines: stderr, all: p.lines, seconds: (Date.now() - t0) / 1000, logFile: p.logFile }
}

/** The last line names a RiskStream error code; no stack frame ("    at …") is printed. */
function isOneLineError(lines: string[], code: RegExp): boolean {
  const last = lines.at(-1) ?? ''
  return /^riskstream: [A-Z_]+: /.test(last) && code.test(last) && !lines.some((l) => /^\s+at /.test(l))
}

function expectOneLineError(lines: string[], code: RegExp) {
  const last = lines.at(-1) ?? ''
  expect(last).toMatch(/^riskstream: [A-Z_]+: /)
  expect(last).toMatch(code)
  expect(lines.filter((l) => /^\s+at /.test(l))).toEqual([])
}

describe('start-up faults (CLI as a child process)', () => {
  it('an invalid setting stops start-up with one line naming it', async () => {
    const r = await cli(['run', 'inference'], { KAFKA_BROKERS: 'not a broker list' })
    recordResult(FILE, {
      id: '9a',
      fault: 'start-up: invalid KAFKA_BROKERS',
      events: 0,
      lost: 0,
      duplicated: 0,
      dlq: 0,
      recoveredS: null,
      pass: r.code !== 0 && isOneLineError(r.lines, /CONFIG_INVALID/),
      note: `exit ${r.code} in ${r.seconds.toFixed(1)} s: ${(r.lines.at(-1) ?? '').slice(0, 70)}…`,
    })
    expect(r.code).not.toBe(0)
    expectOneLineError(r.lines, /CONFIG_INVALID.*KAFKA_BROKERS/)
  })

  it('a wrong broker address stops start-up after retrying, with one line', async () => {
    const r = await cli(['run', 'inference'], { KAFKA_BROKERS: '127.0.0.1:1' })
    recordResult(FILE, {
      id: '9b',
      fault: 'start-up: wrong broker address',
      events: 0,
      lost: 0,
      duplicated: 0,
      dlq: 0,
      recoveredS: null,
      pass: r.code !== 0 && isOneLineError(r.lines, /127\.0\.0\.1:1|broker|Kafka/i),
      note: `exit ${r.code} after ${r.seconds.toFixed(1)} s: ${r.lines.filter((l) => /^\s+at /.test(l)).length} stack-frame lines on stderr`,
    })
    expect(r.code).not.toBe(0)
    expectOneLineError(r.lines, /127\.0\.0\.1:1|broker|Kafka/i)
  })

  it('a schema registry that is down stops start-up with one line', async () => {
    const r = await cli(['run', 'inference'], { SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1/apis/ccompat/v7' })
    recordResult(FILE, {
      id: '9c',
      fault: 'start-up: schema registry down',
      events: 0,
      lost: 0,
      duplicated: 0,
      dlq: 0,
      recoveredS: null,
      pass: r.code !== 0 && isOneLineError(r.lines, /REGISTRY/),
      note: `exit ${r.code} after ${r.seconds.toFixed(1)} s: ${(r.lines.at(-1) ?? '').slice(0, 60)}…`,
    })
    expect(r.code).not.toBe(0)
    expectOneLineError(r.lines, /REGISTRY/)
  })

  it('a fresh ClickHouse directory gets its migrations applied before any role starts', async () => {
    // An unapplied migration cannot survive start-up: `run` applies pending ones first.
    const r = await cli(['migrate'], {})
    expect(r.code).toBe(0)
    expect(r.all.some((l) => /applied migration 001_/.test(l))).toBe(true)
    recordResult(FILE, {
      id: '9d',
      fault: 'start-up: unapplied migrations',
      events: 0,
      lost: 0,
      duplicated: 0,
      dlq: 0,
      recoveredS: null,
      pass: r.code === 0,
      note: 'applied at start-up (riskstream run/migrate); roles never start on an unmigrated schema',
    })
  })
})

describe('Kafka SASL/SCRAM and TLS reach the client (7)', () => {
  it('createKafka passes the configured mechanism, credentials and CA', async () => {
    const seen: unknown[] = []
    vi.resetModules()
    vi.doMock('kafkajs', async (orig) => {
      const real = (await orig()) as typeof import('kafkajs')
      class Kafka extends real.Kafka {
        constructor(settings: import('kafkajs').KafkaConfig) {
          seen.push(settings)
          super(settings)
        }
      }
      return { ...real, Kafka }
    })
    const { createKafka } = await import('../../lib/kafka/client.ts')
    const ca = path.join(chdb(), 'ca.pem')
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n')
    createKafka(
      configWith({
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
        KAFKA_SASL_USERNAME: 'riskstream-svc',
        KAFKA_SASL_PASSWORD: 's3cret',
        KAFKA_SSL: 'true',
        KAFKA_SSL_CA_FILE: ca,
      }),
    )
    createKafka(configWith({ KAFKA_SASL_MECHANISM: 'none', KAFKA_SSL: 'false' }))
    vi.doUnmock('kafkajs')
    const [secure, plain] = seen as import('kafkajs').KafkaConfig[]
    expect(secure!.sasl).toEqual({
      mechanism: 'scram-sha-512',
      username: 'riskstream-svc',
      password: 's3cret',
    })
    expect(secure!.ssl).toEqual({ ca: [expect.stringContaining('BEGIN CERTIFICATE')] })
    expect(plain!.sasl).toBeUndefined()
    expect(plain!.ssl).toBeUndefined()
    recordResult(FILE, {
      id: '7a',
      fault: 'Kafka SASL/SCRAM + TLS settings reach the client (unit)',
      events: 0,
      lost: 0,
      duplicated: 0,
      dlq: 0,
      recoveredS: null,
      pass: true,
      note: 'ClickHouse read-only user: n/a with embedded chDB (server mode only)',
    })
  })
})
