/**
 * The monitor service: two consumers composed into one Service.
 *
 *  1. analytics + sink (group `<prefix>riskstream-monitor`): predictions, outcomes and shadow
 *     predictions (into shadow_predictions and the shadow versions' monitors), through pipeline.ts. Per Kafka batch it (a) inserts the raw rows and (b) runs the new records
 *     through the engine; every N events / T ms, or when caught up, it (c) writes window rows,
 *     (d) publishes new drift events to mlops.drift-events and records them in drift_events,
 *     (e) writes a checkpoint (engine state + offsets), and only then (f) commits the offsets
 *     the checkpoint covers (the shared loop runs with commit: 'handler' and never commits on
 *     its own). A crash anywhere before (e) replays from the previous checkpoint; records
 *     already covered by the checkpoint (crash between (e) and (f)) are skipped. Window rows
 *     and event ids are deterministic, so a replay rewrites, never adds.
 *  2. DLQ sink (group `<prefix>riskstream-monitor-dlq`): raw bytes + headers of every DLQ topic → dlq_records.
 *
 * Drift events are published before they are recorded: a crash between the two re-publishes
 * the same eventId (consumers dedupe by id); once recorded, a replay never publishes it again.
 */

import type { Consumer, ConsumerConfig } from 'kafkajs'
import { RiskStreamError, toRiskStreamError } from '../../lib/errors/index.ts'
import { checkDomain, type DomainContext, outcomeIssues, predictionIssues } from '../../lib/events/domain.ts'
import { payloadDigest, RecentRequests } from '../../lib/events/idempotency.ts'
import {
  type BatchContext,
  createStreamConsumer,
  type Rejection,
  type StreamConsumer,
} from '../../lib/kafka/consumer.ts'
import { type DecodedRecord, sendToDlq } from '../../lib/kafka/index.ts'
import { decodeArtifact } from '../../lib/model/artifact.ts'
import { selectArtifact } from '../../lib/registry/store.ts'
import { latestProductionFromTopic } from '../../lib/registry/topic.ts'
import type { Deps, Service } from '../../lib/runtime/index.ts'
import { createSerializer } from '../../lib/runtime/serialize.ts'
import { TABLES } from '../../lib/warehouse/index.ts'
import { type Checkpoint, loadCheckpoint, rebuildJoin, rebuildShadowJoin } from './checkpoint/store.ts'
import type { MonitoredArtifact } from './drift/columns.ts'
import { type EngineSnapshot, MonitorEngine } from './engine/engine.ts'
import type { DriftEventRecord } from './engine/types.ts'
import { AnalyticsPipeline, type CheckpointPolicy } from './pipeline.ts'
import { batchToken, insertRowsIsolating } from './sink/insert.ts'
import { existingEventIds, insertDriftEvents } from './sink/outputs.ts'
import { dlqRow, type OutcomeEvent, type PredictionEvent } from './sink/rows.ts'

export interface MonitorServiceOptions {
  /**
   * Called after a checkpoint is durable, before the offsets it covers are committed (crash
   * tests throw or hang here). `lastOffset` is the next offset of one partition it covers.
   */
  beforeCommit?: (info: { topic: string; partition: number; lastOffset: string }) => void | Promise<void>
  /** Called when raw rows, window rows and events are durable, before the checkpoint is written (crash tests). */
  beforeCheckpoint?: () => void | Promise<void>
  /** How often the analytics consumer checkpoints (default DEFAULT_CHECKPOINT_POLICY). */
  checkpoint?: CheckpointPolicy
  /**
   * Passed to every consumer of the service: analytics, shadow and DLQ sink (tests use a short
   * session and a small maxBytesPerPartition to get many batches).
   */
  consumerConfig?: Partial<ConsumerConfig>
  /** Artifact of a model version (default: model_artifacts in ClickHouse, sha-verified). */
  loadArtifact?: (modelName: string, version: number) => Promise<MonitoredArtifact | null>
  /** Consumer group base name (default `<prefix>riskstream-monitor`). */
  groupId?: string
  /** Run only the analytics consumer (no DLQ sink). */
  analyticsOnly?: boolean
  /** Label join: predictions held in memory (past it they spill) and outcomes (past it evicted). Default LABEL_JOIN_MAX_PENDING. */
  joinMaxSize?: number
}

