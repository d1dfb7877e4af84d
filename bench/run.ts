/**
 * `npm run bench`: runs the benchmarks in sequence on the real stack, each in its own child
 * process (chDB allows one engine per process, and the benches use different chDB paths),
 * collects their numbers, writes bench/results/latest.json + latest.md and prints the table.
 *
 *   npm run bench                       # everything in the default set (~20 min)
 *   npm run bench -- --quick            # short durations: smoke-test of the runner
 *   npm run bench -- --only e2e,producer
 *   npm run bench -- --list
 *
 * The stack (Kafka + registry) is started if it is not answering, and stopped again at the end
 * only if this run started it. A bench that fails or times out is recorded under `failures`
 * and the run goes on.
 */
import { existsSync, readFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { loadConfig } from '../lib/config/index.ts'
import { stackOptionsFrom } from '../stack/config.ts'
import { isKafkaUp, isRegistryUp, stackDown, stackUp } from '../stack/index.ts'
import {
  parseApi,
  parseInference,
  parseMonitors,
  parseProducer,
  parseScoring,
  parseStats,
  parseTimings,
} from './lib/adapters.ts'
import { runScript } from './lib/child.ts'
import {
  type BenchResult,
  buildResultFile,
  carriedOver,
  describeMachine,
  machineInfo,
  parseEmitted,
  type ResultConfig,
  type ResultFile,
  toConsoleTable,
  writeResultFiles,
} from './lib/results.ts'

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url))

interface BenchSpec {
  name: string
  script: string
  args: string[]
  quickArgs: string[]
  /** Names that must come out of it (a missing one is reported as a failure). */
  expects: string[]
  parse: (stdout: string, config: ResultConfig) => BenchResult[]
  timeoutMs: number
  /** Not in the default set (long-running); run with --only. */
  optional?: boolean
}

const FAMILIES = ['xgboost', 'random_forest', 'gradient_boosting', 'logistic_regression']

const E2E_TOPOLOGIES: [string, string][] = [
  ['all-in-one', '1'],
  ['inference-apart', '1'],
  ['inference-apart', '2'],
  ['inference-apart', '3'],
]
const E2E_CAPACITY: [string, string, string][] = [
  ['all-in-one', '1', '3'],
  ['inference-apart', '1', '1'],
  ['inference-apart', '1', '3'],
  ['inference-apart', '2', '2'],
  ['inference-apart', '2', '3'],
  ['inference-apart', '3', '3'],
]
/** The result names' topology suffix, as bench/e2e.bench.ts writes it. */
const suffix = (topology: string, procs: string, partitions = '3') =>
  `${topology === 'all-in-one' ? 'all-in-one' : `inference-apart-${procs}`}${partitions === '3' ? '' : `-${partitions}p`}`

