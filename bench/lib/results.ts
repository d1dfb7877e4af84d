/**
 * The benchmark result file: what `npm run bench` writes to bench/results/latest.json and
 * latest.md. Pure shaping and formatting, plus one writer; unit-tested in
 * tests/bench/results.test.ts.
 *
 * Every number names the configuration it was measured with (batch sizes, partitions, rate,
 * duration) and the machine is recorded with its load average, because the development
 * machine is shared: a number without its load is not comparable with the next run's.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, freemem, loadavg, totalmem } from 'node:os'
import path from 'node:path'

export type ConfigValue = string | number | boolean | null
export type ResultConfig = Record<string, ConfigValue>

export interface BenchResult {
  /** Dotted name, e.g. `e2e.requests_per_s`, `inference.rows_per_s.xgboost`. */
  name: string
  value: number
  /** `requests/s`, `ms`, `rows/s`, `events/s`… */
  unit: string
  /** How it was measured: batch sizes, partitions, rate, duration, load average at its start. */
  config: ResultConfig
}

export interface MachineInfo {
  cpu: string
  cores: number
  memGiB: number
  node: string
  /** 1/5/15-minute load average when the run started (the machine is shared). */
  loadavg: [number, number, number]
  freeMemGiB: number
}

export interface ResultFile {
  machine: MachineInfo
  /** ISO-8601 time the run started. */
  date: string
  results: BenchResult[]
  /** Benchmarks that failed or timed out, with the reason (empty when all ran). */
  failures?: { bench: string; reason: string }[]
}

const round = (x: number, digits: number): number => Number(x.toFixed(digits))

export function machineInfo(): MachineInfo {
  const cpuList = cpus()
  const [l1, l5, l15] = loadavg()
  return {
    cpu: cpuList[0]?.model.trim() ?? 'unknown',
    cores: cpuList.length,
    memGiB: round(totalmem() / 2 ** 30, 1),
    node: process.version,
    loadavg: [round(l1!, 2), round(l5!, 2), round(l15!, 2)],
    freeMemGiB: round(freemem() / 2 ** 30, 1),
  }
}

/** A one-line description of the machine, printed before and after a run. */
export function describeMachine(m: MachineInfo): string {
  return (
    `${m.cpu}, ${m.cores} cores, ${m.memGiB} GiB (${m.freeMemGiB} free), node ${m.node}, ` +
    `load average ${m.loadavg.join(' / ')} (1/5/15 min)`
  )
}

/**
 * Checks one result and returns it normalised (value rounded to a sensible precision).
 * Throws on what would make the file useless: a missing name/unit or a non-finite value.
 */
export function checkResult(r: BenchResult): BenchResult {
  // A last segment may name a topology with hyphens (e2e.requests_per_s.all-in-one).
  if (typeof r.name !== 'string' || !/^[a-z0-9_]+(\.[a-z0-9_]+)*\.[a-z0-9_-]+$/.test(r.name))
    throw new Error(
      `bench result name "${r.name}" must be dotted lower_snake_case (e.g. e2e.requests_per_s, e2e.requests_per_s.all-in-one)`,
    )
  if (!Number.isFinite(r.value)) throw new Error(`bench result ${r.name} has a non-finite value`)
  if (typeof r.unit !== 'string' || r.unit === '') throw new Error(`bench result ${r.name} has no unit`)
  if (r.config === null || typeof r.config !== 'object')
    throw new Error(`bench result ${r.name} has no config`)
  const digits = Math.abs(r.value) >= 100 ? 0 : Math.abs(r.value) >= 1 ? 2 : 4
  return { name: r.name, value: round(r.value, digits), unit: r.unit, config: { ...r.config } }
}

/** The file's content: results in run order, checked; duplicate names keep the last one. */
export function buildResultFile(
  machine: MachineInfo,
  date: Date,
  results: BenchResult[],
  failures: { bench: string; reason: string }[] = [],
): ResultFile {
  const byName = new Map<string, BenchResult>()
  for (const r of results) {
    const checked = checkResult(r)
    byName.delete(checked.name) // re-insert so the order is the last occurrence's
    byName.set(checked.name, checked)
  }
  const file: ResultFile = { machine, date: date.toISOString(), results: [...byName.values()] }
  if (failures.length > 0) file.failures = failures
  return file
}

/**
 * The results of the previous file whose bench did not run this time (`config.bench`; a result
 * without one is kept unless this run produced its name), so a run of a few benches (`--only`)
 * does not erase the long ones measured on another day. Each keeps its own config and is marked
 * with the date and machine of the run that measured it (unless it already names its date),
 * since the file's header describes only this run.
 */
