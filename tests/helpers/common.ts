/**
 * Shared test helpers: unique names, per-file configuration, waiting for conditions.
 * Tests wait for conditions (never fixed sleeps) and name every topic, group and table uniquely.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Kafka } from 'kafkajs'
import { type Config, configWith, testRunTag } from '../../lib/config/index.ts'
import { createDeps, type Deps, prepare } from '../../lib/runtime/index.ts'

/**
 * A name no other test (or test run) uses. It carries the run's tag right after the prefix
 * (tests/setup/stack.ts deletes the topics whose names start that way when the run ends).
 */
export function uniqueId(prefix = 't'): string {
  return `${prefix}${testRunTag()}${Date.now().toString(36)}${randomBytes(3).toString('hex')}`
}

let chdbDir: string | undefined
/** One embedded chDB directory per test process (chDB allows one engine per process). */
export function testChdbPath(): string {
  chdbDir ??= mkdtempSync(path.join(tmpdir(), 'riskstream-chdb-'))
  return chdbDir
}

/**
 * A configuration isolated for one test: a unique topic prefix (so topics, subjects and
 * groups never collide with another test) and this process's own chDB directory.
 */
export function testConfig(overrides: Record<string, string> = {}): Readonly<Config> {
  return configWith({
    TOPIC_PREFIX: `${uniqueId('t')}.`,
    CLICKHOUSE_PATH: testChdbPath(),
    LOG_LEVEL: 'warn',
    ...overrides,
  })
}

export interface WaitOptions {
  timeoutMs?: number
  intervalMs?: number
  message?: string
}

/** Polls `check` until it returns a truthy value, or fails with `message` after the timeout. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  options: WaitOptions = {},
): Promise<NonNullable<T>> {
  const { timeoutMs = 30_000, intervalMs = 100, message = 'condition' } = options
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const value = await check()
      if (value) return value as NonNullable<T>
    } catch (err) {
      lastError = err
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${message}${lastError ? `: ${String(lastError)}` : ''}`,
      )
    }
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}

export interface CollectedMessage {
  key: string | null
  value: Buffer | null
  headers: Record<string, string>
  partition: number
  offset: string
}

/**
 * Reads `topic` from the beginning with a throw-away consumer group until `until(messages)`
 * holds, then disconnects. Used to check what a component published.
 */
export async function collectMessages(
  kafka: Kafka,
  topic: string,
  until: (messages: CollectedMessage[]) => boolean,
  options: WaitOptions = {},
): Promise<CollectedMessage[]> {
  const consumer = kafka.consumer({ groupId: uniqueId('collect-'), allowAutoTopicCreation: false })
  const messages: CollectedMessage[] = []
  await consumer.connect()
  try {
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
        const headers: Record<string, string> = {}
        for (const [k, v] of Object.entries(message.headers ?? {}))
          headers[k] = String(Array.isArray(v) ? v[0] : v)
        messages.push({
          key: message.key?.toString() ?? null,
          value: message.value,
          headers,
          partition,
          offset: message.offset,
        })
      },
    })
    await waitFor(() => until(messages), { timeoutMs: 60_000, message: `messages on ${topic}`, ...options })
    return messages
  } finally {
    await consumer.disconnect()
  }
}

/**
 * Deps for one integration test on its own topic prefix and chDB directory, with topics created,
 * contracts registered and migrations applied through the same `prepare` the CLI runs.
 * Close them with `closeDeps` in `afterAll`.
 */
export async function preparedDeps(
  overrides: Record<string, string> = {},
  options: { clickhouse?: boolean } = {},
): Promise<Deps> {
  const deps = await createDeps(testConfig(overrides), options)
  await prepare(deps)
  return deps
}
