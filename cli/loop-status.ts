/**
 * What the demo prints and the end-to-end test asserts: the state of the whole loop, read from
 * ClickHouse (the same tables people query with SQL).
 */
import { type ClickHouseClient, queryRows } from '../lib/clickhouse/index.ts'
import { FEATURE_COLUMNS, FEATURES, type FeatureVector, toRow } from '../lib/features/index.ts'
import { createScorer } from '../lib/model/index.ts'
import type { ModelRegistry } from '../lib/registry/index.ts'
import { ALARM_STATISTIC, bandOf } from '../lib/stats/index.ts'
import { PROBABILITY_SUBJECT, TABLES, VIEWS } from '../lib/warehouse/index.ts'

export interface LoopStatus {
  predictions: number
  labelled: number
  productionVersion: number | null
  versionsServed: { version: number; predictions: number }[]
  latestPsi: { feature: string; psi: number; band: string; version: number }[]
  accuracy: { version: number; value: number; labels: number } | null
  alerts: { kind: string; count: number }[]
  glucoseDriftEvents: number
  runs: {
    trigger: string
    status: string
    version: number | null
    gatePassed: boolean
    gateReasons: string[]
  }[]
  dlq: number
  /** The decisions about production of the runs after the initial model, oldest first. */
  decisions: { version: number | null; decision: string; reason: string }[]
}

/** Live accuracy of one version on labelled requests, with a 95 % Wilson interval. */
export interface LiveAccuracy {
  version: number
  labelled: number
  accuracy: number
  low: number
  high: number
}

/** `sinceVersion`: only drift events of this version or later count (earlier runs share the tables). */
export async function loopStatus(
  ch: ClickHouseClient,
  modelName: string,
  sinceVersion = 0,
): Promise<LoopStatus> {
  const p = { m: modelName, v: sinceVersion }
  const [counts] = await queryRows<{ predictions: number; labelled: number; dlq: number }>(
    ch,
    `SELECT
       (SELECT count() FROM ${TABLES.predictions} FINAL WHERE model_name = {m:String}) AS predictions,
       (SELECT count() FROM ${TABLES.outcomes} FINAL) AS labelled,
       (SELECT count() FROM ${TABLES.dlqRecords}) AS dlq`,
    p,
  )
  const served = await queryRows<{ version: number; predictions: number }>(
    ch,
    `SELECT model_version AS version, count() AS predictions FROM ${TABLES.predictions} FINAL
     WHERE model_name = {m:String} GROUP BY version ORDER BY version`,
    p,
  )
  const [prod] = await queryRows<{ version: number }>(
    ch,
    `SELECT argMax(version, at) AS version FROM ${TABLES.modelStageEvents}
     WHERE model_name = {m:String} AND stage = 'production' HAVING count() > 0`,
    p,
  )
  // The alarm statistic (PSI) of the newest version's latest sliding window; its band from lib/stats.
  const latestPsi = await queryRows<{ feature: string; psi: number; version: number }>(
    ch,
    `SELECT subject AS feature, value AS psi, model_version AS version FROM ${VIEWS.latestDrift}
     WHERE model_name = {m:String} AND metric = {stat:String}
       AND model_version = (SELECT max(model_version) FROM ${VIEWS.latestDrift} WHERE model_name = {m:String})
     ORDER BY feature`,
    { ...p, stat: ALARM_STATISTIC.name },
  )
  const [accuracy] = await queryRows<{ version: number; value: number; labels: number }>(
    ch,
    `SELECT model_version AS version, argMaxIf(value, window_id, metric = 'accuracy') AS value, argMax(window_size, window_id) AS labels
     FROM ${TABLES.monitorWindows} FINAL
     WHERE model_name = {m:String} AND monitor = 'performance' AND window_type = 'sliding'
     GROUP BY model_version ORDER BY model_version DESC LIMIT 1`,
    p,
  )
  const alerts = await queryRows<{ kind: string; count: number }>(
    ch,
    `SELECT kind, count() AS count FROM ${TABLES.driftEvents} FINAL WHERE model_name = {m:String} GROUP BY kind ORDER BY kind`,
    p,
  )
  const [glucose] = await queryRows<{ n: number }>(
    ch,
    `SELECT count() AS n FROM ${TABLES.driftEvents} FINAL WHERE model_name = {m:String} AND kind = 'data_drift' AND has(features, 'glucose') AND model_version >= {v:UInt32}`,
    p,
  )
  const runs = await queryRows<{
    trigger: string
    status: string
    version: number | null
    gate_passed: number
    gate_reasons: string[]
  }>(
    ch,
    `SELECT trigger, status, version, gate_passed, gate_reasons FROM ${TABLES.trainingRuns} FINAL WHERE model_name = {m:String} ORDER BY started_at`,
    p,
  )
  const decisions = await queryRows<{ version: number | null; decision: string; reason: string }>(
    ch,
    `SELECT candidate_version AS version, decision, reason FROM ${TABLES.promotionDecisions} FINAL
     WHERE model_name = {m:String} AND decision IN ('promoted', 'not_promoted') ORDER BY decided_at`,
    p,
  )
  return {
    decisions: decisions.map((d) => ({ ...d, version: d.version === null ? null : Number(d.version) })),
    predictions: Number(counts?.predictions ?? 0),
    labelled: Number(counts?.labelled ?? 0),
    dlq: Number(counts?.dlq ?? 0),
    productionVersion: prod ? Number(prod.version) : null,
    versionsServed: served.map((s) => ({ version: Number(s.version), predictions: Number(s.predictions) })),
    latestPsi: latestPsi.map((r) => ({
      ...r,
      psi: Number(r.psi),
      band: bandOf(ALARM_STATISTIC, Number(r.psi)),
      version: Number(r.version),
    })),
    accuracy: accuracy
      ? { version: Number(accuracy.version), value: Number(accuracy.value), labels: Number(accuracy.labels) }
      : null,
    alerts: alerts.map((a) => ({ kind: a.kind, count: Number(a.count) })),
    glucoseDriftEvents: Number(glucose?.n ?? 0),
    runs: runs.map((r) => ({
      trigger: r.trigger,
      status: r.status,
      version: r.version === null ? null : Number(r.version),
      gatePassed: Number(r.gate_passed) === 1,
      gateReasons: r.gate_reasons ?? [],
    })),
  }
}

