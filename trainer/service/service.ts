/**
 * The trainer service: decides when to retrain and runs one training at a time.
 *
 * Triggers
 * - DriftEvent (mlops.drift-events): `retrain_recommended` always counts; `data_drift` and
 *   `concept_drift` count only at severity `significant` (a moderate drift is worth watching,
 *   not a model); `data_quality` never does (bad inputs are not fixed by retraining).
 *   Automatic: needs AUTO_RETRAIN_ENABLED and respects the cooldown.
 * - RetrainRequest (mlops.retrain-requests): manual, always runs (queued behind a running one).
 * - Data volume: every `pollIntervalMs`, the count of labelled outcomes that have a scored
 *   prediction; ≥ MIN_NEW_DATA_THRESHOLD more than at the last run triggers an automatic run.
 *
 * Exactly once per trigger: every decision (accepted, coalesced, cooldown, disabled, ignored)
 * is written to `retrain_triggers` under the trigger's id BEFORE its offset is committed, and
 * the table is checked first, so a redelivered or repeated event causes nothing. Training is
 * NOT awaited inside the batch handler (a run outlasts the consumer session timeout); an
 * accepted trigger whose run never finished (crash) is picked up again on start.
 *
 * Labels before a drift retrain: a run triggered by drift first waits (up to
 * `postDrift.maxWaitMs`) until `postDrift.labels` more labelled outcomes have arrived than at
 * the trigger. The run holds out its newest labelled rows as the out-of-time test and trains
 * on the older ones, so without post-drift labels on both sides it would be a model of the old
 * population judged on the new one, and the promotion test could not see what it learned.
 *
 * Single flight and cooldown: runs are queued on one promise chain; an automatic trigger that
 * arrives while a run is queued/running, or within RETRAIN_COOLDOWN_MS of the last run's
 * start, is recorded as coalesced/cooldown — a burst of drift events causes one retrain.
 */

import { type ClickHouseClient, chTime, queryRows } from '../../lib/clickhouse/index.ts'
import { RiskStreamError, toRiskStreamError } from '../../lib/errors/index.ts'
import type {
  DriftEventRecord,
  RetrainRequestEvent as RetrainRequestRecord,
  RetrainResultEvent,
} from '../../lib/events/index.ts'
import {
  createStreamConsumer,
  type DecodedRecord,
  type Rejection,
  type StreamConsumer,
} from '../../lib/kafka/index.ts'
import { getLogger } from '../../lib/log/index.ts'
import { createRegistry, type ModelRegistry } from '../../lib/registry/index.ts'
import type { Service } from '../../lib/runtime/index.ts'
import { createSerializer } from '../../lib/runtime/serialize.ts'
import { TABLES } from '../../lib/warehouse/index.ts'
import { countLabelled } from '../dataset/index.ts'
import {
  newRunId,
  type TrainerDeps,
  type TrainOnceOptions,
  type TrainOnceResult,
  trainOnce,
} from './train-once.ts'

export type { DriftEventRecord, RetrainRequestEvent as RetrainRequestRecord } from '../../lib/events/index.ts'
export type RetrainResultRecord = Omit<RetrainResultEvent, 'status'> & {
  status: 'started' | 'succeeded' | 'rejected' | 'failed'
}

export type TriggerKind = 'drift' | 'manual' | 'data_volume'
export type TriggerDecision =
  | 'accepted'
  | 'coalesced'
  | 'cooldown'
  | 'disabled'
  | 'ignored'
  | 'succeeded'
  | 'rejected'
  | 'failed'

export interface Trigger {
  id: string
  kind: TriggerKind
  modelName: string
  reason: string
  source?: { topic: string; partition: number; offset: string }
}

/** Defaults of TrainerServiceOptions.postDrift. */
export const POST_DRIFT_LABELS = 2000
export const POST_DRIFT_MAX_WAIT_MS = 120_000

export interface TrainerServiceOptions {
  /** Passed to every trainOnce (tests use fewer families / a small budget). */
  train?: Pick<TrainOnceOptions, 'families' | 'budget' | 'folds' | 'includeStreamed' | 'inWorker'>
  /** Data-volume poll interval (default 30 s; 0 disables polling). */
  pollIntervalMs?: number
  registry?: ModelRegistry
  /** How long stop() waits for a running training (default 120 s). */
  stopTimeoutMs?: number
  /**
   * Labelled outcomes a drift-triggered run waits for beyond those present at the trigger
   * (default POST_DRIFT_LABELS), and for how long at most (default POST_DRIFT_MAX_WAIT_MS).
   */
  postDrift?: { labels?: number; maxWaitMs?: number; pollMs?: number }
}

