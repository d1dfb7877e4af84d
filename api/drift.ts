/**
 * The drift verdict of GET /mlops/api/monitoring/drift/check, assembled from what the monitors
 * wrote (the API recomputes no statistic):
 * - data drift: the newest sliding-window PSI per feature (v_latest_psi) of the version
 *   being judged; a feature drifts when its PSI reaches config.drift.threshold.
 * - concept drift: the newest sliding performance window of that version: recent accuracy vs
 *   the accuracy expected from validation; drift when the drop exceeds
 *   config.drift.conceptDropThreshold with at least config.drift.conceptMinLabels labels.
 * The version judged is the production version when the monitors have windows for it, else
 * the newest version that has any (e.g. right after a promotion).
 */
import type { ApiContext } from './context.ts'
import { latestPerformanceWindows, latestPsi } from './queries.ts'

const PROBABILITY = '__probability'

export interface DriftReport {
  model_name: string
  model_version: number | null
  data_drift: {
    drift_detected: boolean
    threshold: number
    feature_psi: Record<string, { psi: number; drift: boolean; band: string }>
    drifted_features: string[]
    prediction_psi: number | null
    window_size: number | null
    window_end: number | null
  }
  concept_drift: {
    drift_detected: boolean
    recent_accuracy: number | null
    expected_accuracy: number | null
    accuracy_drop: number | null
    threshold: number
    labels: number | null
    window_end: number | null
  }
  retraining_recommended: boolean
  reason: string
  checked_at: number
}

export async function driftReport(ctx: ApiContext): Promise<DriftReport> {
  const { config } = ctx
  const [prod, psiRows, perfRows] = await Promise.all([
    ctx.registry.production(ctx.modelName),
    latestPsi(ctx.reader, ctx.modelName),
    latestPerformanceWindows(ctx.reader, ctx.modelName),
  ])
  const versions = new Set([...psiRows.map((r) => r.model_version), ...perfRows.map((r) => r.model_version)])
  const version =
    prod && versions.has(prod.version)
      ? prod.version
      : versions.size > 0
        ? Math.max(...versions)
        : (prod?.version ?? null)

  const threshold = config.drift.threshold
  const featurePsi: DriftReport['data_drift']['feature_psi'] = {}
  let predictionPsi: number | null = null
  let windowSize: number | null = null
  let windowEnd: number | null = null
  for (const r of psiRows) {
    if (r.model_version !== version) continue
    windowSize = Math.max(windowSize ?? 0, r.window_size)
    windowEnd = Math.max(windowEnd ?? 0, r.window_end)
    if (r.feature === PROBABILITY) predictionPsi = r.psi
    else featurePsi[r.feature] = { psi: r.psi, drift: r.psi >= threshold, band: r.band }
  }
  const drifted = Object.entries(featurePsi)
    .filter(([, v]) => v.drift)
    .map(([f]) => f)

  const perf = perfRows.find((r) => r.model_version === version)
  const m = perf?.metrics ?? {}
  const recent = m.accuracy ?? null
  const expected = m.expected_accuracy ?? null
  const drop = m.accuracy_drop ?? (recent !== null && expected !== null ? expected - recent : null)
  const labels = m.labels ?? perf?.window_size ?? null
  const enoughLabels = labels !== null && labels >= config.drift.conceptMinLabels
  const conceptDrift = drop !== null && enoughLabels && drop > config.drift.conceptDropThreshold

  const reasons: string[] = []
  if (drifted.length > 0) reasons.push(`data drift in ${drifted.join(', ')} (PSI ≥ ${threshold})`)
  if (conceptDrift)
    reasons.push(`accuracy dropped by ${drop!.toFixed(3)} (> ${config.drift.conceptDropThreshold})`)
  return {
    model_name: ctx.modelName,
    model_version: version,
    data_drift: {
      drift_detected: drifted.length > 0,
      threshold,
      feature_psi: featurePsi,
      drifted_features: drifted,
      prediction_psi: predictionPsi,
      window_size: windowSize,
      window_end: windowEnd,
    },
    concept_drift: {
      drift_detected: conceptDrift,
      recent_accuracy: recent,
      expected_accuracy: expected,
      accuracy_drop: drop,
      threshold: config.drift.conceptDropThreshold,
      labels,
      window_end: perf?.window_end ?? null,
    },
    retraining_recommended: reasons.length > 0,
    reason:
      reasons.length > 0
        ? reasons.join('; ')
        : psiRows.length === 0 && perfRows.length === 0
          ? 'no monitoring windows yet'
          : 'no drift detected',
    checked_at: ctx.now(),
  }
}
