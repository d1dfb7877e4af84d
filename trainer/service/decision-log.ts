/**
 * The trainer's decision log in ClickHouse (`retrain_triggers`): every trigger's decision under its
 * id, written before the trigger's offset is committed, so a redelivered trigger causes nothing;
 * and what a restarted service recovers from it and from `training_runs`.
 */
import { type ClickHouseClient, chTime, queryRows } from '../../lib/clickhouse/index.ts'
import { TABLES } from '../../lib/warehouse/index.ts'
import type { Trigger, TriggerDecision, TriggerKind } from './policy.ts'

/** The decision already logged for a trigger id, or null. */
export async function decidedBefore(ch: ClickHouseClient, id: string): Promise<TriggerDecision | null> {
  const rows = await queryRows<{ decision: string }>(
    ch,
    `SELECT decision FROM ${TABLES.retrainTriggers} FINAL WHERE trigger_id = {id:String}`,
    { id },
  )
  return (rows[0]?.decision as TriggerDecision | undefined) ?? null
}

export async function recordDecision(
  ch: ClickHouseClient,
  t: Trigger,
  decision: TriggerDecision,
  runId: string,
  detail: string,
): Promise<void> {
  await ch.insert({
    table: TABLES.retrainTriggers,
    format: 'JSONEachRow',
    values: [
      {
        trigger_id: t.id,
        model_name: t.modelName,
        kind: t.kind,
        decision,
        run_id: runId,
        source_topic: t.source?.topic ?? '',
        source_partition: t.source?.partition ?? -1,
        source_offset: t.source ? Number(t.source.offset) : -1,
        detail,
        decided_at: chTime(Date.now()),
      },
    ],
  })
}

export interface Recovered {
  /** Start of the last automatic run (ms, 0 = none): the cooldown clock. */
  lastAutoRunAt: number
  /** Labelled rows the last run saw: the data-volume baseline. */
  labelledBaseline: number
  /** Accepted triggers whose run never finished (a crash), oldest first. */
  unfinished: Array<Trigger & { runId: string }>
}

export async function recover(ch: ClickHouseClient, modelName: string): Promise<Recovered> {
  const last = await queryRows<{ auto_started: number | null; streamed: number | null }>(
    ch,
    `SELECT toUnixTimestamp64Milli(maxIf(started_at, trigger IN ('drift', 'data_volume'))) AS auto_started,
            argMax(JSONExtractInt(dataset_json, 'streamedRows'), started_at) AS streamed
     FROM ${TABLES.trainingRuns} FINAL WHERE model_name = {model:String}`,
    { model: modelName },
  )
  const unfinished = await queryRows<{
    trigger_id: string
    kind: string
    model_name: string
    run_id: string
    detail: string
  }>(
    ch,
    `SELECT trigger_id, kind, model_name, run_id, detail FROM ${TABLES.retrainTriggers} FINAL
     WHERE model_name = {model:String} AND decision = 'accepted' ORDER BY decided_at`,
    { model: modelName },
  )
  return {
    lastAutoRunAt: Number(last[0]?.auto_started ?? 0),
    labelledBaseline: Number(last[0]?.streamed ?? 0),
    unfinished: unfinished.map((u) => ({
      id: u.trigger_id,
      kind: u.kind as TriggerKind,
      modelName: u.model_name,
      reason: `${u.detail} (resumed)`,
      runId: u.run_id,
    })),
  }
}