export interface MonitorService extends Service {
  readonly engine: MonitorEngine
  /** records: every record handled (redeliveries too); events: records that reached the engine. */
  readonly stats: { batches: number; records: number; events: number; published: number; checkpoints: number }
}

export function createMonitorService(deps: Deps, opts: MonitorServiceOptions = {}): MonitorService {
  const { config, topics, clickhouse: ch, log } = deps
  const modelName = config.model.name
  const groupId = opts.groupId ?? `${config.topics.prefix}riskstream-monitor`
  const artifacts = new Map<number, MonitoredArtifact>()
  const load =
    opts.loadArtifact ??
    (async (name: string, version: number) => {
      const stored = await selectArtifact(ch, name, version)
      return stored ? decodeArtifact(stored.bytes, stored.sha256) : null
    })
  const skew = config.events
  /** Recent prediction request ids and their payload digests (lib/events/idempotency.ts). */
  const recent = new RecentRequests()
  const domain = (): DomainContext => ({ now: Date.now(), skew })
  const engine = new MonitorEngine({
    modelName,
    drift: config.drift,
    artifactFor: (v) => artifacts.get(v),
    joinMaxSize: opts.joinMaxSize,
    // The monitoring clock cannot be pushed past now plus the allowed skew.
    clockLimit: () => Date.now() + skew.maxAheadMs,
  })
  const stats = { batches: 0, records: 0, events: 0, published: 0, checkpoints: 0 }
  /** The dead-letter topic of a topic the analytics consumer reads. */
  const dlqOf = (topic: string): string =>
    topic === topics.outcomes
      ? topics.dlq.outcomes
      : topic === topics.shadowPredictions
        ? topics.dlq.shadowPredictions
        : topics.dlq.predictions
  const consumers: StreamConsumer[] = []
  let dlqConsumer: Consumer | undefined

  async function ensureArtifacts(versions: Iterable<number>): Promise<void> {
    for (const v of versions) {
      if (artifacts.has(v)) continue
      const a = await load(modelName, v)
      if (a) artifacts.set(v, a)
      else
        log.warn(
          { modelName, version: v },
          'no artifact for model version; its predictions are not monitored',
        )
    }
  }

  async function publish(events: DriftEventRecord[]): Promise<void> {
    if (events.length === 0) return
    const done = await existingEventIds(
      ch,
      events.map((e) => e.eventId),
    )
    const fresh = events.filter((e) => !done.has(e.eventId))
    if (fresh.length === 0) return
    await deps.producer.send({
      topic: topics.driftEvents,
      acks: -1,
      messages: fresh.map((e) => ({
        key: `${e.modelName}`,
        value: deps.serde.encode(topics.driftEvents, e),
      })),
    })
    await insertDriftEvents(ch, fresh)
    stats.published += fresh.length
    for (const e of fresh)
      log.info(
        { eventId: e.eventId, kind: e.kind, severity: e.severity, features: e.features },
        'drift event',
      )
  }

  const pipeline = new AnalyticsPipeline({
    client: ch,
    engine,
    groupId,
    topics: {
      predictions: topics.predictions,
      outcomes: topics.outcomes,
      shadowPredictions: topics.shadowPredictions,
    },
    modelName,
    ensureArtifacts,
    publish,
    policy: opts.checkpoint,
    // Pending predictions past the in-memory budget wait in ClickHouse (performance/spill.ts).
    labelSpill: {
      budget: opts.joinMaxSize ?? config.drift.labelJoinMaxPending,
      ttlMs: config.drift.labelJoinTtlMs,
    },
    beforeCheckpoint: () => opts.beforeCheckpoint?.(),
    // Rows ClickHouse refuses: re-encoded (they were decoded from valid Avro) onto the DLQ of
    // their topic with reason CLICKHOUSE_ROW_REJECTED; the rest of the insert is written.
    deadLetter: async (rejected) => {
      const byTopic = new Map<string, typeof rejected>()
      for (const r of rejected) byTopic.set(r.record.topic, [...(byTopic.get(r.record.topic) ?? []), r])
      for (const [topic, items] of byTopic) {
        await sendToDlq(
          deps.producer,
          dlqOf(topic),
          items.map((r) => ({
            record: {
              topic,
              partition: r.record.partition,
              offset: r.record.offset,
              key: (r.record.value as { requestId?: string }).requestId ?? null,
              value: deps.serde.encode(topic, r.record.value),
            },
            error: r.error,
          })),
        )
        for (const r of items)
          log.warn(
            { code: r.error.code, topic, partition: r.record.partition, offset: r.record.offset },
            'row refused by ClickHouse; dead-lettered',
          )
      }
    },
  })
  /**
   * Set while the last batch failed: the in-memory state is then neither flushed when idle nor
   * checkpointed at stop (a real crash would not either).
   */
  let failed = false
  /** The durable offsets this process last committed successfully (empty until its first commit). */
  let lastCommitted: Record<string, string> = {}
  const sameOffsets = (a: Record<string, string>, b: Record<string, string>) =>
    Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v)

  /**
   * Batches and idle flushes run one at a time: the pipeline's engine, buffers and offset maps
   * belong to whichever of them is running.
   */
  const exclusive = createSerializer()
  let idleTimer: NodeJS.Timeout | undefined
  let analytics: StreamConsumer | undefined

  /**
   * Commits exactly what the last checkpoint covers, for every partition it covers (this
   * consumer reads several). Also when no new checkpoint was written but the durable one is
   * ahead of what this process committed: after a kill between checkpoint and commit (or a
   * commit lost to a rebalance) the restart skips the covered records without checkpointing,
   * and without this commit the group's offsets would stay behind until new records arrive.
   * A failed commit only means a longer replay, never a lost record.
   */
  async function commitCovered(
    cp: Checkpoint | null,
    commit: (offsets: { topic: string; partition: number; offset: string }[]) => Promise<void>,
  ): Promise<void> {
    if (cp) {
      const [tp, offset] = Object.entries(cp.offsets)[0] ?? ['', '']
      const i = tp.lastIndexOf(':')
      await opts.beforeCommit?.({
        topic: tp.slice(0, i),
        partition: Number(tp.slice(i + 1)),
        lastOffset: offset,
      })
    }
    const cover = cp?.offsets ?? pipeline.durable
    if (Object.keys(cover).length === 0 || sameOffsets(cover, lastCommitted)) return
    const offsets = Object.entries(cover).map(([tp, offset]) => {
      const i = tp.lastIndexOf(':')
      return { topic: tp.slice(0, i), partition: Number(tp.slice(i + 1)), offset }
    })
    await commit(offsets).then(
      () => {
        lastCommitted = cover
      },
      (err: unknown) =>
        log.warn(
          { code: toRiskStreamError(err).code },
          'offset commit failed; the checkpoint still covers them',
        ),
    )
  }

  function syncStats(): void {
    stats.batches = pipeline.stats.batches
    stats.records = pipeline.stats.records
    stats.events = pipeline.stats.events
    stats.checkpoints = pipeline.stats.checkpoints
  }

  /** After each batch: if nothing follows within idleMs, make the results so far durable. */
  function armIdleFlush(): void {
    clearTimeout(idleTimer)
    idleTimer = setTimeout(() => {
      exclusive(async () => {
        if (failed || !analytics) return
        const cp = await pipeline.flushIdle()
        syncStats()
        await commitCovered(cp, (offsets) => analytics!.consumer.commitOffsets(offsets))
      }).catch((err: unknown) => {
        // Pending work is kept by the pipeline: the next batch or idle flush retries it.
        log.warn({ code: toRiskStreamError(err).code }, 'idle checkpoint failed; retried')
        armIdleFlush()
      })
    }, pipeline.idleMs)
    idleTimer.unref()
  }

  /** Records outside their domain (lib/events/domain.ts) never reach ClickHouse or the engine. */
  function admit(records: DecodedRecord<PredictionEvent | OutcomeEvent>[]) {
    const ok: DecodedRecord<PredictionEvent | OutcomeEvent>[] = []
    const rejected: Rejection[] = []
    const d = domain()
    const outcomes = records[0]?.topic === topics.outcomes
    const shadow = records[0]?.topic === topics.shadowPredictions
    for (const r of records) {
      let error: RiskStreamError | null = outcomes
        ? checkDomain('outcome', outcomeIssues, r.value as OutcomeEvent, d)
        : checkDomain(
            shadow ? 'shadow prediction' : 'prediction',
            predictionIssues,
            r.value as PredictionEvent,
            d,
          )
      // A requestId reused with another payload must not overwrite the earlier prediction row
      // (or its label join); a redelivery carries the same payload and passes. A shadow score
      // shares its request id with the served one, so it is not checked against it.
      if (!error && !outcomes && !shadow) {
        const p = r.value as PredictionEvent
        if (recent.check(p.requestId, payloadDigest(p)) === 'conflict')
          error = new RiskStreamError('IDEMPOTENCY_CONFLICT', 'requestId reused with another payload', {
            details: { issues: [{ field: 'requestId', rule: 'conflict' }] },
          })
      }
      if (error) rejected.push({ record: r, error })
      else ok.push(r)
    }
    return { ok, rejected }
  }

  async function handleBatch(
    records: DecodedRecord<PredictionEvent | OutcomeEvent>[],
    ctx: BatchContext,
  ): Promise<Rejection[]> {
    clearTimeout(idleTimer)
    const { ok, rejected } = admit(records)
    const last = records[records.length - 1]!
    try {
      await exclusive(async () => {
        const cp = await pipeline.handle(ok, ctx.offsetLag === '0', last)
        syncStats()
        if (ctx.isActive()) await commitCovered(cp, ctx.commit)
      })
    } catch (err) {
      failed = true
      throw err
    }
    // A retried batch that now succeeds: the process lives on, so its state counts again.
    failed = false
    armIdleFlush()
    return rejected
  }

  async function restoreState(): Promise<void> {
    const cp = await loadCheckpoint(ch, groupId)
    if (!cp) return
    const state = cp.state as EngineSnapshot
    await ensureArtifacts([
      ...Object.keys(state.versions).map(Number),
      ...(state.shadows?.versions ?? []).map(([v]) => v),
    ])
    engine.restore(state)
    pipeline.restore(cp)
    const rebuilt = await rebuildJoin(ch, engine, cp.offsets, {
      predictions: topics.predictions,
      outcomes: topics.outcomes,
    })
    const shadow = await rebuildShadowJoin(ch, engine, cp.offsets, {
      shadowPredictions: topics.shadowPredictions,
      outcomes: topics.outcomes,
    })
    log.info({ checkpoint: cp.seq, ...rebuilt, shadow }, 'monitor state restored')
  }

  return {
    name: 'monitors',
    engine,
    stats,
    async start() {
      // Debug lines per start-up step: a start that hangs names the step it hangs in.
      log.debug('start: registering the drift event contract')
      await deps.serde.register(deps.topics.driftEvents, 'DriftEvent')
      log.debug('start: restoring the last checkpoint')
      await restoreState()
      log.debug('start: reading the production version')
      // Preload the serving version so its first predictions are monitored without a lookup stall.
      try {
        const prod = await latestProductionFromTopic(deps.kafka, deps.serde, topics.modelVersions, modelName)
        if (prod) await ensureArtifacts([prod.version])
      } catch (err) {
        log.warn(
          { code: toRiskStreamError(err).code },
          'could not read the production version; artifacts load on first use',
        )
      }
      analytics = createStreamConsumer<PredictionEvent | OutcomeEvent>({
        kafka: deps.kafka,
        groupId,
        topics: [topics.predictions, topics.outcomes, topics.shadowPredictions],
        serde: deps.serde,
        readerSchema: (t) => (t === topics.outcomes ? 'OutcomeLabel' : 'Prediction'),
        dlqProducer: deps.producer,
        dlqTopic: dlqOf,
        handleBatch,
        log,
        // Offsets are committed by handleBatch when a checkpoint covers them (see pipeline.ts).
        commit: 'handler',
        consumerConfig: opts.consumerConfig,
      })
      consumers.push(analytics)
      log.debug(
        { groups: consumers.length + (opts.analyticsOnly ? 0 : 1) },
        'start: joining the consumer groups',
      )
      // Joined together: after a crash each group waits out the dead member's session, and
      // one at a time that wait was paid once per group before the service counted as started.
      // allSettled, not all: when one group fails to start, the DLQ sink that did start must
      // still be known to stop(), or its connection would outlive the failed service.
      const [dlq, ...started] = await Promise.allSettled([
        opts.analyticsOnly ? undefined : startDlqSink(deps, `${groupId}-dlq`, opts.consumerConfig),
        ...consumers.map((c) => c.start()),
      ])
      if (dlq.status === 'fulfilled') dlqConsumer = dlq.value
      const failure = [dlq, ...started].find((r) => r.status === 'rejected')
      if (failure) throw failure.reason
    },
    async stop() {
      clearTimeout(idleTimer)
      // The groups are independent: leaving them one after another only adds up their waits.
      await Promise.all(consumers.splice(0).map((c) => c.stop()))
      await exclusive(async () => undefined) // the batch or idle flush in flight settles first
      analytics = undefined
      // Graceful stop: checkpoint what was processed since the last one, so a restart replays
      // nothing. Offsets are not committed (the consumer is gone); the restart skips the
      // covered records by the checkpoint's offsets. Skipped after a failure, like a crash.
      if (!failed && pipeline.dirty) {
        try {
          await pipeline.checkpoint()
          stats.checkpoints = pipeline.stats.checkpoints
        } catch (err) {
          log.warn(
            { code: toRiskStreamError(err).code },
            'final checkpoint failed; the restart replays from the previous one',
          )
        }
      }
      await dlqConsumer?.disconnect()
      dlqConsumer = undefined
    },
  }
}

