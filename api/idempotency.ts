/**
 * Idempotent scoring by client-chosen requestId. A requestId names one payload for good:
 *  - the same requestId with the same payload (patientId, eventTime, features) answers the
 *    prediction already made, and nothing is scored or published again;
 *  - the same requestId with a different payload is refused with 409 IDEMPOTENCY_CONFLICT,
 *    so a client can never overwrite another request's prediction row or outcome join.
 * Recent ids are held in memory (bounded, oldest evicted); older ones are found in the
 * predictions table (the monitors' raw sink), compared by the same payload digest.
 */

import { BoundedMap } from '../lib/events/bounded-map.ts'
import type { ScoredPrediction } from './responses.ts'

/** The answer a prediction gets (the declared `ScoredPrediction` response shape). */
export type StoredPrediction = ScoredPrediction

export { payloadDigest } from '../lib/events/idempotency.ts'

export interface IdempotencyStore {
  get(requestId: string): { digest: string; answer: StoredPrediction } | undefined
  set(requestId: string, digest: string, answer: StoredPrediction): void
  readonly size: number
}

export function createIdempotencyStore(maxEntries = 100_000): IdempotencyStore {
  const m = new BoundedMap<string, { digest: string; answer: StoredPrediction }>(maxEntries)
  return {
    get: (id) => m.get(id),
    set: (id, digest, answer) => m.set(id, { digest, answer }),
    get size() {
      return m.size
    },
  }
}

export const riskLevel = (p: number): ScoredPrediction['risk_level'] =>
  p >= 0.7 ? 'high' : p >= 0.3 ? 'medium' : 'low'
