#!/usr/bin/env -S npx tsx
/**
 * riskstream — the one CLI that composes the roles. Roles never import each other; this file
 * builds their shared dependencies once per process, starts what was asked for, and closes
 * everything in `finally`. A failure prints one line (code + message) and exits non-zero.
 */
import { Command } from 'commander'
import { migrate } from '../lib/clickhouse/index.ts'
import { type Config, getConfig } from '../lib/config/index.ts'
import { isRiskStreamError } from '../lib/errors/index.ts'
import { ensureTopics, registerContracts, TOPIC_SCHEMAS } from '../lib/kafka/index.ts'
import { initLogging } from '../lib/log/index.ts'
import { closeDeps, createDeps, type Deps } from '../lib/runtime/index.ts'
import { stackOptionsFrom } from '../stack/config.ts'
import { stackDown, stackStatus, stackUp } from '../stack/index.ts'

const say = (msg: string) => console.log(msg)

/** Runs a command body; prints errors as one line and sets a non-zero exit code. */
async function entry(body: () => Promise<number | undefined | void>): Promise<void> {
  try {
    process.exitCode = (await body()) ?? 0
  } catch (err) {
    if (isRiskStreamError(err)) {
      console.error(`riskstream: ${err.code}: ${err.message}`)
    } else {
      console.error(`riskstream: ${(err as Error)?.stack ?? String(err)}`)
    }
    process.exitCode = 1
  }
}

function config(): Readonly<Config> {
  const c = getConfig()
  initLogging({ level: c.logLevel })
  return c
}

/** Creates topics, registers contracts and applies migrations: idempotent, run before any role. */
export async function prepare(deps: Deps, log: (m: string) => void = say): Promise<void> {
  const admin = deps.kafka.admin()
  await admin.connect()
  try {
    const created = await ensureTopics(admin, deps.config)
    if (created.length > 0) log(`created ${created.length} topics`)
  } finally {
    await admin.disconnect()
  }
  await registerContracts(deps.serde, deps.topics, TOPIC_SCHEMAS)
  const applied = await migrate(deps.clickhouse, { log })
  if (applied.length === 0) log('migrations: up to date')
}

/** Builds deps, runs `body`, and always closes the clients. */
async function withDeps<T>(body: (deps: Deps) => Promise<T>, options: { clickhouse?: boolean } = {}): Promise<T> {
  const deps = await createDeps(config(), options)
  try {
    return await body(deps)
  } finally {
    await closeDeps(deps)
  }
}

export function buildProgram(): Command {
  const program = new Command('riskstream').description('Event-streaming MLOps for a clinical diabetes-risk model')

  const stack = program.command('stack').description('Local stack: Kafka, schema registry (ClickHouse is embedded unless CLICKHOUSE_URL)')
  stack.command('up').action(() => entry(async () => void (await stackUp(stackOptionsFrom(config(), say)))))
  stack.command('down').action(() => entry(() => stackDown(stackOptionsFrom(config(), say))))
  stack.command('status').action(() =>
    entry(async () => ((await stackStatus(stackOptionsFrom(config(), say))).ok ? 0 : 1)),
  )

  program
    .command('migrate')
    .description('Apply pending ClickHouse migrations')
    .action(() => entry(() => withDeps(async (deps) => void (await migrate(deps.clickhouse, { log: say })))))

  program
    .command('setup')
    .description('Create topics, register the Avro contracts and apply migrations')
    .action(() => entry(() => withDeps((deps) => prepare(deps))))

  return program
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('riskstream.ts')) {
  await buildProgram().parseAsync(process.argv)
}
