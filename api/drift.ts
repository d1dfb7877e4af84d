/**
 * The drift verdict of GET /mlops/api/monitoring/drift/check (and `riskstream drift-check`, which
 * calls this route): the monitors' OWN latest verdicts as they recorded them, for data drift,
 * concept drift and estimated performance, with the evidence behind each. Nothing is re-decided
 * here from one window.
 */
import { ALARM_STATISTIC, bandOf, MONITOR_STATISTICS } from '../lib/stats/index.ts'
import { PROBABILITY_SUBJECT as PROBABILITY } from '../lib/warehouse/index.ts'
import type { ApiContext } from './context.ts'
import type { AlertRow } from './queries.ts'

const ALARM = ALARM_STATISTIC
/** Display of every monitored statistic, alarm statistic first (the same list for every report). */
const STATISTICS = MONITOR_STATISTICS.map((s) => ({
  name: s.name,
  label: s.display.label,
  description: s.display.description,
  digits: s.display.digits,
  alarm: s === ALARM,
}))
type State = 'ok' | 'pending' | 'alert'
const STATES: readonly State[] = ['ok', 'pending', 'alert']
/** <alarm>_state / concept_state codes written by processors/monitors (STATE_CODE). */
const stateOf = (code: number | undefined): State | null =>
  code === undefined ? null : (STATES[Math.round(code)] ?? null)

interface EventEvidence {
  event_id: string
  severity: string
  features: string[]
  scores: Record<string, number>
  detected_at: number
}

export interface DriftReport {
  model_name: string
  model_version: number | null
  /** Always 'monitors': the verdicts are the monitors' detector states, not recomputed here. */
  decided_by: 'monitors'
  data_drift: {
    drift_detected: boolean
    /** The monitors' verdict; 'no_verdict' when no evaluation with recorded states exists yet. */
    verdict: State | 'no_verdict'
    false_alarm_budget_per_million: number
    /** The monitored statistics (lib/stats/statistics), in display order; `alarm` marks the one the detectors use. */
    statistics: { name: string; label: string; description: string; digits: number; alarm: boolean }[]
    feature_psi: Record<
      string,
      {
        psi: number
        ks: number | null
        /** Every monitored statistic by name (null when the window left it undefined). */
        statistics: Record<string, number | null>
        threshold: number | null
        state: State | null
        drift: boolean
        band: string
      }
    >
    drifted_features: string[]
    pending_features: string[]
    prediction_psi: number | null
    prediction_state: State | null
    window_id: number | null
    window_width: number | null
    window_size: number | null
    window_end: number | null
    last_event: EventEvidence | null
  }
  concept_drift: {
    drift_detected: boolean
    verdict: State | 'no_verdict'
    recent_accuracy: number | null
    expected_accuracy: number | null
    accuracy_drop: number | null
    /** The concept detector's rule: accuracy drop at or above this, with enough labels. */
    threshold: number
    labels: number | null
    window_end: number | null
    last_event: EventEvidence | null
    /** Performance estimated from the served probabilities (no labels needed); null before any window. */
    estimated: {
      accuracy: number | null
      f1: number | null
      roc_auc: number | null
      expected_accuracy: number | null
      events: number
      window_end: number
    } | null
  }
  retraining_recommended: boolean
  reason: string
  checked_at: number
}

function evidence(alerts: AlertRow[], version: number | null): EventEvidence | null {
  const a = alerts.find((x) => x.model_version === version)
  return a
    ? {
        event_id: a.event_id,
        severity: a.severity,
        features: a.features,
        scores: a.scores,
        detected_at: a.detected_at,
      }
    : null
}

/**
 * - data drift: the newest sliding evaluation with recorded detector states: per subject every
 *   monitored statistic of the registry (`statistics`), the alarm statistic's calibrated
 *   threshold (from DRIFT_FALSE_ALARMS_PER_MILLION) and the detector's state (ok / pending /
 *   alert); a feature drifts when its detector is in alert.
 * - concept drift: the newest sliding performance window, recent vs expected accuracy and the
 *   concept detector's state (`concept_state`).
 * - estimated performance: accuracy, F1 and ROC-AUC estimated from the served probabilities
 *   before labels (CBPE; flagged `estimated`, never a verdict by itself).
 * - evidence: the window of each verdict and the newest data_drift / concept_drift event of the version.
 * The version judged is the production version when the monitors have windows for it, else the
 * newest version that has any (e.g. right after a promotion). Windows without recorded detector
 * states carry no verdict: the report says so instead of guessing one.
 */
