/**
 * The monitoring files (deploy/prometheus, deploy/grafana) against the code: every dashboard
 * query and alert expression names a metric the code exports (lib/metrics/names.ts, checked here
 * against the metrics the roles really register), and Debian's promtool validates the config,
 * the rules and the rules' own unit tests. Grafana is not packaged for this machine, so the
 * dashboard and its provisioning are checked statically.
 */
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { createApiMetrics } from '../../api/metrics.ts'
import { loadConfig, REPO_ROOT } from '../../lib/config/index.ts'
import {
  createRoleMetrics,
  DRIFT_STATISTIC_METRICS,
  exportedMetricNames,
  METRIC,
  UNKNOWN_VERSION_LABEL,
  windowLabel,
} from '../../lib/metrics/index.ts'
import { MONITOR_STATISTICS } from '../../lib/stats/index.ts'
import { createInferenceMetrics } from '../../processors/inference/metrics.ts'
import { prometheusBinary } from './prometheus.ts'

const DEPLOY = path.join(REPO_ROOT, 'deploy')
const read = (p: string) => readFileSync(path.join(DEPLOY, p), 'utf8')

const PROMQL_WORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'offset',
  'bool',
  'inf',
  'nan',
])

/** Metric names a PromQL expression reads (strings, label matchers, ranges and grouping removed). */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\w+/g, ' ')
  const names: string[] = []
  for (const m of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const word = m[0]
    const after = stripped.slice(m.index! + word.length).trimStart()
    if (after.startsWith('(')) continue // a function or aggregation
    if (PROMQL_WORDS.has(word.toLowerCase())) continue
    names.push(word)
  }
  return names
}

interface Panel {
  title: string
  type: string
  datasource?: { uid: string }
  targets?: { expr: string; datasource?: { uid: string } }[]
  panels?: Panel[]
}

function dashboards(): {
  file: string
  json: {
    uid: string
    panels: Panel[]
    templating: { list: { query: { query: string } | string }[] }
    annotations: { list: { expr?: string }[] }
  }
}[] {
  const dir = path.join(DEPLOY, 'grafana', 'dashboards')
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((file) => ({ file, json: JSON.parse(readFileSync(path.join(dir, file), 'utf8')) }))
}

function alertRules(): { alert?: string; record?: string; expr: string }[] {
  const dir = path.join(DEPLOY, 'prometheus', 'rules')
  return readdirSync(dir)
    .filter((f) => f.endsWith('.rules.yml'))
    .flatMap(
      (f) =>
        (
          parse(readFileSync(path.join(dir, f), 'utf8')) as {
            groups: { rules: { alert?: string; expr: string }[] }[]
          }
        ).groups,
    )
    .flatMap((g) => g.rules)
}

/** Role metrics deps for registering (nothing is read unless `clickhouse` answers). */
const roleDeps = (clickhouse: object = {}) => ({
  config: loadConfig({}),
  kafka: {} as never,
  clickhouse: clickhouse as never,
  log: { debug() {} } as never,
})

