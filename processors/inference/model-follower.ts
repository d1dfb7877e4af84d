/**
 * Follows the compacted model-versions topic and holds inference's scorers. One consumer (a
 * group per process) reads from the beginning and never stops, so the initial read and the live
 * follow are one ordered stream with no gap. Up to the high watermark at start it only folds
 * events (versions.ts), then loads what to serve and reports `caughtUp`. The swap is one
 * reference assignment after the artifact is verified and its scorer built and warmed; a batch
 * reads `served` once, so it is scored by one version; a refused artifact changes nothing.
 */
import { randomBytes } from 'node:crypto'
import type { Consumer, IHeaders, Kafka } from 'kafkajs'
import { RiskStreamError, toRiskStreamError } from '../../lib/errors/index.ts'
import { FEATURE_SPECS } from '../../lib/features/index.ts'
import type { AvroSerde } from '../../lib/kafka/index.ts'
import type { Logger } from '../../lib/log/index.ts'
import { signatureOf, type VersionSigner } from '../../lib/model/signing.ts'
import type { ModelArtifact } from '../../lib/model/types.ts'
import { type WarmUpReport, warmUp } from '../../lib/model/warmup.ts'
import { INLINE_ARTIFACT_MAX_BYTES, type ModelVersionEvent } from '../../lib/registry/index.ts'
import { type LoadedModel, loadModel } from '../../lib/serving/index.ts'
import type { InferenceMetrics } from './metrics.ts'
import { cursorOf, decideServing, decideShadow, slotOfKey, type VersionCursor } from './versions.ts'

export type { LoadedModel } from '../../lib/serving/index.ts'

export type ArtifactLoader = (event: ModelVersionEvent) => Promise<ModelArtifact>

export interface ModelFollowerOptions {
  kafka: Kafka
  serde: AvroSerde
  topic: string
  modelName: string
  loadArtifact: ArtifactLoader
  metrics: InferenceMetrics
  log: Logger
  /** Prefix of the follower's group id (a random suffix makes it unique per process). */
  groupPrefix: string
  /** Verifies each event's signature (lib/model/signing.ts) before anything is decoded or compiled. */
  signer: VersionSigner
}

/** A model-version event whose signature was verified, with its signed sequence. */
type SignedEvent = ModelVersionEvent & { seq: number }

export interface ModelFollower {
  /** Resolves once the topic was read to its end and the initial versions were loaded. */
  start(): Promise<void>
  stop(): Promise<void>
  /** The version to score with now (null until one is loaded). Read once per batch. */
  served(): LoadedModel | null
  shadow(): LoadedModel | null
  /** Called after every successful swap of the served version. */
  onServedChange(listener: (model: LoadedModel) => void): void
}

/** Builds a scorer from a verified artifact; throws ARTIFACT_CORRUPT if it cannot score. */
export function buildLoadedModel(
  event: ModelVersionEvent,
  artifact: ModelArtifact,
  log?: Logger,
): LoadedModel {
  const model = loadModel(
    {
      modelName: event.modelName,
      version: event.version,
      family: artifact.family,
      threshold: artifact.threshold,
      eventId: event.eventId,
    },
    artifact,
  )
  const { scorer, columns } = model
  // A model that cannot score a plain in-range row would fail on all live traffic: refuse it now.
  const probe = scorer.scoreOne(
    Float64Array.from(columns, (f) => (FEATURE_SPECS[f]!.min + FEATURE_SPECS[f]!.max) / 2),
  )
  if (!(probe >= 0 && probe <= 1)) {
    throw new RiskStreamError('ARTIFACT_CORRUPT', `v${event.version} scores a mid-range row as ${probe}`)
  }
  if (event.threshold !== artifact.threshold) {
    // The artifact is checksummed, the event is not: trust the artifact's threshold.
    log?.warn(
      { model: event.modelName, version: event.version },
      'event threshold differs from the artifact; using the artifact',
    )
  }
  return model
}

/**
 * Runs synthetic in-range rows through a freshly built scorer until it settles on its fastest
 * tier (or the warm-up budget runs out), yielding between slices so the current version keeps
 * serving meanwhile. Done before the swap, so the first live batches of a version do not pay
 * for it. Only inference does this: the trainer's scorers are short-lived and must not.
 */
export async function warmLoadedModel(
  model: LoadedModel,
  slot: 'serving' | 'shadow',
  log?: Logger,
): Promise<WarmUpReport> {
  const report = await warmUp(model.scorer, { bounds: Array.from(model.columns, (f) => FEATURE_SPECS[f]!) })
  const fields = {
    model: model.modelName,
    version: model.version,
    slot,
    tier: report.tier,
    stoppedBy: report.stoppedBy,
    rows: report.rows,
    ms: Math.round(report.ms),
    busyMs: Math.round(report.busyMs),
    maxSliceMs: Math.round(report.maxSliceMs),
  }
  // Nothing to warm (linear models, deep forests) is not worth an info line on every load.
  if (report.rows > 0) log?.info(fields, 'model scorer warmed up')
  else log?.debug(fields, 'model scorer needs no warm-up')
  return report
}

