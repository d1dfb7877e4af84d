/**
 * Command-line front end of the producers: `riskstream produce replay|simulate|scenarios`.
 * The CLI (cli/program.ts) mounts it with `producerCommands(program, makeDeps)`.
 * On a terminal a progress bar shows rate and ETA; otherwise (CI, pipes, logs) a plain
 * line is written every few seconds. Either way a final summary line is printed.
 * Ctrl-C stops generating, flushes what is queued and still prints the summary.
 */
import cliProgress from 'cli-progress'
import { type Command, InvalidArgumentError } from 'commander'
import { ensureTopics } from '../lib/kafka/index.ts'
import { closeDeps, type Deps } from '../lib/runtime/index.ts'
import type { Progress } from './engine.ts'
import { type ReplayOptions, type ReplaySummary, replay, resolveRunOptions } from './replay.ts'
import { listScenarios, loadScenario, type Scenario } from './scenario.ts'
import { type SimulateSummary, simulate } from './simulate.ts'

export interface CliRunOptions extends Omit<ReplayOptions, 'onProgress'> {
  /** Where progress and the summary go (default process.stdout). */
  out?: NodeJS.WritableStream & { isTTY?: boolean }
  /** Force the progress bar on or off (default: when `out` is a TTY). */
  progressBar?: boolean
  /** Plain progress line period when not a TTY (default 5000 ms). */
  logEveryMs?: number
}

