/**
 * The analytics path of the monitor service without Kafka: raw rows → engine → (every so
 * often) window rows, drift events and a checkpoint. service.ts feeds it Kafka batches and
 * commits offsets when it reports a checkpoint; the benchmark drives it directly.
 */

import { createHash } from 'node:crypto'
import type { ClickHouseClient } from '../../lib/clickhouse/index.ts'
import type { RiskStreamError } from '../../lib/errors/index.ts'
import { TABLES } from '../../lib/warehouse/index.ts'
import { type Checkpoint, saveCheckpoint } from './checkpoint/store.ts'
import type { MonitorEngine } from './engine/engine.ts'
import type { DriftEventRecord, WindowRow } from './engine/types.ts'
import { LabelSpill } from './performance/spill.ts'
import {
  type Cell,
  OUTCOME_COLUMNS,
  outcomeValues,
  PREDICTION_COLUMNS,
  predictionValues,
} from './sink/encode.ts'
import { batchToken, insertCompactIsolating, insertRowsIsolating } from './sink/insert.ts'
import { insertWindowRows } from './sink/outputs.ts'
import { type OutcomeEvent, type PredictionEvent, shadowPredictionRow } from './sink/rows.ts'

/** The parts of a decoded Kafka record the pipeline reads. */
export interface PipelineRecord<T> {
  value: T
  topic: string
  partition: number
  offset: string
}

/**
 * When to checkpoint. Checkpointing every N events / T ms rather than every batch is safe:
 * nothing downstream of a checkpoint is committed before it, and every output between
 * checkpoints is a deterministic function of the input (window ids are event counts, event ids
 * derive from windows, raw rows are keyed by request id), so a crash between two checkpoints
 * replays the records since the last one and rewrites the same rows and events. Window rows and
 * drift events are held until the next checkpoint and written just before it.
 */
export interface CheckpointPolicy {
  /** Checkpoint once this many records went through the engine since the last one. */
  everyEvents: number
  /** … or once this long passed since the last one (with new records). */
  everyMs: number
  /**
   * … or once the consumer is caught up and this long passed since the last one; the
   * service's idle timer checkpoints when no batch follows within this time, so results of
   * the last records never wait for more traffic. Default DEFAULT_CAUGHT_UP_MS.
   */
  caughtUpMs?: number
}

/**
 * WHY not checkpoint on every caught-up batch: at a steady trickle (say 2,000 events/s) every
 * batch is "caught up", and a checkpoint per batch meant a snapshot, a raw insert and a
 * checkpoint insert (three chDB parts) every ~10 ms, competing for the two cores with inference.
 * 250 ms keeps results visible within a quarter second of the last event.
 */
export const DEFAULT_CAUGHT_UP_MS = 250

/**
 * ~20k events ≈ 1–2 s of the benchmark's rate: a crash replays at most that, while the
 * checkpoint (~0.5 MB of JSON) is written a few times per second at most instead of per batch.
 */
export const DEFAULT_CHECKPOINT_POLICY: CheckpointPolicy = {
  everyEvents: 20_000,
  everyMs: 2_000,
  caughtUpMs: DEFAULT_CAUGHT_UP_MS,
}

/** Inserts allowed in flight before handle() waits for the oldest (bounds memory). */
const MAX_INFLIGHT = 2
/** Raw rows per insert (see bufferRaw). */
export const RAW_INSERT_ROWS = 20_000

interface RawBuffer {
  table: typeof TABLES.predictions | typeof TABLES.outcomes
  columns: readonly string[]
  rows: Cell[][]
  /** The record of each row (same index), for dead-lettering a row ClickHouse refuses. */
  sources: PipelineRecord<PredictionEvent | OutcomeEvent>[]
  /** `topic:partition:first-last` of each batch in `rows`. */
  ranges: string[]
}

export interface PipelineOptions {
  client: ClickHouseClient
  engine: MonitorEngine
  groupId: string
  /**
   * `shadowPredictions`: the shadow version's scores, written to shadow_predictions and fed to the
   * engine's shadow monitors (absent: that topic is not read here).
   */
  topics: { predictions: string; outcomes: string; shadowPredictions?: string }
  modelName: string
  /** Loads artifacts of these versions before their predictions reach the engine. */
  ensureArtifacts: (versions: Set<number>) => Promise<void>
  /** Publishes and records drift events (idempotent by event id). */
  publish: (events: DriftEventRecord[]) => Promise<void>
  policy?: CheckpointPolicy
  /**
   * Dead-letters records whose raw row ClickHouse refused (parse or constraint error); the
   * rest of their insert is written and processing goes on. Must resolve once durable.
   */
  deadLetter?: (
    rejected: { record: PipelineRecord<PredictionEvent | OutcomeEvent>; error: RiskStreamError }[],
  ) => Promise<void>
  /** Runs after outputs and raw rows are durable, right before the checkpoint is written (crash tests). */
  beforeCheckpoint?: () => void | Promise<void>
  now?: () => number
  /**
   * The label join's overflow to ClickHouse (performance/spill.ts): predictions kept in memory
   * (`budget`) and the join's TTL. Without it the join evicts over its capacity (counted).
   */
  labelSpill?: { budget: number; ttlMs: number }
}

