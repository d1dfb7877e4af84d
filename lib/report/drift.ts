/**
 * The drift report's data: for one model version, the newest `window` predictions it served
 * (features as requested, the predicted probability) binned on the artifact's frozen reference
 * edges, with every registered drift statistic (lib/stats/statistics) per feature and for the
 * probability (prediction drift), the missing shares, the thresholds (the monitors' calibrated
 * threshold of the alarm statistic for the version when they have written one, each statistic's
 * report threshold otherwise) and the realised and estimated performance of
 * the version over time. Rendered by ./drift-html.ts; `riskstream report drift --json` prints it.
 */
import { type ClickHouseClient, queryRows } from '../clickhouse/index.ts'
import { RiskStreamError } from '../errors/index.ts'
import { FEATURE_COLUMNS, FEATURES } from '../features/index.ts'
import type { ModelArtifact } from '../model/index.ts'
import {
  ALARM_STATISTIC,
  binCounts,
  DRIFT_STATISTICS,
  type DriftStatisticName,
  type ReferenceDistribution,
} from '../stats/index.ts'
import { PROBABILITY_SUBJECT, TABLES } from '../warehouse/index.ts'

export interface Histogram {
  /** Interior cut points; bin i covers (edges[i-1], edges[i]], outer bins open. */
  edges: number[]
  /** Share of each value bin (edges.length + 1), of all rows, missing included. */
  shares: number[]
  missingShare: number
  n: number
}

/** Every registered statistic's value by name (`psi`, `js`, `ks`, …), each on its own grid. */
export type StatisticValues = Record<DriftStatisticName, number>

export type SubjectDrift = StatisticValues & {
  /** Feature name, or `prediction` for the predicted probability. */
  name: string
  reference: Histogram
  current: Histogram
  thresholds: StatisticValues
  /** Where the alarm statistic's (PSI's) threshold comes from: the monitors' calibration, or the default. */
  psiThresholdSource: 'calibrated' | 'default'
  /** The alarm statistic (PSI) at or over its threshold. */
  drifted: boolean
  /** The monitors' own newest sliding-window PSI and detector state (0 ok, 1 pending, 2 alert). */
  monitor?: { psi?: number; state?: number }
}

const STATISTICS = Object.values(DRIFT_STATISTICS)
const ALARM = ALARM_STATISTIC.name as DriftStatisticName

export interface PerformancePoint {
  windowEnd: string
  metrics: Record<string, number>
}

export interface DriftReport {
  model: string
  version: number
  family: string
  generatedAt: string
  /** The compared predictions: how many, and their event-time span. */
  current: { rows: number; from: string | null; to: string | null }
  features: SubjectDrift[]
  prediction: SubjectDrift
  drifted: string[]
  performance: PerformancePoint[]
}

function histogram(ref: ReferenceDistribution, counts: ArrayLike<number>, n: number): Histogram {
  const k = ref.edges.length + 1
  const shares: number[] = []
  for (let i = 0; i < k; i++) shares.push(n > 0 ? counts[i]! / n : 0)
  return { edges: ref.edges, shares, missingShare: n > 0 ? counts[k]! / n : 0, n }
}

function subject(
  name: string,
  ref: ReferenceDistribution,
  fine: ReferenceDistribution | undefined,
  values: (number | null)[],
  monitor: { psi?: number; state?: number; threshold?: number } | undefined,
): SubjectDrift {
  const counts = binCounts(ref.edges, values)
  // A fine-grid statistic falls back to the deciles when the artifact has no fine reference.
  const fineRef = fine ?? ref
  const fineCounts = fine ? binCounts(fine.edges, values) : counts
  const stats = {} as StatisticValues
  const thresholds = {} as StatisticValues
  for (const s of STATISTICS) {
    const name = s.name as DriftStatisticName
    stats[name] = s.grid === 'fine' ? s.compute(fineRef, fineCounts) : s.compute(ref, counts)
    thresholds[name] = s.reportThreshold
  }
  const calibrated = monitor?.threshold
  if (calibrated !== undefined) thresholds[ALARM] = calibrated
  return {
    ...stats,
    name,
    reference: {
      edges: ref.edges,
      shares: ref.shares,
      missingShare: ref.missingShare,
      n: ref.n,
    },
    current: histogram(ref, counts, values.length),
    thresholds,
    psiThresholdSource: calibrated === undefined ? 'default' : 'calibrated',
    drifted: Number.isFinite(stats[ALARM]) && stats[ALARM] >= thresholds[ALARM],
    monitor: monitor && { psi: monitor.psi, state: monitor.state },
  }
}

