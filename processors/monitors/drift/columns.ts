/** How one prediction becomes a vector of bin slots, the only thing the windows store. */
import { FEATURE_SPECS, FEATURES, type FeatureName } from '../../../lib/features/index.ts'
import type { ModelArtifact } from '../../../lib/model/types.ts'
import { binIndex, binSlots, type DriftGrid, type ReferenceDistribution } from '../../../lib/stats/index.ts'
import { PROBABILITY_SUBJECT } from '../../../lib/warehouse/index.ts'

/** Subject name of the probability column in rows and events. */
export const PROBABILITY = PROBABILITY_SUBJECT

export type MonitoredArtifact = Pick<ModelArtifact, 'threshold' | 'metrics' | 'reference'>

export interface ColumnLayout {
  /** Names of the drift columns (8 features + probability), in column order. */
  driftSubjects: string[]
  refs: ReferenceDistribution[]
  /** Slots per column, for all columns (17, plus the fine KS columns). */
  slots: number[]
  columns: number
  /** Per grid and drift subject: the column a statistic on that grid reads, and its reference. */
  grids: Record<DriftGrid, { cols: number[]; refs: ReferenceDistribution[] }>
  /** Fine KS columns: column index, source drift column (feature index or PROB_COL), edges. */
  fine: { col: number; src: number; edges: number[] }[]
}

export const N_FEATURES = FEATURES.length
export const PROB_COL = N_FEATURES
export const OOR_BASE = N_FEATURES + 1

/**
 * The column layout of a model version, from its artifact's reference distributions:
 *   0..7   the 8 features, binned on the artifact's reference edges (lib/stats binIndex), so
 *          window counts line up slot-for-slot with reference shares;
 *   8      the predicted probability, on the probability reference;
 *   9..16  one out-of-range flag per feature (slot 0 = in range or missing, 1 = outside the
 *          FEATURE_SPECS bounds), so data-quality counts ride the same O(1) windows;
 *   17..   only when the artifact carries the fine grid (`reference.fine`, lib/stats
 *          GRID_BINS.fine): the drift subjects binned on their fine edges, one column per
 *          subject that has a fine reference.
 * Each registered drift statistic declares its grid: `coarse` ones (PSI) read columns 0..8,
 * `fine` ones (KS, Wasserstein) the fine columns; a subject without a usable fine reference
 * falls back to its 10-bin reference.
 */
export function columnLayout(artifact: MonitoredArtifact): ColumnLayout {
  const refs = FEATURES.map((f) => {
    const r = artifact.reference.features[f]
    if (!r) throw new Error(`artifact has no reference distribution for ${f}`)
    return r
  })
  refs.push(artifact.reference.probability)
  const slots = [...refs.map((r) => binSlots(r)), ...FEATURES.map(() => 2)]
  const fineCols = refs.map((_, c) => c)
  const fineRefs = [...refs]
  const fine: ColumnLayout['fine'] = []
  const fineGrid = artifact.reference.fine
  if (fineGrid) {
    refs.forEach((_, c) => {
      const r = c === PROB_COL ? fineGrid.probability : fineGrid.features?.[FEATURES[c]!]
      if (!usableReference(r)) return
      const col = slots.length
      slots.push(binSlots(r))
      fine.push({ col, src: c, edges: r.edges })
      fineCols[c] = col
      fineRefs[c] = r
    })
  }
  return {
    driftSubjects: [...FEATURES, PROBABILITY],
    refs,
    slots,
    columns: slots.length,
    grids: {
      coarse: { cols: refs.map((_, c) => c), refs },
      fine: { cols: fineCols, refs: fineRefs },
    },
    fine,
  }
}

/** A fine reference we can bin on: increasing finite edges and one share per value bin. */
function usableReference(r: ReferenceDistribution | undefined): r is ReferenceDistribution {
  if (!r || !Array.isArray(r.edges) || !Array.isArray(r.shares)) return false
  if (r.shares.length !== r.edges.length + 1) return false
  for (let i = 0; i < r.edges.length; i++) {
    if (!Number.isFinite(r.edges[i]!) || (i > 0 && !(r.edges[i]! > r.edges[i - 1]!))) return false
  }
  return true
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
  for (const f of layout.fine) {
    const x = f.src === PROB_COL ? probability : (features[SPECS[f.src]!.name] ?? null)
    out[f.col] = binIndex(f.edges, x)
  }
}
