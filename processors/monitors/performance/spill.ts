/**
 * The label join's overflow to ClickHouse. Capacity follows the label delay (LABEL_JOIN_TTL_MS),
 * not a count: past the in-memory budget (LABEL_JOIN_MAX_PENDING) the oldest pending predictions
 * go to `label_join_spill`, and come back when their label arrives.
 */
import type { ClickHouseClient } from '../../../lib/clickhouse/index.ts'
import { queryRows } from '../../../lib/clickhouse/index.ts'
import { RiskStreamError } from '../../../lib/errors/index.ts'
import { TABLES } from '../../../lib/warehouse/index.ts'
import type { WindowRow } from '../engine/types.ts'
import { chSeconds } from '../sink/encode.ts'
import type { OutcomeEvent } from '../sink/rows.ts'
import type { LabelJoin, PendingPrediction } from './join.ts'
import { PENDING_PREDICTION_SELECT, type PendingPredictionRow, pendingPrediction } from './pending-rows.ts'

/** The spill table (migrations/040). */
const LABEL_JOIN_SPILL_TABLE = TABLES.labelJoinSpill

const SPILL_COLUMNS = [
  'group_id',
  'generation',
  'request_id',
  'model_version',
  'probability',
  'label',
  'event_time',
  'state',
  'version',
] as const

type SpillState = 'pending' | 'restored' | 'expired'

/** Request ids per lookup query (a Kafka batch rarely holds more labels). */
const LOOKUP_CHUNK = 10_000

export interface LabelSpillOptions {
  client: ClickHouseClient
  join: LabelJoin
  /** The consumer group: two monitor groups on one model keep separate spills. */
  groupId: string
  modelName: string
  ttlMs: number
  /** Predictions kept in memory (LABEL_JOIN_MAX_PENDING). */
  budget: number
  /** The engine's event-time clock. */
  clock: () => number
  /** Makes the raw prediction rows processed so far durable (the pipeline buffers them). */
  flushPredictions: () => Promise<void>
}

/**
 * The pipeline calls, per Kafka batch: beforeOutcomes() (one lookup for the batch's labels whose
 * prediction is not in memory: spilled ones are put back, so the engine joins them exactly as an
 * unbounded in-memory join would), afterOutcome() per label, afterBatch() (spill over the budget);
 * and beforeCheckpoint() (spilled predictions past the TTL are counted as expired, so a
 * checkpoint's counts never depend on where the batches ended).
 *
 * A label that finds its prediction neither in memory nor spilled, while the prediction was
 * processed (its raw row is in `predictions`), is counted at once: `late` when the prediction is
 * past its TTL on the join's clock, else `duplicate` (an earlier label joined it). Either way it
 * leaves the join, so after a restart (which rebuilds only outcomes without a processed
 * prediction) it is not counted again.
 */
export class LabelSpill {
  /** Predictions waiting in ClickHouse (or about to be written there). */
  pending = 0
  /** Spilled rows written so far (cumulative for this process). */
  spilledTotal = 0
  /**
   * The process start: a restart rebuilds every pending prediction into memory from
   * `predictions`, so rows of older generations are never read again.
   */
  readonly generation = Date.now()
  /** Orders one request's rows (ReplacingMergeTree keeps the newest); grows per written row. */
  private version = Date.now() * 1000
  /** No pending spilled prediction is older than this (skips the expiry query until the TTL reaches it). */
  private oldestPending = Number.POSITIVE_INFINITY
  /** Spilled but not yet acknowledged by ClickHouse: looked up here first. */
  private readonly unsaved = new Map<string, PendingPrediction>()
  /** This batch: request → event time and version of its processed prediction (pending or not). */
  private readonly known = new Map<string, { t: number; version: number }>()

  constructor(private readonly o: LabelSpillOptions) {
    o.join.enableSpill(o.budget)
  }

