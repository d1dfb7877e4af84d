/**
 * Monitoring segments: the slices of traffic that are watched on their own beside the whole
 * population, so a shift in one clinic or one age group is not averaged away. One home for the
 * segment families, the age bands and the segment keys that the monitors write and the API reads.
 *
 * A key is `<family>=<value>`; the whole population's rows carry none. The set of values of a
 * family is capped per model version (a producer inventing source systems must not create
 * unbounded state): past the cap, events go to `<family>=other`, and the overflow is counted. A
 * value is admitted only once it has been seen `minEvents` times (SEGMENT_MIN_EVENTS), so values
 * sent once each cannot take the slots of the real ones; until then its events go to 'other'.
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

/**
 * Values awaiting admission tracked per family and version. A real source system with more than
 * about 1/1024 of its version's traffic is seen again long before 1024 other new values arrive,
 * so it keeps its place however many one-off values flood the table. Values have at most 64
 * characters (MAX_SOURCE_LENGTH): a full table takes about 300 KB of heap and 73 KB of checkpoint.
 */
export const SEGMENT_CANDIDATES_PER_FAMILY = 1024

/**
 * Event counts of at most `capacity` values; when full, a new value takes the place of the least
 * recently seen one, which is forgotten (its count starts again if it comes back). O(1) per event.
 *
 * Least recently seen, not first inserted (lib/events/bounded-map.ts forgets the oldest insert):
 * a real value interleaved with a flood of new ones is seen again every few events, so it stays,
 * whereas a first-in-first-out table would forget it after `capacity` new values however often it
 * was seen. The recency order is a doubly linked list over slot indices, so neither a hit nor an
 * eviction iterates the map.
 */
export class CandidateCounts {
  private readonly slots = new Map<string, number>()
  private readonly values: string[] = []
  private readonly counts: number[] = []
  private readonly prev: Int32Array
  private readonly next: Int32Array
  /** Least and most recently seen slots (-1 when empty). */
  private head = -1
  private tail = -1
  private readonly free: number[] = []
  /** Values forgotten to make room, since the table was created. */
  forgotten = 0

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`capacity must be ≥ 1, not ${capacity}`)
    this.prev = new Int32Array(capacity)
    this.next = new Int32Array(capacity)
  }

  get size(): number {
    return this.slots.size
  }

  /** Counts one event of `value` (the most recently seen now) and returns its count. */
  hit(value: string): number {
    const s = this.slots.get(value)
    if (s !== undefined) {
      this.unlink(s)
      this.append(s)
      return ++this.counts[s]!
    }
    this.put(value, 1)
    return 1
  }

  delete(value: string): void {
    const s = this.slots.get(value)
    if (s === undefined) return
    this.unlink(s)
    this.slots.delete(value)
    this.free.push(s)
  }

  /** Values and counts, least recently seen first (`put` in this order rebuilds the same table). */
  entries(): [string, number][] {
    const out: [string, number][] = []
    for (let s = this.head; s !== -1; s = this.next[s]!) out.push([this.values[s]!, this.counts[s]!])
    return out
  }

  /** Adds `value` with `count` as the most recently seen (restore; the value must be absent). */
  put(value: string, count: number): void {
    let s: number
    if (this.slots.size >= this.capacity) {
      s = this.head
      this.unlink(s)
      this.slots.delete(this.values[s]!)
      this.forgotten++
    } else s = this.free.pop() ?? this.slots.size
    this.values[s] = value
    this.counts[s] = count
    this.slots.set(value, s)
    this.append(s)
  }

  private append(s: number): void {
    this.prev[s] = this.tail
    this.next[s] = -1
    if (this.tail === -1) this.head = s
    else this.next[this.tail] = s
    this.tail = s
  }

  private unlink(s: number): void {
    const p = this.prev[s]!
    const n = this.next[s]!
    if (p === -1) this.head = n
    else this.next[p] = n
    if (n === -1) this.tail = p
    else this.prev[n] = p
  }
}

export interface SegmentCapSnapshot {
  /** Admitted values per family, in admission order. */
  admitted: Record<string, string[]>
  /** Events sent to `<family>=other` because the family was full. */
  overflow: Record<string, number>
  /**
   * Values awaiting admission per family, least recently seen first, with their counts; events
   * sent to 'other' while their value awaited admission; candidates forgotten to make room.
   * Absent in checkpoints written before admission needed support (restored as empty).
   */
  candidates?: Record<string, [string, number][]>
  belowSupport?: Record<string, number>
  forgotten?: Record<string, number>
}

