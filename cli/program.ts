/**
 * The `riskstream` command line: one command per task, built on the role factories and lib/.
 * Each command builds the clients it needs, closes them in `finally`, prints one line on failure
 * and returns an exit code (cli/exit-codes.ts). Reads take `--json` and then print nothing else on
 * stdout; logs go to stderr (for `run`, to stdout as a service's logs do).
 */
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { Command, CommanderError, InvalidArgumentError } from 'commander'
import { fetchPima } from '../data/fetch.ts'
import { type Config, getConfig, REPO_ROOT } from '../lib/config/index.ts'
import { type ErrorCode, isRiskStreamError, toRiskStreamError } from '../lib/errors/index.ts'
import { kafkaSecurityError } from '../lib/kafka/index.ts'
import { getLogger, initLogging, type LoggerOptions } from '../lib/log/index.ts'
import { createRegistry } from '../lib/registry/index.ts'
import { closeDeps, createDeps, type Deps, prepare, type Service } from '../lib/runtime/index.ts'
import { migrateWarehouse } from '../lib/warehouse/index.ts'
import { producerCommands } from '../producers/cli.ts'
import { stackOptionsFrom } from '../stack/config.ts'
import { runningStackEndpoints, stackDown, stackStatus, stackUp, withStackEndpoints } from '../stack/index.ts'
import { formatRunsTable, listRuns, trainOnce } from '../trainer/index.ts'
import { EXIT, EXIT_CODES_HELP } from './exit-codes.ts'
import { formatTrainResult } from './format.ts'
import { exportRunsToMlflow, formatExport } from './mlflow-export.ts'
import { monitorsLeadership, ROLES, type Role, startRoles, usesClickHouse } from './roles.ts'
import { Interrupted, type Shutdown, stopServices, unlessAborted, untilAborted } from './shutdown.ts'

/** A wrong command line found after parsing (e.g. an unknown role): exit code 2, not a failure. */
export class UsageError extends Error {
  override name = 'UsageError'
}

export interface ProgramContext {
  shutdown: Shutdown
  /** Set by the command that ran; `main` returns it. */
  exitCode: number
  out?: (msg: string) => void
}

const VERSION = (
  JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }
).version

/** Names the service an unclassified failure came from, so the one-line message points somewhere. */
function classify(err: unknown): ErrorCode {
  const name = (err as Error)?.name ?? ''
  if (name.startsWith('KafkaJS')) return 'KAFKA_UNAVAILABLE'
  if (/ClickHouse|chdb/i.test(name) || /ClickHouse/i.test((err as Error)?.message ?? ''))
    return 'CLICKHOUSE_UNAVAILABLE'
  return 'INTERNAL'
}

/** Exit code and the one line for stderr (null: nothing to add) of a failure. */
export function describeFailure(err: unknown): { code: number; line: string | null } {
  if (err instanceof CommanderError)
    // Commander has printed its own message; help and --version end with exit code 0.
    return { code: err.exitCode === 0 ? EXIT.OK : EXIT.USAGE, line: null }
  if (err instanceof UsageError || err instanceof InvalidArgumentError)
    return { code: EXIT.USAGE, line: `riskstream: usage: ${err.message} (see riskstream --help)` }
  if (err instanceof Interrupted) return { code: EXIT.INTERRUPTED, line: `riskstream: ${err.message}` }
  if (err instanceof Error && err.name === 'MissingPrerequisites')
    return { code: EXIT.FAILURE, line: err.message }
  const e = kafkaSecurityError(err) ?? toRiskStreamError(err, classify(err))
  return {
    code: EXIT.FAILURE,
    line: `riskstream: ${e.code}: ${e.message}${e.retriable ? ' (transient: retry when the service is back)' : ''}`,
  }
}

const intOption =
  (name: string, min: number, max = Number.MAX_SAFE_INTEGER) =>
  (v: string): number => {
    const n = Number(v)
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`${name} must be an integer in ${min}..${max}`)
    return n
  }

