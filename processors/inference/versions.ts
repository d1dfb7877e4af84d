/**
 * Which model version inference serves: pure rules over the compacted model-versions topic
 * (lib/registry/topic.ts), read in offset order. Keys per model: the serving slot `<model>`, the
 * shadow slot `<model>#shadow`, and `<model>#v<n>` for other stage changes (never read here).
 */
/** The fields of a ModelVersion event these rules look at. */
export interface VersionEventLike {
  eventId: string
  modelName: string
  version: number
  stage: string
  artifactSha256: string
  shadow: boolean
  /** The signed sequence (verified before the rules run). */
  seq: number
}

/** Where in the event sequence a slot currently is. */
export interface VersionCursor {
  eventId: string
  version: number
  artifactSha256: string
  seq: number
  /** Topic offset of the event (decimal string). */
  offset: string
}

export type Slot = 'serving' | 'shadow' | 'other'

/** Which slot a record key addresses for `modelName` (keys of other models are 'other'). */
export function slotOfKey(key: string | null, modelName: string): Slot {
  if (key === modelName) return 'serving'
  if (key === `${modelName}#shadow`) return 'shadow'
  return 'other'
}

export type IgnoreReason =
  | 'other-model'
  | 'other-slot'
  | 'not-production'
  | 'duplicate'
  | 'older'
  | 'same-as-serving'
  | 'already-empty'

export type ServingDecision =
  | { action: 'load' }
  /** Newer event for the version already served: move the cursor, keep the scorer. */
  | { action: 'advance' }
  | { action: 'ignore'; reason: IgnoreReason }

export type ShadowDecision =
  | { action: 'load' }
  | { action: 'advance' }
  | { action: 'clear' }
  | { action: 'ignore'; reason: IgnoreReason }

/** True when `event` comes strictly after `cursor` in the signed event sequence. */
export function isNewer(
  cursor: VersionCursor,
  event: Pick<VersionEventLike, 'seq'>,
  _offset?: string,
): boolean {
  return event.seq > cursor.seq
}

/**
 * A record on the serving slot (`event` null = tombstone):
 *  1. Only a `production` event changes what is served; anything else there (a demotion with no
 *     replacement, a tombstone) is ignored: the last good version keeps scoring patients.
 *  2. A duplicate (the eventId served from) is a no-op.
 *  3. An event at or below the current signed sequence (`seq`, lib/model/signing.ts) is refused:
 *     a re-published old event gets a newer offset, so neither the offset nor a free timestamp
 *     may decide the order.
 *  4. Otherwise it is applied, even for a LOWER version number: a rollback is a newer production
 *     event pointing at an older version.
 *  5. A newer event for the version already served (same version and sha256) only advances.
 * A refused artifact (corrupt, missing) does not move the cursor; a redelivery is tried again.
 */
export function decideServing(
  cursor: VersionCursor | null,
  event: VersionEventLike | null,
  offset: string,
  modelName: string,
): ServingDecision {
  if (event === null) return { action: 'ignore', reason: 'not-production' }
  if (event.modelName !== modelName) return { action: 'ignore', reason: 'other-model' }
  if (event.stage !== 'production') return { action: 'ignore', reason: 'not-production' }
  if (cursor === null) return { action: 'load' }
  if (event.eventId === cursor.eventId) return { action: 'ignore', reason: 'duplicate' }
  if (!isNewer(cursor, event, offset)) return { action: 'ignore', reason: 'older' }
  if (event.version === cursor.version && event.artifactSha256 === cursor.artifactSha256)
    return { action: 'advance' }
  return { action: 'load' }
}

/**
 * A record on the shadow slot: a `candidate` with `shadow: true` means "shadow-score this
 * version"; anything else there empties the slot. Duplicates and older events are no-ops as for
 * the serving slot; a shadow of the version already served is ignored. `cursor` is the shadow being scored (null = none),
 * `lastSeen` the newest event applied to the slot (also after a clear, so an older "shadow
 * this" replayed after a "stop shadowing" stays a no-op), `servingVersion` what is served.
 */
export function decideShadow(
  cursor: VersionCursor | null,
  lastSeen: VersionCursor | null,
  event: VersionEventLike | null,
  offset: string,
  modelName: string,
  servingVersion: number | null,
): ShadowDecision {
  if (event !== null && event.modelName !== modelName) return { action: 'ignore', reason: 'other-model' }
  if (event !== null && lastSeen !== null) {
    if (event.eventId === lastSeen.eventId) return { action: 'ignore', reason: 'duplicate' }
    if (!isNewer(lastSeen, event, offset)) return { action: 'ignore', reason: 'older' }
  }
  const wantsShadow = event !== null && event.stage === 'candidate' && event.shadow
  if (!wantsShadow)
    return cursor === null ? { action: 'ignore', reason: 'already-empty' } : { action: 'clear' }
  if (event.version === servingVersion)
    return cursor === null ? { action: 'ignore', reason: 'same-as-serving' } : { action: 'clear' }
  if (cursor !== null && event.version === cursor.version && event.artifactSha256 === cursor.artifactSha256) {
    return { action: 'advance' }
  }
  return { action: 'load' }
}

export function cursorOf(event: VersionEventLike, offset: string): VersionCursor {
  return {
    eventId: event.eventId,
    version: event.version,
    artifactSha256: event.artifactSha256,
    seq: event.seq,
    offset,
  }
}