export interface TrainerService extends Service {
  /** Resolves when no run is queued or running (tests, CLI). */
  idle(): Promise<void>
  /** Applies the trigger rules to one trigger (also used by the data-volume poll). */
  submit(trigger: Trigger): Promise<TriggerDecision>
  readonly stats: { accepted: number; skipped: number; runs: number }
}

/** Drift kinds (and severities) that ask for a retrain; see the header. */
export function driftWantsRetrain(e: Pick<DriftEventRecord, 'kind' | 'severity'>): boolean {
  if (e.kind === 'retrain_recommended') return true
  return (e.kind === 'data_drift' || e.kind === 'concept_drift') && e.severity === 'significant'
}

async function decidedBefore(ch: ClickHouseClient, id: string): Promise<TriggerDecision | null> {
  const rows = await queryRows<{ decision: string }>(
    ch,
    `SELECT decision FROM ${TABLES.retrainTriggers} FINAL WHERE trigger_id = {id:String}`,
    { id },
  )
  return (rows[0]?.decision as TriggerDecision | undefined) ?? null
}

async function recordDecision(
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

export function createTrainerService(deps: TrainerDeps, options: TrainerServiceOptions = {}): TrainerService {
  const { config, clickhouse: ch, topics } = deps
  const log = getLogger('trainer.service')
  const modelName = config.model.name
  const registry = options.registry ?? createRegistry(deps)
  const pollIntervalMs = options.pollIntervalMs ?? 30_000
  const stats = { accepted: 0, skipped: 0, runs: 0 }

  let queue: Promise<void> = Promise.resolve()
  let pendingRuns = 0
  /** Start time of the last AUTOMATIC run (RETRAIN_COOLDOWN_MS is the minimum time between automatic retrains). */
  let lastRunAt = 0
  /** Labelled rows the last run saw (data-volume baseline). */
  let labelledBaseline = 0
  let pollTimer: NodeJS.Timeout | undefined
  let polling = false
  let stopping = false
  // Decisions are made one at a time so two triggers cannot both pass the cooldown check.
  const oneDecisionAtATime = createSerializer()
  const consumers: StreamConsumer[] = []

  async function publishResult(r: Omit<RetrainResultRecord, 'at'>): Promise<void> {
    const value: RetrainResultRecord = { ...r, at: Date.now() }
    await deps.producer.send({
      topic: topics.retrainResults,
      messages: [{ key: r.modelName, value: deps.serde.encode(topics.retrainResults, value) }],
    })
  }

  const postDriftLabels = options.postDrift?.labels ?? POST_DRIFT_LABELS
  const postDriftWaitMs = options.postDrift?.maxWaitMs ?? POST_DRIFT_MAX_WAIT_MS
  const postDriftPollMs = options.postDrift?.pollMs ?? 1000
  /** Labelled count when each accepted drift trigger was decided. */
  const labelledAtTrigger = new Map<string, number>()

  async function waitForPostDriftLabels(t: Trigger): Promise<void> {
    const base = labelledAtTrigger.get(t.id)
    labelledAtTrigger.delete(t.id)
    if (t.kind !== 'drift' || postDriftLabels <= 0 || base === undefined) return
    const deadline = Date.now() + postDriftWaitMs
    let n = base
    while (!stopping && Date.now() < deadline) {
      n = await countLabelled(ch).catch(() => n)
      if (n - base >= postDriftLabels) break
      await new Promise((r) => setTimeout(r, postDriftPollMs).unref())
    }
    log.info(
      { trigger: t.id, newLabels: n - base, wanted: postDriftLabels },
      n - base >= postDriftLabels
        ? 'post-drift labels arrived'
        : 'post-drift labels: training with what arrived',
    )
  }

  async function execute(t: Trigger, runId: string): Promise<void> {
    await waitForPostDriftLabels(t)
    stats.runs++
    if (t.kind !== 'manual') lastRunAt = Date.now()
    await publishResult({
      requestId: t.id,
      runId,
      modelName,
      status: 'started',
      version: null,
      reasons: [],
      error: null,
      metricsJson: '{}',
    }).catch((err) => log.warn({ runId, err: String(err) }, 'could not publish the started result'))
    let result: TrainOnceResult | undefined
    let error: RiskStreamError | undefined
    try {
      result = await trainOnce(deps, {
        ...options.train,
        trigger: t.kind,
        triggerEventId: t.id,
        reason: t.reason,
        registry,
        runId,
      })
      // Rows that arrived during the run were not in it: they still count towards the next one.
      labelledBaseline = Math.max(labelledBaseline, result.streamedRows)
    } catch (err) {
      error = toRiskStreamError(err, 'TRAINING_FAILED')
    }
    const status = result ? (result.gate.passed ? 'succeeded' : 'rejected') : 'failed'
    await recordDecision(
      ch,
      t,
      status,
      runId,
      result ? result.gate.reasons.join('; ') : (error?.message ?? ''),
    )
    await publishResult({
      requestId: t.id,
      runId,
      modelName,
      status,
      version: result?.version ?? null,
      reasons: result?.gate.reasons ?? [],
      error: error ? error.message : null,
      metricsJson: result
        ? JSON.stringify({
            ...result.metrics,
            family: result.family,
            estimate: result.estimate.kind,
            promotion: {
              decision: result.promotion.decision,
              test: result.promotion.test?.name ?? null,
              z: result.promotion.test?.z ?? null,
              pValue: result.promotion.test?.pValue ?? null,
              rows: result.promotion.rows,
            },
          })
        : '{}',
    })
    log.info({ runId, trigger: t.kind, status, version: result?.version }, 'retrain finished')
  }

  function enqueue(t: Trigger, runId: string): void {
    pendingRuns++
    queue = queue
      .then(() => execute(t, runId))
      .catch((err) => log.error({ runId, err: String(err) }, 'retrain bookkeeping failed'))
      .finally(() => {
        pendingRuns--
      })
  }

  async function decide(t: Trigger, wantsRetrain: boolean): Promise<TriggerDecision> {
    const previous = await decidedBefore(ch, t.id)
    if (previous) {
      stats.skipped++
      log.debug({ trigger: t.id, previous }, 'trigger already decided')
      return previous
    }
    let decision: TriggerDecision
    let detail = ''
    const automatic = t.kind !== 'manual'
    if (t.modelName !== modelName) {
      decision = 'ignored'
      detail = `model ${t.modelName} is not served here`
    } else if (!wantsRetrain) {
      decision = 'ignored'
      detail = 'trigger does not ask for a retrain'
    } else if (automatic && !config.retrain.autoEnabled) {
      decision = 'disabled'
      detail = 'AUTO_RETRAIN_ENABLED=false'
    } else if (automatic && pendingRuns > 0) {
      decision = 'coalesced'
      detail = 'a retrain is already queued or running'
    } else if (automatic && Date.now() - lastRunAt < config.retrain.cooldownMs) {
      decision = 'cooldown'
      detail = `last run started ${Date.now() - lastRunAt} ms ago (cooldown ${config.retrain.cooldownMs} ms)`
    } else {
      decision = 'accepted'
    }
    const runId = decision === 'accepted' ? newRunId() : ''
    // Durable before the caller commits the trigger's offset.
    await recordDecision(ch, t, decision, runId, detail || t.reason)
    if (decision === 'accepted') {
      if (t.kind === 'drift' && postDriftLabels > 0)
        labelledAtTrigger.set(t.id, await countLabelled(ch).catch(() => 0))
      stats.accepted++
      if (automatic) lastRunAt = Date.now() // the cooldown starts at acceptance, not when the queue reaches it
      enqueue(t, runId)
    } else stats.skipped++
    log.info({ trigger: t.id, kind: t.kind, decision, runId: runId || undefined }, 'retrain trigger decided')
    return decision
  }

  function submit(t: Trigger, wantsRetrain = true): Promise<TriggerDecision> {
    // A failed ledger read/write is transient from the consumer's point of view: the batch is
    // retried (offsets not committed) instead of stopping the consumer.
    return oneDecisionAtATime(() =>
      decide(t, wantsRetrain).catch((err) => {
        const e = toRiskStreamError(err, 'CLICKHOUSE_UNAVAILABLE')
        throw e.retriable
          ? e
          : new RiskStreamError('CLICKHOUSE_UNAVAILABLE', e.message, { cause: e, retriable: true })
      }),
    )
  }

  function sourceOf(r: DecodedRecord<unknown>) {
    return { topic: r.topic, partition: r.partition, offset: r.offset }
  }

  async function onDrift(records: DecodedRecord<DriftEventRecord>[]): Promise<Rejection[]> {
    const rejects: Rejection[] = []
    for (const r of records) {
      const e = r.value
      if (!e.eventId) {
        rejects.push({
          record: r,
          error: new RiskStreamError('VALIDATION_FAILED', 'drift event without eventId'),
        })
        continue
      }
      const trigger: Trigger = {
        id: `drift:${e.eventId}`,
        kind: 'drift',
        modelName: e.modelName,
        reason: `${e.kind} (${e.severity}) on v${e.modelVersion}`,
        source: sourceOf(r),
      }
      await submit(trigger, driftWantsRetrain(e))
    }
    return rejects
  }

  async function onRequest(records: DecodedRecord<RetrainRequestRecord>[]): Promise<Rejection[]> {
    const rejects: Rejection[] = []
    for (const r of records) {
      const q = r.value
      if (!q.requestId) {
        rejects.push({
          record: r,
          error: new RiskStreamError('VALIDATION_FAILED', 'retrain request without requestId'),
        })
        continue
      }
      const by = q.requestedBy ? ` by ${q.requestedBy}` : ''
      const trigger: Trigger = {
        id: `request:${q.requestId}`,
        kind: 'manual',
        modelName: q.modelName,
        reason: q.reason ? `${q.reason}${by}` : `manual request${by}`,
        source: sourceOf(r),
      }
      await submit(trigger)
    }
    return rejects
  }

  async function pollVolume(): Promise<void> {
    if (polling || stopping) return
    polling = true
    try {
      const n = await countLabelled(ch)
      if (n - labelledBaseline >= config.retrain.minNewData) {
        await submit({
          // One id per baseline: the same surplus is decided once, however often it is polled.
          id: `data_volume:${modelName}:${labelledBaseline}`,
          kind: 'data_volume',
          modelName,
          reason: `${n - labelledBaseline} new labelled outcomes (threshold ${config.retrain.minNewData})`,
        })
      }
    } catch (err) {
      log.warn({ err: String(err) }, 'data-volume poll failed')
    } finally {
      polling = false
    }
  }

  /** Restores the cooldown clock and baseline, and re-queues accepted triggers whose run never finished. */
  async function recover(): Promise<void> {
    const last = await queryRows<{ auto_started: number | null; streamed: number | null }>(
      ch,
      `SELECT toUnixTimestamp64Milli(maxIf(started_at, trigger IN ('drift', 'data_volume'))) AS auto_started,
              argMax(JSONExtractInt(dataset_json, 'streamedRows'), started_at) AS streamed
       FROM ${TABLES.trainingRuns} FINAL WHERE model_name = {model:String}`,
      { model: modelName },
    )
    lastRunAt = Number(last[0]?.auto_started ?? 0)
    labelledBaseline = Number(last[0]?.streamed ?? 0)
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
    for (const u of unfinished) {
      log.warn({ trigger: u.trigger_id, runId: u.run_id }, 'resuming a retrain interrupted by a restart')
      enqueue(
        {
          id: u.trigger_id,
          kind: u.kind as TriggerKind,
          modelName: u.model_name,
          reason: `${u.detail} (resumed)`,
        },
        newRunId(),
      )
    }
  }

  const groupBase = `${config.topics.prefix}riskstream-trainer`
  const dlqTopic = (source: string) =>
    source === topics.driftEvents ? topics.dlq.driftEvents : topics.dlq.retrainRequests

  return {
    name: 'trainer',
    stats,
    submit: (t) => submit(t),
    async idle() {
      while (pendingRuns > 0) await queue
    },
    async start() {
      await deps.serde.register(topics.retrainResults, 'RetrainResult')
      await recover()
      consumers.push(
        createStreamConsumer<DriftEventRecord>({
          kafka: deps.kafka,
          groupId: `${groupBase}.drift`,
          topics: [topics.driftEvents],
          serde: deps.serde,
          readerSchema: 'DriftEvent',
          dlqProducer: deps.producer,
          dlqTopic,
          log,
          handleBatch: onDrift,
        }),
        createStreamConsumer<RetrainRequestRecord>({
          kafka: deps.kafka,
          groupId: `${groupBase}.requests`,
          topics: [topics.retrainRequests],
          serde: deps.serde,
          readerSchema: 'RetrainRequest',
          dlqProducer: deps.producer,
          dlqTopic,
          log,
          handleBatch: onRequest,
        }),
      )
      for (const c of consumers) await c.start()
      if (pollIntervalMs > 0) {
        pollTimer = setInterval(() => void pollVolume(), pollIntervalMs)
        pollTimer.unref()
      }
      log.info(
        { model: modelName, autoRetrain: config.retrain.autoEnabled, cooldownMs: config.retrain.cooldownMs },
        'trainer service started',
      )
    },
    async stop() {
      stopping = true
      if (pollTimer) clearInterval(pollTimer)
      await Promise.allSettled(consumers.map((c) => c.stop()))
      // Let a running training finish (its result is the point); an interrupted one resumes on restart.
      const timeout = options.stopTimeoutMs ?? 120_000
      let timer: NodeJS.Timeout | undefined
      await Promise.race([queue, new Promise<void>((r) => (timer = setTimeout(r, timeout)))])
      clearTimeout(timer)
    },
  }
}
