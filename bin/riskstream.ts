#!/usr/bin/env -S npx tsx
/**
 * riskstream — the one CLI that composes the roles. Roles never import each other; this file
 * builds their shared dependencies once per process, starts what was asked for, and closes
 * everything in `finally`. A failure prints one line (code + message) and exits non-zero.
 */
import { randomUUID } from 'node:crypto'
import { Command } from 'commander'
import { migrate } from '../lib/clickhouse/index.ts'
import { type Config, getConfig } from '../lib/config/index.ts'
import { type ErrorCode, isRiskStreamError, toRiskStreamError } from '../lib/errors/index.ts'
import { kafkaSecurityError } from '../lib/kafka/index.ts'
import { getLogger, initLogging } from '../lib/log/index.ts'
import { createRegistry } from '../lib/registry/index.ts'
import {
  closeDeps,
  createDeps,
  type Deps,
  prepare as prepareInfrastructure,
  type Service,
} from '../lib/runtime/index.ts'
import { producerCommands } from '../producers/cli.ts'
import { stackOptionsFrom } from '../stack/config.ts'
import { stackDown, stackStatus, stackUp } from '../stack/index.ts'
import { formatRunsTable, listRuns, trainOnce } from '../trainer/index.ts'
import { ROLES, type Role, startRoles } from './roles.ts'

const say = (msg: string) => console.log(msg)

/** Names the service an unclassified failure came from, so the one-line message points somewhere. */
function classify(err: unknown): ErrorCode {
  const name = (err as Error)?.name ?? ''
  if (name.startsWith('KafkaJS')) return 'KAFKA_UNAVAILABLE'
  if (/ClickHouse|chdb/i.test(name) || /ClickHouse/i.test((err as Error)?.message ?? ''))
    return 'CLICKHOUSE_UNAVAILABLE'
  return 'INTERNAL'
}

/** Runs a command body; prints errors as one line and sets a non-zero exit code. */
// biome-ignore lint/suspicious/noConfusingVoidType: command bodies either return an exit code or nothing
async function entry(body: () => Promise<number | undefined | void>): Promise<void> {
  try {
    process.exitCode = (await body()) ?? 0
  } catch (err) {
    // One line for people; the stack only at debug level (LOG_LEVEL=debug), for us.
    const e = kafkaSecurityError(err) ?? toRiskStreamError(err, classify(err))
    console.error(
      `riskstream: ${e.code}: ${e.message}${e.retriable ? ' (transient: retry when the service is back)' : ''}`,
    )
    if (!isRiskStreamError(err)) getLogger('cli').debug({ err }, 'failure details')
    process.exitCode = 1
  }
}

function config(): Readonly<Config> {
  const c = getConfig()
  initLogging({ level: c.logLevel })
  return c
}

/** Creates topics, registers contracts and applies migrations: idempotent, run before any role. */
export function prepare(deps: Deps, log: (m: string) => void = say): Promise<void> {
  return prepareInfrastructure(deps, log)
}

/** Builds deps, runs `body`, and always closes the clients. */
async function withDeps<T>(
  body: (deps: Deps) => Promise<T>,
  options: { clickhouse?: boolean } = {},
): Promise<T> {
  const deps = await createDeps(config(), options)
  try {
    return await body(deps)
  } finally {
    await closeDeps(deps)
  }
}