export async function driftReport(ctx: ApiContext): Promise<DriftReport> {
  const { config } = ctx
  const [prod, verdicts, perfRows, estimates, dataEvents, conceptEvents] = await Promise.all([
    ctx.registry.production(ctx.modelName),
    ctx.warehouse.latestDriftVerdicts(ctx.modelName),
    ctx.warehouse.latestPerformanceWindows(ctx.modelName),
    ctx.warehouse.latestEstimateWindows(ctx.modelName),
    ctx.warehouse.recentAlerts(ctx.modelName, { limit: 20, kind: 'data_drift' }),
    ctx.warehouse.recentAlerts(ctx.modelName, { limit: 20, kind: 'concept_drift' }),
  ])
  const versions = new Set([...verdicts.map((r) => r.model_version), ...perfRows.map((r) => r.model_version)])
  const version =
    prod && versions.has(prod.version)
      ? prod.version
      : versions.size > 0
        ? Math.max(...versions)
        : (prod?.version ?? null)

  const w = verdicts.find((r) => r.model_version === version)
  const featurePsi: DriftReport['data_drift']['feature_psi'] = {}
  let predictionPsi: number | null = null
  let predictionState: State | null = null
  const states: State[] = []
  for (const [subject, m] of Object.entries(w?.subjects ?? {})) {
    const state = stateOf(m[`${ALARM.name}_state`])
    if (state) states.push(state)
    const value = m[ALARM.name]
    if (subject === PROBABILITY) {
      predictionPsi = value ?? null
      predictionState = state
    } else if (value !== undefined) {
      featurePsi[subject] = {
        psi: value,
        ks: m.ks ?? null,
        statistics: Object.fromEntries(MONITOR_STATISTICS.map((s) => [s.name, m[s.name] ?? null])),
        threshold: m[`${ALARM.name}_threshold`] ?? null,
        state,
        drift: state === 'alert',
        band: bandOf(ALARM, value),
      }
    }
  }
  const named = (s: State) =>
    Object.entries(featurePsi)
      .filter(([, v]) => v.state === s)
      .map(([f]) => f)
  const drifted = named('alert')
  const dataVerdict: DriftReport['data_drift']['verdict'] = !w
    ? 'no_verdict'
    : states.includes('alert')
      ? 'alert'
      : states.includes('pending')
        ? 'pending'
        : 'ok'

  const perf = perfRows.find((r) => r.model_version === version)
  const m = perf?.metrics ?? {}
  const recent = m.accuracy ?? null
  const expected = m.expected_accuracy ?? null
  const drop = m.accuracy_drop ?? (recent !== null && expected !== null ? expected - recent : null)
  const labels = m.labels ?? perf?.window_size ?? null
  const conceptState = stateOf(m.concept_state)
  const conceptVerdict = conceptState ?? 'no_verdict'
  const est = estimates.find((r) => r.model_version === version)

  const reasons: string[] = []
  if (dataVerdict === 'alert') {
    const subjects = [...drifted, ...(predictionState === 'alert' ? ['predicted probability'] : [])]
    reasons.push(
      `data drift in ${subjects.join(', ')} (${ALARM.display.label} over its calibrated threshold)`,
    )
  }
  if (conceptVerdict === 'alert')
    reasons.push(
      `accuracy dropped by ${drop?.toFixed(3) ?? '?'} (≥ ${config.drift.conceptDropThreshold}, concept-drift detector in alert)`,
    )
  const noWindows = verdicts.length === 0 && perfRows.length === 0
  return {
    model_name: ctx.modelName,
    model_version: version,
    decided_by: 'monitors',
    data_drift: {
      drift_detected: dataVerdict === 'alert',
      verdict: dataVerdict,
      false_alarm_budget_per_million: config.drift.falseAlarmsPerMillion,
      statistics: STATISTICS,
      feature_psi: featurePsi,
      drifted_features: drifted,
      pending_features: named('pending'),
      prediction_psi: predictionPsi,
      prediction_state: predictionState,
      window_id: w?.window_id ?? null,
      window_width: w?.window_width ?? null,
      window_size: w?.window_size ?? null,
      window_end: w?.window_end ?? null,
      last_event: evidence(dataEvents.alerts, version),
    },
    concept_drift: {
      drift_detected: conceptVerdict === 'alert',
      verdict: conceptVerdict,
      recent_accuracy: recent,
      expected_accuracy: expected,
      accuracy_drop: drop,
      threshold: config.drift.conceptDropThreshold,
      labels,
      window_end: perf?.window_end ?? null,
      last_event: evidence(conceptEvents.alerts, version),
      estimated: est
        ? {
            accuracy: est.metrics.estimated_accuracy ?? null,
            f1: est.metrics.estimated_f1 ?? null,
            roc_auc: est.metrics.estimated_roc_auc ?? null,
            expected_accuracy: est.metrics.expected_accuracy ?? null,
            events: est.window_size,
            window_end: est.window_end,
          }
        : null,
    },
    retraining_recommended: reasons.length > 0,
    reason:
      reasons.length > 0
        ? reasons.join('; ')
        : noWindows
          ? 'no monitoring windows yet'
          : dataVerdict === 'no_verdict' && conceptVerdict === 'no_verdict'
            ? 'the monitors have recorded no verdict yet'
            : 'no drift detected',
    checked_at: ctx.now(),
  }
}
