/**
 * The monitor service: three consumers composed into one Service.
 *
 *  1. analytics + sink (group `<prefix>riskstream-monitor`): predictions and outcomes. Per
 *     Kafka batch it (a) inserts the raw rows, (b) runs them through the engine, (c) writes
 *     window rows, (d) publishes new drift events to mlops.drift-events and records them in
 *     drift_events, (e) writes a checkpoint (engine state + offsets), and only then (f) lets
 *     the shared loop commit. A crash anywhere before (e) replays the batch from the previous
 *     checkpoint; records already covered by the checkpoint (crash between (e) and (f)) are
 *     skipped. Window rows and event ids are deterministic, so a replay rewrites, never adds.
 *  2. shadow sink (group `<prefix>riskstream-monitor-shadow`): shadow predictions → shadow_predictions.
 *  3. DLQ sink (group `<prefix>riskstream-monitor-dlq`): raw bytes + headers of every DLQ topic → dlq_records.
 *
 * Drift events are published before they are recorded: a crash between the two re-publishes
 * the same eventId (consumers dedupe by id); once recorded, a replay never publishes it again.
 */

import type { Consumer } from 'kafkajs'
import { queryRows } from '../../lib/clickhouse/index.ts'
import { toRiskStreamError } from '../../lib/errors/index.ts'
import { createStreamConsumer, type StreamConsumer } from '../../lib/kafka/consumer.ts'
import type { DecodedRecord } from '../../lib/kafka/index.ts'
import { decodeArtifact } from '../../lib/model/artifact.ts'
import { selectArtifact } from '../../lib/registry/store.ts'
import { latestProductionFromTopic } from '../../lib/registry/topic.ts'
import type { Deps, Service } from '../../lib/runtime/index.ts'
import type { MonitoredArtifact } from './drift/columns.ts'
import { type EngineSnapshot, MonitorEngine } from './engine/engine.ts'
import {
  existingEventIds,
  insertDriftEvents,
  insertWindowRows,
  loadCheckpoint,
  rebuildJoin,
  saveCheckpoint,
} from './engine/store.ts'
import type { DriftEventRecord } from './engine/types.ts'
import {
  batchToken,
  insertDlqRecords,
  insertOutcomes,
  insertPredictions,
  insertShadowPredictions,
} from './sink/insert.ts'
import {
  dlqRow,
  type OutcomeEvent,
  outcomeRow,
  type PredictionEvent,
  predictionRow,
  shadowPredictionRow,
} from './sink/rows.ts'

export interface MonitorServiceOptions {
  /** Called after a batch's outputs and checkpoint are durable, before offsets are committed (crash tests throw or hang here). */
  beforeCommit?: (info: { topic: string; partition: number; lastOffset: string }) => void | Promise<void>
  /** Artifact of a model version (default: model_artifacts in ClickHouse, sha-verified). */
  loadArtifact?: (modelName: string, version: number) => Promise<MonitoredArtifact | null>
  /** Consumer group base name (default `<prefix>riskstream-monitor`). */
  groupId?: string
  /** Run only the analytics consumer (no shadow / DLQ sinks). */
  analyticsOnly?: boolean
  joinMaxSize?: number
}

export interface MonitorService extends Service {
  readonly engine: MonitorEngine
  readonly stats: { batches: number; events: number; published: number }
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
  const engine = new MonitorEngine({
    modelName,
    drift: config.drift,
    artifactFor: (v) => artifacts.get(v),
    joinMaxSize: opts.joinMaxSize,
  })
  const stats = { batches: 0, events: 0, published: 0 }
  let nextOffsets: Record<string, string> = {}
  let checkpointSeq = 0
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

