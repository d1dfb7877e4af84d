/**
 * Fixed-time monitor runs whose outputs are pinned by golden files: the engine's window rows and
 * drift events for four scenarios, and one checkpoint taken mid-stream. `make.ts` writes the
 * files; refactor.test.ts checks that the engine still produces exactly these outputs and that
 * it resumes from the pinned checkpoint (a checkpoint written by an earlier build).
 */
import { createHash } from 'node:crypto'
import { configWith } from '../../../../lib/config/index.ts'
import { FEATURES } from '../../../../lib/features/index.ts'
import { buildReference, DRIFT_GRID_BINS, type ReferenceDistribution } from '../../../../lib/stats/index.ts'
import type { MonitoredArtifact } from '../../../../processors/monitors/drift/columns.ts'
import { MonitorEngine } from '../../../../processors/monitors/engine/engine.ts'
import type { DriftEventRecord, WindowRow } from '../../../../processors/monitors/engine/types.ts'
import { PIMA, pimaArtifact, pimaStream, type Scenario, type StreamItem, score, T0 } from '../streams.ts'

/** A fixed day (2025-01-01 UTC), so the pinned outputs do not depend on when the test runs. */
export const FIXED_T0 = 1_735_689_600_000

export const DRIFT = {
  ...configWith({}).drift,
  window: 250,
  evalEvery: 50,
  minWindow: 100,
  timeWindowsMs: [60_000, 300_000],
}

function withFine(a: MonitoredArtifact): MonitoredArtifact {
  const features: Record<string, ReferenceDistribution> = {}
  for (const f of FEATURES)
    features[f] = buildReference(
      PIMA.rows.map((r) => r[f]),
      DRIFT_GRID_BINS.ks,
    )
  return {
    ...a,
    reference: {
      ...a.reference,
      fine: { features, probability: buildReference(PIMA.rows.map(score), DRIFT_GRID_BINS.ks) },
    },
  }
}

export const ARTIFACT = withFine(pimaArtifact())

export const SCENARIOS: Record<string, Scenario> = {
  stable: { kind: 'stable' },
  glucose: { kind: 'glucose_shift', at: 3000, sds: 1 },
  concept: { kind: 'concept_flip', at: 3000, share: 0.4 },
  missing: { kind: 'missing_burst', at: 3000, feature: 'insulin', share: 0.5 },
}
export const EVENTS = 8000
export const CHECKPOINT_AT = 4321

/** The scenario's stream with its times moved to FIXED_T0. */
export function* fixedStream(name: string): Generator<StreamItem> {
  const shift = FIXED_T0 - T0
  for (const item of pimaStream({
    n: EVENTS,
    seed: `golden-${name}`,
    scenario: SCENARIOS[name]!,
    labelDelay: 40,
  })) {
    if (item.type === 'prediction')
      yield {
        type: 'prediction',
        value: {
          ...item.value,
          eventTime: Number(item.value.eventTime) + shift,
          scoredAt: Number(item.value.scoredAt) + shift,
        },
      }
    else
      yield { type: 'outcome', value: { ...item.value, labelledAt: Number(item.value.labelledAt) + shift } }
  }
}

export function newEngine(): MonitorEngine {
  return new MonitorEngine({ modelName: 'diabetes-risk', drift: DRIFT, artifactFor: () => ARTIFACT })
}

export function feed(
  engine: MonitorEngine,
  items: StreamItem[],
): { rows: WindowRow[]; events: DriftEventRecord[] } {
  for (const it of items) {
    if (it.type === 'prediction') engine.onPrediction(it.value)
    else engine.onOutcome(it.value)
  }
  return engine.takeOutputs()
}

/**
 * Digest of the whole population's outputs in emission order. Left out: rows of `skipMetrics`
 * (drift statistics and estimate metrics added since the files were written), the label join's
 * counters (subject 'label_join', owned by the join in performance/, which has its own restart
 * tests) and the segments' rows and events (lib/segments, added since).
 */
export function digest(
  out: { rows: WindowRow[]; events: DriftEventRecord[] },
  skipMetrics: ReadonlySet<string> = new Set(),
) {
  const h = createHash('sha256')
  let rows = 0
  for (const r of out.rows) {
    if ((r.monitor === 'drift' || r.monitor === 'estimate') && skipMetrics.has(r.metric)) continue
    if (r.subject === 'label_join') continue
    if (r.segment !== undefined) continue
    rows++
    h.update(JSON.stringify(r))
  }
  let events = 0
  for (const e of out.events) {
    if (e.kind.startsWith('segment_')) continue
    events++
    // An added statistic also appears in drift events' evidence, beside the alarm statistic.
    const evidence = JSON.parse(e.evidenceJson)
    for (const m of skipMetrics) delete evidence[m]
    h.update(JSON.stringify({ ...e, evidenceJson: JSON.stringify(evidence) }))
  }
  return { rows, events, sha256: h.digest('hex') }
}