const BENCHES: BenchSpec[] = [
  // End to end in each topology that runs here (docs/topologies.md): 20,000 requests/s offered
  // for 60 s, then the latency at 2,000/s. The all-apart one needs a ClickHouse server.
  ...E2E_TOPOLOGIES.map(
    ([topology, procs]): BenchSpec => ({
      name: topology === 'all-in-one' ? 'e2e' : `e2e-apart-${procs}`,
      script: 'e2e.bench.ts',
      args: ['--topology', topology, '--inference-procs', procs, '--duration', '60', '--offered', '20000'],
      quickArgs: [
        '--topology',
        topology,
        '--inference-procs',
        procs,
        '--duration',
        '8',
        '--latency-duration',
        '5',
      ],
      expects: [
        `e2e.requests_per_s.${suffix(topology, procs)}`,
        `e2e.p99_ms_at_2000rps.${suffix(topology, procs)}`,
      ],
      parse: (out) => parseEmitted(out),
      timeoutMs: 20 * 60_000,
    }),
  ),
  // Capacity: offered as fast as the producer goes (which then takes ⅓–½ of a core), per number
  // of inference processes and partitions: where the curve flattens on this machine.
  ...E2E_CAPACITY.map(
    ([topology, procs, partitions]): BenchSpec => ({
      name: `e2e-capacity-${topology === 'all-in-one' ? 'all-in-one' : `${procs}x${partitions}p`}`,
      script: 'e2e.bench.ts',
      args: [
        ...['--topology', topology, '--inference-procs', procs, '--partitions', partitions],
        ...['--offered', 'max', '--duration', '30', '--latency-duration', '0'],
      ],
      quickArgs: [
        ...['--topology', topology, '--inference-procs', procs, '--partitions', partitions],
        ...['--offered', 'max', '--duration', '8', '--latency-duration', '0'],
      ],
      expects: [`e2e.capacity_per_s.${suffix(topology, procs, partitions)}`],
      parse: (out) => parseEmitted(out),
      timeoutMs: 20 * 60_000,
      optional: true,
    }),
  ),
  {
    name: 'producer',
    script: 'producer.bench.ts',
    args: ['--count', '200000'],
    quickArgs: ['--count', '20000'],
    expects: ['producer.events_per_s'],
    parse: parseProducer,
    timeoutMs: 10 * 60_000,
  },
  {
    name: 'inference',
    script: 'inference.bench.ts',
    // Its end-to-end part is e2e's job here; this measures scoring per family.
    args: ['--no-e2e'],
    quickArgs: ['--no-e2e'],
    expects: FAMILIES.map((f) => `inference.rows_per_s.${f}`),
    parse: parseInference,
    timeoutMs: 10 * 60_000,
  },
  {
    name: 'monitors',
    script: 'monitors.bench.ts',
    args: ['100000'],
    quickArgs: ['20000'],
    expects: ['monitors.events_per_s'],
    parse: parseMonitors,
    timeoutMs: 10 * 60_000,
  },
  {
    name: 'api',
    script: 'api.bench.ts',
    args: ['--duration', '10', '--connections', '20'],
    quickArgs: ['--duration', '2', '--connections', '10', '--predictions', '1000'],
    expects: [
      'api.predict.requests_per_s',
      'api.monitoring_performance.requests_per_s',
      'api.get_mlops_api_monitoring_performance_30_cached.requests_per_s',
    ],
    parse: parseApi,
    timeoutMs: 10 * 60_000,
  },
  {
    name: 'api-all-in-one',
    script: 'api-all-in-one.bench.ts',
    // POST /v1/predict against `riskstream run all`: the monitors process the same traffic.
    args: ['--duration', '20', '--runs', '3', '--connections', '20'],
    quickArgs: ['--duration', '3', '--runs', '1', '--warmup-s', '1'],
    // …and the seed-style peer (Flask + gunicorn, bench/seed-peer) under the same load, in the same run.
    expects: [
      'api.predict.requests_per_s.all-in-one',
      'api.predict.p99_ms.all-in-one',
      'api.predict.requests_per_s.seed-peer',
      'api.predict.throughput_ratio.all-in-one_vs_seed-peer',
    ],
    parse: (out) => parseEmitted(out),
    timeoutMs: 10 * 60_000,
  },
  {
    name: 'scoring',
    script: 'scoring.bench.ts',
    args: ['200000'],
    quickArgs: ['20000'],
    expects: [],
    parse: parseScoring,
    timeoutMs: 10 * 60_000,
  },
  {
    name: 'stats',
    script: 'stats.bench.ts',
    args: ['2000000'],
    quickArgs: ['200000'],
    expects: ['stats.window_psi_events_per_s'],
    parse: parseStats,
    timeoutMs: 5 * 60_000,
  },
  {
    name: 'monitoring',
    script: 'monitoring.bench.ts',
    // ≥ 20M stationary events per (window, bins) setting: long, so not in the default set.
    args: [],
    quickArgs: ['--quick'],
    expects: [
      'monitoring.false_alarms_per_million.w1000_b10',
      'monitoring.detection_delay_events.glucose_plus_0_5_sd',
    ],
    parse: (out) => parseEmitted(out),
    timeoutMs: 120 * 60_000,
    optional: true,
  },
  {
    name: 'learners',
    script: 'learners.bench.ts',
    args: ['100000'],
    quickArgs: ['5000'],
    expects: [],
    parse: (out, c) => parseTimings('learners', out, c),
    timeoutMs: 20 * 60_000,
    optional: true,
  },
  {
    name: 'sizing',
    script: 'sizing.bench.ts',
    // docs/sizing.md was measured with --sizes 1000000,10000000 --train-rows 768,10000,100000.
    args: ['--sizes', '1000000', '--train-rows', '768,10000,100000'],
    quickArgs: [
      '--sizes',
      '20000,40000',
      '--train-rows',
      '768',
      '--repeat',
      '3',
      '--monitor-events',
      '20000',
    ],
    expects: ['sizing.xgboost_max_rows', 'sizing.monitor_us_per_event.w1000_f8'],
    parse: (out) => parseEmitted(out),
    timeoutMs: 90 * 60_000,
    optional: true,
  },
  {
    name: 'sizing-rss',
    script: 'sizing-rss.bench.ts',
    args: ['--rate', '500', '--duration', '60'],
    quickArgs: ['--rate', '200', '--duration', '10'],
    expects: [
      'sizing.rss_mb.inference',
      'sizing.rss_mb.monitors',
      'sizing.rss_mb.api',
      'sizing.rss_mb.trainer',
    ],
    parse: (out) => parseEmitted(out),
    timeoutMs: 20 * 60_000,
    optional: true,
  },
  {
    name: 'retrain',
    script: 'retrain.bench.ts',
    args: ['100000'],
    quickArgs: ['5000', '2', '1', 'logistic_regression'],
    expects: [],
    parse: (out, c) => parseTimings('retrain', out, c),
    timeoutMs: 30 * 60_000,
    optional: true,
  },
]

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    list: { type: 'boolean', default: false },
    out: { type: 'string', default: path.join(BENCH_DIR, 'results') },
    verbose: { type: 'boolean', default: false },
  },
})