interface Inflight {
  /** Resolves to the insert's error, or null once acknowledged (never rejects: no unhandled rejections). */
  done: Promise<unknown>
  retry: () => Promise<void>
}

/**
 * Three offset maps per `${topic}:${partition}` (next offset to read), always ordered
 *   committed (Kafka) ≤ durable (last checkpoint) ≤ processed (engine state in memory):
 *  - processed moves with the engine in the same synchronous section, so the in-memory state is
 *    always "engine = f(records below processed)"; a record below it is never fed to the engine
 *    again (a retried or redelivered batch only rewrites its raw rows);
 *  - durable is what the last checkpoint covers; a restart resumes from it;
 *  - committed is only ever set to a durable map (the service commits after a checkpoint), so
 *    Kafka never skips a record no checkpoint covers.
 */
export class AnalyticsPipeline {
  processed: Record<string, string> = {}
  durable: Record<string, string> = {}
  seq = 0
  /** records: every record handled (redelivered ones too); events: records that reached the engine. */
  readonly stats = { batches: 0, records: 0, events: 0, checkpoints: 0 }
  private readonly policy: CheckpointPolicy
  private readonly now: () => number
  private inflight: Inflight[] = []
  private rawPredictions: RawBuffer = {
    table: TABLES.predictions,
    columns: PREDICTION_COLUMNS,
    rows: [],
    sources: [],
    ranges: [],
  }
  private rawOutcomes: RawBuffer = {
    table: TABLES.outcomes,
    columns: OUTCOME_COLUMNS,
    rows: [],
    sources: [],
    ranges: [],
  }
  /** Rows ClickHouse refused and that were dead-lettered (see PipelineOptions.deadLetter). */
  rejectedRows = 0
  private pendingRows: WindowRow[] = []
  private pendingEvents: DriftEventRecord[] = []
  private sinceCheckpoint = 0
  private lastCheckpointAt: number
  /** Set when PipelineOptions.labelSpill is. */
  readonly spill: LabelSpill | undefined

  constructor(private readonly o: PipelineOptions) {
    this.policy = o.policy ?? DEFAULT_CHECKPOINT_POLICY
    this.now = o.now ?? Date.now
    this.lastCheckpointAt = this.now()
    this.spill =
      o.labelSpill &&
      new LabelSpill({
        client: o.client,
        join: o.engine.join,
        groupId: o.groupId,
        modelName: o.modelName,
        ttlMs: o.labelSpill.ttlMs,
        budget: o.labelSpill.budget,
        clock: () => o.engine.clock,
        flushPredictions: async () => {
          this.startRawInsert(this.rawPredictions)
          await this.settleAll()
        },
      })
  }

  /** Resumes from a checkpoint (engine state restored by the caller). */
  restore(cp: Checkpoint): void {
    this.processed = { ...cp.offsets }
    this.durable = { ...cp.offsets }
    this.seq = cp.seq
  }

  /** True when records went through the engine since the last checkpoint. */
  get dirty(): boolean {
    return this.sinceCheckpoint > 0
  }

  /** How long after the last batch the caller should call flushIdle() (see CheckpointPolicy.caughtUpMs). */
  get idleMs(): number {
    return this.policy.caughtUpMs ?? DEFAULT_CAUGHT_UP_MS
  }