export function buildProgram(ctx: ProgramContext): Command {
  const out = ctx.out ?? ((msg: string) => process.stdout.write(`${msg}\n`))
  const err = (msg: string) => process.stderr.write(`${msg}\n`)
  const { shutdown } = ctx

  /** Validated config, with logs to stderr (or where `logs` says). */
  function config(logs: LoggerOptions = { fd: 2 }): Readonly<Config> {
    const c = getConfig()
    initLogging({ level: c.logLevel, ...logs })
    return c
  }

  /**
   * Runs a command body: its number (or 0) becomes the exit code. A first signal interrupts the
   * wait (exit 130) unless the body stops on `shutdown.signal` itself (`run`, `demo`).
   */
  const entry =
    // biome-ignore lint/suspicious/noConfusingVoidType: command bodies either return an exit code or nothing
      (what: string, body: () => Promise<number | undefined | void>, ownsSignal = false) =>
      async () => {
        try {
          const work = body()
          ctx.exitCode = (await (ownsSignal ? work : unlessAborted(work, shutdown.signal, what))) ?? EXIT.OK
        } catch (e) {
          const { code, line } = describeFailure(e)
          if (line) err(line)
          if (code === EXIT.FAILURE && !isRiskStreamError(e))
            getLogger('cli').debug({ err: e }, 'failure details')
          ctx.exitCode = code
        }
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

  const program = new Command('riskstream')
    .description('Event-streaming MLOps for a clinical diabetes-risk model')
    .version(VERSION, '-V, --version')
    // Settings below are inherited by every subcommand created after them.
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', `\n${EXIT_CODES_HELP}`)

  const stack = program
    .command('stack')
    .description(
      'Local stack: Kafka and the schema registry, plus a ClickHouse server in docker mode (natively ClickHouse is embedded unless CLICKHOUSE_URL)',
    )
  stack
    .command('up')
    .description(
      'Start Kafka and the schema registry (and, in docker mode, the ClickHouse server the roles then use) and wait until they answer',
    )
    .action(
      entry(
        'starting the stack',
        async () => {
          const opts = stackOptionsFrom(config(), out)
          try {
            await unlessAborted(stackUp(opts), shutdown.signal, 'starting the stack')
          } catch (e) {
            if (e instanceof Interrupted)
              err(
                'riskstream: the stack may still be starting in the background: npm run stack:down stops it',
              )
            throw e
          }
        },
        true,
      ),
    )
  stack
    .command('down')
    .description('Stop the services the stack started')
    .action(entry('stopping the stack', () => stackDown(stackOptionsFrom(config(), out))))
  stack
    .command('status')
    .description('Probe each service (exit 1 when one is down)')
    .option('--json', 'print the status as JSON only')
    .action((o: { json?: boolean }) =>
      entry('probing the stack', async () => {
        const status = await stackStatus(stackOptionsFrom(config(), o.json ? err : out))
        if (o.json) out(JSON.stringify(status, null, 2))
        return status.ok ? EXIT.OK : EXIT.FAILURE
      })(),
    )

  program
    .command('migrate')
    .description('Apply pending ClickHouse migrations')
    .action(
      entry('migrating', () =>
        withDeps(async (deps) => void (await migrateWarehouse(deps.clickhouse, deps.config, out))),
      ),
    )

  program
    .command('setup')
    .description('Create topics, register the Avro contracts and apply migrations')
    .action(entry('setting up', () => withDeps((deps) => prepare(deps, out))))

  program
    .command('train')
    .description('Train every model family with cross-validation and search, gate the best, register it')
    .option('--report', 'print the per-family cross-validation report')
    .option('--trigger <trigger>', 'recorded with the run (manual, schedule, cli…)', 'cli')
    .option('--reason <text>', 'why this run happened', 'requested from the command line')
    .option('--fail-on-reject', 'exit 1 when the candidate fails the promotion gate')
    .option('--if-missing', 'do nothing when a production version already exists (first start)')
    .action(
      (o: {
        report?: boolean
        trigger: string
        reason: string
        failOnReject?: boolean
        ifMissing?: boolean
      }) =>
        entry('training', () =>
          withDeps(async (deps) => {
            await prepare(deps, () => {})
            if (o.ifMissing) {
              const current = await createRegistry(deps).production(deps.config.model.name)
              if (current) {
                out(`production version v${current.version} exists; nothing to train`)
                return EXIT.OK
              }
            }
            const result = await trainOnce(deps, {
              trigger: o.trigger,
              reason: o.reason,
              report: o.report ? out : undefined,
            })
            out(formatTrainResult(result))
            for (const reason of result.gate.reasons) out(`  gate: ${reason}`)
            return o.failOnReject && result.stage !== 'production' ? EXIT.FAILURE : EXIT.OK
          }),
        )(),
    )

  program
    .command('runs')
    .description('List training runs (experiment tracking, from ClickHouse)')
    .option('--limit <n>', 'how many', intOption('--limit', 1, 10_000), 20)
    .option('--json', 'print the runs as JSON only')
    .action((o: { limit: number; json?: boolean }) =>
      entry('listing runs', () =>
        withDeps(async (deps) => {
          const runs = await listRuns(deps.clickhouse, { modelName: deps.config.model.name, limit: o.limit })
          out(o.json ? JSON.stringify(runs, null, 2) : formatRunsTable(runs))
        }),
      )(),
    )
    .command('export')
    .description(
      'Back-fill an MLflow tracking server: every run, model version and the champion/challenger aliases (idempotent)',
    )
    .option('--mlflow <uri>', 'the MLflow server, http[s]://host:port (default: MLFLOW_TRACKING_URI)')
    .option('--experiment <name>', 'MLflow experiment (default: MLFLOW_EXPERIMENT_NAME)')
    .option('--json', 'print the summary as JSON only')
    // optsWithGlobals: `runs` has a --json of its own, which the parser gives the flag to.
    .action((_o: unknown, cmd: Command) =>
      entry('exporting runs', async () => {
        const o = cmd.optsWithGlobals<{ mlflow?: string; experiment?: string; json?: boolean }>()
        const c = config()
        const uri = o.mlflow ?? c.mlflow.trackingUri
        if (!uri) throw new UsageError('runs export needs --mlflow <uri> (or MLFLOW_TRACKING_URI)')
        if (!/^https?:\/\/\S+$/.test(uri)) throw new UsageError(`--mlflow ${uri} is not an http(s) URL`)
        const summary = await exportRunsToMlflow(c, { trackingUri: uri, experiment: o.experiment })
        out(o.json ? JSON.stringify(summary, null, 2) : formatExport(summary))
      })(),
    )

  const models = program.command('models').description('Model registry: list, promote, rollback')
  models
    .command('list', { isDefault: true })
    .description('List the registered versions and their stages')
    .option('--json', 'print the versions as JSON only')
    .action((o: { json?: boolean }) =>
      entry('listing models', () =>
        withDeps(async (deps) => {
          const rows = await createRegistry(deps).listVersions(deps.config.model.name)
          if (o.json) return void out(JSON.stringify(rows, null, 2))
          for (const r of rows)
            out(`v${r.version}\t${r.stage}\t${r.family}\tthreshold=${r.threshold.toFixed(3)}\t${r.reason}`)
          if (rows.length === 0) out('no model versions yet: run "riskstream train"')
        }),
      )(),
    )
  models
    .command('promote <version>')
    .description('Make a registered version the production model')
    .option('--reason <text>', 'recorded with the stage change', 'promoted from the command line')
    .action((version: string, o: { reason: string }) =>
      entry('promoting', () =>
        withDeps(async (deps) => {
          const v = intOption('<version>', 1)(version)
          const e = await createRegistry(deps).setStage(deps.config.model.name, v, 'production', o.reason)
          out(`v${e.version} is now ${e.stage}`)
        }),
      )(),
    )
  models
    .command('rollback')
    .description('Return production to the previous production version')
    .option('--reason <text>', 'recorded with the stage change', 'rolled back from the command line')
    .action((o: { reason: string }) =>
      entry('rolling back', () =>
        withDeps(async (deps) => {
          const e = await createRegistry(deps).rollback(deps.config.model.name, o.reason)
          out(`rolled back: v${e.version} is now ${e.stage}`)
        }),
      )(),
    )

  program
    .command('run <roles...>')
    .description(
      `Run roles in this process until stopped: ${ROLES.join(', ')} or all (embedded ClickHouse admits one process: the roles but inference share it; inference alone opens none)`,
    )
    .action((roles: string[]) =>
      entry('running', () => runRoles(roles, { out, shutdown, config: () => config({}) }), true)(),
    )

  program
    .command('drift-check')
    .description(
      'Print the drift verdict (as GET /mlops/api/monitoring/drift/check); exit 3 when retraining is recommended',
    )
    .option('--retrain', 'also publish a RetrainRequest when retraining is recommended')
    .option('--json', 'print the verdict as JSON only')
    .action((o: { retrain?: boolean; json?: boolean }) =>
      entry('checking drift', () => withDeps((deps) => driftCheck(deps, o, o.json ? err : out, out)))(),
    )

  // Reports (docs/observability.md): self-contained HTML a reviewer opens, or JSON.
  program
    .command('report')
    .description('Reports a person opens or attaches to a ticket')
    .command('drift')
    .description(
      'Drift report of a model version: reference vs current histograms per feature, PSI/KS/JS against thresholds, missing shares, prediction drift, performance over time (self-contained HTML)',
    )
    // Not --version: the program's own --version would answer it.
    .option(
      '--model-version <n>',
      'model version (default: the production version)',
      intOption('--model-version', 1),
    )
    .option(
      '--window <n>',
      'newest predictions of the version to compare (default DRIFT_DETECTION_WINDOW)',
      intOption('--window', 1),
    )
    .option('--out <file>', 'write the HTML report to this file')
    .option('--json', 'print the report as JSON only')
    .action((o: { modelVersion?: number; window?: number; out?: string; json?: boolean }) =>
      entry('building the drift report', async () => {
        if (!o.out && !o.json) throw new UsageError('give --out <file>, --json or both')
        const { driftReport } = await import('../lib/report/index.ts')
        const { report, file } = await withDeps((deps) =>
          driftReport(deps, { ...o, version: o.modelVersion }),
        )
        if (o.json) out(JSON.stringify(report, null, 2))
        ;(o.json ? err : out)(
          `${report.model} v${report.version}: ${report.drifted.length > 0 ? `drift in ${report.drifted.join(', ')}` : 'no drift'}${file ? `; report written to ${file}` : ''}`,
        )
      })(),
    )

  program
    .command('demo')
    .description('Run the whole loop: stack, initial model, all roles, a drift scenario, a live summary')
    .option('--once', 'exit when the loop has closed instead of leaving the dashboard up')
    .option('--scenario <name-or-path>', 'scenario to play', 'demo')
    .option('--count <n>', "events to send (default: the scenario's)", intOption('--count', 1))
    .option('--rate <n>', "requests per second (default: the scenario's)", intOption('--rate', 1))
    .option(
      '--timeout <seconds>',
      'give up waiting for the loop to close after this long',
      intOption('--timeout', 1),
      600,
    )
    .option('--log-file <path>', 'where the JSON logs go (default <DATA_DIR>/logs/demo-<time>.log)')
    .option('--pretty-logs', 'print the logs, pretty, on stderr instead of a file')
    .action(
      (o: {
        once?: boolean
        scenario: string
        count?: number
        rate?: number
        timeout: number
        logFile?: string
        prettyLogs?: boolean
      }) =>
        entry(
          'running the demo',
          async () => {
            const base = getConfig()
            const logFile =
              o.logFile ??
              path.join(base.data.dir, 'logs', `demo-${new Date().toISOString().replace(/[:.]/g, '-')}.log`)
            const closed = config(o.prettyLogs ? { pretty: true } : { file: logFile })
            // A local showcase: the dashboard in a browser reads without a key. Deployments keep
            // reads closed (API_READ_OPEN=false by default).
            const c = { ...closed, api: { ...closed.api, readOpen: true } }
            if (!o.prettyLogs) out(`logs: ${logFile}`)
            out(
              'the demo opens the dashboard and read routes without a key (API_READ_OPEN=true for this run)',
            )
            const { runDemo } = await import('./demo.ts')
            const result = await runDemo({
              config: c,
              once: Boolean(o.once),
              scenario: o.scenario,
              count: o.count,
              rate: o.rate,
              timeoutMs: o.timeout * 1000,
              signal: shutdown.signal,
              track: shutdown.track,
              say: out,
            })
            if (result.interrupted) return EXIT.INTERRUPTED
            return result.closed ? EXIT.OK : EXIT.FAILURE
          },
          true,
        )(),
    )

  program
    .command('data')
    .description('The Pima data set')
    .command('fetch')
    .description('Download a public copy of the Pima CSV into data/ and keep it only if it verifies')
    .option('--url <url...>', 'mirror(s) to try, in order (default: the known mirrors)')
    .option('--out <path>', 'where to write it (default data/pima-indians-diabetes.csv)')
    .option('--force', 'download again even when a verified copy exists')
    .action((o: { url?: string[]; out?: string; force?: boolean }) =>
      entry('fetching the Pima data', async () => {
        const r = await fetchPima({ sources: o.url, out: o.out, force: o.force })
        out(`pima: ${r.path} verified (768 rows, column means match) sha256=${r.sha256} from ${r.source}`)
        out(`use it with PIMA_CSV_PATH=${path.relative(process.cwd(), r.path)}`)
      })(),
    )

  producerCommands(program, async () => createDeps(config(), { clickhouse: false }), {
    signal: shutdown.signal,
    onInterrupted: () => {
      ctx.exitCode = EXIT.INTERRUPTED
    },
  })

  return program
}

/** Starts the roles, then waits for SIGINT/SIGTERM and stops them within the shutdown bound. */
async function runRoles(
  names: string[],
  io: { out: (m: string) => void; shutdown: Shutdown; config: () => Readonly<Config> },
): Promise<number> {
  const unknown = names.filter((r) => r !== 'all' && !(ROLES as readonly string[]).includes(r))
  if (unknown.length > 0)
    throw new UsageError(`unknown role(s) ${unknown.join(', ')}; roles: ${ROLES.join(', ')}, all`)
  const roles = (names.includes('all') ? [...ROLES] : names) as Role[]
  const base = io.config()
  // One active monitors process per deployment: another waits here as a standby, before it
  // opens ClickHouse (cli/roles.ts, monitorsLeadership).
  const leadership = roles.includes('monitors') ? await monitorsLeadership(base, io.out) : undefined
  try {
    await unlessAborted(
      leadership?.acquired ?? Promise.resolve(),
      io.shutdown.signal,
      'waiting as the standby monitors process',
    )
    return await startAndRun(roles, base, io)
  } finally {
    // After ClickHouse is closed: the standby opens the same data directory next.
    await leadership?.release()
  }
}

async function startAndRun(
  roles: Role[],
  base: Readonly<Config>,
  io: { out: (m: string) => void; shutdown: Shutdown },
): Promise<number> {
  const { out, shutdown } = io
  // Beside a docker stack the roles use its ClickHouse server, not embedded chDB (stack/endpoints.ts).
  const deps = await createDeps(
    withStackEndpoints(base, await runningStackEndpoints(stackOptionsFrom(base, () => {}))),
    { clickhouse: usesClickHouse(roles) },
  )
  let services: Service[] = []
  try {
    await unlessAborted(prepare(deps, out), shutdown.signal, 'preparing topics, contracts and tables')
    services = await unlessAborted(
      startRoles(deps, roles, { say: out }),
      shutdown.signal,
      'starting the roles',
    )
    out(`running: ${services.map((s) => s.name).join(', ')} (Ctrl-C to stop)`)
    await untilAborted(shutdown.signal)
    out('stopping: flushing producers and batches, committing offsets')
    return EXIT.OK
  } finally {
    await stopServices(services, { budgetMs: 9_000, say: out, track: shutdown.track })
    const done = shutdown.track('closing the Kafka producer and ClickHouse')
    await closeDeps(deps)
    done()
  }
}

interface DriftBody {
  success: boolean
  drift?: { retraining_recommended: boolean; reason: string }
  error?: string
}

async function driftCheck(
  deps: Deps,
  o: { retrain?: boolean; json?: boolean },
  say: (m: string) => void,
  out: (m: string) => void,
): Promise<number> {
  const { buildApp } = await import('../api/index.ts')
  // The route runs in this process through inject (no port opens), with the operator's own
  // credentials: reads need no key here, as for every other command of this CLI.
  const config = { ...deps.config, api: { ...deps.config.api, readOpen: true } }
  const app = await buildApp({ ...deps, config })
  try {
    const res = await app.inject({ method: 'GET', url: '/mlops/api/monitoring/drift/check' })
    const body = res.json() as DriftBody
    if (!body.success || !body.drift) throw new Error(`drift check failed: ${body.error ?? res.statusCode}`)
    out(JSON.stringify(body.drift, null, 2))
    if (!body.drift.retraining_recommended) return EXIT.OK
    say(`retraining recommended: ${body.drift.reason}`)
    if (o.retrain) say(`retrain requested: ${await requestRetrain(deps, body.drift.reason)}`)
    return EXIT.RETRAIN_RECOMMENDED
  } finally {
    await app.close()
  }
}

async function requestRetrain(deps: Deps, reason: string): Promise<string> {
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
          reason,
          requestedBy: 'drift-check',
          requestedAt: Date.now(),
        }),
      },
    ],
  })
  return requestId
}
