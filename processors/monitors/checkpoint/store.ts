/**
 * The monitors' checkpoints in ClickHouse (engine state plus the Kafka offsets it covers), and the
 * rebuild of the label join "as of" a checkpoint from the raw rows. Every query uses server-side
 * parameters.
 */
import { type ClickHouseClient, queryRows } from '../../../lib/clickhouse/index.ts'
import { TABLES } from '../../../lib/warehouse/index.ts'
import type { MonitorEngine } from '../engine/engine.ts'
import {
  PENDING_PREDICTION_SELECT,
  type PendingPredictionRow,
  pendingPrediction,
} from '../performance/pending-rows.ts'
import { insertJsonRows } from '../sink/outputs.ts'

export interface Checkpoint {
  seq: number
  /** `${topic}:${partition}` → next offset to process. */
  offsets: Record<string, string>
  state: unknown
}

export async function loadCheckpoint(client: ClickHouseClient, groupId: string): Promise<Checkpoint | null> {
  const rows = await queryRows<{ checkpoint_seq: number; offsets_json: string; state_json: string }>(
    client,
    `SELECT checkpoint_seq, offsets_json, state_json FROM ${TABLES.monitorCheckpoints} FINAL WHERE group_id = {g:String}`,
    { g: groupId },
  )
  const r = rows[0]
  if (!r) return null
  return {
    seq: Number(r.checkpoint_seq),
    offsets: JSON.parse(r.offsets_json),
    state: JSON.parse(r.state_json),
  }
}

export const saveCheckpoint = (client: ClickHouseClient, groupId: string, cp: Checkpoint) =>
  insertJsonRows(client, TABLES.monitorCheckpoints, [
    {
      group_id: groupId,
      checkpoint_seq: cp.seq,
      offsets_json: JSON.stringify(cp.offsets),
      state_json: JSON.stringify(cp.state),
    },
  ])

function offsetArrays(offsets: Record<string, string>, topic: string): { parts: number[]; offs: number[] } {
  const parts: number[] = []
  // Numbers, not strings: the client would quote strings inside Array(UInt64). Offsets stay
  // far below 2^53 in practice.
  const offs: number[] = []
  for (const [tp, next] of Object.entries(offsets)) {
    const i = tp.lastIndexOf(':')
    if (tp.slice(0, i) !== topic) continue
    parts.push(Number(tp.slice(i + 1)))
    offs.push(Number(next))
  }
  return { parts, offs }
}

/** The two restore calls of a label join (the champion's and the shadow lane's). */
interface RestorableJoin {
  restorePrediction: MonitorEngine['join']['restorePrediction']
  restoreOutcome: MonitorEngine['join']['restoreOutcome']
}

/**
 * Refills the label join as it stood at the checkpoint: predictions processed before it
 * (offset below the checkpoint's next offset for their partition) that had no processed
 * outcome, within the TTL of the engine clock; and processed outcomes without a processed
 * prediction. Works because the same consumer wrote these raw rows before checkpointing.
 * Rows come back in (partition, offset) order, so the rebuilt map is deterministic.
 */
export function rebuildJoin(
  client: ClickHouseClient,
  engine: MonitorEngine,
  offsets: Record<string, string>,
  topics: { predictions: string; outcomes: string },
): Promise<{ predictions: number; outcomes: number }> {
  return refillJoin(client, engine, engine.join, offsets, {
    table: TABLES.predictions,
    predictionsTopic: topics.predictions,
    outcomesTopic: topics.outcomes,
  })
}

/**
 * Refills the shadow lane's label join as it stood at the checkpoint, like rebuildJoin: shadow
 * scores processed before it with no processed outcome, within the TTL; and, while a shadow is
 * monitored (the engine only feeds it outcomes then), processed outcomes with no processed shadow
 * score. Call after engine.restore (it needs the clock and the live shadows).
 */
export async function rebuildShadowJoin(
  client: ClickHouseClient,
  engine: MonitorEngine,
  offsets: Record<string, string>,
  topics: { shadowPredictions: string; outcomes: string },
): Promise<{ predictions: number; outcomes: number }> {
  if (engine.shadowVersions.length === 0) return { predictions: 0, outcomes: 0 }
  return refillJoin(client, engine, engine.shadowJoin, offsets, {
    table: TABLES.shadowPredictions,
    predictionsTopic: topics.shadowPredictions,
    outcomesTopic: topics.outcomes,
  })
}

async function refillJoin(
  client: ClickHouseClient,
  engine: MonitorEngine,
  join: RestorableJoin,
  offsets: Record<string, string>,
  source: { table: string; predictionsTopic: string; outcomesTopic: string },
): Promise<{ predictions: number; outcomes: number }> {
  const p = offsetArrays(offsets, source.predictionsTopic)
  const o = offsetArrays(offsets, source.outcomesTopic)
  const since = engine.clock - engine.opts.drift.labelJoinTtlMs
  const params = { pp: p.parts, po: p.offs, op: o.parts, oo: o.offs, since, model: engine.opts.modelName }
  const processedP =
    'kafka_offset < arrayElement({po:Array(UInt64)}, indexOf({pp:Array(UInt16)}, kafka_partition))'
  const processedO =
    'kafka_offset < arrayElement({oo:Array(UInt64)}, indexOf({op:Array(UInt16)}, kafka_partition))'
  const preds = await queryRows<PendingPredictionRow>(
    client,
    `SELECT ${PENDING_PREDICTION_SELECT}
     FROM ${source.table} FINAL
     WHERE model_name = {model:String} AND ${processedP} AND toUnixTimestamp64Milli(event_time) >= {since:Int64}
       AND request_id NOT IN (SELECT request_id FROM ${TABLES.outcomes} FINAL WHERE ${processedO})
     ORDER BY kafka_partition, kafka_offset`,
    params,
  )
  for (const r of preds) join.restorePrediction(...pendingPrediction(engine.opts.modelName, r))
  const outs = await queryRows<{ request_id: string; outcome: number; t: number }>(
    client,
    `SELECT request_id, outcome, toUnixTimestamp64Milli(labelled_at) AS t
     FROM ${TABLES.outcomes} FINAL
     WHERE ${processedO} AND toUnixTimestamp64Milli(labelled_at) >= {since:Int64}
       AND request_id NOT IN (SELECT request_id FROM ${source.table} FINAL WHERE ${processedP})
     ORDER BY kafka_partition, kafka_offset`,
    params,
  )
  for (const r of outs)
    join.restoreOutcome(r.request_id, { outcome: Number(r.outcome), labelledAt: Number(r.t) })
  return { predictions: preds.length, outcomes: outs.length }
}