/**
 * The values admitted per family, at most `maxPerFamily` each (the 'other' bucket is not counted
 * in the cap), each once it has been seen `minEvents` times: until then its events go to 'other'
 * and it waits in a table of SEGMENT_CANDIDATES_PER_FAMILY values (least recently seen forgotten
 * first). Once a family is full its table is dropped: nothing more can be admitted. An admitted
 * value stays for the version's life. Deterministic in the input order, and checkpointed with
 * the candidates' counts, so a restart admits exactly what an uninterrupted run does.
 */
export class SegmentCap {
  private readonly admitted = new Map<string, Set<string>>()
  private readonly candidates = new Map<string, CandidateCounts>()
  readonly overflow: Record<string, number> = {}
  /** Events sent to 'other' while their value had been seen fewer than `minEvents` times. */
  readonly belowSupport: Record<string, number> = {}
  /** Candidates forgotten per family (the table was full: many values seen rarely, e.g. a flood). */
  private readonly forgottenBefore: Record<string, number> = {}

  constructor(
    readonly maxPerFamily: number,
    readonly minEvents = 1,
    readonly candidatesPerFamily = SEGMENT_CANDIDATES_PER_FAMILY,
  ) {}

  /** The key an event of `family` with `value` goes to. */
  keyFor(family: SegmentFamily, value: string): string {
    let set = this.admitted.get(family)
    if (!set) {
      set = new Set()
      this.admitted.set(family, set)
    }
    if (set.has(value)) return segmentKey(family, value)
    if (value === OTHER_SEGMENT || set.size >= this.maxPerFamily) {
      this.overflow[family] = (this.overflow[family] ?? 0) + 1
      return segmentKey(family, OTHER_SEGMENT)
    }
    if (this.minEvents > 1) {
      const table = this.candidatesOf(family)
      if (table.hit(value) < this.minEvents) {
        this.belowSupport[family] = (this.belowSupport[family] ?? 0) + 1
        return segmentKey(family, OTHER_SEGMENT)
      }
      table.delete(value)
    }
    set.add(value)
    if (set.size >= this.maxPerFamily) this.dropCandidates(family)
    return segmentKey(family, value)
  }

  /** Values awaiting admission in `family` (for tests and status). */
  candidateCount(family: SegmentFamily): number {
    return this.candidates.get(family)?.size ?? 0
  }

  /** Candidates of `family` forgotten to make room so far. */
  forgotten(family: SegmentFamily): number {
    return (this.forgottenBefore[family] ?? 0) + (this.candidates.get(family)?.forgotten ?? 0)
  }

  snapshot(): SegmentCapSnapshot {
    const forgotten: Record<string, number> = {}
    for (const f of new Set([...Object.keys(this.forgottenBefore), ...this.candidates.keys()])) {
      const n = this.forgotten(f as SegmentFamily)
      if (n > 0) forgotten[f] = n
    }
    return {
      admitted: Object.fromEntries([...this.admitted].map(([f, s]) => [f, [...s]])),
      overflow: { ...this.overflow },
      candidates: Object.fromEntries([...this.candidates].map(([f, t]) => [f, t.entries()])),
      belowSupport: { ...this.belowSupport },
      forgotten,
    }
  }

  restore(s: SegmentCapSnapshot): void {
    this.admitted.clear()
    this.candidates.clear()
    for (const [f, values] of Object.entries(s.admitted)) this.admitted.set(f, new Set(values))
    Object.assign(this.overflow, s.overflow)
    Object.assign(this.belowSupport, s.belowSupport ?? {})
    Object.assign(this.forgottenBefore, s.forgotten ?? {})
    for (const [f, entries] of Object.entries(s.candidates ?? {})) {
      if (entries.length === 0) continue
      const table = this.candidatesOf(f)
      for (const [value, count] of entries) table.put(value, count)
    }
  }

  private candidatesOf(family: string): CandidateCounts {
    let table = this.candidates.get(family)
    if (!table) {
      table = new CandidateCounts(this.candidatesPerFamily)
      this.candidates.set(family, table)
    }
    return table
  }

  private dropCandidates(family: string): void {
    const table = this.candidates.get(family)
    if (!table) return
    this.forgottenBefore[family] = (this.forgottenBefore[family] ?? 0) + table.forgotten
    this.candidates.delete(family)
  }
}
