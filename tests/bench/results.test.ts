/** The benchmark result file: shape, checks, markdown, the child → runner protocol, and the output adapters. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { parseInference, parseMonitors, parseProducer, parseScoring } from '../../bench/lib/adapters.ts'
import {
  type BenchResult,
  buildResultFile,
  carriedOver,
  checkResult,
  type MachineInfo,
  machineInfo,
  parseEmitted,
  percentiles,
  RESULT_MARKER,
  toMarkdown,
  writeResultFiles,
} from '../../bench/lib/results.ts'

const machine: MachineInfo = {
  cpu: 'Test CPU @ 2.0GHz',
  cores: 2,
  memGiB: 23.4,
  node: 'v20.0.0',
  loadavg: [1.5, 2, 2.5],
  freeMemGiB: 10,
}
const date = new Date('2026-01-02T03:04:05.000Z')
const rps: BenchResult = {
  name: 'e2e.requests_per_s',
  value: 10_234.567,
  unit: 'requests/s',
  config: { partitions: 3, durationS: 60 },
}
const p99: BenchResult = { name: 'e2e.p99_ms_at_2000rps', value: 87.25, unit: 'ms', config: { rate: 2000 } }

const dirs: string[] = []
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

describe('result file', () => {
  it('has the documented shape: machine, ISO date, results with name/value/unit/config', () => {
    const file = buildResultFile(machine, date, [rps, p99])
    expect(Object.keys(file).sort()).toEqual(['date', 'machine', 'results'])
    expect(file.date).toBe('2026-01-02T03:04:05.000Z')
    expect(file.machine).toMatchObject({ cpu: 'Test CPU @ 2.0GHz', cores: 2, memGiB: 23.4, node: 'v20.0.0' })
    expect(file.results).toEqual([
      {
        name: 'e2e.requests_per_s',
        value: 10235,
        unit: 'requests/s',
        config: { partitions: 3, durationS: 60 },
      },
      { name: 'e2e.p99_ms_at_2000rps', value: 87.25, unit: 'ms', config: { rate: 2000 } },
    ])
  })

  it('keeps the last result of a repeated name and lists failures only when there are some', () => {
    const file = buildResultFile(
      machine,
      date,
      [rps, p99, { ...rps, value: 5 }],
      [{ bench: 'api', reason: 'timed out' }],
    )
    expect(file.results.map((r) => [r.name, r.value])).toEqual([
      ['e2e.p99_ms_at_2000rps', 87.25],
      ['e2e.requests_per_s', 5],
    ])
    expect(file.failures).toEqual([{ bench: 'api', reason: 'timed out' }])
  })

  it('refuses results that would make the file useless', () => {
    expect(() => checkResult({ ...rps, value: Number.NaN })).toThrow(/non-finite/)
    expect(() => checkResult({ ...rps, name: 'NoDots' })).toThrow(/dotted/)
    // A topology with hyphens, in the last segment only (e2e.requests_per_s.all-in-one).
    expect(checkResult({ ...rps, name: 'api.predict.p99_ms.all-in-one' }).name).toBe(
      'api.predict.p99_ms.all-in-one',
    )
    expect(() => checkResult({ ...rps, name: 'api.p-99.all-in-one' })).toThrow(/dotted/)
    expect(() => checkResult({ ...rps, unit: '' })).toThrow(/unit/)
  })

  it('reads the real machine: cores, memory and node version', () => {
    const m = machineInfo()
    expect(m.cores).toBeGreaterThan(0)
    expect(m.memGiB).toBeGreaterThan(0)
    expect(m.node).toBe(process.version)
    expect(m.loadavg).toHaveLength(3)
  })

  it('renders a markdown table with the machine line and one row per result', () => {
    const md = toMarkdown(buildResultFile(machine, date, [rps, p99]))
    expect(md).toContain(
      'Machine: Test CPU @ 2.0GHz, 2 cores, 23.4 GiB (10 free), node v20.0.0, load average 1.5 / 2 / 2.5',
    )
    expect(md).toContain('| name | value | unit | config |')
    expect(md).toContain('| e2e.requests_per_s | 10,235 | requests/s | partitions=3, durationS=60 |')
    expect(md).toContain('| e2e.p99_ms_at_2000rps | 87.25 | ms | rate=2000 |')
  })

  it('writes latest.json (parseable, same content) and latest.md', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bench-results-test-'))
    dirs.push(dir)
    const file = buildResultFile(machine, date, [rps])
    const out = writeResultFiles(path.join(dir, 'nested'), file)
    expect(JSON.parse(readFileSync(out.json, 'utf8'))).toEqual(file)
    expect(readFileSync(out.md, 'utf8')).toBe(toMarkdown(file))
  })
})

describe('child → runner protocol', () => {
  it('collects marked lines among other output', () => {
    const stdout = `hello\n${RESULT_MARKER}${JSON.stringify(rps)}\n{"level":30}\n${RESULT_MARKER}${JSON.stringify(p99)}\n`
    expect(parseEmitted(stdout).map((r) => r.name)).toEqual(['e2e.requests_per_s', 'e2e.p99_ms_at_2000rps'])
  })

  it('computes nearest-rank percentiles over all samples', () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i) // 1..100, unsorted
    const p = percentiles(xs, [50, 95, 99, 100])
    expect(p.values).toEqual([50, 95, 99, 100])
    expect(p.n).toBe(100)
    expect(p.max).toBe(100)
    expect(p.mean).toBeCloseTo(50.5, 10)
    expect(percentiles([], [50]).values[0]).toBeNaN()
  })
})

describe('adapters for the per-area benches', () => {
  it('reads the producer JSON line', () => {
    const out =
      'producer: 100 requests…\n{"bench":"producer","sent":100000,"batchSize":2000,"eventsPerSecond":12345}\n'
    expect(parseProducer(out, {})).toMatchObject([
      {
        name: 'producer.events_per_s',
        value: 12345,
        unit: 'events/s',
        config: { count: 100000, batchSize: 2000 },
      },
    ])
  })

  it('reads one inference line per family', () => {
    const out = [
      '== scoring throughput (single thread) ==',
      'xgboost              100 trees, 1400 nodes      batch    1,234,567 rows/s   single     456,789 rows/s   (trained on Pima, default params)',
      'logistic_regression  linear                     batch   20,000,000 rows/s   single   9,000,000 rows/s   (trained on Pima, default params)',
    ].join('\n')
    const r = parseInference(out, {})
    expect(r.filter((x) => x.name.startsWith('inference.rows_per_s.')).map((x) => [x.name, x.value])).toEqual(
      [
        ['inference.rows_per_s.xgboost', 1234567],
        ['inference.rows_per_s.logistic_regression', 20000000],
      ],
    )
    expect(r[0]!.config).toMatchObject({ model: '100 trees, 1400 nodes', mode: 'scoreBatch' })
  })

  it('reads the monitors lines (engine only and full pipeline)', () => {
    const out = [
      'engine only: 120000 events in 800 ms = 150000 events/s',
      'engine + ClickHouse sink + checkpoints (service pipeline, 7 checkpoints): 120000 events in 6000 ms = 20000 events/s',
    ].join('\n')
    expect(parseMonitors(out, {}).map((r) => [r.name, r.value, r.config.checkpoints ?? null])).toEqual([
      ['monitors.engine_events_per_s', 150000, null],
      ['monitors.events_per_s', 20000, 7],
    ])
  })
})

describe('adapters tolerate extra columns', () => {
  it('reads scoring lines with a per-CPU-second column between batch and single', () => {
    const out =
      '200000 rows × 8 features, one core; best of 5 runs\n' +
      'boosting 200 × depth 3, perfect layout (default)           batch      188,228 rows/s (     319,055 per CPU-s)   single      172,953 rows/s\n'
    expect(parseScoring(out, {}).map((r) => [r.name, r.value, r.config.rows])).toEqual([
      ['scoring.rows_per_s.boosting_200_depth_3_perfect_layout', 188228, 200000],
    ])
  })
})

describe('results of benches not run this time', () => {
  const previous = buildResultFile(machine, date, [
    { name: 'e2e.requests_per_s', value: 100, unit: 'requests/s', config: { bench: 'e2e.bench.ts' } },
    { name: 'sizing.xgboost_max_rows', value: 5, unit: 'rows', config: { bench: 'sizing.bench.ts' } },
    {
      name: 'monitoring.false_alarms_per_million.w1000_b10',
      value: 0.1,
      unit: 'alarms',
      config: { bench: 'monitoring.bench.ts', date: '2026-01-01T00:00:00.000Z' },
    },
  ])

  it('are kept with the date and machine of the run that measured them; those of benches run now are not', () => {
    const kept = carriedOver(previous, new Set(['e2e.bench.ts']))
    expect(kept.map((r) => [r.name, r.config.date, r.config.machine])).toEqual([
      ['sizing.xgboost_max_rows', '2026-01-02T03:04:05.000Z', 'Test CPU @ 2.0GHz, 2 cores'],
      [
        'monitoring.false_alarms_per_million.w1000_b10',
        '2026-01-01T00:00:00.000Z',
        'Test CPU @ 2.0GHz, 2 cores',
      ],
    ])
    expect(carriedOver(undefined, new Set())).toEqual([])
  })

  it('a result without its bench name is kept unless this run produced the same name', () => {
    const loose = buildResultFile(machine, date, [
      { name: 'sizing.a', value: 1, unit: 'x', config: {} },
      { name: 'sizing.b', value: 2, unit: 'x', config: {} },
    ])
    const now: BenchResult[] = [
      { name: 'sizing.b', value: 3, unit: 'x', config: { bench: 'sizing.bench.ts' } },
    ]
    expect(carriedOver(loose, new Set(['e2e.bench.ts']), now).map((r) => r.name)).toEqual(['sizing.a'])
  })
})
