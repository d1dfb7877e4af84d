/**
 * The model registry: numbered, checksummed model versions with a stage history.
 *
 * ClickHouse is the system of record (what the API lists); the compacted model-versions topic
 * is how inference learns what to serve (see topic.ts for the key layout). Every operation
 * writes ClickHouse first and publishes last, so an event never names a version ClickHouse
 * does not have. Operations are serialized within the process: version numbers (max + 1) and
 * event sequence numbers are read-then-written, which is only safe one at a time. Two
 * processes registering the same model concurrently are NOT coordinated (run one trainer).
 */
import type { Producer } from 'kafkajs'
import type { ClickHouseClient } from '../clickhouse/index.ts'
import type { Config } from '../config/index.ts'
import { RiskStreamError, toRiskStreamError } from '../errors/index.ts'
import type { AvroSerde } from '../kafka/serde.ts'
import type { TopicNames } from '../kafka/topics.ts'
import { getLogger } from '../log/index.ts'
import { artifactRef, decodeArtifact, encodeArtifact, sha256Hex } from '../model/artifact.ts'
import { SIGNATURE_HEADER, signerFor, type VersionSigner } from '../model/signing.ts'
import type { ModelArtifact, ModelStage } from '../model/types.ts'
import { createSerializer } from '../runtime/serialize.ts'
import { mirrorSafely } from './mlflow.ts'
import {
  insertArtifact,
  insertStageEvents,
  insertVersion,
  maxSeq,
  maxVersion,
  publicRow,
  type StageEventInsert,
  type StoredVersion,
  selectArtifact,
  selectProduction,
  selectStageEvents,
  selectVersion,
  selectVersions,
} from './store.ts'
import { eventIdFor, servingKey, shadowKey, versionKey } from './topic.ts'
import type {
  ModelRegistry,
  ModelVersionEvent,
  RegisterOptions,
  StageAction,
  StageEventRow,
} from './types.ts'

/** Artifacts up to this size ride inside the event; larger ones are loaded from ClickHouse by reference. */
export const INLINE_ARTIFACT_MAX_BYTES = 512 * 1024

const STAGES: readonly ModelStage[] = ['candidate', 'production', 'rejected', 'archived']

export interface RegistryDeps {
  serde: AvroSerde
  topics: Pick<TopicNames, 'modelVersions'>
  producer: Producer
  clickhouse: ClickHouseClient
  /** Clock (tests); the registry makes it strictly increasing so ReplacingMergeTree order is total. */
  now?: () => number
  /**
   * Signs every published model-version event (lib/model/signing.ts). Default: the signer of
   * `config`; with neither, events go out unsigned and inference refuses them.
   */
  signer?: VersionSigner
  config?: Pick<Config, 'signing' | 'data'> & Partial<Pick<Config, 'mlflow'>>
}

/** The stage-event sequence inside an event id (`<model>:<version>:<stage>:<seq>`). */
export const seqOfEventId = (eventId: string): number => Number(eventId.slice(eventId.lastIndexOf(':') + 1))

interface Outgoing {
  key: string
  event: ModelVersionEvent
}

/**
 * The version a rollback re-promotes: the production history (stage events, oldest first)
 * replayed as a stack — a promotion pushes, a rollback pops the version rolled back from —
 * then the entry under the current production version. Undefined when there is none.
 */
export function rollbackTarget(
  history: Pick<StageEventRow, 'version' | 'stage' | 'action'>[],
  current: number,
): number | undefined {
  const stack: number[] = []
  for (const e of history) {
    if (e.stage !== 'production') continue
    if (e.action === 'rollback') {
      stack.pop()
      if (stack[stack.length - 1] !== e.version) stack.push(e.version)
    } else if (stack[stack.length - 1] !== e.version) {
      stack.push(e.version)
    }
  }
  while (stack.length > 0 && stack[stack.length - 1] === current) stack.pop()
  return stack[stack.length - 1]
}