export async function buildDriftReport(
  ch: ClickHouseClient,
  artifact: ModelArtifact,
  options: { window: number; now?: Date },
): Promise<DriftReport> {
  const model = artifact.modelName
  const version = artifact.version
  const cols = FEATURES.map((f) => FEATURE_COLUMNS[f])
  const rows = await queryRows<Record<string, number | null | string>>(
    ch,
    `SELECT probability, ${cols.join(', ')}, toString(event_time) AS t
       FROM ${TABLES.predictions} FINAL
      WHERE model_name = {model:String} AND model_version = {version:UInt32}
      ORDER BY event_time DESC, request_id DESC
      LIMIT {window:UInt32}`,
    { model, version, window: options.window },
  )
  if (rows.length === 0)
    throw new RiskStreamError('NOT_FOUND', `no predictions of ${model} v${version} to compare yet`)

  // The monitors' newest sliding-window alarm statistic, state and calibrated threshold for this version.
  const metrics = { value: ALARM, state: `${ALARM}_state`, threshold: `${ALARM}_threshold` }
  const mon = await queryRows<{ subject: string; metric: string; value: number }>(
    ch,
    `SELECT subject, metric, argMax(value, window_id) AS value FROM ${TABLES.monitorWindows}
      WHERE model_name = {model:String} AND model_version = {version:UInt32}
        AND monitor = 'drift' AND window_type = 'sliding'
        AND metric IN {metrics:Array(String)}
      GROUP BY subject, metric`,
    { model, version, metrics: Object.values(metrics) },
  )
  const monitor = new Map<string, { psi?: number; state?: number; threshold?: number }>()
  for (const r of mon) {
    const m = monitor.get(r.subject) ?? {}
    if (r.metric === metrics.value) m.psi = Number(r.value)
    if (r.metric === metrics.state) m.state = Number(r.value)
    if (r.metric === metrics.threshold) m.threshold = Number(r.value)
    monitor.set(r.subject, m)
  }

  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v))
  const features = FEATURES.map((f, i) => {
    const ref = artifact.reference.features[f]
    if (!ref) throw new RiskStreamError('ARTIFACT_CORRUPT', `artifact has no reference for ${f}`)
    const values = rows.map((r) => num(r[cols[i]!]))
    return subject(f, ref, artifact.reference.fine?.features[f], values, monitor.get(f))
  })
  const prediction = subject(
    'prediction',
    artifact.reference.probability,
    artifact.reference.fine?.probability,
    rows.map((r) => num(r.probability)),
    monitor.get(PROBABILITY_SUBJECT),
  )

  const perf = await queryRows<{ t: string; metric: string; value: number }>(
    ch,
    `SELECT toString(window_end) AS t, metric, argMax(value, written_at) AS value FROM ${TABLES.monitorWindows}
      WHERE model_name = {model:String} AND model_version = {version:UInt32}
        AND monitor IN ('performance', 'estimate') AND window_type = 'sliding'
        AND metric IN ('accuracy', 'f1', 'roc_auc', 'estimated_accuracy', 'expected_accuracy')
      GROUP BY t, metric ORDER BY t`,
    { model, version },
  )
  const byTime = new Map<string, Record<string, number>>()
  for (const p of perf) {
    const m = byTime.get(p.t) ?? {}
    m[p.metric] = Number(p.value)
    byTime.set(p.t, m)
  }

  const times = rows.map((r) => String(r.t)).sort()
  return {
    model,
    version,
    family: artifact.family,
    generatedAt: (options.now ?? new Date()).toISOString(),
    current: { rows: rows.length, from: times[0] ?? null, to: times[times.length - 1] ?? null },
    features,
    prediction,
    drifted: [...features, prediction].filter((s) => s.drifted).map((s) => s.name),
    performance: [...byTime].map(([windowEnd, metrics]) => ({ windowEnd, metrics })),
  }
}
