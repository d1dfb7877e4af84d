/**
 * A requestId names one payload for good. `payloadDigest` is what a requestId stands for
 * (patient id, event time, the eight features); `RecentRequests` remembers the digests of the
 * most recent request ids (bounded, oldest forgotten first) so a consumer can tell a
 * redelivery or an idempotent repeat (same digest: fine) from a reuse of someone else's
 * requestId with another payload (conflict: dead-lettered, never allowed to overwrite the
 * earlier prediction row or label join). The API answers such a reuse with 409.
 */
import { createHash } from 'node:crypto'
import { FEATURES } from '../features/index.ts'
import { BoundedMap } from './bounded-map.ts'

export interface PayloadFields {
  patientId: unknown
  eventTime: unknown
  [feature: string]: unknown
}

/** Digest of what a requestId stands for (22 base64url characters). */
export function payloadDigest(p: PayloadFields): string {
  const parts = [String(p.patientId), String(p.eventTime), ...FEATURES.map((f) => String(p[f] ?? null))]
  return createHash('sha256').update(parts.join('\u0000')).digest('base64url').slice(0, 22)
}

export type RequestCheck = 'new' | 'same' | 'conflict'

export class RecentRequests {
  private readonly digests: BoundedMap<string, string>
  constructor(maxEntries = 100_000) {
    this.digests = new BoundedMap(maxEntries)
  }

  /** Records `requestId → digest` unless it conflicts with what is remembered. */
  check(requestId: string, digest: string): RequestCheck {
    const known = this.digests.get(requestId)
    if (known !== undefined) return known === digest ? 'same' : 'conflict'
    this.digests.set(requestId, digest)
    return 'new'
  }

  get size(): number {
    return this.digests.size
  }
}