  /**
   * One partition's batch (all records from one topic-partition, in offset order). Returns the
   * checkpoint it wrote, if any: the caller may then commit `checkpoint.offsets`.
   * `caughtUp` (the batch reached the partition's end) makes a checkpoint due after
   * `caughtUpMs`; the caller's idle timer (flushIdle) covers a stream that stops right here.
   */
  async handle(
    records: PipelineRecord<PredictionEvent | OutcomeEvent>[],
    caughtUp: boolean,
    batchEnd?: { topic: string; partition: number; offset: string },
  ): Promise<Checkpoint | null> {
    // `batchEnd`: the batch's last offset when records were left out of it (dead-lettered at
    // the edge): the offsets still move past them, so a checkpoint covers them.
    const last = batchEnd ?? records[records.length - 1]
    if (!last) return null
    const tp = `${last.topic}:${last.partition}`
    const isPredictions = last.topic === this.o.topics.predictions
    const isShadow = last.topic === this.o.topics.shadowPredictions
    // Raw rows of EVERY record, including ones the engine already saw: a redelivered batch
    // must still land (same keys and token, so it is a no-op when it already did).
    if (records.length > 0) {
      if (isShadow) this.insertShadowRaw(records)
      else this.bufferRaw(records, isPredictions)
    }
    this.stats.records += records.length

    const done = BigInt(this.processed[tp] ?? '0')
    let from = 0
    while (from < records.length && BigInt(records[from]!.offset) < done) from++
    if (BigInt(last.offset) >= done) {
      if (isPredictions || isShadow) {
        const versions = new Set<number>()
        for (let i = from; i < records.length; i++) {
          const p = records[i]!.value as PredictionEvent
          if (p.modelName === this.o.modelName) versions.add(p.modelVersion)
        }
        await this.o.ensureArtifacts(versions)
      } else if (this.spill)
        await this.spill.beforeOutcomes(records.slice(from).map((r) => r.value as OutcomeEvent))
      // Synchronous from here to the `processed` update: engine and offsets move together.
      const engine = this.o.engine
      if (isShadow)
        for (let i = from; i < records.length; i++)
          engine.onShadowPrediction(records[i]!.value as PredictionEvent)
      else if (isPredictions)
        for (let i = from; i < records.length; i++) engine.onPrediction(records[i]!.value as PredictionEvent)
      else
        for (let i = from; i < records.length; i++) {
          const o = records[i]!.value as OutcomeEvent
          engine.onOutcome(o)
          this.spill?.afterOutcome(o)
        }
      const out = engine.takeOutputs()
      for (const r of out.rows) this.pendingRows.push(r)
      for (const e of out.events) this.pendingEvents.push(e)
      this.processed[tp] = (BigInt(last.offset) + 1n).toString()
      // At least 1, so a batch whose records were all dead-lettered still gets checkpointed.
      this.sinceCheckpoint += Math.max(1, records.length - from)
      this.stats.events += records.length - from
    }
    this.stats.batches++
    await this.spill?.afterBatch()
    // After the engine work, so that work overlapped the insert that is now the newest.
    await this.backpressure()

    const sinceLast = this.now() - this.lastCheckpointAt
    const due =
      this.dirty &&
      ((caughtUp && sinceLast >= this.idleMs) ||
        this.sinceCheckpoint >= this.policy.everyEvents ||
        sinceLast >= this.policy.everyMs)
    if (due) return this.checkpoint()
    return null
  }

  /**
   * The stream went quiet: make everything handled so far durable. A checkpoint when records
   * reached the engine since the last one; else (only redelivered records) their raw rows.
   */
  async flushIdle(): Promise<Checkpoint | null> {
    if (this.dirty) return this.checkpoint()
    this.startRawInsert(this.rawPredictions)
    this.startRawInsert(this.rawOutcomes)
    await this.settleAll()
    return null
  }

  /**
   * Makes everything processed so far durable: raw rows, window rows, drift events, then the
   * checkpoint (engine snapshot + processed offsets). Throws (retriably) if any write fails;
   * the pending work is kept, so the next attempt picks it up.
   */
  async checkpoint(): Promise<Checkpoint> {
    if (this.spill)
      for (const r of await this.spill.beforeCheckpoint(this.seq + 1, this.o.engine.opts.drift.window))
        this.pendingRows.push(r)
    // The label join's losses by version, of the versions counted since the last checkpoint.
    for (const r of this.o.engine.takeLossRows(this.seq + 1)) this.pendingRows.push(r)
    this.startRawInsert(this.rawPredictions)
    this.startRawInsert(this.rawOutcomes)
    if (this.pendingRows.length > 0) {
      // Window rows are keyed deterministically (a rewrite replaces), so they can be in flight
      // next to the raw inserts; settleAll below waits for all of them before the checkpoint.
      const rows = this.pendingRows
      this.pendingRows = []
      this.track(() => insertWindowRows(this.o.client, rows))
    }
    await this.settleAll()
    if (this.pendingEvents.length > 0) {
      await this.o.publish(this.pendingEvents)
      this.pendingEvents = []
    }
    await this.o.beforeCheckpoint?.()
    // Snapshot and offsets are taken together (no await in between), so they match.
    const cp: Checkpoint = {
      seq: this.seq + 1,
      offsets: { ...this.processed },
      state: this.o.engine.snapshot(),
    }
    await saveCheckpoint(this.o.client, this.o.groupId, cp)
    this.seq = cp.seq
    this.durable = cp.offsets
    this.sinceCheckpoint = 0
    this.lastCheckpointAt = this.now()
    this.stats.checkpoints++
    return cp
  }

