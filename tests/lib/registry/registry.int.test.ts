import type { Kafka } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AvroSerde, createKafka, readToEnd } from '../../../lib/kafka/index.ts'
import { sha256Hex } from '../../../lib/model/artifact.ts'
import { SIGNATURE_HEADER, signerFor } from '../../../lib/model/signing.ts'
import {
  createRegistry,
  INLINE_ARTIFACT_MAX_BYTES,
  latestProductionFromTopic,
  type ModelRegistry,
  type ModelVersionEvent,
  servingKey,
  shadowKey,
} from '../../../lib/registry/index.ts'
import { seqOfEventId } from '../../../lib/registry/registry.ts'
import { closeDeps, type Deps } from '../../../lib/runtime/index.ts'
import { collectMessages, preparedDeps, uniqueId } from '../../helpers/index.ts'
import { linearArtifact } from './fixtures.ts'

let deps: Deps
let registry: ModelRegistry

beforeAll(async () => {
  deps = await preparedDeps()
  registry = createRegistry(deps)
})

afterAll(async () => {
  await closeDeps(deps)
})

/** Current state of every slot of every model on the topic (newest record per key). */
async function readModelVersionTopic(
  kafka: Kafka,
  serde: AvroSerde,
  topic: string,
): Promise<Map<string, ModelVersionEvent>> {
  const byKey = new Map<string, ModelVersionEvent>()
  await readToEnd(kafka, topic, async (m) => {
    const key = m.key?.toString()
    if (!key) return
    if (!m.value) {
      byKey.delete(key)
      return
    }
    byKey.set(key, (await serde.decode<ModelVersionEvent>(m.value, 'ModelVersion')).value)
  })
  return byKey
}

