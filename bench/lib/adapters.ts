/**
 * Turns the output of the per-area benchmarks (written by their owners, each runnable alone and
 * printing its own format) into named results. The runner runs each bench as a child process
 * and hands its stdout here, so those scripts stay untouched. Parsing is deliberately lenient
 * about spacing: a line the owner reformats should still be found; a number that cannot be
 * found is reported as a failure of that bench, never invented.
 */
import type { BenchResult, ResultConfig } from './results.ts'

const num = (s: string): number => Number(s.replace(/,/g, ''))

/** JSON objects printed on their own line (the benches' "one JSON line for the runner"). */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = []
  for (const line of stdout.split('\n')) {
    const t = line.trim()
    if (!t.startsWith('{') || !t.endsWith('}')) continue
    try {
      out.push(JSON.parse(t) as Record<string, unknown>)
    } catch {
      // not JSON after all (a log line that happens to start with a brace)
    }
  }
  return out
}

/** bench/producer.bench.ts: `{"bench":"producer", sent, durationMs, batchSize, eventsPerSecond, …}`. */
export function parseProducer(stdout: string, config: ResultConfig): BenchResult[] {
  const j = jsonLines(stdout).find((o) => o.bench === 'producer')
  if (!j) return []
  return [
    {
      name: 'producer.events_per_s',
      value: Number(j.eventsPerSecond),
      unit: 'events/s',
      config: {
        ...config,
        count: Number(j.sent),
        batchSize: Number(j.batchSize),
        acks: 'all',
        rate: 'max',
        path: 'replay → BatchSender → broker',
      },
    },
  ]
}

/**
 * bench/inference.bench.ts (run with --no-e2e): one line per family,
 * `xgboost   100 trees, 1400 nodes   batch 1,234,567 rows/s   single 456,789 rows/s   (trained on Pima…)`.
 */
export function parseInference(stdout: string, config: ResultConfig): BenchResult[] {
  const out: BenchResult[] = []
  const re =
    /^\s*([a-z_]+)\s+(.*?)\s+batch\s+([\d,]+)\s+rows\/s.*?\bsingle\s+([\d,]+)\s+rows\/s\s*(?:\((.*)\))?/
  for (const line of stdout.split('\n')) {
    const m = re.exec(line)
    if (!m) continue
    const [, family, model, batch, single, source] = m
    const c = { ...config, model: model!.trim(), source: source ?? '', threads: 1 }
    out.push({
      name: `inference.rows_per_s.${family}`,
      value: num(batch!),
      unit: 'rows/s',
      config: { ...c, mode: 'scoreBatch', rows: 100_000 },
    })
    out.push({
      name: `inference.single_rows_per_s.${family}`,
      value: num(single!),
      unit: 'rows/s',
      config: { ...c, mode: 'scoreOne', rows: 20_000 },
    })
  }
  return out
}

/**
 * bench/monitors.bench.ts: `engine only: N events in X ms = Y events/s` and
 * `engine + ClickHouse sink + checkpoints (…): N events in X ms = Y events/s`.
 */
export function parseMonitors(stdout: string, config: ResultConfig): BenchResult[] {
  const out: BenchResult[] = []
  for (const line of stdout.split('\n')) {
    const m = /([\d,]+) events in ([\d,.]+) ms = ([\d,]+) events\/s/.exec(line)
    if (!m) continue
    const events = num(m[1]!)
    const withSink = /clickhouse/i.test(line)
    const checkpoints = /(\d+) checkpoints/.exec(line)?.[1]
    out.push({
      name: withSink ? 'monitors.events_per_s' : 'monitors.engine_events_per_s',
      value: num(m[3]!),
      unit: 'events/s',
      config: withSink
        ? {
            ...config,
            events,
            path: 'analytics pipeline: engine + raw inserts + window rows + checkpoints (chDB), no Kafka',
            batch: 5000,
            checkpoints: checkpoints === undefined ? null : Number(checkpoints),
          }
        : { ...config, events, path: 'engine only (PSI + quality + label join + performance windows)' },
    })
  }
  return out
}

