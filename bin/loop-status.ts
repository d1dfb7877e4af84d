/**
 * What the demo prints and the end-to-end test asserts: the state of the whole loop, read from
 * ClickHouse (the same tables people query with SQL).
 */
import { type ClickHouseClient, queryRows } from '../lib/clickhouse/index.ts'

export interface LoopStatus {
  predictions: number
  labelled: number
  productionVersion: number | null
  versionsServed: { version: number; predictions: number }[]
  latestPsi: { feature: string; psi: number; band: string; version: number }[]
  accuracy: { version: number; value: number; labels: number } | null
  alerts: { kind: string; count: number }[]
  glucoseDriftEvents: number
  runs: { trigger: string; status: string; version: number | null; gatePassed: boolean }[]
  dlq: number
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
       (SELECT count() FROM predictions FINAL WHERE model_name = {m:String}) AS predictions,
       (SELECT count() FROM outcomes FINAL) AS labelled,
       (SELECT count() FROM dlq_records) AS dlq`,
    p,
  )
  const served = await queryRows<{ version: number; predictions: number }>(
    ch,
    `SELECT model_version AS version, count() AS predictions FROM predictions FINAL
     WHERE model_name = {m:String} GROUP BY version ORDER BY version`,
    p,
  )
  const [prod] = await queryRows<{ version: number }>(
    ch,
    `SELECT argMax(version, at) AS version FROM model_stage_events
     WHERE model_name = {m:String} AND stage = 'production' HAVING count() > 0`,
    p,
  )
  const latestPsi = await queryRows<{ feature: string; psi: number; band: string; version: number }>(
    ch,
    `SELECT feature, psi, band, model_version AS version FROM v_latest_psi
     WHERE model_name = {m:String} AND model_version = (SELECT max(model_version) FROM v_latest_psi WHERE model_name = {m:String})
     ORDER BY feature`,
    p,
  )
  const [accuracy] = await queryRows<{ version: number; value: number; labels: number }>(
    ch,
    `SELECT model_version AS version, argMaxIf(value, window_id, metric = 'accuracy') AS value, argMax(window_size, window_id) AS labels
     FROM monitor_windows FINAL
     WHERE model_name = {m:String} AND monitor = 'performance' AND window_type = 'sliding'
     GROUP BY model_version ORDER BY model_version DESC LIMIT 1`,
    p,
  )
  const alerts = await queryRows<{ kind: string; count: number }>(
    ch,
    `SELECT kind, count() AS count FROM drift_events FINAL WHERE model_name = {m:String} GROUP BY kind ORDER BY kind`,
    p,
  )
  const [glucose] = await queryRows<{ n: number }>(
    ch,
    `SELECT count() AS n FROM drift_events FINAL WHERE model_name = {m:String} AND kind = 'data_drift' AND has(features, 'glucose') AND model_version >= {v:UInt32}`,
    p,
  )
  const runs = await queryRows<{
    trigger: string
    status: string
    version: number | null
    gate_passed: number
  }>(
    ch,
    `SELECT trigger, status, version, gate_passed FROM training_runs FINAL WHERE model_name = {m:String} ORDER BY started_at`,
    p,
  )
  return {
    predictions: Number(counts?.predictions ?? 0),
    labelled: Number(counts?.labelled ?? 0),
    dlq: Number(counts?.dlq ?? 0),
    productionVersion: prod ? Number(prod.version) : null,
    versionsServed: served.map((s) => ({ version: Number(s.version), predictions: Number(s.predictions) })),
    latestPsi: latestPsi.map((r) => ({ ...r, psi: Number(r.psi), version: Number(r.version) })),
    accuracy: accuracy
      ? { version: Number(accuracy.version), value: Number(accuracy.value), labels: Number(accuracy.labels) }
      : null,
    alerts: alerts.map((a) => ({ kind: a.kind, count: Number(a.count) })),
    glucoseDriftEvents: Number(glucose?.n ?? 0),
    runs: runs.map((r) => ({
      trigger: r.trigger,
      status: r.status,
      version: r.version === null ? null : Number(r.version),
      gatePassed: r.gate_passed === 1,
    })),
  }
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
        `${r.feature === '__probability' ? 'prob' : r.feature}=${r.psi.toFixed(2)}${r.band === 'significant' ? '!!' : r.band === 'moderate' ? '!' : ''}`,
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