  /** Before an outcome batch reaches the engine: puts back the spilled predictions its labels need. */
  async beforeOutcomes(outcomes: readonly OutcomeEvent[]): Promise<void> {
    this.known.clear()
    const join = this.o.join
    const missing = new Set<string>()
    for (const o of outcomes) {
      const p = join.predictions.get(o.requestId)
      // Known too: a second label in this batch finds it joined (or expired) by then.
      if (p) this.known.set(o.requestId, { t: p.eventTime, version: p.modelVersion })
      else missing.add(o.requestId)
    }
    if (missing.size === 0) return
    // Same rule as the in-memory join: a prediction older than this is already expired there.
    const horizon = this.o.clock() - this.o.ttlMs
    const restored: [string, PendingPrediction][] = []
    for (const id of missing) {
      const p = this.unsaved.get(id)
      if (p && p.eventTime >= horizon) {
        this.unsaved.delete(id)
        restored.push([id, p])
      }
    }
    if (this.pending > restored.length) {
      const ids = [...missing].filter((id) => !this.unsaved.has(id))
      const rows = await this.queryByIds<PendingPredictionRow>(
        `SELECT ${PENDING_PREDICTION_SELECT}
           FROM ${LABEL_JOIN_SPILL_TABLE} FINAL
          WHERE group_id = {g:String} AND generation = {gen:UInt64} AND state = 'pending'
            AND request_id IN {ids:Array(String)} AND toUnixTimestamp64Milli(event_time) >= {h:Int64}`,
        ids,
        { g: this.o.groupId, gen: this.generation, h: horizon },
      )
      for (const r of rows) restored.push(pendingPrediction(this.o.modelName, r))
    }
    if (restored.length > 0) {
      // Marked first: a restored row must never be found (and joined) a second time.
      await this.write(restored, 'restored')
      for (const [id, p] of restored) {
        join.restorePrediction(id, p)
        this.known.set(id, { t: p.eventTime, version: p.modelVersion })
        missing.delete(id)
      }
      this.pending -= restored.length
    }
    if (missing.size === 0) return
    // Labels whose prediction was processed but is no longer pending (joined, or expired): its
    // raw row must be durable before the lookup can tell "processed" from "not yet seen".
    await this.o.flushPredictions()
    const seen = await this.queryByIds<{ request_id: string; t: number; v: number }>(
      `SELECT request_id, toUnixTimestamp64Milli(event_time) AS t, model_version AS v FROM ${TABLES.predictions} FINAL
        WHERE model_name = {m:String} AND request_id IN {ids:Array(String)}`,
      [...missing],
      { m: this.o.modelName },
    )
    for (const r of seen) this.known.set(r.request_id, { t: Number(r.t), version: Number(r.v) })
  }

  /**
   * After the engine took one outcome: a label left waiting although its prediction was processed
   * (joined with an earlier label, or expired) can never join; it leaves, counted.
   */
  afterOutcome(o: OutcomeEvent): void {
    const p = this.known.get(o.requestId)
    if (p === undefined || !this.o.join.outcomes.has(o.requestId)) return
    this.o.join.discardOutcome(
      o.requestId,
      p.t < this.o.clock() - this.o.ttlMs ? 'late' : 'duplicate',
      p.version,
    )
  }

  /**
   * After a batch: the oldest predictions over the budget go to ClickHouse. A failed write keeps
   * them in `unsaved` (still found by lookups) and is retried here and before the checkpoint.
   */
  async afterBatch(): Promise<void> {
    const out = this.o.join.takeSpill()
    for (const [id, p] of out) {
      this.unsaved.set(id, p)
      if (p.eventTime < this.oldestPending) this.oldestPending = p.eventTime
    }
    this.pending += out.length
    this.spilledTotal += out.length
    await this.flush().catch(() => undefined)
  }

