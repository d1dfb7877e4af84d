/**
 * The trainer service: the trigger policy (policy.ts) applied one trigger at a time, its decision
 * log (decision-log.ts), the trigger consumers (consumers.ts), the data-volume poll, and the queue
 * that runs one training at a time.
 *
 * Training is not awaited inside the batch handler (a run outlasts the consumer session timeout);
 * an accepted trigger whose run never finished (crash) is picked up again on start. A run
 * triggered by drift first waits (up to `postDrift.maxWaitMs`) for `postDrift.labels` more labelled
 * outcomes than at the trigger: the run holds out its newest labelled rows as the out-of-time test,
 * so without post-drift labels on both sides the promotion test could not see what it learned.
 */
import { RiskStreamError, toRiskStreamError } from '../../lib/errors/index.ts'
import type { RetrainResultEvent } from '../../lib/events/index.ts'
import type { StreamConsumer } from '../../lib/kafka/index.ts'
import { getLogger } from '../../lib/log/index.ts'
import { createRegistry, type ModelRegistry } from '../../lib/registry/index.ts'
import type { Service } from '../../lib/runtime/index.ts'
import { createSerializer } from '../../lib/runtime/serialize.ts'
import { countLabelled } from '../dataset/index.ts'
import { createTriggerConsumers } from './consumers.ts'
import { decidedBefore, recordDecision, recover } from './decision-log.ts'
import {
  decide,
  initialState,
  type PolicyState,
  runAccepted,
  runFinished,
  runResumed,
  runStarted,
  runTrained,
  type Trigger,
  type TriggerDecision,
  volumeTrigger,
} from './policy.ts'
import {
  newRunId,
  type TrainerDeps,
  type TrainOnceOptions,
  type TrainOnceResult,
  trainOnce,
} from './train-once.ts'

export type { DriftEventRecord, RetrainRequestEvent as RetrainRequestRecord } from '../../lib/events/index.ts'
export type { Trigger, TriggerDecision, TriggerKind } from './policy.ts'
export type RetrainResultRecord = Omit<RetrainResultEvent, 'status'> & {
  status: 'started' | 'succeeded' | 'rejected' | 'failed'
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

export function createTrainerService(deps: TrainerDeps, options: TrainerServiceOptions = {}): TrainerService {
  const { config, clickhouse: ch, topics } = deps
  const log = getLogger('trainer.service')
  const modelName = config.model.name
  const registry = options.registry ?? createRegistry(deps)
  const pollIntervalMs = options.pollIntervalMs ?? 30_000
  const stats = { accepted: 0, skipped: 0, runs: 0 }

  let queue: Promise<void> = Promise.resolve()
  let policy: PolicyState = initialState({
    modelName,
    autoEnabled: config.retrain.autoEnabled,
    cooldownMs: config.retrain.cooldownMs,
    minNewData: config.retrain.minNewData,
  })
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
    policy = runStarted(policy, t.kind, Date.now())
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
      policy = runTrained(policy, result.streamedRows)
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

  /** Queues a run the policy has counted in pendingRuns (accepted or resumed). */
  function enqueue(t: Trigger, runId: string): void {
    queue = queue
      .then(() => execute(t, runId))
      .catch((err) => log.error({ runId, err: String(err) }, 'retrain bookkeeping failed'))
      .finally(() => {
        policy = runFinished(policy)
      })
  }

  async function decideAndRecord(t: Trigger, wantsRetrain: boolean): Promise<TriggerDecision> {
    const previous = await decidedBefore(ch, t.id)
    const v = decide(policy, { ...t, wantsRetrain, previous }, Date.now())
    if (v.duplicate) {
      stats.skipped++
      log.debug({ trigger: t.id, previous }, 'trigger already decided')
      return v.decision
    }
    const runId = v.decision === 'accepted' ? newRunId() : ''
    // Durable before the caller commits the trigger's offset.
    await recordDecision(ch, t, v.decision, runId, v.detail || t.reason)
    if (v.decision === 'accepted') {
      if (t.kind === 'drift' && postDriftLabels > 0)
        labelledAtTrigger.set(t.id, await countLabelled(ch).catch(() => 0))
      stats.accepted++
      policy = runAccepted(policy, t.kind, Date.now())
      enqueue(t, runId)
    } else stats.skipped++
    log.info(
      { trigger: t.id, kind: t.kind, decision: v.decision, runId: runId || undefined },
      'retrain trigger decided',
    )
    return v.decision
  }

  function submit(t: Trigger, wantsRetrain = true): Promise<TriggerDecision> {
    // A failed ledger read/write is transient from the consumer's point of view: the batch is
    // retried (offsets not committed) instead of stopping the consumer.
    return oneDecisionAtATime(() =>
      decideAndRecord(t, wantsRetrain).catch((err) => {
        const e = toRiskStreamError(err, 'CLICKHOUSE_UNAVAILABLE')
        throw e.retriable
          ? e
          : new RiskStreamError('CLICKHOUSE_UNAVAILABLE', e.message, { cause: e, retriable: true })
      }),
    )
  }

  async function pollVolume(): Promise<void> {
    if (polling || stopping) return
    polling = true
    try {
      const labelled = await countLabelled(ch)
      const trigger = volumeTrigger(policy, labelled)
      if (trigger) await submit(trigger)
    } catch (err) {
      log.warn({ err: String(err) }, 'data-volume poll failed')
    } finally {
      polling = false
    }
  }

  /** Restores the cooldown clock and baseline, and re-queues accepted triggers whose run never finished. */
  async function resume(): Promise<void> {
    const r = await recover(ch, modelName)
    policy = { ...policy, lastAutoRunAt: r.lastAutoRunAt, labelledBaseline: r.labelledBaseline }
    for (const { runId, ...t } of r.unfinished) {
      log.warn({ trigger: t.id, runId }, 'resuming a retrain interrupted by a restart')
      policy = runResumed(policy)
      enqueue(t, newRunId())
    }
  }

  return {
    name: 'trainer',
    stats,
    submit: (t) => submit(t),
    async idle() {
      while (policy.pendingRuns > 0) await queue
    },
    async start() {
      await deps.serde.register(topics.retrainResults, 'RetrainResult')
      await resume()
      consumers.push(...createTriggerConsumers(deps, (t, wants) => submit(t, wants), log))
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