if (values.list) {
  for (const b of BENCHES)
    console.log(`${b.name.padEnd(10)} ${b.script}${b.optional ? '  (optional: --only)' : ''}`)
  process.exit(0)
}

const wanted = values.only
  ?.split(',')
  .map((s) => s.trim())
  .filter(Boolean)
const unknown = (wanted ?? []).filter((w) => !BENCHES.some((b) => b.name === w))
if (unknown.length > 0) {
  console.error(`unknown bench(es): ${unknown.join(', ')}; known: ${BENCHES.map((b) => b.name).join(', ')}`)
  process.exit(2)
}
const selected = BENCHES.filter((b) => (wanted ? wanted.includes(b.name) : !b.optional))

const started = new Date()
const machine = machineInfo()
console.log(`machine: ${describeMachine(machine)}`)
console.log(`benches: ${selected.map((b) => b.name).join(', ')}${values.quick ? ' (quick)' : ''}\n`)

// The real stack: start it if it is not answering; stop it at the end only if we started it.
const config = loadConfig()
const stackOpts = stackOptionsFrom(config, (m) => console.log(`[stack] ${m}`))
const stackWasUp = (await isKafkaUp(stackOpts)) && (await isRegistryUp(stackOpts))
if (!stackWasUp) await stackUp(stackOpts)

const results: BenchResult[] = []
const failures: { bench: string; reason: string }[] = []
try {
  for (const b of selected) {
    const args = values.quick ? b.quickArgs : b.args
    const load1 = Number(loadavg()[0]!.toFixed(2))
    console.log(`── ${b.name}: ${b.script} ${args.join(' ')} (load average ${load1})`)
    const r = await runScript(path.join(BENCH_DIR, b.script), args, {
      timeoutMs: b.timeoutMs,
      env: { LOG_LEVEL: 'warn' },
      onLine: (line, stream) => {
        // Human lines pass through; pino JSON logs only with --verbose (they are on stdout).
        if (!line.trim() || (!values.verbose && line.startsWith('{"level"'))) return
        if (stream === 'stderr' && !values.verbose && !/error/i.test(line)) return
        console.log(`   ${line}`)
      },
    })
    let got: BenchResult[] = []
    try {
      got = b.parse(r.stdout, { load1, quick: values.quick, bench: b.script })
    } catch (err) {
      failures.push({ bench: b.name, reason: `unparseable output: ${(err as Error).message}` })
    }
    // Results the bench emitted itself carry their own config; add the run-level fields.
    for (const g of got) g.config = { bench: b.script, quick: values.quick, ...g.config }
    results.push(...got)
    const missing = b.expects.filter((n) => !got.some((g) => g.name === n))
    if (r.code !== 0 || r.timedOut || missing.length > 0) {
      const why = r.timedOut
        ? `timed out after ${b.timeoutMs / 1000} s`
        : r.code !== 0
          ? `exit code ${r.code ?? r.signal}: ${lastLines(r.stderr || r.stdout, 3)}`
          : `missing results ${missing.join(', ')}`
      failures.push({ bench: b.name, reason: why })
      console.log(`   ✗ ${b.name}: ${why}`)
    } else {
      console.log(`   ✓ ${b.name}: ${got.length} results in ${(r.ms / 1000).toFixed(0)} s`)
    }
  }
} finally {
  if (!stackWasUp) await stackDown(stackOpts).catch((err) => console.error(`stack down: ${String(err)}`))
}

function lastLines(text: string, n: number): string {
  return text
    .trim()
    .split('\n')
    .filter((l) => !l.startsWith('{"level"'))
    .slice(-n)
    .join(' | ')
    .slice(0, 500)
}

// Results of benches not run this time stay, marked with the run that measured them; a quick
// run writes only its own (its figures are not comparable).
const previousFile = path.join(values.out!, 'latest.json')
const previous =
  !values.quick && existsSync(previousFile)
    ? (JSON.parse(readFileSync(previousFile, 'utf8')) as ResultFile)
    : undefined
const kept = carriedOver(previous, new Set(selected.map((b) => b.script)), results)
const file = buildResultFile(machine, started, [...results, ...kept], failures)
const written = writeResultFiles(values.out!, file)
console.log(`\n${toConsoleTable(file)}\n`)
console.log(`machine at start: ${describeMachine(machine)}`)
console.log(
  `load average now: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ')}`,
)
if (failures.length > 0) console.log(`failed: ${failures.map((f) => `${f.bench} (${f.reason})`).join('; ')}`)
console.log(
  `wrote ${path.relative(process.cwd(), written.json)} and ${path.relative(process.cwd(), written.md)}`,
)
process.exit(failures.length > 0 ? 1 : 0)