  /**
   * Before a checkpoint: unsaved rows written, and spilled predictions past the TTL counted as
   * expired (marked, so never counted twice). Returns the spill's rows for `monitor_windows`.
   */
  async beforeCheckpoint(windowId: number, windowWidth: number): Promise<WindowRow[]> {
    await this.flush()
    const clock = this.o.clock()
    const horizon = clock - this.o.ttlMs
    if (this.pending > 0 && horizon > this.oldestPending) {
      const rows = await this.query<PendingPredictionRow>(
        `SELECT ${PENDING_PREDICTION_SELECT}
           FROM ${LABEL_JOIN_SPILL_TABLE} FINAL
          WHERE group_id = {g:String} AND generation = {gen:UInt64} AND state = 'pending'
            AND toUnixTimestamp64Milli(event_time) < {h:Int64}`,
        { g: this.o.groupId, gen: this.generation, h: horizon },
      )
      if (rows.length > 0) {
        const expired = rows.map((r) => pendingPrediction(this.o.modelName, r))
        await this.write(expired, 'expired')
        for (const [, p] of expired) this.o.join.lose('expiredPredictions', p.modelVersion)
        this.pending -= rows.length
      }
      this.oldestPending = horizon
    }
    // No served prediction or label seen yet (a first checkpoint after only shadow scores): no
    // count to report, and no time for its row (epoch 0 is not a DateTime ClickHouse parses back).
    if (clock === 0) return []
    const s = this.o.join.stats
    const values: [string, number][] = [
      ['late_outcomes', s.lateOutcomes],
      ['duplicate_outcomes', s.duplicateOutcomes],
      ['spilled_predictions', this.pending],
    ]
    return values.map(([metric, value]) => ({
      modelName: this.o.modelName,
      modelVersion: 0,
      monitor: 'quality',
      windowType: 'sliding',
      windowWidth,
      windowId,
      windowStart: clock,
      windowEnd: clock,
      windowSize: this.o.join.predictions.size,
      subject: 'label_join',
      metric,
      value,
    }))
  }

  private async flush(): Promise<void> {
    if (this.unsaved.size === 0) return
    const rows = [...this.unsaved]
    await this.write(rows, 'pending')
    // Entries restored while the write was in flight are already gone from `unsaved`.
    for (const [id, p] of rows) if (this.unsaved.get(id) === p) this.unsaved.delete(id)
  }

  private async write(rows: [string, PendingPrediction][], state: SpillState): Promise<void> {
    const values = rows.map(([id, p]) => [
      this.o.groupId,
      this.generation,
      id,
      p.modelVersion,
      p.probability,
      p.label,
      chSeconds(p.eventTime),
      state,
      ++this.version,
    ])
    try {
      await this.o.client.insert({
        table: LABEL_JOIN_SPILL_TABLE,
        columns: [...SPILL_COLUMNS],
        values,
        format: 'JSONCompactEachRow',
      })
    } catch (err) {
      throw new RiskStreamError('CLICKHOUSE_UNAVAILABLE', `insert into ${LABEL_JOIN_SPILL_TABLE} failed`, {
        cause: err,
        retriable: true,
      })
    }
  }

  /** One query per LOOKUP_CHUNK ids (`{ids:Array(String)}` in `sql`): bounded parameter size. */
  private async queryByIds<T>(sql: string, ids: string[], params: Record<string, unknown>): Promise<T[]> {
    const out: T[] = []
    for (let i = 0; i < ids.length; i += LOOKUP_CHUNK)
      for (const r of await this.query<T>(sql, { ...params, ids: ids.slice(i, i + LOOKUP_CHUNK) }))
        out.push(r)
    return out
  }

  private async query<T>(sql: string, params: Record<string, unknown>): Promise<T[]> {
    try {
      return await queryRows<T>(this.o.client, sql, params)
    } catch (err) {
      throw new RiskStreamError('CLICKHOUSE_UNAVAILABLE', `label join spill lookup failed`, {
        cause: err,
        retriable: true,
      })
    }
  }
}