export function buildProgram(): Command {
  const program = new Command('riskstream').description(
    'Event-streaming MLOps for a clinical diabetes-risk model',
  )

  const stack = program
    .command('stack')
    .description('Local stack: Kafka, schema registry (ClickHouse is embedded unless CLICKHOUSE_URL)')
  stack.command('up').action(() => entry(async () => void (await stackUp(stackOptionsFrom(config(), say)))))
  stack.command('down').action(() => entry(() => stackDown(stackOptionsFrom(config(), say))))
  stack
    .command('status')
    .action(() => entry(async () => ((await stackStatus(stackOptionsFrom(config(), say))).ok ? 0 : 1)))

  program
    .command('migrate')
    .description('Apply pending ClickHouse migrations')
    .action(() => entry(() => withDeps(async (deps) => void (await migrate(deps.clickhouse, { log: say })))))

  program
    .command('setup')
    .description('Create topics, register the Avro contracts and apply migrations')
    .action(() => entry(() => withDeps((deps) => prepare(deps))))

  program
    .command('train')
    .description('Train every model family with CV and search, gate the best, register it')
    .option('--report', 'print the per-family cross-validation report')
    .option('--trigger <trigger>', 'recorded with the run (manual, schedule, cli…)', 'cli')
    .option('--reason <text>', 'why this run happened', 'requested from the command line')
    .option('--fail-on-reject', 'exit non-zero when the candidate fails the promotion gate')
    .option(
      '--if-missing',
      'do nothing when a production version already exists (first start of a deployment)',
    )
    .action(
      (o: {
        report?: boolean
        trigger: string
        reason: string
        failOnReject?: boolean
        ifMissing?: boolean
      }) =>
        entry(() =>
          withDeps(async (deps) => {
            await prepare(deps, () => {})
            if (o.ifMissing) {
              const current = await createRegistry(deps).production(deps.config.model.name)
              if (current) {
                say(`production version v${current.version} exists; nothing to train`)
                return 0
              }
            }
            const result = await trainOnce(deps, {
              trigger: o.trigger,
              reason: o.reason,
              report: o.report ? (text) => say(text) : undefined,
            })
            say(
              `run ${result.runId}: ${result.family} v${result.version} → ${result.stage}` +
                ` (roc_auc ${result.metrics.roc_auc.toFixed(4)}, accuracy ${result.metrics.accuracy.toFixed(4)}, f1 ${result.metrics.f1.toFixed(4)})`,
            )
            for (const reason of result.gate.reasons) say(`  gate: ${reason}`)
            return o.failOnReject && result.stage !== 'production' ? 2 : 0
          }),
        ),
    )

  program
    .command('runs')
    .description('List training runs (experiment tracking, from ClickHouse)')
    .option('--limit <n>', 'how many', '20')
    .action((o: { limit: string }) =>
      entry(() =>
        withDeps(async (deps) => {
          say(
            formatRunsTable(
              await listRuns(deps.clickhouse, { modelName: deps.config.model.name, limit: Number(o.limit) }),
            ),
          )
        }),
      ),
    )

  const models = program.command('models').description('Model registry: list, promote, rollback')
  models.command('list', { isDefault: true }).action(() =>
    entry(() =>
      withDeps(async (deps) => {
        const rows = await createRegistry(deps).listVersions(deps.config.model.name)
        for (const r of rows)
          say(`v${r.version}\t${r.stage}\t${r.family}\tthreshold=${r.threshold.toFixed(3)}\t${r.reason}`)
        if (rows.length === 0) say('no model versions yet: run "riskstream train"')
      }),
    ),
  )
  models
    .command('promote <version>')
    .option('--reason <text>', 'recorded with the stage change', 'promoted from the command line')
    .action((version: string, o: { reason: string }) =>
      entry(() =>
        withDeps(async (deps) => {
          const e = await createRegistry(deps).setStage(
            deps.config.model.name,
            Number(version),
            'production',
            o.reason,
          )
          say(`v${e.version} is now ${e.stage}`)
        }),
      ),
    )
  models
    .command('rollback')
    .option('--reason <text>', 'recorded with the stage change', 'rolled back from the command line')
    .action((o: { reason: string }) =>
      entry(() =>
        withDeps(async (deps) => {
          const e = await createRegistry(deps).rollback(deps.config.model.name, o.reason)
          say(`rolled back: v${e.version} is now ${e.stage}`)
        }),
      ),
    )

  program
    .command('run <roles...>')
    .description(
      `Run roles in this process: ${ROLES.join(', ')} or all (embedded ClickHouse needs all in one process)`,
    )
    .action((roles: string[]) => entry(() => runRoles(roles)))

  program
    .command('drift-check')
    .description(
      'Print the drift verdict (as GET /mlops/api/monitoring/drift/check); --retrain requests a retrain when recommended',
    )
    .option('--retrain', 'publish a RetrainRequest when retraining is recommended')
    .action((o: { retrain?: boolean }) =>
      entry(() =>
        withDeps(async (deps) => {
          const { buildApp } = await import('../api/index.ts')
          const app = await buildApp(deps)
          try {
            const res = await app.inject({ method: 'GET', url: '/mlops/api/monitoring/drift/check' })
            const body = res.json() as {
              success: boolean
              drift?: { retraining_recommended: boolean; reason: string }
              error?: string
            }
            if (!body.success || !body.drift)
              throw new Error(`drift check failed: ${body.error ?? res.statusCode}`)
            say(JSON.stringify(body.drift, null, 2))
            if (!body.drift.retraining_recommended) return 0
            say(`retraining recommended: ${body.drift.reason}`)
            if (!o.retrain) return 0
            const topic = deps.topics.retrainRequests
            await deps.serde.register(topic, 'RetrainRequest')
            const requestId = randomUUID()
            await deps.producer.send({
              topic,
              messages: [
                {
                  key: deps.config.model.name,
                  value: deps.serde.encode(topic, {
                    requestId,
                    modelName: deps.config.model.name,
                    trigger: 'schedule',
                    triggerEventId: null,
                    reason: body.drift.reason,
                    requestedBy: 'drift-check',
                    requestedAt: Date.now(),
                  }),
                },
              ],
            })
            say(`retrain requested: ${requestId}`)
            return 0
          } finally {
            await app.close()
          }
        }),
      ),
    )

  program
    .command('demo')
    .description('Run the whole loop: stack, initial model, all roles, scripted drift scenario, live summary')
    .option('--once', 'exit when the loop has closed instead of leaving the dashboard up')
    .option('--scenario <name-or-path>', 'scenario to play', 'demo')
    .option('--count <n>', "events to send (default: the scenario's)")
    .option('--rate <n>', "requests per second (default: the scenario's)")
    .option('--timeout <seconds>', 'give up waiting for the loop to close after this long', '600')
    .action((o: { once?: boolean; scenario: string; count?: string; rate?: string; timeout: string }) =>
      entry(async () => {
        const { runDemo } = await import('./demo.ts')
        const stopped = new Promise<void>((resolve) => {
          process.once('SIGINT', resolve)
          process.once('SIGTERM', resolve)
        })
        const result = await runDemo({
          config: config(),
          once: Boolean(o.once),
          scenario: o.scenario,
          count: o.count === undefined ? undefined : Number(o.count),
          rate: o.rate === undefined ? undefined : Number(o.rate),
          timeoutMs: Number(o.timeout) * 1000,
          untilStopped: stopped,
        })
        return result.closed ? 0 : 1
      }),
    )

  producerCommands(program, async () => createDeps(config(), { clickhouse: false }))

  return program
}

