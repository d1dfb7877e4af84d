/**
 * Monitoring segments: the slices of traffic that are watched on their own beside the whole
 * population, so a shift in one clinic or one age group is not averaged away. One home for the
 * segment families, the age bands and the segment keys that the monitors write and the API reads.
 *
 * A key is `<family>=<value>`; the whole population's rows carry none. The set of values of a
 * family is capped per model version (a producer inventing source systems must not create
 * unbounded state): past the cap, events go to `<family>=other`, and the overflow is counted.
 */

/** Segment families, in the order their keys are produced. */
export const SEGMENT_FAMILIES = ['source', 'age'] as const
export type SegmentFamily = (typeof SEGMENT_FAMILIES)[number]

/**
 * Whether a family's segments run the drift rule against the model's reference. An age band's
 * age (and everything correlated with age) differs from the whole training population by
 * construction, so age bands only estimate performance; a source system is compared with the
 * reference like the whole population is.
 */
export const SEGMENT_FAMILY_DRIFT: Readonly<Record<SegmentFamily, boolean>> = { source: true, age: false }

/**
 * Age bands in years, each below its `upper` bound: '<30' (the Pima cohort is 21–81, more than half
 * of it under 30), ten-year bands up to '60+', and 'unknown' for a missing age.
 */
const AGE_BANDS = [
  { name: '<30', upper: 30 },
  { name: '30-39', upper: 40 },
  { name: '40-49', upper: 50 },
  { name: '50-59', upper: 60 },
  { name: '60+', upper: Number.POSITIVE_INFINITY },
] as const

export function ageBand(age: number | null | undefined): string {
  if (age === null || age === undefined || !Number.isFinite(age)) return 'unknown'
  for (const b of AGE_BANDS) if (age < b.upper) return b.name
  return AGE_BANDS[AGE_BANDS.length - 1]!.name
}

/** Source system of a prediction that did not carry one (older producers). */
const UNKNOWN_SOURCE = 'unknown'
/** The bucket of a family's values past its cap. */
export const OTHER_SEGMENT = 'other'

export function segmentKey(family: SegmentFamily, value: string): string {
  return `${family}=${value}`
}

/** The family of a segment key. */
export function segmentFamily(key: string): SegmentFamily {
  return key.slice(0, key.indexOf('=')) as SegmentFamily
}

/** The uncapped segment value of each family for one prediction. */
export function segmentValues(p: {
  sourceSystem?: string | null
  age?: number | null
}): Record<SegmentFamily, string> {
  const source = p.sourceSystem?.trim()
  return { source: source ? source : UNKNOWN_SOURCE, age: ageBand(p.age) }
}

/**
 * Shadow (challenger) versions are monitored apart from the champion rows of the same version
 * number: their rows and alarms carry this key (the 'lane' is not a family of the champion's
 * traffic: nothing is split by it). Its alarms are segment kinds, so no retrain follows them.
 */
export const LANE_FAMILY = 'lane'
export const SHADOW_SEGMENT = `${LANE_FAMILY}=shadow`
/**
 * Shadow versions monitored at once: the shadow slot holds one version, so two covers a switch
 * (the previous shadow's in-flight predictions) without keeping every past challenger's state.
 */
export const MAX_SHADOW_VERSIONS = 2

export interface SegmentCapSnapshot {
  /** Admitted values per family, in admission order. */
  admitted: Record<string, string[]>
  /** Events sent to `<family>=other` because the family was full. */
  overflow: Record<string, number>
}

/**
 * The values admitted per family, at most `maxPerFamily` each (first come, first admitted; the
 * 'other' bucket is not counted in the cap). Deterministic in the input order, and checkpointed.
 */
export class SegmentCap {
  private readonly admitted = new Map<string, Set<string>>()
  readonly overflow: Record<string, number> = {}

  constructor(readonly maxPerFamily: number) {}

  /** The key an event of `family` with `value` goes to. */
  keyFor(family: SegmentFamily, value: string): string {
    let set = this.admitted.get(family)
    if (!set) {
      set = new Set()
      this.admitted.set(family, set)
    }
    if (set.has(value)) return segmentKey(family, value)
    if (value !== OTHER_SEGMENT && set.size < this.maxPerFamily) {
      set.add(value)
      return segmentKey(family, value)
    }
    this.overflow[family] = (this.overflow[family] ?? 0) + 1
    return segmentKey(family, OTHER_SEGMENT)
  }

  snapshot(): SegmentCapSnapshot {
    return {
      admitted: Object.fromEntries([...this.admitted].map(([f, s]) => [f, [...s]])),
      overflow: { ...this.overflow },
    }
  }

  restore(s: SegmentCapSnapshot): void {
    this.admitted.clear()
    for (const [f, values] of Object.entries(s.admitted)) this.admitted.set(f, new Set(values))
    Object.assign(this.overflow, s.overflow)
  }
}