/**
 * The initial and the promoted version scored on the same labelled requests: those that arrived
 * after the glucose shift was first detected (the end of the first window that flagged it), the
 * traffic the retrain was for. Both models come from the registry's artifacts, so the comparison
 * is paired and does not depend on which version happened to serve which request. Null when no
 * such drift event exists yet.
 */
export async function liveAccuracyAfterShift(
  ch: ClickHouseClient,
  registry: Pick<ModelRegistry, 'loadArtifact' | 'getVersion'>,
  modelName: string,
  versions: readonly number[],
): Promise<LiveAccuracy[] | null> {
  const p = { m: modelName, v: versions[0] ?? 0 }
  const [shift] = await queryRows<{ at: string }>(
    ch,
    `SELECT toString(min(window_end)) AS at FROM ${TABLES.driftEvents} FINAL
     WHERE model_name = {m:String} AND kind = 'data_drift' AND has(features, 'glucose') AND model_version = {v:UInt32}
     HAVING count() > 0`,
    p,
  )
  if (!shift) return null
  const columns = FEATURES.map((f) => `p.${FEATURE_COLUMNS[f]} AS ${f}`).join(', ')
  const rows = await queryRows<FeatureVector & { outcome: number }>(
    ch,
    `SELECT ${columns}, o.outcome AS outcome
     FROM (SELECT * FROM ${TABLES.predictions} FINAL
           WHERE model_name = {m:String} AND event_time > toDateTime64({at:String}, 3, 'UTC')) AS p
     INNER JOIN (SELECT request_id, outcome FROM ${TABLES.outcomes} FINAL) AS o ON p.request_id = o.request_id`,
    { ...p, at: shift.at },
  )
  const out: LiveAccuracy[] = []
  for (const version of new Set(versions)) {
    const row = await registry.getVersion(modelName, version)
    if (!row) continue
    const artifact = await registry.loadArtifact({
      modelName,
      version,
      artifact: null,
      artifactSha256: row.artifactSha256,
    })
    const scorer = createScorer(artifact.model, artifact.preprocessing)
    let correct = 0
    for (const r of rows) {
      const label = scorer.scoreOne(toRow(r)) >= artifact.threshold ? 1 : 0
      if (label === Number(r.outcome)) correct++
    }
    out.push({ version, ...wilson(correct, rows.length) })
  }
  return out
}

/** Wilson score interval (95 %) of a proportion: honest at small counts, unlike the normal one. */
export function wilson(correct: number, n: number): Omit<LiveAccuracy, 'version'> {
  if (n === 0) return { labelled: 0, accuracy: Number.NaN, low: 0, high: 1 }
  const z = 1.959964
  const p = correct / n
  const d = 1 + (z * z) / n
  const centre = (p + (z * z) / (2 * n)) / d
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d
  return { labelled: n, accuracy: p, low: Math.max(0, centre - half), high: Math.min(1, centre + half) }
}

/** The loop closed: glucose drift was detected, a retrain promoted a newer version, and inference serves it. */
export function loopClosed(s: LoopStatus, initialVersion: number): boolean {
  const newer = s.productionVersion !== null && s.productionVersion > initialVersion
  const served = s.versionsServed.some((v) => v.version === s.productionVersion && v.predictions > 0)
  return s.glucoseDriftEvents > 0 && newer && served
}

export function formatStatus(s: LoopStatus, rate: number): string {
  const psi = s.latestPsi
    .map(
      (r) =>
        `${r.feature === PROBABILITY_SUBJECT ? 'prob' : r.feature}=${r.psi.toFixed(2)}${r.band === 'significant' ? '!!' : r.band === 'moderate' ? '!' : ''}`,
    )
    .join(' ')
  const acc = s.accuracy
    ? `${s.accuracy.value.toFixed(3)} (v${s.accuracy.version}, ${s.accuracy.labels} labels)`
    : 'n/a'
  const alerts = s.alerts.map((a) => `${a.kind}:${a.count}`).join(' ') || 'none'
  const retrains =
    s.runs.map((r) => `${r.trigger}→${r.status}${r.version ? ` v${r.version}` : ''}`).join(', ') || 'none'
  return [
    `predictions ${s.predictions} (${rate.toFixed(0)}/s), labelled ${s.labelled}, DLQ ${s.dlq} | production v${s.productionVersion ?? '-'} | served ${s.versionsServed.map((v) => `v${v.version}:${v.predictions}`).join(' ')}`,
    `  PSI ${psi || 'n/a'}`,
    `  accuracy ${acc} | alerts ${alerts}`,
    `  runs ${retrains}`,
  ].join('\n')
}