describe('metric names', () => {
  it('lib/metrics/names.ts lists exactly what the roles register', () => {
    const registry = new Registry()
    const deps = roleDeps()
    createRoleMetrics(deps, ['monitors', 'trainer', 'inference', 'api'], registry)
    createInferenceMetrics(registry)
    // As cli/roles.ts does: the API's metrics on the process registry.
    expect(createApiMetrics({ registry }).registry).toBe(registry)
    const registered = new Set(registry.getMetricsAsArray().map((m) => m.name))
    expect([...registered].filter((n) => n.startsWith('riskstream_')).sort()).toEqual(
      [...Object.values(METRIC), ...Object.values(DRIFT_STATISTIC_METRICS)].sort(),
    )
    // Every statistic the monitors evaluate has its gauge; the dashboard's names stay.
    expect(MONITOR_STATISTICS.map((s) => DRIFT_STATISTIC_METRICS[s.name])).toEqual(
      expect.arrayContaining(['riskstream_drift_psi', 'riskstream_drift_ks', 'riskstream_drift_wasserstein']),
    )
    // Process metrics carry their standard names, once, on the process registry.
    expect(registered).toContain('process_cpu_seconds_total')
    expect(registered).toContain('nodejs_eventloop_lag_seconds')
    expect([...registered].filter((n) => /^riskstream_\w+_(process|nodejs)_/.test(n))).toEqual([])
  })

  it('follows the conventions: counters end in _total, durations in _seconds', () => {
    const registry = new Registry()
    const deps = roleDeps()
    createRoleMetrics(deps, ['monitors', 'trainer', 'inference'], registry)
    createInferenceMetrics(registry)
    for (const m of [...registry.getMetricsAsArray(), ...createApiMetrics().registry.getMetricsAsArray()]) {
      const type = (m as unknown as { type: string }).type
      if (!m.name.startsWith('riskstream_')) continue
      if (type === 'counter') expect(m.name, m.name).toMatch(/_total$/)
      else expect(m.name, m.name).not.toMatch(/_total$/)
      expect(m.name, m.name).not.toMatch(/_(ms|milliseconds|minutes)$/)
    }
  })

  it('exports every monitored drift statistic and the alarm state from the newest window rows', async () => {
    const registry = new Registry()
    const window = { model_version: 3, monitor: 'drift', window_type: 'sliding', window_width: 1000 }
    const rows = [
      ...MONITOR_STATISTICS.map((s, i) => ({
        ...window,
        subject: 'glucose',
        metric: s.name,
        value: 0.1 + i,
      })),
      { ...window, subject: 'glucose', metric: 'psi_threshold', value: 0.12 },
      { ...window, subject: 'glucose', metric: 'psi_state', value: 2 },
      { ...window, subject: 'glucose', metric: 'js', value: 9 },
    ]
    // A fake of the one ClickHouse call the collector makes (queryRows: query → JSONEachRow rows).
    const clickhouse = { query: async () => ({ json: async () => rows }) }
    const deps = roleDeps(clickhouse)
    createRoleMetrics(deps, ['monitors'], registry)
    const labels = { model: deps.config.model.name, version: '3', feature: 'glucose', window: 'sliding_1000' }
    const gaugeValue = async (name: string) =>
      (await registry.getSingleMetric(name)!.get()).values.find(
        (v) => JSON.stringify(v.labels) === JSON.stringify(labels),
      )?.value
    for (const [i, s] of MONITOR_STATISTICS.entries())
      expect(await gaugeValue(DRIFT_STATISTIC_METRICS[s.name]!), s.name).toBe(0.1 + i)
    expect(await gaugeValue(METRIC.driftPsiThreshold)).toBe(0.12)
    expect(await gaugeValue(METRIC.driftState)).toBe(2)
    // JS is registered but not monitored: no gauge.
    expect(registry.getSingleMetric('riskstream_drift_js')).toBeUndefined()
  })

  it('exports the label join’s losses by model version, unknown where the prediction was', async () => {
    const registry = new Registry()
    // The join's rows as the collector's query groups them (v = model_version of the `lost_` rows, else 0).
    const rows = [
      { v: 0, metric: 'joined', value: 900 },
      { v: 0, metric: 'expired_predictions', value: 12 }, // the total: not a loss series of its own
      { v: 2, metric: 'lost_expired_predictions', value: 5 },
      { v: 3, metric: 'lost_expired_predictions', value: 7 },
      { v: 3, metric: 'lost_late_outcomes', value: 2 },
      { v: 0, metric: 'lost_expired_outcomes', value: 4 },
    ]
    const clickhouse = {
      query: async (q: { query: string }) => ({
        json: async () => (q.query.includes("subject = 'label_join'") ? rows : []),
      }),
    }
    const deps = roleDeps(clickhouse)
    createRoleMetrics(deps, ['monitors'], registry)
    const values = (await registry.getSingleMetric(METRIC.labelJoinLost)!.get()).values
    const model = deps.config.model.name
    expect(values.map((v) => ({ ...v.labels, value: v.value }))).toEqual([
      { model, version: '2', side: 'prediction', reason: 'expired', value: 5 },
      { model, version: '3', side: 'prediction', reason: 'expired', value: 7 },
      { model, version: '3', side: 'outcome', reason: 'late', value: 2 },
      { model, version: UNKNOWN_VERSION_LABEL, side: 'outcome', reason: 'expired', value: 4 },
    ])
    expect((await registry.getSingleMetric(METRIC.labelsJoined)!.get()).values[0]?.value).toBe(900)
  })

  it('window labels name the window', () => {
    expect(windowLabel('sliding', 1000)).toBe('sliding_1000')
    expect(windowLabel('tumbling', 300_000)).toBe('tumbling_5m')
    expect(windowLabel('tumbling', 3_600_000)).toBe('tumbling_1h')
    expect(windowLabel('tumbling', 1500)).toBe('tumbling_1500ms')
  })

  it('the PromQL name reader finds metrics and skips functions, labels and grouping', () => {
    expect(
      metricNames(
        'sum by (group) (rate(riskstream_a_total{x="y{z}"}[5m])) / on (model) riskstream_b > bool 0.1 and up{job="$job"}',
      ),
    ).toEqual(['riskstream_a_total', 'riskstream_b', 'up'])
    expect(metricNames('histogram_quantile(0.95, sum by (le) (rate(x_bucket[5m])))')).toEqual(['x_bucket'])
  })
})

