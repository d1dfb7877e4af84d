/**
 * Watches a run from outside its processes: every prediction on the topic (when it was
 * produced, per partition, and what it said per request) and which member of a consumer group
 * owns which partitions. Recovery after a kill is read from the predictions themselves: the
 * time until every partition has one produced after it.
 */
import { type Admin, AssignerProtocol, type Consumer } from 'kafkajs'
import type { PredictionEvent } from '../../../lib/events/index.ts'
import type { Deps } from '../../../lib/runtime/index.ts'
import { uniqueId, waitFor } from '../../helpers/index.ts'

export interface PredictionWatch {
  /** Producer timestamps (ms) of the predictions seen, per partition. */
  seen: Map<number, number[]>
  /** requestId → the distinct predictions (model version and probability) it received. */
  byRequest: Map<string, Set<string>>
  /** Prediction records read (redelivered duplicates included). */
  records(): number
  /**
   * ms from `since` until every partition had a prediction produced after it; undefined while
   * some partition has none yet.
   */
  resumedAfter(since: number): number | undefined
  stop(): Promise<void>
}

/** Reads the predictions topic from the beginning with a throw-away group (never commits). */
export async function watchPredictions(deps: Deps): Promise<PredictionWatch> {
  const partitions = deps.config.topics.partitions
  const seen = new Map<number, number[]>()
  for (let p = 0; p < partitions; p++) seen.set(p, [])
  const byRequest = new Map<string, Set<string>>()
  let records = 0
  const consumer: Consumer = deps.kafka.consumer({ groupId: uniqueId('watch-'), maxWaitTimeInMs: 100 })
  await consumer.connect()
  await consumer.subscribe({ topic: deps.topics.predictions, fromBeginning: true })
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      const list = seen.get(batch.partition)!
      for (const m of batch.messages) {
        list.push(Number(m.timestamp))
        const { value } = await deps.serde.decode<PredictionEvent>(m.value, 'Prediction')
        const said = `v${value.modelVersion} p=${value.probability}`
        const set = byRequest.get(value.requestId) ?? new Set<string>()
        set.add(said)
        byRequest.set(value.requestId, set)
        records++
      }
    },
  })
  return {
    seen,
    byRequest,
    records: () => records,
    resumedAfter(since) {
      let worst = 0
      for (const list of seen.values()) {
        const first = list.find((t) => t > since)
        if (first === undefined) return undefined
        worst = Math.max(worst, first - since)
      }
      return worst
    },
    stop: () => consumer.disconnect(),
  }
}

/** Member id → partitions of `topic` it owns, once the group is Stable with `members` members. */
export async function groupAssignment(
  admin: Admin,
  groupId: string,
  topic: string,
  members: number,
  timeoutMs = 60_000,
): Promise<Map<string, number[]>> {
  return waitFor(
    async () => {
      const { groups } = await admin.describeGroups([groupId])
      const g = groups[0]
      if (g?.state !== 'Stable' || g.members.length !== members) return undefined
      const out = new Map<string, number[]>()
      for (const m of g.members) {
        const a = AssignerProtocol.MemberAssignment.decode(m.memberAssignment)
        out.set(
          m.memberId,
          [...(a?.assignment[topic] ?? [])].sort((x, y) => x - y),
        )
      }
      return out
    },
    { timeoutMs, intervalMs: 200, message: `group ${groupId} stable with ${members} member(s)` },
  )
}