  async function handleBatch(records: DecodedRecord<PredictionEvent | OutcomeEvent>[]) {
    const first = records[0]!
    const last = records[records.length - 1]!
    const tp = `${first.topic}:${first.partition}`
    const isPredictions = first.topic === topics.predictions
    const token = batchToken(
      isPredictions ? 'predictions' : 'outcomes',
      first.topic,
      first.partition,
      first.offset,
      last.offset,
    )
    if (isPredictions)
      await insertPredictions(
        ch,
        records.map((r) => predictionRow(r.value as PredictionEvent, r)),
        token,
      )
    else
      await insertOutcomes(
        ch,
        records.map((r) => outcomeRow(r.value as OutcomeEvent, r)),
        token,
      )

    // Records the checkpoint already covers were processed before a crash that beat the commit.
    const done = BigInt(nextOffsets[tp] ?? '0')
    const todo = records.filter((r) => BigInt(r.offset) >= done)
    if (todo.length > 0) {
      if (isPredictions) {
        const versions = new Set<number>()
        for (const r of todo)
          if ((r.value as PredictionEvent).modelName === modelName)
            versions.add((r.value as PredictionEvent).modelVersion)
        await ensureArtifacts(versions)
        for (const r of todo) engine.onPrediction(r.value as PredictionEvent)
      } else {
        for (const r of todo) engine.onOutcome(r.value as OutcomeEvent)
      }
      const out = engine.takeOutputs()
      await insertWindowRows(ch, out.rows)
      await publish(out.events)
      stats.events += todo.length
      nextOffsets = { ...nextOffsets, [tp]: (BigInt(last.offset) + 1n).toString() }
      await saveCheckpoint(ch, groupId, {
        seq: ++checkpointSeq,
        offsets: nextOffsets,
        state: engine.snapshot(),
      })
    }
    stats.batches++
    await opts.beforeCommit?.({ topic: first.topic, partition: first.partition, lastOffset: last.offset })
    return []
  }

  async function restoreState(): Promise<void> {
    const cp = await loadCheckpoint(ch, groupId)
    if (!cp) return
    const state = cp.state as EngineSnapshot
    await ensureArtifacts(Object.keys(state.versions).map(Number))
    engine.restore(state)
    nextOffsets = cp.offsets
    checkpointSeq = cp.seq
    const rebuilt = await rebuildJoin(ch, engine, cp.offsets, {
      predictions: topics.predictions,
      outcomes: topics.outcomes,
    })
    log.info({ checkpoint: cp.seq, ...rebuilt }, 'monitor state restored')
  }

  return {
    name: 'monitors',
    engine,
    stats,
    async start() {
      await deps.serde.register(deps.topics.driftEvents, 'DriftEvent')
      await restoreState()
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
      const analytics = createStreamConsumer<PredictionEvent | OutcomeEvent>({
        kafka: deps.kafka,
        groupId,
        topics: [topics.predictions, topics.outcomes],
        serde: deps.serde,
        readerSchema: (t) => (t === topics.outcomes ? 'OutcomeLabel' : 'Prediction'),
        dlqProducer: deps.producer,
        dlqTopic: (t) => (t === topics.outcomes ? topics.dlq.outcomes : topics.dlq.predictions),
        handleBatch,
        log,
      })
      consumers.push(analytics)
      if (!opts.analyticsOnly) {
        consumers.push(
          createStreamConsumer<PredictionEvent>({
            kafka: deps.kafka,
            groupId: `${groupId}-shadow`,
            topics: [topics.shadowPredictions],
            serde: deps.serde,
            readerSchema: 'Prediction',
            dlqProducer: deps.producer,
            dlqTopic: () => topics.dlq.shadowPredictions,
            handleBatch: async (records) => {
              const f = records[0]!
              const l = records[records.length - 1]!
              await insertShadowPredictions(
                ch,
                records.map((r) => shadowPredictionRow(r.value, r)),
                batchToken('shadow_predictions', f.topic, f.partition, f.offset, l.offset),
              )
              return []
            },
            log,
          }),
        )
      }
      for (const c of consumers) await c.start()
      if (!opts.analyticsOnly) dlqConsumer = await startDlqSink(deps, `${groupId}-dlq`)
    },
    async stop() {
      for (const c of consumers.splice(0)) await c.stop()
      await dlqConsumer?.disconnect()
      dlqConsumer = undefined
    },
  }
}

/** Raw consumer (DLQ records are undecodable by definition): headers → dlq_records, commit after the insert. */
async function startDlqSink(deps: Deps, groupId: string): Promise<Consumer> {
  const consumer = deps.kafka.consumer({ groupId, allowAutoTopicCreation: false })
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
      await insertDlqRecords(
        deps.clickhouse,
        rows,
        batchToken('dlq_records', batch.topic, batch.partition, f.offset, l.offset),
      )
      if (!isRunning() || isStale()) return
      await consumer.commitOffsets([
        { topic: batch.topic, partition: batch.partition, offset: (BigInt(l.offset) + 1n).toString() },
      ])
    },
  })
  return consumer
}

/** Exact counts of the raw tables (FINAL), for status pages and tests. */
export async function rawCounts(deps: Pick<Deps, 'clickhouse'>): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const t of ['predictions', 'outcomes', 'shadow_predictions', 'dlq_records', 'drift_events']) {
    const [r] = await queryRows<{ n: number }>(deps.clickhouse, `SELECT count() AS n FROM ${t} FINAL`)
    out[t] = Number(r?.n ?? 0)
  }
  return out
}