/** Raw consumer (DLQ records are undecodable by definition): headers → dlq_records, commit after the insert. */
async function startDlqSink(
  deps: Deps,
  groupId: string,
  consumerConfig: Partial<ConsumerConfig> = {},
): Promise<Consumer> {
  const consumer = deps.kafka.consumer({ ...consumerConfig, groupId, allowAutoTopicCreation: false })
  await consumer.connect()
  for (const t of Object.values(deps.topics.dlq)) await consumer.subscribe({ topic: t, fromBeginning: true })
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch, isRunning, isStale }) => {
      if (batch.messages.length === 0) return
      const f = batch.messages[0]!
      const l = batch.messages[batch.messages.length - 1]!
      const rows = batch.messages.map((m) =>
        dlqRow(
          {
            key: m.key,
            headers: m.headers,
            partition: batch.partition,
            offset: m.offset,
            timestamp: m.timestamp,
          },
          batch.topic,
        ),
      )
      // A dead letter's row is built from our own headers; one ClickHouse still refuses is
      // logged (never retried for ever: there is no DLQ of the DLQ).
      const refused = await insertRowsIsolating(
        deps.clickhouse,
        TABLES.dlqRecords,
        rows,
        batchToken(TABLES.dlqRecords, batch.topic, batch.partition, f.offset, l.offset),
      )
      for (const x of refused)
        deps.log.warn(
          {
            code: x.error.code,
            topic: batch.topic,
            partition: batch.partition,
            offset: rows[x.index]?.kafka_offset,
          },
          'dead letter refused by ClickHouse; not recorded',
        )
      if (!isRunning() || isStale()) return
      await consumer.commitOffsets([
        { topic: batch.topic, partition: batch.partition, offset: (BigInt(l.offset) + 1n).toString() },
      ])
    },
  })
  return consumer
}