export function carriedOver(
  previous: ResultFile | undefined,
  ranBenches: ReadonlySet<string>,
  current: readonly BenchResult[] = [],
): BenchResult[] {
  if (!previous) return []
  const produced = new Set(current.map((r) => r.name))
  return previous.results
    .filter((r) => !produced.has(r.name))
    .filter((r) => typeof r.config.bench !== 'string' || !ranBenches.has(r.config.bench))
    .map((r) => ({
      ...r,
      config: {
        ...r.config,
        ...(r.config.date === undefined && r.config.measuredOn === undefined ? { date: previous.date } : {}),
        ...(r.config.machine === undefined
          ? { machine: `${previous.machine.cpu}, ${previous.machine.cores} cores` }
          : {}),
      },
    }))
}

/** Formats a number for the table: thousands separators, at most 2 decimals. */
export function formatValue(x: number): string {
  const digits = Math.abs(x) >= 100 ? 0 : 2
  return x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 })
}

function formatConfig(c: ResultConfig): string {
  return Object.entries(c)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ')
}

const escapeCell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ')

/** The markdown report: machine line, then one table row per result. */
export function toMarkdown(file: ResultFile): string {
  const m = file.machine
  const lines = [
    `# RiskStream benchmarks — ${file.date}`,
    '',
    `Machine: ${escapeCell(describeMachine(m))}.`,
    '',
    '| name | value | unit | config |',
    '| --- | ---: | --- | --- |',
    ...file.results.map(
      (r) =>
        `| ${r.name} | ${formatValue(r.value)} | ${escapeCell(r.unit)} | ${escapeCell(formatConfig(r.config))} |`,
    ),
  ]
  if (file.failures && file.failures.length > 0) {
    lines.push('', '## Failed', '', ...file.failures.map((f) => `- ${f.bench}: ${escapeCell(f.reason)}`))
  }
  return `${lines.join('\n')}\n`
}

/** A compact table for the terminal (no config column: it is in the files). */
export function toConsoleTable(file: ResultFile): string {
  const rows = file.results.map((r) => [r.name, formatValue(r.value), r.unit])
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((row) => row[i]!.length), 5))
  const pad = (row: string[]) =>
    `${row[0]!.padEnd(widths[0]!)}  ${row[1]!.padStart(widths[1]!)}  ${row[2]!.padEnd(widths[2]!)}`
  return [pad(['name', 'value', 'unit']), ...rows.map(pad)].join('\n')
}

/** Writes latest.json and latest.md into `dir` (created if needed); returns their paths. */
export function writeResultFiles(dir: string, file: ResultFile): { json: string; md: string } {
  mkdirSync(dir, { recursive: true })
  const json = path.join(dir, 'latest.json')
  const md = path.join(dir, 'latest.md')
  writeFileSync(json, `${JSON.stringify(file, null, 2)}\n`)
  writeFileSync(md, toMarkdown(file))
  return { json, md }
}

// ------------------------------------------------------------- child → runner protocol

/** Prefix of the stdout line a bench prints per result; the runner collects these lines. */
export const RESULT_MARKER = '@@bench-result '

/** Prints one result for bench/run.ts (and a human line, unless quiet). */
export function emitResult(r: BenchResult): void {
  console.log(`${RESULT_MARKER}${JSON.stringify(checkResult(r))}`)
}

/** The results a child printed with `emitResult`, in order. */
export function parseEmitted(stdout: string): BenchResult[] {
  const out: BenchResult[] = []
  for (const line of stdout.split('\n')) {
    const i = line.indexOf(RESULT_MARKER)
    if (i < 0) continue
    out.push(checkResult(JSON.parse(line.slice(i + RESULT_MARKER.length)) as BenchResult))
  }
  return out
}

/** Percentiles by the nearest-rank method over all samples (no interpolation, no sampling). */
export function percentiles(
  samples: ArrayLike<number>,
  ps: number[],
): { n: number; values: number[]; max: number; mean: number } {
  const sorted = Float64Array.from(samples).sort()
  const n = sorted.length
  if (n === 0) return { n, values: ps.map(() => Number.NaN), max: Number.NaN, mean: Number.NaN }
  let sum = 0
  for (const x of sorted) sum += x
  const values = ps.map((p) => sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]!)
  return { n, values, max: sorted[n - 1]!, mean: sum / n }
}