/** bench/api.bench.ts: `{"bench":"api", connections, duration, results:[{route, "req/s", "p50 ms", "p99 ms", non2xx, errors}]}`. */
export function parseApi(stdout: string, config: ResultConfig): BenchResult[] {
  const j = jsonLines(stdout).find((o) => o.bench === 'api')
  if (!j || !Array.isArray(j.results)) return []
  const names: Record<string, string> = {
    'POST /v1/predict': 'api.predict',
    'GET /mlops/api/monitoring/performance/30': 'api.monitoring_performance',
    'GET /mlops/api/model/info': 'api.model_info',
  }
  const out: BenchResult[] = []
  for (const r of j.results as Record<string, unknown>[]) {
    const route = String(r.route)
    const base =
      names[route] ??
      `api.${route
        .replace(/[^a-z0-9]+/gi, '_')
        .replace(/^_|_$/g, '')
        .toLowerCase()}`
    const c = {
      ...config,
      route,
      connections: Number(j.connections),
      durationS: Number(j.duration),
      non2xx: Number(r.non2xx ?? 0),
      errors: Number(r.errors ?? 0),
    }
    out.push({ name: `${base}.requests_per_s`, value: Number(r['req/s']), unit: 'requests/s', config: c })
    if (r['p99 ms'] !== undefined)
      out.push({ name: `${base}.p99_ms`, value: Number(r['p99 ms']), unit: 'ms', config: c })
  }
  return out
}

/** bench/stats.bench.ts: `{"bench":"stats.slidingWindow+psi", eventsPerSecond, series, bins, window, psiEvery, events}`. */
export function parseStats(stdout: string, config: ResultConfig): BenchResult[] {
  const j = jsonLines(stdout).find((o) => String(o.bench).startsWith('stats.'))
  if (!j) return []
  return [
    {
      name: 'stats.window_psi_events_per_s',
      value: Number(j.eventsPerSecond),
      unit: 'events/s',
      config: {
        ...config,
        series: Number(j.series),
        bins: Number(j.bins),
        window: Number(j.window),
        psiEvery: Number(j.psiEvery),
        events: Number(j.events),
      },
    },
  ]
}

/** bench/scoring.bench.ts: `<label>   batch N rows/s   single M rows/s` per synthetic model shape. */
export function parseScoring(stdout: string, config: ResultConfig): BenchResult[] {
  const out: BenchResult[] = []
  const rows = /^(\d+) rows/.exec(stdout.trim())?.[1]
  for (const line of stdout.split('\n')) {
    const m = /^(.*?)\s+batch\s+([\d,]+)\s+rows\/s.*?\bsingle\s+([\d,]+)\s+rows\/s/.exec(line)
    if (!m) continue
    const label = m[1]!.trim()
    const slug = label
      .toLowerCase()
      .replace(/\(default\)/g, '')
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_|_$/g, '')
    out.push({
      name: `scoring.rows_per_s.${slug}`,
      value: num(m[2]!),
      unit: 'rows/s',
      config: { ...config, model: label, mode: 'scoreBatch', rows: rows ? Number(rows) : null, threads: 1 },
    })
  }
  return out
}

/** bench/learners.bench.ts and bench/retrain.bench.ts: `<label>   wall N ms|s   cpu M ms|s`. */
export function parseTimings(prefix: string, stdout: string, config: ResultConfig): BenchResult[] {
  const out: BenchResult[] = []
  for (const line of stdout.split('\n')) {
    const m = /^(.*?)\s+wall\s+([\d.]+)\s+(ms|s)\s+cpu\s+([\d.]+)\s+(ms|s)/.exec(line)
    if (!m) continue
    const label = m[1]!.trim()
    const slug = label
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_|_$/g, '')
    const wallS = m[3] === 'ms' ? Number(m[2]) / 1000 : Number(m[2])
    const cpuS = m[5] === 'ms' ? Number(m[4]) / 1000 : Number(m[4])
    out.push({
      name: `${prefix}.${slug}.wall_s`,
      value: wallS,
      unit: 's',
      config: { ...config, label, cpuS },
    })
  }
  return out
}
