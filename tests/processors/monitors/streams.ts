/**
 * Seeded synthetic streams from the Pima data for the monitor tests and benchmark: rows are
 * resampled with replacement (so the stable stream has exactly the reference distribution in
 * expectation), scored by a small fixed logistic model, and each scenario perturbs the rows or
 * labels from a given event index. Outcomes follow their prediction `labelDelay` events later.
 */
import seedrandom from 'seedrandom'
import { configWith } from '../../../lib/config/index.ts'
import { loadPima } from '../../../lib/data/pima.ts'
import { FEATURES, type FeatureVector } from '../../../lib/features/index.ts'
import { buildReference, classificationMetrics } from '../../../lib/stats/index.ts'
import type { MonitoredArtifact } from '../../../processors/monitors/drift/columns.ts'
import type { MonitorEngine } from '../../../processors/monitors/engine/engine.ts'
import type { OutcomeEvent, PredictionEvent } from '../../../processors/monitors/sink/rows.ts'
import { toModelMetrics } from '../../../trainer/pipeline/train.ts'

/**
 * Start of yesterday (UTC): derived from now because consumers refuse event times more than
 * EVENT_TIME_MAX_AGE_MS old (lib/events/domain.ts); day-aligned, so time windows line up.
 */
export const T0 = Math.floor(Date.now() / 86_400_000) * 86_400_000 - 86_400_000
export const EVENT_SPACING_MS = 100

const pima = loadPima(configWith({}).data.pimaCsvPath)
export const PIMA = pima

const MEANS: Record<string, number> = { glucose: 121.7, bmi: 32.5, age: 33.2, diabetesPedigreeFunction: 0.47 }
/** Fixed logistic score (not trained: it only has to be a plausible, deterministic model). */
export function score(v: FeatureVector): number {
  const g = v.glucose ?? MEANS.glucose!
  const b = v.bmi ?? MEANS.bmi!
  const a = v.age ?? MEANS.age!
  const d = v.diabetesPedigreeFunction ?? MEANS.diabetesPedigreeFunction!
  const z = -9.0 + 0.037 * g + 0.09 * b + 0.02 * a + 0.95 * d
  return 1 / (1 + Math.exp(-z))
}

export const glucoseSd = (() => {
  const xs = pima.rows.map((r) => r.glucose).filter((x): x is number => x !== null)
  const m = xs.reduce((s, x) => s + x, 0) / xs.length
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1))
})()

/**
 * Artifact fields the monitors use, built from the same data the streams resample. With
 * `psiNull` (the default, as the trainer builds them) the references carry the calibration of
 * their PSI thresholds; without it they look like an older artifact's (analytic thresholds).
 */
export function pimaArtifact(threshold = 0.5, opts: { psiNull?: boolean } = {}): MonitoredArtifact {
  const psiNull = opts.psiNull ?? true
  const probs = pima.rows.map(score)
  const m = classificationMetrics(pima.labels, probs, threshold)
  const features: Record<string, ReturnType<typeof buildReference>> = {}
  for (const f of FEATURES)
    features[f] = buildReference(
      pima.rows.map((r) => r[f]),
      10,
      { psiNull },
    )
  return {
    threshold,
    reference: { features, probability: buildReference(probs, 10, { psiNull }) },
    metrics: toModelMetrics(m),
  }
}

export type Scenario =
  | { kind: 'stable' }
  | { kind: 'glucose_shift'; at: number; sds: number }
  | { kind: 'aging'; at: number; years: number }
  | { kind: 'concept_flip'; at: number; share: number }
  | { kind: 'missing_burst'; at: number; feature: (typeof FEATURES)[number]; share: number }

export type StreamItem =
  | { type: 'prediction'; value: PredictionEvent }
  | { type: 'outcome'; value: OutcomeEvent }

export interface StreamOptions {
  n: number
  seed: string
  scenario: Scenario
  modelName?: string
  modelVersion?: number
  labelDelay?: number
  /** Share of predictions that never get an outcome. */
  unlabelled?: number
}

/** Yields predictions and (delayed) outcomes in stream order. */
export function* pimaStream(o: StreamOptions): Generator<StreamItem> {
  const rng = seedrandom.alea(o.seed)
  const delay = o.labelDelay ?? 20
  const pendingLabels: { requestId: string; outcome: number; at: number }[] = []
  const s = o.scenario
  for (let k = 0; k < o.n; k++) {
    const i = Math.floor(rng() * pima.rows.length)
    const v = { ...pima.rows[i]! }
    let label = pima.labels[i]!
    if (s.kind === 'glucose_shift' && k >= s.at && v.glucose !== null) v.glucose += s.sds * glucoseSd
    if (s.kind === 'aging' && k >= s.at && v.age !== null) v.age += s.years
    if (s.kind === 'missing_burst' && k >= s.at && rng() < s.share) v[s.feature] = null
    const flip = rng()
    if (s.kind === 'concept_flip' && k >= s.at && flip < s.share) label = 1 - label
    const p = score(v)
    const t = T0 + k * EVENT_SPACING_MS
    const requestId = `${o.seed}-${k}`
    yield {
      type: 'prediction',
      value: {
        requestId,
        patientId: `p${i}`,
        modelName: o.modelName ?? 'diabetes-risk',
        modelVersion: o.modelVersion ?? 1,
        probability: p,
        label: p >= 0.5 ? 1 : 0,
        threshold: 0.5,
        eventTime: t,
        scoredAt: t + 5,
        shadow: false,
        ...v,
      },
    }
    if (rng() >= (o.unlabelled ?? 0)) pendingLabels.push({ requestId, outcome: label, at: t })
    while (pendingLabels.length > 0 && pendingLabels[0]!.at <= t - delay * EVENT_SPACING_MS) {
      const l = pendingLabels.shift()!
      yield {
        type: 'outcome',
        value: { requestId: l.requestId, outcome: l.outcome, labelledAt: t, source: 'test' },
      }
    }
  }
}

/**
 * Feeds `items` once to a fresh engine, and once split at `cut` with a JSON round trip of the
 * checkpoint between the halves, so a test can compare the two runs.
 */
export function runWithRestart<T, R>(
  make: () => MonitorEngine,
  run: (e: MonitorEngine, items: T[]) => R,
  items: T[],
  cut: number,
): { whole: R; before: R; after: R } {
  const whole = run(make(), items)
  const first = make()
  const before = run(first, items.slice(0, cut))
  const resumed = make()
  resumed.restore(JSON.parse(JSON.stringify(first.snapshot())))
  return { whole, before, after: run(resumed, items.slice(cut)) }
}