describe('Grafana dashboards (checked statically: Grafana is not packaged here)', () => {
  const exported = exportedMetricNames()

  it('every panel query, variable and annotation names an exported metric', () => {
    const found = dashboards()
    expect(found.length).toBeGreaterThan(0)
    for (const { file, json } of found) {
      const panels = json.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row')
      expect(panels.length, file).toBeGreaterThan(10)
      const exprs: [string, string][] = []
      for (const p of panels) {
        expect(p.targets?.length, `${file}: ${p.title}`).toBeGreaterThan(0)
        expect(p.datasource?.uid, `${file}: ${p.title}`).toBe('riskstream-prometheus')
        for (const t of p.targets ?? []) exprs.push([`${file}: ${p.title}`, t.expr])
      }
      for (const v of json.templating.list) {
        const q = typeof v.query === 'string' ? v.query : v.query.query
        const m = /label_values\((\w+),/.exec(q)
        exprs.push([`${file}: variable`, m ? m[1]! : q])
      }
      for (const a of json.annotations.list) if (a.expr) exprs.push([`${file}: annotation`, a.expr])
      for (const [where, expr] of exprs) {
        const names = metricNames(expr)
        expect(names.length, `${where}: ${expr}`).toBeGreaterThan(0)
        for (const n of names) expect(exported.has(n), `${where}: ${n} is not exported`).toBe(true)
      }
    }
  })

  it('the provisioning points at the dashboards folder and the datasource the panels use', () => {
    const ds = parse(read('grafana/provisioning/datasources/prometheus.yml')) as {
      datasources: { uid: string; type: string; url: string }[]
    }
    expect(ds.datasources).toEqual([
      expect.objectContaining({
        uid: 'riskstream-prometheus',
        type: 'prometheus',
        url: 'http://prometheus:9090',
      }),
    ])
    const providers = parse(read('grafana/provisioning/dashboards/riskstream.yml')) as {
      providers: { type: string; options: { path: string } }[]
    }
    expect(providers.providers[0]).toMatchObject({
      type: 'file',
      options: { path: '/var/lib/grafana/dashboards' },
    })
    const uids = dashboards().map((d) => d.json.uid)
    expect(new Set(uids).size).toBe(uids.length)
  })

  it('docker compose runs Prometheus and Grafana on these files and every role serves /metrics', () => {
    const compose = parse(readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), {
      merge: true,
    }) as {
      services: Record<string, { volumes?: string[]; environment?: Record<string, unknown> }>
    }
    expect(compose.services.prometheus?.volumes).toContain('./deploy/prometheus:/etc/prometheus:ro')
    expect(compose.services.grafana?.volumes).toEqual(
      expect.arrayContaining([
        './deploy/grafana/provisioning:/etc/grafana/provisioning:ro',
        './deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro',
      ]),
    )
    const config = parse(read('prometheus/prometheus.yml')) as {
      scrape_configs: {
        job_name: string
        static_configs: { targets: string[] }[]
        dns_sd_configs?: { names: string[]; type: string; port: number }[]
        relabel_configs?: {
          source_labels?: string[]
          regex?: string
          target_label?: string
          replacement?: string
        }[]
      }[]
    }
    const job = config.scrape_configs.find((j) => j.job_name === 'riskstream')!
    const targets = job.static_configs.flatMap((s) => s.targets)
    for (const role of ['monitors', 'trainer', 'api']) {
      expect(targets).toContain(`${role}:9464`)
      expect(compose.services[role]?.environment?.METRICS_PORT).toBe(9464)
    }
    // Inference scales out: every replica is found through DNS and labelled role=inference.
    expect(job.dns_sd_configs).toContainEqual({
      names: ['inference'],
      type: 'A',
      port: 9464,
      refresh_interval: '30s',
    })
    expect(job.relabel_configs).toContainEqual({
      source_labels: ['__meta_dns_name'],
      regex: 'inference',
      target_label: 'role',
      replacement: 'inference',
    })
    expect(compose.services.inference?.environment?.METRICS_PORT).toBe(9464)
  })
})

describe('Prometheus rules and config (promtool from the Debian package)', () => {
  const promtool = prometheusBinary('promtool')
  const run = (...args: string[]) => spawnSync(promtool, args, { cwd: DEPLOY, encoding: 'utf8' })

  it('every alert expression names an exported metric; drift, accuracy, lag and DLQ are covered', () => {
    const exported = exportedMetricNames()
    const rules = alertRules()
    for (const r of rules) {
      const names = metricNames(r.expr)
      expect(names.length, r.alert).toBeGreaterThan(0)
      for (const n of names) expect(exported.has(n), `${r.alert}: ${n} is not exported`).toBe(true)
    }
    const used = new Set(rules.flatMap((r) => metricNames(r.expr)))
    for (const n of [METRIC.driftState, METRIC.accuracyDrop, METRIC.consumerLag, METRIC.dlqRecords])
      expect(used).toContain(n)
  })

  it('promtool check config', () => {
    const r = run('check', 'config', 'prometheus/prometheus.yml')
    expect(r.status, r.stdout + r.stderr).toBe(0)
  })

  it('promtool check rules', () => {
    const files = readdirSync(path.join(DEPLOY, 'prometheus', 'rules'))
      .filter((f) => f.endsWith('.rules.yml'))
      .map((f) => `prometheus/rules/${f}`)
    const r = run('check', 'rules', ...files)
    expect(r.status, r.stdout + r.stderr).toBe(0)
  })

  it('promtool test rules: each alert fires on its scenario', () => {
    const r = run('test', 'rules', 'prometheus/rules/riskstream.test.yml')
    expect(r.status, r.stdout + r.stderr).toBe(0)
    expect(r.stdout).toContain('SUCCESS')
  })
})