function progressReporter(total: number, opts: CliRunOptions) {
  const out = opts.out ?? process.stdout
  const useBar = opts.progressBar ?? Boolean(out.isTTY)
  if (useBar) {
    const bar = new cliProgress.SingleBar(
      {
        format:
          '{bar} {percentage}% | {value}/{total} events | {rate}/s | ETA {eta_formatted} | rejected {rejected} failed {failed}',
        stream: out,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    )
    bar.start(total, 0, { rate: 0, rejected: 0, failed: 0 })
    return {
      everyMs: 250,
      onProgress: (p: Progress) =>
        bar.update(p.done, { rate: Math.round(p.rate), rejected: p.rejected, failed: p.failed }),
      stop: () => bar.stop(),
    }
  }
  return {
    everyMs: opts.logEveryMs ?? 5000,
    onProgress: (p: Progress) => {
      out.write(
        `produced ${p.done}/${p.total} events (${Math.round(p.rate)}/s) sent=${p.sent} rejected=${p.rejected} failed=${p.failed} outcomes=${p.outcomesSent}\n`,
      )
    },
    stop: () => {},
  }
}

export function formatSummary(s: ReplaySummary | SimulateSummary): string {
  const parts = [
    'scenario' in s ? `scenario=${s.scenario}` : 'replay',
    `sent=${s.sent}`,
    `rejected=${s.rejected}`,
    `failed=${s.failed}`,
    `outcomes=${s.outcomesSent}`,
    `rate=${s.rate}/s`,
    `duration=${(s.durationMs / 1000).toFixed(1)}s`,
    `seed=${s.seed}`,
  ]
  const malformed = Object.entries(s.malformed)
  if (malformed.length > 0) parts.push(`malformed={${malformed.map(([k, n]) => `${k}:${n}`).join(',')}}`)
  return `summary: ${parts.join(' ')}`
}

async function withProgress<S extends ReplaySummary>(
  opts: CliRunOptions,
  total: number,
  run: (o: ReplayOptions) => Promise<S>,
): Promise<S> {
  const out = opts.out ?? process.stdout
  const reporter = progressReporter(total, opts)
  // Ctrl-C: stop generating, flush and still report what was sent. The CLI passes its own
  // shutdown signal; a library caller without one gets a SIGINT listener for the run.
  const abort = new AbortController()
  const onSigint = () => abort.abort()
  if (!opts.signal) process.once('SIGINT', onSigint)
  const signal = opts.signal ?? abort.signal
  try {
    const summary = await run({
      ...opts,
      onProgress: reporter.onProgress,
      progressEveryMs: reporter.everyMs,
      signal,
    })
    reporter.stop()
    out.write(`${formatSummary(summary)}\n`)
    if (signal.aborted)
      out.write(`interrupted: ${summary.sent} of ${total} events sent; the rest was not produced\n`)
    return summary
  } catch (err) {
    reporter.stop()
    throw err
  } finally {
    process.off('SIGINT', onSigint)
  }
}

export function runReplay(deps: Deps, opts: CliRunOptions = {}): Promise<ReplaySummary> {
  return withProgress(opts, resolveRunOptions(opts).count, (o) => replay(deps, o))
}

export function runSimulate(
  deps: Deps,
  opts: CliRunOptions & { scenario: string | Scenario },
): Promise<SimulateSummary> {
  const scenario = typeof opts.scenario === 'string' ? loadScenario(opts.scenario) : opts.scenario
  const total = resolveRunOptions(opts, scenario).count
  return withProgress(opts, total, (o) => simulate(deps, { ...o, scenario }))
}

const intArg = (name: string, min: number) => (v: string) => {
  const n = Number(v)
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}`)
  return n
}
const numArg = (name: string, min: number, max: number) => (v: string) => {
  const n = Number(v)
  if (!Number.isFinite(n) || n < min || n > max)
    throw new InvalidArgumentError(`${name} must be a number in ${min}..${max}`)
  return n
}

interface CommandOptions {
  count?: number
  rate?: number
  seed?: string
  labelShare?: number
  labelDelayMs?: number
  source?: string
  csv?: string
  scenario?: string
  batchSize?: number
}

function addRunOptions(cmd: Command): Command {
  return cmd
    .option('--count <n>', 'number of events', intArg('--count', 0))
    .option('--rate <n>', 'requests per second, 0 = as fast as possible', numArg('--rate', 0, 1e7))
    .option('--seed <seed>', 'seed for rows, labels and drifts (default 42)')
    .option(
      '--label-share <share>',
      'share of requests whose outcome follows, 0..1',
      numArg('--label-share', 0, 1),
    )
    .option('--label-delay-ms <ms>', 'delay between a request and its outcome', intArg('--label-delay-ms', 0))
    .option('--source <name>', 'sourceSystem written into each request')
    .option('--csv <path>', 'Pima CSV to read (default: config PIMA_CSV_PATH)')
    .option('--batch-size <n>', 'messages per Kafka batch', intArg('--batch-size', 1))
}

function toRunOptions(o: CommandOptions): CliRunOptions {
  return {
    count: o.count,
    rate: o.rate,
    seed: o.seed,
    labelShare: o.labelShare,
    labelDelayMs: o.labelDelayMs,
    sourceSystem: o.source,
    csvPath: o.csv,
    batchSize: o.batchSize,
  }
}

/** Creates the topics if missing (idempotent), runs `fn`, and always closes the deps. */
async function withDeps<T>(makeDeps: () => Promise<Deps>, fn: (deps: Deps) => Promise<T>): Promise<T> {
  const deps = await makeDeps()
  try {
    const admin = deps.kafka.admin()
    await admin.connect()
    try {
      await ensureTopics(admin, deps.config)
    } finally {
      await admin.disconnect()
    }
    return await fn(deps)
  } finally {
    await closeDeps(deps)
  }
}

/**
 * Adds `produce replay`, `produce simulate` and `produce scenarios` to `program`.
 * `makeDeps` is called once per command run; the deps are closed when it ends.
 */
export function producerCommands(
  program: Command,
  makeDeps: () => Promise<Deps>,
  stop: { signal?: AbortSignal; onInterrupted?: () => void } = {},
): Command {
  const interruptedCheck = () => {
    if (stop.signal?.aborted) stop.onInterrupted?.()
  }
  const produce = program
    .command('produce')
    .description('Publish prediction requests and late outcomes to Kafka')

  addRunOptions(produce.command('replay').description('Replay the Pima data set as a live stream')).action(
    async (o: CommandOptions) => {
      await withDeps(makeDeps, (deps) => runReplay(deps, { ...toRunOptions(o), signal: stop.signal }))
      interruptedCheck()
    },
  )

  addRunOptions(
    produce
      .command('simulate')
      .description('Replay with a drift scenario (name of a shipped scenario or path to a YAML file)')
      .option('--scenario <name-or-path>', `scenario: ${listScenarios().join(', ')} or a file`, 'stable'),
  ).action(async (o: CommandOptions) => {
    await withDeps(makeDeps, (deps) =>
      runSimulate(deps, { ...toRunOptions(o), scenario: o.scenario ?? 'stable', signal: stop.signal }),
    )
    interruptedCheck()
  })

  produce
    .command('scenarios')
    .description('List the shipped drift scenarios')
    .action(() => {
      process.stdout.write(`${listScenarios().join('\n')}\n`)
    })

  return produce
}