export function createModelFollower(options: ModelFollowerOptions): ModelFollower {
  const { kafka, serde, topic, modelName, metrics, log } = options
  let served: LoadedModel | null = null
  let shadow: LoadedModel | null = null
  let servingCursor: VersionCursor | null = null
  let shadowCursor: VersionCursor | null = null
  let shadowLastSeen: VersionCursor | null = null
  // During the initial read: accepted serving events, oldest first, and the shadow to load.
  let replay: {
    serving: { event: SignedEvent; offset: string }[]
    shadow: { event: SignedEvent; offset: string } | null
  } | null = {
    serving: [],
    shadow: null,
  }
  const listeners: ((m: LoadedModel) => void)[] = []
  let consumer: Consumer | undefined

  async function load(event: ModelVersionEvent, slot: 'serving' | 'shadow'): Promise<LoadedModel | null> {
    try {
      const artifact = await options.loadArtifact(event)
      const model = buildLoadedModel(event, artifact, log)
      await warmLoadedModel(model, slot, log)
      metrics.reloads.inc({ model: modelName, slot })
      return model
    } catch (err) {
      const e = toRiskStreamError(err, 'ARTIFACT_CORRUPT')
      metrics.reloadFailures.inc({ model: modelName, slot, reason: e.code })
      log.error(
        {
          code: e.code,
          model: modelName,
          version: event.version,
          eventId: event.eventId,
          slot,
          err: e.message,
        },
        'model version refused; keeping the current one',
      )
      return null
    }
  }

  function setServed(model: LoadedModel, cursor: VersionCursor): void {
    const previous = served?.version ?? null
    served = model
    servingCursor = cursor
    metrics.servedVersion.set({ model: modelName }, model.version)
    log.info(
      { model: modelName, version: model.version, previous, eventId: model.eventId },
      'serving model version',
    )
    // A promoted shadow is now the served version: scoring it twice would be pointless.
    if (shadow && shadow.version === model.version) setShadow(null, null)
    for (const l of listeners) l(model)
  }

  function setShadow(model: LoadedModel | null, cursor: VersionCursor | null): void {
    shadow = model
    shadowCursor = cursor
    metrics.shadowVersion.set({ model: modelName }, model?.version ?? 0)
    log.info(
      { model: modelName, shadowVersion: model?.version ?? null },
      model ? 'shadow-scoring version' : 'shadow scoring stopped',
    )
  }

  /** A signed event at or below the slot's applied sequence: a replay, refused and counted. */
  function refuseReplay(slot: 'serving' | 'shadow', event: SignedEvent, offset: string): void {
    metrics.reloadFailures.inc({ model: modelName, slot, reason: 'ARTIFACT_UNAUTHENTICATED' })
    log.error(
      {
        code: 'ARTIFACT_UNAUTHENTICATED',
        model: modelName,
        version: event.version,
        seq: event.seq,
        offset,
        slot,
      },
      'model version refused: sequence at or below the one applied (replayed event); keeping the current one',
    )
  }

  async function onServingRecord(event: SignedEvent | null, offset: string): Promise<void> {
    const d = decideServing(servingCursor, event, offset, modelName)
    if (d.action === 'ignore') {
      if (d.reason === 'older') refuseReplay('serving', event as SignedEvent, offset)
      else if (d.reason === 'not-production')
        log.warn(
          { model: modelName, offset },
          'serving slot without a production version; keeping the current one',
        )
      else log.debug({ model: modelName, offset, reason: d.reason }, 'model-version event is a no-op')
      return
    }
    const ev = event as SignedEvent
    if (d.action === 'advance') {
      servingCursor = cursorOf(ev, offset)
      return
    }
    if (replay) {
      replay.serving.push({ event: ev, offset })
      servingCursor = cursorOf(ev, offset) // tentative: the catch-up load may fall back
      return
    }
    const model = await load(ev, 'serving')
    if (model) setServed(model, cursorOf(ev, offset))
  }

  async function onShadowRecord(event: SignedEvent | null, offset: string): Promise<void> {
    const servingVersion = replay ? (replay.serving.at(-1)?.event.version ?? null) : (served?.version ?? null)
    const pendingCursor = replay?.shadow ? cursorOf(replay.shadow.event, replay.shadow.offset) : shadowCursor
    const d = decideShadow(pendingCursor, shadowLastSeen, event, offset, modelName, servingVersion)
    if (d.action === 'ignore' && d.reason === 'older')
      return refuseReplay('shadow', event as SignedEvent, offset)
    if (d.action === 'ignore' && (d.reason === 'other-model' || d.reason === 'duplicate')) return
    if (event) shadowLastSeen = cursorOf(event, offset)
    if (d.action === 'ignore' || d.action === 'advance') return
    if (replay) {
      replay.shadow = d.action === 'load' ? { event: event as SignedEvent, offset } : null
      return
    }
    if (d.action === 'clear') return setShadow(null, null)
    const model = await load(event as SignedEvent, 'shadow')
    if (model) setShadow(model, cursorOf(event as SignedEvent, offset))
  }

  /** End of the initial read: load the newest loadable production version, then the shadow. */
  async function finishReplay(): Promise<void> {
    const pending = replay
    replay = null
    if (!pending) return
    servingCursor = null
    for (let i = pending.serving.length - 1; i >= 0; i--) {
      const { event, offset } = pending.serving[i]!
      const model = await load(event, 'serving')
      if (model) {
        setServed(model, cursorOf(event, offset))
        break
      }
    }
    if (!served) {
      // Nothing loadable: the cursor stays empty, so the next production event is tried.
      if (pending.serving.length > 0)
        log.error({ model: modelName }, 'no loadable production version on the topic; not consuming requests')
      else log.warn({ model: modelName }, 'no production version published yet; not consuming requests')
    }
    if (pending.shadow) {
      const { event, offset } = pending.shadow
      if (event.version !== served?.version) {
        const model = await load(event, 'shadow')
        if (model) setShadow(model, cursorOf(event, offset))
      }
    }
  }

  async function onRecord(
    key: string | null,
    value: Buffer | null,
    offset: string,
    headers: IHeaders | undefined,
  ): Promise<void> {
    const slot = slotOfKey(key, modelName)
    if (slot === 'other') return
    let event: SignedEvent | null = null
    if (value) {
      try {
        const decoded = (await serde.decode<ModelVersionEvent>(value, 'ModelVersion')).value
        // Authenticity first: nothing of an unsigned, forged or oversized event is loaded.
        const seq = options.signer.verify(decoded, signatureOf(headers))
        if (decoded.artifact && decoded.artifact.length > INLINE_ARTIFACT_MAX_BYTES)
          throw new RiskStreamError('ARTIFACT_UNAUTHENTICATED', 'inline artifact over the size limit')
        event = { ...decoded, seq }
      } catch (err) {
        const e = toRiskStreamError(err, 'DECODE_FAILED')
        if (e.retriable) throw e // registry outage: kafkajs retries the message
        metrics.reloadFailures.inc({ model: modelName, slot, reason: e.code })
        log.error(
          { code: e.code, offset, slot, err: e.message },
          'model-version event refused (undecodable or not authentic); keeping the current one',
        )
        return
      }
    }
    if (slot === 'serving') await onServingRecord(event, offset)
    else await onShadowRecord(event, offset)
  }

  return {
    served: () => served,
    shadow: () => shadow,
    onServedChange(listener) {
      listeners.push(listener)
    },
    async start() {
      const admin = kafka.admin()
      await admin.connect()
      let high: bigint
      try {
        const offsets = await admin.fetchTopicOffsets(topic)
        // 1 partition by design; take the max in case someone created more. The record at
        // high - 1 is always delivered (compaction never removes a log's last record, and we
        // use no transactions, so no control marker sits there): reaching it = caught up.
        high = offsets.reduce(
          (m, o) => (BigInt(o.high) > BigInt(o.low) && BigInt(o.high) > m ? BigInt(o.high) : m),
          0n,
        )
      } finally {
        await admin.disconnect()
      }
      let resolveCaughtUp!: () => void
      let rejectCaughtUp!: (e: unknown) => void
      const caughtUp = new Promise<void>((res, rej) => {
        resolveCaughtUp = res
        rejectCaughtUp = rej
      })
      const catchUp = async () => {
        try {
          await finishReplay()
          resolveCaughtUp()
        } catch (err) {
          rejectCaughtUp(err)
        }
      }
      consumer = kafka.consumer({
        groupId: `${options.groupPrefix}-${process.pid}-${randomBytes(4).toString('hex')}`,
        allowAutoTopicCreation: false,
        // Small, rare records: fetch promptly so a new version is picked up within ~100 ms.
        maxWaitTimeInMs: 100,
      })
      await consumer.connect()
      await consumer.subscribe({ topic, fromBeginning: true })
      await consumer.run({
        // Nothing to commit: every process re-reads the (compacted, small) topic on start.
        autoCommit: false,
        eachMessage: async ({ message }) => {
          await onRecord(message.key?.toString() ?? null, message.value, message.offset, message.headers)
          if (replay && BigInt(message.offset) + 1n >= high) await catchUp()
        },
      })
      if (high === 0n) await catchUp()
      await caughtUp
    },
    async stop() {
      await consumer?.disconnect()
      consumer = undefined
    },
  }
}
