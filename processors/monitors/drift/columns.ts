/**
 * How one prediction becomes a vector of bin slots, the only thing the windows store.
 *
 * Column layout (per model version, from its artifact's reference distributions):
 *   0..7   the 8 features, binned on the artifact's reference edges (lib/stats binIndex:
 *          open outer bins, a value equal to an edge goes in the lower bin, missing in its
 *          own last slot), so window counts line up slot-for-slot with reference shares;
 *   8      the predicted probability, on the probability reference;
 *   9..16  one out-of-range flag per feature (slot 0 = in range or missing, 1 = outside the
 *          FEATURE_SPECS bounds), so data-quality counts ride the same O(1) windows.
 */
import { FEATURE_SPECS, FEATURES, type FeatureName } from '../../../lib/features/index.ts'
import type { ModelArtifact } from '../../../lib/model/types.ts'
import { binIndex, binSlots, type ReferenceDistribution } from '../../../lib/stats/index.ts'

/** Subject name of the probability column in rows and events. */
export const PROBABILITY = '__probability'

export type MonitoredArtifact = Pick<ModelArtifact, 'threshold' | 'reference' | 'metrics'>

export interface ColumnLayout {
  /** Names of the drift columns (8 features + probability), in column order. */
  driftSubjects: string[]
  refs: ReferenceDistribution[]
  /** Slots per column, for all 17 columns. */
  slots: number[]
  columns: number
}

export const N_FEATURES = FEATURES.length
export const PROB_COL = N_FEATURES
export const OOR_BASE = N_FEATURES + 1

export function columnLayout(artifact: MonitoredArtifact): ColumnLayout {
  const refs = FEATURES.map((f) => {
    const r = artifact.reference.features[f]
    if (!r) throw new Error(`artifact has no reference distribution for ${f}`)
    return r
  })
  refs.push(artifact.reference.probability)
  const slots = [...refs.map((r) => binSlots(r)), ...FEATURES.map(() => 2)]
  return { driftSubjects: [...FEATURES, PROBABILITY], refs, slots, columns: slots.length }
}

const SPECS = FEATURE_SPECS

/** Writes the slot of every column for one prediction into `out` (length layout.columns). */
export function binEvent(
  layout: ColumnLayout,
  features: Record<FeatureName, number | null | undefined>,
  probability: number,
  out: Uint16Array,
): void {
  for (let f = 0; f < N_FEATURES; f++) {
    const spec = SPECS[f]!
    const x = features[spec.name] ?? null
    out[f] = binIndex(layout.refs[f]!.edges, x)
    out[OOR_BASE + f] = x !== null && !Number.isNaN(x) && (x < spec.min || x > spec.max) ? 1 : 0
  }
  out[PROB_COL] = binIndex(layout.refs[PROB_COL]!.edges, probability)
}