/** Starts the roles, then waits for SIGINT/SIGTERM and shuts down gracefully (exit 0). */
async function runRoles(names: string[]): Promise<number> {
  const roles = (names.includes('all') ? [...ROLES] : names) as Role[]
  const unknown = roles.filter((r) => !ROLES.includes(r))
  if (unknown.length > 0)
    throw new Error(`unknown role(s) ${unknown.join(', ')}; roles: ${ROLES.join(', ')}, all`)
  const deps = await createDeps(config())
  let services: Service[] = []
  try {
    await prepare(deps)
    services = await startRoles(deps, roles, { say })
    say(`running: ${services.map((s) => s.name).join(', ')} (Ctrl-C to stop)`)
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve)
      process.once('SIGTERM', resolve)
    })
    say('stopping: flushing producers and batches, committing offsets')
    return 0
  } finally {
    for (const s of [...services].reverse())
      await s.stop().catch((err) => console.error(`stop ${s.name}: ${String(err)}`))
    await closeDeps(deps)
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('riskstream.ts')) {
  await buildProgram().parseAsync(process.argv)
  // After a failure, leave now: a client that failed half-way may still have retry timers whose
  // log lines would otherwise follow (and bury) the one-line error above.
  if (process.exitCode) process.exit(process.exitCode)
}
