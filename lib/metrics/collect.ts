/**
 * The metrics of the roles that run in a process, read when Prometheus scrapes: the newest
 * window statistics the monitors wrote (drift, data quality, realised and estimated
 * performance), dead letters by topic and reason, finished retrain runs, and the consumer lag of
 * the process's consumer groups. The monitors and the trainer keep their state in ClickHouse and
 * Kafka, so reading it there gives the same numbers the API and the dashboard show, in any
 * process layout, without a hook in the hot path.
 *
 * Each source is read at most once per scrape (a scrape reads every metric of the registry; the
 * first one triggers the read, the others reuse it). A failed read leaves the previous values,
 * counts `riskstream_metrics_collector_errors_total{collector}` and never fails the scrape.
 */
import type { Admin, Kafka } from 'kafkajs'
import { Counter, collectDefaultMetrics, Gauge, Histogram, type Registry } from 'prom-client'
import { type ClickHouseClient, queryRows } from '../clickhouse/index.ts'
import type { Config } from '../config/index.ts'
import type { Logger } from '../log/index.ts'
import { mirrorFailures } from '../mlflow/index.ts'
import { ALARM_STATISTIC, MONITOR_STATISTICS } from '../stats/index.ts'
import { TABLES } from '../warehouse/index.ts'
import { DRIFT_STATISTIC_METRICS, METRIC, windowLabel } from './names.ts'

export interface RoleMetricsDeps {
  config: Readonly<Config>
  kafka: Kafka
  clickhouse?: ClickHouseClient
  log: Logger
}

export interface RoleMetrics {
  registry: Registry
  /** Disconnects the admin client used for consumer lag. */
  close(): Promise<void>
}

/**
 * The `version` of a label-join loss whose prediction is unknown (an outcome that expired or was
 * evicted waiting for it, or a second label while the first waited): row version 0.
 */
export const UNKNOWN_VERSION_LABEL = 'unknown'

/** Consumer-group name prefixes of each role (see the roles' services). */
export function roleGroupPrefixes(prefix: string, roles: readonly string[]): string[] {
  const out: string[] = []
  if (roles.includes('monitors')) out.push(`${prefix}riskstream-monitor`)
  if (roles.includes('inference')) out.push(`${prefix}riskstream-inference-`)
  if (roles.includes('trainer')) out.push(`${prefix}riskstream-trainer`)
  return out
}

/** Registers the process metrics (standard names, once per registry). */
export function registerProcessMetrics(registry: Registry): void {
  if (registry.getSingleMetric('process_cpu_user_seconds_total')) return
  collectDefaultMetrics({ register: registry })
}

/** Reuses a metric already registered under `name` (two callers, one registry). */
function reuse<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make()
}

/** One read shared by every metric collected within `ttlMs` (one scrape). */
function once(ttlMs: number, read: () => Promise<void>): () => Promise<void> {
  let last = 0
  let pending: Promise<void> | undefined
  return () => {
    if (pending) return pending
    if (Date.now() - last < ttlMs) return Promise.resolve()
    pending = read().finally(() => {
      last = Date.now()
      pending = undefined
    })
    return pending
  }
}

interface WindowRow {
  model_version: number
  monitor: string
  window_type: string
  window_width: string | number
  subject: string
  metric: string
  value: number
}

/** Drift window rows (`metric`) to their gauge: every monitored statistic, and the alarm's threshold and state. */
const DRIFT_METRICS: Record<string, string> = {
  ...DRIFT_STATISTIC_METRICS,
  [`${ALARM_STATISTIC.name}_threshold`]: METRIC.driftPsiThreshold,
  [`${ALARM_STATISTIC.name}_state`]: METRIC.driftState,
}
const QUALITY_METRICS: Record<string, keyof typeof METRIC> = {
  missing_rate: 'featureMissingRatio',
  out_of_range_count: 'featureOutOfRange',
}
const PERFORMANCE_METRICS: Record<string, keyof typeof METRIC> = {
  accuracy: 'accuracy',
  f1: 'f1',
  roc_auc: 'rocAuc',
  brier: 'brier',
  precision: 'precision',
  recall: 'recall',
  labels: 'labelledRecords',
  expected_accuracy: 'expectedAccuracy',
  accuracy_drop: 'accuracyDrop',
  estimated_accuracy: 'estimatedAccuracy',
  estimated_f1: 'estimatedF1',
  estimated_roc_auc: 'estimatedRocAuc',
}