  /**
   * Appends a batch's raw rows to its table's buffer and starts the insert once the buffer is
   * big enough. chDB pays per insert (a new part, later merged in the background), so a few
   * 20k-row inserts beat many batch-sized ones; the rows only have to be durable before the
   * next checkpoint, which flushes the buffers first. So raw rows may still be buffered or in
   * flight when handle() returns: they are idempotent and kept until acknowledged, and a
   * checkpoint first flushes, waits for (and if needed retries) every one, so no checkpoint,
   * commit or join rebuild counts on a raw row that is not durable. Meanwhile chDB parses them on
   * its own thread while this one decodes and runs the engine on the next batch.
   */
  private bufferRaw(records: PipelineRecord<PredictionEvent | OutcomeEvent>[], isPredictions: boolean): void {
    const buf = isPredictions ? this.rawPredictions : this.rawOutcomes
    const first = records[0]!
    const last = records[records.length - 1]!
    const start = buf.rows.length
    buf.rows.length = start + records.length
    for (const r of records) buf.sources.push(r)
    if (isPredictions)
      for (let i = 0; i < records.length; i++)
        buf.rows[start + i] = predictionValues(records[i]!.value as PredictionEvent, records[i]!)
    else
      for (let i = 0; i < records.length; i++)
        buf.rows[start + i] = outcomeValues(records[i]!.value as OutcomeEvent, records[i]!)
    buf.ranges.push(`${first.topic}:${first.partition}:${first.offset}-${last.offset}`)
    if (buf.rows.length >= RAW_INSERT_ROWS) this.startRawInsert(buf)
  }

  /**
   * A shadow batch's rows (few: one per served request while a shadow is set) go out as one
   * insert with the batch's token, tracked like the buffered ones so a checkpoint waits for them.
   */
  private insertShadowRaw(records: PipelineRecord<PredictionEvent | OutcomeEvent>[]): void {
    const table = TABLES.shadowPredictions
    const first = records[0]!
    const last = records[records.length - 1]!
    const rows = records.map((r) => shadowPredictionRow(r.value as PredictionEvent, r))
    const token = batchToken(table, first.topic, first.partition, first.offset, last.offset)
    this.track(async () => {
      const rejected = await insertRowsIsolating(this.o.client, table, rows, token)
      if (rejected.length === 0) return
      if (!this.o.deadLetter) throw rejected[0]!.error
      await this.o.deadLetter(rejected.map((r) => ({ record: records[r.index]!, error: r.error })))
      this.rejectedRows += rejected.length
    })
  }

  private startRawInsert(buf: RawBuffer): void {
    if (buf.rows.length === 0) return
    const { table, columns, rows, sources } = buf
    // The token names exactly the Kafka records in the insert (like batchToken, for several
    // batches): the same records re-sent as the same insert are dropped by ClickHouse. Other
    // boundaries after a redelivery give another token, and the row keys dedupe them instead.
    // Hashed: a buffer of many small batches would otherwise make a token of kilobytes.
    const token = `${table}:${createHash('sha256').update(buf.ranges.join(',')).digest('hex')}`
    buf.rows = []
    buf.sources = []
    buf.ranges = []
    // Same rows, same token: a retry is deduplicated if the first attempt did land after all.
    // A row ClickHouse refuses is isolated (bisection), dead-lettered, and the rest inserted.
    this.track(async () => {
      const rejected = await insertCompactIsolating(this.o.client, table, columns, rows, token)
      if (rejected.length === 0) return
      if (!this.o.deadLetter) throw rejected[0]!.error
      await this.o.deadLetter(rejected.map((r) => ({ record: sources[r.index]!, error: r.error })))
      this.rejectedRows += rejected.length
    })
  }

  /** Starts an idempotent write and keeps it (with what it needs to be retried) until settled. */
  private track(write: () => Promise<void>): void {
    this.inflight.push({
      done: write().then(
        () => null,
        (err: unknown) => err,
      ),
      retry: write,
    })
  }

  /** Waits for the oldest in-flight insert; a failed one is retried once, then the error propagates. */
  private async settleOldest(): Promise<void> {
    const entry = this.inflight[0]!
    const err = await entry.done
    if (err) {
      // Replace the entry's outcome so a later attempt retries again rather than re-reading the error.
      entry.done = entry.retry().then(
        () => null,
        (e: unknown) => e,
      )
      const again = await entry.done
      if (again) throw again
    }
    this.inflight.shift()
  }

  private async settleAll(): Promise<void> {
    while (this.inflight.length > 0) await this.settleOldest()
  }

  /** Bounds memory: at most MAX_INFLIGHT raw inserts (and their rows) outstanding. */
  private async backpressure(): Promise<void> {
    while (this.inflight.length > MAX_INFLIGHT) await this.settleOldest()
  }
}
