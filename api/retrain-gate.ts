/**
 * The manual retrain queue is bounded to one: while a trigger sent through the API has not
 * been decided by the trainer (a row in retrain_triggers) and is younger than
 * API_RETRAIN_PENDING_MS, further triggers are refused with 429 and counted. Checks run one
 * at a time, so 50 triggers at once queue exactly one retrain.
 */
import { createSerializer } from '../lib/runtime/serialize.ts'

export interface RetrainGate {
  /**
   * Reserves the queue slot for `requestId` (true), or false when one is still pending.
   * `decided(id)` says whether the trainer has picked up an earlier trigger.
   */
  tryQueue(requestId: string, now: number, decided: (id: string) => Promise<boolean>): Promise<boolean>
  /** Frees the slot held by `requestId` (its publish failed). */
  release(requestId: string): void
}

export function createRetrainGate(pendingMs: number): RetrainGate {
  let pending: { requestId: string; at: number } | null = null
  const serialize = createSerializer()
  return {
    tryQueue(requestId, now, decided) {
      return serialize(async () => {
        if (pending && now - pending.at < pendingMs) {
          let done = false
          try {
            done = await decided(pending.requestId)
          } catch {
            done = false // cannot tell: keep the bound
          }
          if (!done) return false
        }
        pending = { requestId, at: now }
        return true
      })
    },
    release(requestId) {
      if (pending?.requestId === requestId) pending = null
    },
  }
}