/**
 * Registers the metrics of `roles` (names from lib/metrics/names.ts) and the process metrics on
 * `registry`. ClickHouse-backed metrics need `deps.clickhouse`; lag needs only Kafka.
 */
export function createRoleMetrics(
  deps: RoleMetricsDeps,
  roles: readonly string[],
  registry: Registry,
): RoleMetrics {
  registerProcessMetrics(registry)
  const registers = [registry]
  const model = deps.config.model.name
  const errors = reuse(
    registry,
    METRIC.collectorErrors,
    () =>
      new Counter({
        name: METRIC.collectorErrors,
        help: 'Failed reads of a metrics source (the previous values are kept)',
        labelNames: ['collector'],
        registers,
      }),
  )
  const guarded = (collector: string, read: () => Promise<void>) => async () => {
    try {
      await read()
    } catch (err) {
      errors.inc({ collector })
      deps.log.debug({ err, collector }, 'metrics read failed')
    }
  }
  let admin: Admin | undefined

  const ch = deps.clickhouse
  if (ch && roles.includes('monitors')) {
    // Window statistics: one gauge per statistic, all filled by the same read.
    const gauges = new Map<string, Gauge>()
    const named = (name: string, help: string, labelNames: string[]) => {
      const g = reuse(
        registry,
        name,
        () => new Gauge({ name, help, labelNames, registers, collect: () => readWindows() }),
      )
      gauges.set(name, g)
    }
    const gauge = (key: keyof typeof METRIC, help: string, labelNames: string[]) =>
      named(METRIC[key], help, labelNames)
    const featureLabels = ['model', 'version', 'feature', 'window']
    const modelLabels = ['model', 'version', 'window']
    for (const s of MONITOR_STATISTICS)
      named(
        DRIFT_STATISTIC_METRICS[s.name]!,
        `${s.display.label} of a feature against the reference, newest window: ${s.display.description}`,
        featureLabels,
      )
    gauge('driftPsiThreshold', 'Calibrated PSI alarm threshold of a feature (sliding window)', featureLabels)
    gauge('driftState', 'Drift detector state of a feature: 0 ok, 1 pending, 2 alert', featureLabels)
    gauge('featureMissingRatio', 'Share of requests missing the feature, newest window', featureLabels)
    gauge('featureOutOfRange', 'Values outside the feature domain, newest window', featureLabels)
    gauge('windowRecords', 'Predictions in the newest window', modelLabels)
    gauge('accuracy', 'Realised accuracy on labelled predictions, newest window', modelLabels)
    gauge('f1', 'Realised F1 on labelled predictions, newest window', modelLabels)
    gauge('rocAuc', 'Realised ROC-AUC on labelled predictions, newest window', modelLabels)
    gauge('brier', 'Brier score on labelled predictions, newest window', modelLabels)
    gauge('precision', 'Realised precision, newest window', modelLabels)
    gauge('recall', 'Realised recall, newest window', modelLabels)
    gauge('labelledRecords', 'Labelled predictions in the newest performance window', modelLabels)
    gauge('expectedAccuracy', 'Validation accuracy of the served artifact', modelLabels)
    gauge('accuracyDrop', 'Validation accuracy minus realised accuracy, newest window', modelLabels)
    gauge('estimatedAccuracy', 'Accuracy estimated from the probabilities (CBPE), before labels', modelLabels)
    gauge('estimatedF1', 'F1 estimated from the probabilities (CBPE), before labels', modelLabels)
    gauge('estimatedRocAuc', 'ROC-AUC estimated from the probabilities (CBPE), before labels', modelLabels)

    const readWindows = once(
      500,
      guarded(TABLES.monitorWindows, async () => {
        const rows = await queryRows<WindowRow>(
          ch,
          `SELECT model_version, monitor, window_type, window_width, subject, metric,
                  argMax(value, (window_id, written_at)) AS value
             FROM ${TABLES.monitorWindows}
            WHERE model_name = {model:String}
              AND monitor IN ('drift', 'quality', 'performance', 'estimate')
              AND window_end >= (SELECT max(window_end) FROM ${TABLES.monitorWindows} WHERE model_name = {model:String}) - INTERVAL 1 DAY
            GROUP BY model_version, monitor, window_type, window_width, subject, metric`,
          { model },
        )
        for (const g of gauges.values()) g.reset()
        for (const r of rows) {
          const window = windowLabel(r.window_type, Number(r.window_width))
          const version = String(r.model_version)
          const value = Number(r.value)
          if (r.monitor === 'drift' || (r.monitor === 'quality' && r.subject !== '')) {
            const quality = QUALITY_METRICS[r.metric]
            const name = r.monitor === 'drift' ? DRIFT_METRICS[r.metric] : quality && METRIC[quality]
            if (name) gauges.get(name)?.set({ model, version, feature: r.subject, window }, value)
          } else if (r.monitor === 'quality') {
            if (r.metric === 'volume')
              gauges.get(METRIC.windowRecords)?.set({ model, version, window }, value)
          } else {
            const key = PERFORMANCE_METRICS[r.metric]
            if (key) gauges.get(METRIC[key])?.set({ model, version, window }, value)
          }
        }
      }),
    )

    // The label join's counts (cumulative, engine-wide: the newest row of any version wins).
    const joined: Counter<'model'> = reuse(
      registry,
      METRIC.labelsJoined,
      () =>
        new Counter({
          name: METRIC.labelsJoined,
          help: 'Predictions joined with their labelled outcome',
          labelNames: ['model'],
          registers,
          collect: () => readJoin(),
        }),
    )
    const lost: Counter<'model' | 'version' | 'side' | 'reason'> = reuse(
      registry,
      METRIC.labelJoinLost,
      () =>
        new Counter({
          name: METRIC.labelJoinLost,
          help: 'Entries that left the label join unjoined, by model version of the prediction (unknown: an outcome that never met its prediction), side and reason (expired, evicted, late, duplicate, no_monitor)',
          labelNames: ['model', 'version', 'side', 'reason'],
          registers,
          collect: () => readJoin(),
        }),
    )
    const pending: Gauge<'model' | 'side'> = reuse(
      registry,
      METRIC.labelJoinPending,
      () =>
        new Gauge({
          name: METRIC.labelJoinPending,
          help: 'Entries waiting in the label join for their other half',
          labelNames: ['model', 'side'],
          registers,
          collect: () => readJoin(),
        }),
    )
    const JOIN_LOST: Record<string, { side: string; reason: string }> = {
      expired_predictions: { side: 'prediction', reason: 'expired' },
      evicted_predictions: { side: 'prediction', reason: 'evicted' },
      expired_outcomes: { side: 'outcome', reason: 'expired' },
      evicted_outcomes: { side: 'outcome', reason: 'evicted' },
      labels_without_monitor: { side: 'outcome', reason: 'no_monitor' },
      // Counted by the service's label spill (processors/monitors/performance/spill.ts).
      late_outcomes: { side: 'outcome', reason: 'late' },
      duplicate_outcomes: { side: 'outcome', reason: 'duplicate' },
    }
    let joinedSeen: number | undefined
    /** `${version}\0${metric}` of the losses by version (processors/monitors: engine.takeLossRows). */
    const lostSeen = new Map<string, number>()
    const readJoin = once(
      500,
      guarded('label_join', async () => {
        // The join's totals: the newest row of any version. Its losses by version (metrics
        // `lost_<total's metric>`, the version in model_version, 0 = unknown): the newest per version.
        const rows = await queryRows<{ v: number; metric: string; value: number }>(
          ch,
          `SELECT if(startsWith(metric, 'lost_'), model_version, 0) AS v, metric,
                  argMax(value, (window_end, window_id, written_at)) AS value
             FROM ${TABLES.monitorWindows}
            WHERE model_name = {model:String} AND monitor = 'quality' AND subject = 'label_join'
              AND window_end >= (SELECT max(window_end) FROM ${TABLES.monitorWindows} WHERE model_name = {model:String}) - INTERVAL 1 DAY
            GROUP BY v, metric`,
          { model },
        )
        pending.reset()
        // Pending predictions: in memory plus spilled to ClickHouse.
        let pendingPredictions: number | undefined
        for (const r of rows) {
          const v = Number(r.value)
          if (r.metric === 'pending_predictions' || r.metric === 'spilled_predictions')
            pendingPredictions = (pendingPredictions ?? 0) + v
          else if (r.metric === 'pending_outcomes') pending.set({ model, side: 'outcome' }, v)
          // Counts never lower (a restart without a checkpoint starts them again from 0).
          else if (r.metric === 'joined') joinedSeen = Math.max(joinedSeen ?? 0, v)
          else if (r.metric.startsWith('lost_') && JOIN_LOST[r.metric.slice('lost_'.length)]) {
            const key = `${Number(r.v)}\u0000${r.metric.slice('lost_'.length)}`
            lostSeen.set(key, Math.max(lostSeen.get(key) ?? 0, v))
          }
        }
        if (pendingPredictions !== undefined) pending.set({ model, side: 'prediction' }, pendingPredictions)
        joined.reset()
        lost.reset()
        if (joinedSeen !== undefined) joined.inc({ model }, joinedSeen)
        for (const [key, count] of lostSeen) {
          const [version, metric] = key.split('\u0000') as [string, string]
          lost.inc(
            { model, version: version === '0' ? UNKNOWN_VERSION_LABEL : version, ...JOIN_LOST[metric]! },
            count,
          )
        }
      }),
    )

    // Dead letters: the monitors' DLQ sink writes one row per record of every <topic>.dlq.
    const dlqSeen = new Map<string, number>()
    const dlq: Counter<'topic' | 'reason'> = reuse(
      registry,
      METRIC.dlqRecords,
      () =>
        new Counter({
          name: METRIC.dlqRecords,
          help: 'Dead-lettered records by source topic and reason code',
          labelNames: ['topic', 'reason'],
          registers,
          collect: () => readDlq(),
        }),
    )
    const readDlq = once(
      500,
      guarded(TABLES.dlqRecords, async () => {
        const rows = await queryRows<{ source_topic: string; reason: string; n: string | number }>(
          ch,
          `SELECT source_topic, reason, count() AS n FROM ${TABLES.dlqRecords} FINAL
            WHERE startsWith(source_topic, {prefix:String}) GROUP BY source_topic, reason`,
          { prefix: deps.config.topics.prefix },
        )
        // Never lower: DLQ_RETENTION / the table's TTL deletes old rows, which is not a reset.
        for (const r of rows) {
          const key = `${r.source_topic}\u0000${r.reason}`
          dlqSeen.set(key, Math.max(dlqSeen.get(key) ?? 0, Number(r.n)))
        }
        dlq.reset()
        for (const [key, n] of dlqSeen) {
          const [topic, reason] = key.split('\u0000') as [string, string]
          dlq.inc({ topic, reason }, n)
        }
      }),
    )
  }

  // The MLflow mirror runs where runs are recorded (trainer) and stages change (api, trainer).
  if (roles.includes('trainer') || roles.includes('api')) {
    reuse(
      registry,
      METRIC.mlflowMirrorFailures,
      () =>
        new Counter({
          name: METRIC.mlflowMirrorFailures,
          help: 'MLflow mirror operations that failed (training and promotion went on; runs export --mlflow back-fills)',
          labelNames: ['operation'],
          registers,
          collect() {
            this.reset()
            for (const [operation, n] of mirrorFailures()) this.inc({ operation }, n)
          },
        }),
    )
  }

  if (ch && roles.includes('trainer')) {
    const labelNames = ['model', 'trigger', 'outcome']
    const seen = new Set<string>()
    const runs: Counter<string> = reuse(
      registry,
      METRIC.retrainRuns,
      () =>
        new Counter({
          name: METRIC.retrainRuns,
          help: 'Finished training runs by trigger and outcome (succeeded, rejected, failed)',
          labelNames,
          registers,
          collect: () => readRuns(),
        }),
    )
    const duration: Histogram<string> = reuse(
      registry,
      METRIC.retrainDuration,
      () =>
        new Histogram({
          name: METRIC.retrainDuration,
          help: 'Duration of finished training runs',
          labelNames,
          buckets: [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
          registers,
          collect: () => readRuns(),
        }),
    )
    const readRuns = once(
      500,
      guarded(TABLES.trainingRuns, async () => {
        const rows = await queryRows<{
          run_id: string
          trigger: string
          status: string
          duration_ms: string | number
        }>(
          ch,
          `SELECT run_id, trigger, status, duration_ms FROM ${TABLES.trainingRuns} FINAL
            WHERE model_name = {model:String} AND status != 'running'`,
          { model },
        )
        for (const r of rows) {
          if (seen.has(r.run_id)) continue
          seen.add(r.run_id)
          const labels = { model, trigger: r.trigger, outcome: r.status }
          runs.inc(labels)
          duration.observe(labels, Number(r.duration_ms) / 1000)
        }
      }),
    )
  }

  const groupPrefixes = roleGroupPrefixes(deps.config.topics.prefix, roles)
  if (groupPrefixes.length > 0) {
    const lag: Gauge<'group' | 'topic' | 'partition'> = reuse(
      registry,
      METRIC.consumerLag,
      () =>
        new Gauge({
          name: METRIC.consumerLag,
          help: 'Records not yet committed by a consumer group (high watermark minus committed offset)',
          labelNames: ['group', 'topic', 'partition'],
          registers,
          collect: () => readLag(),
        }),
    )
    const readLag = once(
      500,
      guarded('consumer_lag', async () => {
        if (!admin) {
          const a = deps.kafka.admin()
          await a.connect()
          admin = a
        }
        try {
          const values = await consumerLag(admin, groupPrefixes)
          lag.reset()
          for (const v of values)
            lag.set({ group: v.group, topic: v.topic, partition: String(v.partition) }, v.lag)
        } catch (err) {
          const a = admin
          admin = undefined
          await a?.disconnect().catch(() => {})
          throw err
        }
      }),
    )
  }

  return {
    registry,
    async close() {
      const a = admin
      admin = undefined
      await a?.disconnect().catch(() => {})
    },
  }
}

export interface LagValue {
  group: string
  topic: string
  partition: number
  lag: number
}

/**
 * Lag of every group whose id starts with one of `groupPrefixes`: per partition it has committed
 * on, high watermark minus committed offset (minus the low watermark when nothing is committed).
 */
export async function consumerLag(admin: Admin, groupPrefixes: string[]): Promise<LagValue[]> {
  const { groups } = await admin.listGroups()
  const ids = groups.map((g) => g.groupId).filter((id) => groupPrefixes.some((p) => id.startsWith(p)))
  const watermarks = new Map<string, Promise<Map<number, { high: number; low: number }>>>()
  const topicOffsets = (topic: string) => {
    let p = watermarks.get(topic)
    if (!p) {
      p = admin
        .fetchTopicOffsets(topic)
        .then(
          (parts) => new Map(parts.map((x) => [x.partition, { high: Number(x.high), low: Number(x.low) }])),
        )
      watermarks.set(topic, p)
    }
    return p
  }
  const out: LagValue[] = []
  for (const group of ids.sort()) {
    const committed = await admin.fetchOffsets({ groupId: group })
    for (const t of committed) {
      let marks: Map<number, { high: number; low: number }>
      try {
        marks = await topicOffsets(t.topic)
      } catch {
        continue // the topic was deleted since the group committed on it
      }
      for (const p of t.partitions) {
        const m = marks.get(p.partition)
        if (!m) continue
        const offset = Number(p.offset)
        const lag = offset >= 0 ? Math.max(0, m.high - offset) : Math.max(0, m.high - m.low)
        out.push({ group, topic: t.topic, partition: p.partition, lag })
      }
    }
  }
  return out
}