describe('model registry', () => {
  it('signs every published event with its stage-event sequence (lib/model/signing.ts)', async () => {
    const model = uniqueId('sig-')
    await registry.register(linearArtifact(model), { stage: 'production', runId: 'r1', reason: 'first' })
    await registry.register(linearArtifact(model), { stage: 'production', runId: 'r2', reason: 'second' })
    await registry.rollback(model, 'back')
    const all = await collectMessages(
      deps.kafka,
      deps.topics.modelVersions,
      (m) => m.filter((x) => x.key?.startsWith(model)).length >= 4,
    )
    const signer = signerFor(deps.config)
    const seqs: number[] = []
    for (const m of all.filter((x) => x.key?.startsWith(model))) {
      const { value } = await deps.serde.decode<ModelVersionEvent>(m.value!, 'ModelVersion')
      const seq = signer.verify(value, m.headers[SIGNATURE_HEADER])
      expect(seq).toBe(seqOfEventId(value.eventId))
      seqs.push(seq)
    }
    // Strictly increasing in topic order: the follower's ordering.
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
    expect(new Set(seqs).size).toBe(seqs.length)
  })

  it('numbers versions monotonically, also under concurrent callers', async () => {
    const model = uniqueId('m-')
    const first = await registry.register(linearArtifact(model), {
      stage: 'candidate',
      runId: 'r1',
      reason: 'first',
    })
    const second = await registry.register(linearArtifact(model), {
      stage: 'candidate',
      runId: 'r2',
      reason: 'second',
    })
    expect(first.version).toBe(1)
    expect(second.version).toBe(2)
    const burst = await Promise.all(
      [1, 2, 3].map((i) =>
        registry.register(linearArtifact(model), { stage: 'candidate', runId: `b${i}`, reason: 'burst' }),
      ),
    )
    expect(burst.map((b) => b.version).sort()).toEqual([3, 4, 5])
    const rows = await registry.listVersions(model)
    expect(rows.map((r) => r.version)).toEqual([1, 2, 3, 4, 5])
    expect(rows[0]).toMatchObject({
      modelName: model,
      stage: 'candidate',
      family: 'logistic_regression',
      runId: 'r1',
      reason: 'first',
      parentVersion: null,
    })
    expect(rows[0]!.metrics.roc_auc).toBeCloseTo(0.83, 10)
    expect(first.event.eventId).toMatch(new RegExp(`^${model}:1:candidate:\\d+$`))
  })

  it('loads an inline artifact, verifies its checksum, and refuses tampered bytes', async () => {
    const model = uniqueId('m-')
    const { event } = await registry.register(linearArtifact(model), {
      stage: 'production',
      runId: 'r',
      reason: 'initial',
    })
    expect(event.artifact).not.toBeNull()
    expect(sha256Hex(event.artifact!)).toBe(event.artifactSha256)
    const loaded = await registry.loadArtifact(event)
    expect(loaded).toMatchObject({ modelName: model, version: 1, stage: 'production' })

    const tampered = Buffer.from(event.artifact!)
    tampered[tampered.length - 5]! ^= 0xff
    await expect(registry.loadArtifact({ ...event, artifact: tampered })).rejects.toMatchObject({
      code: 'ARTIFACT_CORRUPT',
    })
    // By reference (no inline bytes): read from ClickHouse, still checked against the event's sha.
    await expect(registry.loadArtifact({ ...event, artifact: null })).resolves.toMatchObject({ version: 1 })
    await expect(
      registry.loadArtifact({ ...event, artifact: null, artifactSha256: '0'.repeat(64) }),
    ).rejects.toMatchObject({ code: 'ARTIFACT_CORRUPT' })
  })

  it('publishes a large artifact by reference and loads it from ClickHouse', async () => {
    const model = uniqueId('m-')
    const { event } = await registry.register(linearArtifact(model, { padding: 100_000 }), {
      stage: 'candidate',
      runId: 'r',
      reason: 'big',
    })
    expect(event.artifact).toBeNull()
    expect(event.artifactRef).toBe(`clickhouse:model_artifacts/${model}/1`)
    const loaded = await registry.loadArtifact(event)
    expect(String(loaded.hyperparameters.padding).length).toBeGreaterThan(INLINE_ARTIFACT_MAX_BYTES)
  })

  it('promotes (archiving the previous production) and rolls back with the right events', async () => {
    const model = uniqueId('m-')
    await registry.register(linearArtifact(model), { stage: 'production', runId: 'r1', reason: 'initial' })
    await registry.register(linearArtifact(model, { intercept: -2 }), {
      stage: 'candidate',
      runId: 'r2',
      reason: 'retrain',
    })
    const promoted = await registry.setStage(model, 2, 'production', 'better')
    expect(promoted).toMatchObject({
      modelName: model,
      version: 2,
      stage: 'production',
      parentVersion: 1,
      reason: 'better',
    })
    expect(promoted.artifact).not.toBeNull()
    expect((await registry.getVersion(model, 1))?.stage).toBe('archived')
    expect((await registry.production(model))?.version).toBe(2)

    const rolledBack = await registry.rollback(model, 'v2 misbehaves')
    expect(rolledBack).toMatchObject({ version: 1, stage: 'production', reason: 'v2 misbehaves' })
    expect((await registry.production(model))?.version).toBe(1)
    expect((await registry.getVersion(model, 2))?.stage).toBe('archived')
    // Nothing earlier than v1 was ever in production.
    await expect(registry.rollback(model, 'again')).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' })

    const history = await registry.history(model)
    expect(history.map((h) => `${h.version}:${h.stage}:${h.action}`)).toEqual([
      '1:production:register',
      '2:candidate:register',
      '1:archived:archive',
      '2:production:promote',
      '2:archived:archive',
      '1:production:rollback',
    ])
    expect(new Set(history.map((h) => h.eventId)).size).toBe(history.length)

    // The topic got the same story, the serving slot ending on v1.
    const events = await collectMessages(
      deps.kafka,
      deps.topics.modelVersions,
      (ms) => ms.filter((m) => m.key?.startsWith(model)).length >= 6,
    )
    const mine = await Promise.all(
      events
        .filter((m) => m.key?.startsWith(`${model}`))
        .map(async (m) => ({
          key: m.key,
          value: (await deps.serde.decode<ModelVersionEvent>(m.value, 'ModelVersion')).value,
        })),
    )
    const serving = mine
      .filter((m) => m.key === servingKey(model))
      .map((m) => `${m.value.version}:${m.value.stage}`)
    expect(serving).toEqual(['1:production', '2:production', '1:production'])
  })

  it('lets a fresh Kafka client recover the production version from the topic alone', async () => {
    const model = uniqueId('m-')
    await registry.register(linearArtifact(model), { stage: 'production', runId: 'r1', reason: 'initial' })
    const { version } = await registry.register(linearArtifact(model, { intercept: -3 }), {
      stage: 'production',
      runId: 'r2',
      reason: 'next',
    })
    const fresh = createKafka(deps.config, { clientId: uniqueId('fresh-') })
    const latest = await latestProductionFromTopic(fresh, deps.serde, deps.topics.modelVersions, model)
    expect(latest).toMatchObject({ modelName: model, version, stage: 'production' })
    const artifact = await registry.loadArtifact(latest!)
    expect(artifact.model).toMatchObject({ kind: 'linear', intercept: -3 })
  })

  it('keeps shadow candidates and rejections out of the serving slot', async () => {
    const model = uniqueId('m-')
    await registry.register(linearArtifact(model), { stage: 'production', runId: 'r1', reason: 'initial' })
    const shadow = await registry.register(linearArtifact(model), {
      stage: 'candidate',
      runId: 'r2',
      reason: 'try',
      shadow: true,
    })
    await registry.register(linearArtifact(model), {
      stage: 'rejected',
      runId: 'r3',
      reason: 'roc_auc too low',
    })
    expect(shadow.event.shadow).toBe(true)

    const slots = await readModelVersionTopic(deps.kafka, deps.serde, deps.topics.modelVersions)
    expect(slots.get(servingKey(model))).toMatchObject({ version: 1, stage: 'production' })
    expect(slots.get(shadowKey(model))).toMatchObject({ version: 2, stage: 'candidate', shadow: true })
    expect(slots.get(`${model}#v3`)).toMatchObject({ version: 3, stage: 'rejected' })
    expect(
      await latestProductionFromTopic(deps.kafka, deps.serde, deps.topics.modelVersions, model),
    ).toMatchObject({ version: 1 })

    // Rejecting the shadow candidate empties the shadow slot.
    await registry.setStage(model, 2, 'rejected', 'shadow comparison lost')
    const after = await readModelVersionTopic(deps.kafka, deps.serde, deps.topics.modelVersions)
    expect(after.get(shadowKey(model))).toMatchObject({ version: 2, stage: 'rejected', shadow: false })
    expect(after.get(servingKey(model))).toMatchObject({ version: 1, stage: 'production' })
  })
})