export function createRegistry(deps: RegistryDeps): ModelRegistry {
  const { clickhouse: ch, serde, producer } = deps
  const topic = deps.topics.modelVersions
  const log = getLogger('registry')
  const clock = deps.now ?? Date.now
  const signer = deps.signer ?? (deps.config ? signerFor(deps.config) : undefined)

  // Two writes in the same millisecond would tie on updated_at; a strictly increasing clock
  // guarantees the later stage change wins in ReplacingMergeTree.
  let lastTick = 0
  const tick = () => {
    lastTick = Math.max(clock(), lastTick + 1)
    return lastTick
  }

  const serialize = createSerializer()

  /**
   * After a registration or stage change: MLflow's model versions and aliases follow (when
   * MLFLOW_TRACKING_URI is set). Outside the serialized section, and never throws.
   */
  async function mirrored<T>(modelName: string, change: Promise<T>): Promise<T> {
    const result = await change
    if (deps.config?.mlflow?.trackingUri)
      await mirrorSafely({ clickhouse: ch, config: deps.config, log }, 'registry', (m) =>
        m.syncModel(modelName),
      )
    return result
  }

  let schemaReady: Promise<number> | undefined
  async function publish(out: Outgoing[]): Promise<void> {
    if (out.length === 0) return
    schemaReady ??= serde.register(topic, 'ModelVersion').catch((err) => {
      schemaReady = undefined
      throw err
    })
    await schemaReady
    const messages = out.map((o) => ({
      key: o.key,
      value: serde.encode(topic, o.event),
      headers: signer ? { [SIGNATURE_HEADER]: signer.sign(o.event, seqOfEventId(o.event.eventId)) } : {},
    }))
    try {
      // One send, one partition: the records land in this order (archive before promote).
      await producer.send({ topic, messages })
    } catch (err) {
      throw toRiskStreamError(err, 'KAFKA_UNAVAILABLE')
    }
  }

  function eventFor(
    v: StoredVersion,
    seq: number,
    publishedAt: number,
    artifact: Buffer | null,
  ): ModelVersionEvent {
    return {
      eventId: eventIdFor(v.modelName, v.version, v.stage, seq),
      modelName: v.modelName,
      version: v.version,
      stage: v.stage,
      family: v.family,
      threshold: v.threshold,
      artifactSha256: v.artifactSha256,
      artifactRef: v.artifactRef,
      artifact: artifact && artifact.length <= INLINE_ARTIFACT_MAX_BYTES ? artifact : null,
      metricsJson: v.metricsJson,
      parentVersion: v.parentVersion,
      shadow: v.shadow,
      reason: v.reason,
      createdAt: v.createdAt,
      publishedAt,
    }
  }

  function stageEvent(
    v: StoredVersion,
    seq: number,
    action: StageAction,
    previousVersion: number | null,
  ): StageEventInsert {
    return {
      eventId: eventIdFor(v.modelName, v.version, v.stage, seq),
      modelName: v.modelName,
      version: v.version,
      stage: v.stage,
      previousVersion,
      action,
      seq,
      reason: v.reason,
      at: v.updatedAt,
    }
  }

  /** Bytes of a stored artifact for inlining, checked against the registered checksum. */
  async function storedBytes(v: StoredVersion): Promise<Buffer> {
    const a = await selectArtifact(ch, v.modelName, v.version)
    if (!a)
      throw new RiskStreamError('MODEL_NOT_FOUND', `no artifact stored for ${v.modelName} v${v.version}`)
    if (sha256Hex(a.bytes) !== v.artifactSha256) {
      throw new RiskStreamError(
        'ARTIFACT_CORRUPT',
        `stored artifact of ${v.modelName} v${v.version} does not match its sha256`,
      )
    }
    return a.bytes
  }

  /** Moves the serving version aside when another is promoted (history row + event). */
  function archiveSuperseded(
    prod: StoredVersion,
    by: number,
    now: number,
    seq: number,
    rows: StoredVersion[],
    events: StageEventInsert[],
    out: Outgoing[],
  ) {
    const archived: StoredVersion = {
      ...prod,
      stage: 'archived',
      shadow: false,
      reason: `superseded by v${by}`,
      updatedAt: now,
    }
    rows.push(archived)
    events.push(stageEvent(archived, seq, 'archive', null))
    out.push({ key: versionKey(prod.modelName, prod.version), event: eventFor(archived, seq, now, null) })
  }

  async function transition(
    modelName: string,
    version: number,
    stage: ModelStage,
    reason: string,
    action: StageAction,
  ): Promise<ModelVersionEvent> {
    if (!STAGES.includes(stage))
      throw new RiskStreamError('BAD_REQUEST', `unknown stage ${JSON.stringify(stage)}`)
    const row = await selectVersion(ch, modelName, version)
    if (!row) throw new RiskStreamError('MODEL_NOT_FOUND', `${modelName} v${version}`)
    const prod = await selectProduction(ch, modelName)
    const now = tick()
    let seq = await maxSeq(ch, modelName)
    const rows: StoredVersion[] = []
    const events: StageEventInsert[] = []
    const out: Outgoing[] = []

    if (stage === 'production' && prod && prod.version !== version)
      archiveSuperseded(prod, version, now, ++seq, rows, events, out)

    const updated: StoredVersion = {
      ...row,
      stage,
      reason,
      shadow: stage === 'candidate' && row.shadow,
      updatedAt: now,
    }
    rows.push(updated)
    seq++
    events.push(stageEvent(updated, seq, action, stage === 'production' ? (prod?.version ?? null) : null))
    const event = eventFor(updated, seq, now, stage === 'production' ? await storedBytes(updated) : null)
    out.push({ key: stage === 'production' ? servingKey(modelName) : versionKey(modelName, version), event })
    // Leaving the shadow slot empties it; demoting the serving version with no replacement
    // empties the serving slot (the newest record there then says "not production").
    if (row.shadow && row.stage === 'candidate' && !updated.shadow)
      out.push({ key: shadowKey(modelName), event })
    if (row.stage === 'production' && stage !== 'production') out.push({ key: servingKey(modelName), event })

    for (const r of rows) await insertVersion(ch, r)
    await insertStageEvents(ch, events)
    await publish(out)
    log.info({ model: modelName, version, stage, action }, 'model stage changed')
    return event
  }

  return {
    register(artifact: ModelArtifact, opts: RegisterOptions) {
      return mirrored(
        artifact.modelName,
        serialize(async () => {
          if (!STAGES.includes(opts.stage))
            throw new RiskStreamError('BAD_REQUEST', `unknown stage ${JSON.stringify(opts.stage)}`)
          const modelName = artifact.modelName
          const version = (await maxVersion(ch, modelName)) + 1
          const prod = await selectProduction(ch, modelName)
          const now = tick()
          const numbered: ModelArtifact = {
            ...artifact,
            version,
            stage: opts.stage,
            parentVersion: artifact.parentVersion ?? prod?.version ?? null,
          }
          const { bytes, sha256 } = encodeArtifact(numbered) // throws ARTIFACT_CORRUPT on a malformed artifact
          const { folds: _folds, ...metrics } = numbered.metrics
          const stored: StoredVersion = {
            modelName,
            version,
            stage: opts.stage,
            family: numbered.family,
            threshold: numbered.threshold,
            artifactSha256: sha256,
            artifactRef: artifactRef(modelName, version),
            metrics,
            metricsJson: JSON.stringify(metrics),
            dataset: numbered.dataset as unknown as Record<string, unknown>,
            datasetJson: JSON.stringify(numbered.dataset),
            hyperparameters: numbered.hyperparameters,
            hyperparametersJson: JSON.stringify(numbered.hyperparameters),
            parentVersion: numbered.parentVersion,
            runId: opts.runId,
            reason: opts.reason,
            codeVersion: numbered.codeVersion,
            shadow: opts.shadow === true && opts.stage === 'candidate',
            createdAt: now,
            updatedAt: now,
          }
          let seq = await maxSeq(ch, modelName)
          const rows: StoredVersion[] = []
          const events: StageEventInsert[] = []
          const out: Outgoing[] = []
          if (opts.stage === 'production' && prod)
            archiveSuperseded(prod, version, now, ++seq, rows, events, out)
          rows.push(stored)
          seq++
          events.push(
            stageEvent(stored, seq, 'register', opts.stage === 'production' ? (prod?.version ?? null) : null),
          )
          const event = eventFor(stored, seq, now, bytes)
          const key =
            opts.stage === 'production'
              ? servingKey(modelName)
              : stored.shadow
                ? shadowKey(modelName)
                : versionKey(modelName, version)
          out.push({ key, event })

          // The artifact first: a version row never points at bytes that are not there.
          await insertArtifact(ch, modelName, version, sha256, bytes, now)
          for (const r of rows) await insertVersion(ch, r)
          await insertStageEvents(ch, events)
          await publish(out)
          log.info(
            { model: modelName, version, stage: opts.stage, shadow: stored.shadow, bytes: bytes.length },
            'model version registered',
          )
          return { version, event }
        }),
      )
    },

    setStage(modelName, version, stage, reason) {
      const action: StageAction =
        stage === 'production'
          ? 'promote'
          : stage === 'rejected'
            ? 'reject'
            : stage === 'archived'
              ? 'archive'
              : 'register'
      return mirrored(
        modelName,
        serialize(() => transition(modelName, version, stage, reason, action)),
      )
    },

    rollback(modelName, reason) {
      return mirrored(
        modelName,
        serialize(async () => {
          const prod = await selectProduction(ch, modelName)
          if (!prod)
            throw new RiskStreamError(
              'MODEL_NOT_FOUND',
              `${modelName} has no production version to roll back`,
            )
          const target = rollbackTarget(await selectStageEvents(ch, modelName), prod.version)
          if (target === undefined)
            throw new RiskStreamError('MODEL_NOT_FOUND', `${modelName} has no earlier production version`)
          return transition(modelName, target, 'production', reason, 'rollback')
        }),
      )
    },

    async listVersions(modelName) {
      return (await selectVersions(ch, modelName)).map(publicRow)
    },
    async getVersion(modelName, version) {
      const v = await selectVersion(ch, modelName, version)
      return v ? publicRow(v) : null
    },
    async production(modelName) {
      const v = await selectProduction(ch, modelName)
      return v ? publicRow(v) : null
    },
    history(modelName) {
      return selectStageEvents(ch, modelName)
    },

    async loadArtifact(event) {
      let bytes = event.artifact
      if (!bytes) {
        const stored = await selectArtifact(ch, event.modelName, event.version)
        if (!stored)
          throw new RiskStreamError(
            'MODEL_NOT_FOUND',
            `no artifact stored for ${event.modelName} v${event.version}`,
          )
        bytes = stored.bytes
      }
      const artifact = decodeArtifact(bytes, event.artifactSha256)
      if (artifact.modelName !== event.modelName || artifact.version !== event.version) {
        throw new RiskStreamError(
          'ARTIFACT_CORRUPT',
          `artifact is ${artifact.modelName} v${artifact.version}, event names ${event.modelName} v${event.version}`,
        )
      }
      return artifact
    },
  }
}
