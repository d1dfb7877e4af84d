import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { queryRows } from '../../../lib/clickhouse/index.ts'
import { readToEnd } from '../../../lib/kafka/index.ts'
import { createRegistry, type ModelRegistry } from '../../../lib/registry/index.ts'
import { closeDeps, type Deps } from '../../../lib/runtime/index.ts'
import { trainOnce } from '../../../trainer/index.ts'
import {
  createTrainerService,
  type DriftEventRecord,
  type RetrainResultRecord,
  type TrainerService,
} from '../../../trainer/service/service.ts'
import { preparedDeps, uniqueId, waitFor } from '../../helpers/index.ts'
import { insertLabelled } from './labelled.ts'

const QUICK = { families: ['logistic_regression' as const], budget: 1, folds: 3 }

let deps: Deps
let registry: ModelRegistry
let service: TrainerService

function driftEvent(kind: string, severity = 'significant'): DriftEventRecord {
  const now = Date.now()
  return {
    eventId: uniqueId('drift-'),
    kind,
    severity,
    modelName: deps.config.model.name,
    modelVersion: 1,
    windowType: 'sliding',
    windowStart: now - 60_000,
    windowEnd: now,
    windowSize: 500,
    features: ['glucose'],
    scores: { glucose: 0.31 },
    evidenceJson: '{}',
    detectedAt: now,
  }
}

async function publishDrift(...events: DriftEventRecord[]) {
  await deps.producer.send({
    topic: deps.topics.driftEvents,
    messages: events.map((e) => ({ key: e.modelName, value: deps.serde.encode(deps.topics.driftEvents, e) })),
  })
}

async function results(): Promise<RetrainResultRecord[]> {
  const out: RetrainResultRecord[] = []
  await readToEnd(deps.kafka, deps.topics.retrainResults, async (m) => {
    out.push((await deps.serde.decode<RetrainResultRecord>(m.value, 'RetrainResult')).value)
  })
  return out
}

async function decisions(triggerIds: string[]) {
  return queryRows<{ trigger_id: string; decision: string }>(
    deps.clickhouse,
    'SELECT trigger_id, decision FROM retrain_triggers FINAL WHERE has({ids:Array(String)}, trigger_id)',
    { ids: triggerIds },
  )
}

beforeAll(async () => {
  // A long cooldown: every automatic trigger after the first lands inside it.
  deps = await preparedDeps({
    MODEL_NAME: uniqueId('m'),
    RETRAIN_COOLDOWN_MS: '600000',
    AUTO_RETRAIN_ENABLED: 'true',
  })
  await deps.serde.register(deps.topics.driftEvents, 'DriftEvent')
  registry = createRegistry(deps)
  // An initial production model, trained before the service exists (so it is no trigger's run).
  await trainOnce(deps, { ...QUICK, trigger: 'test', reason: 'initial', registry })
  // A drift-triggered run waits for 40 new labelled outcomes (and only for them: no time-out here).
  service = createTrainerService(deps, {
    train: QUICK,
    registry,
    pollIntervalMs: 0,
    postDrift: { labels: 40, maxWaitMs: 3_600_000, pollMs: 200 },
  })
  await service.start()
})

afterAll(async () => {
  await service?.stop()
  await closeDeps(deps)
})

describe('trainer service', () => {
  it('retrains once for a burst of drift events, and never again for a redelivered one', async () => {
    const burst = [driftEvent('retrain_recommended'), driftEvent('data_drift'), driftEvent('concept_drift')]
    const ids = burst.map((e) => `drift:${e.eventId}`)
    await publishDrift(...burst)

    await waitFor(async () => (await decisions(ids)).length === 3, {
      timeoutMs: 60_000,
      message: 'three decisions',
    })
    // accepted, but waiting for post-drift labels: nothing has trained yet
    expect(service.stats.runs).toBe(0)
    await insertLabelled(deps, 40, { t0: Date.now() - 60_000 })
    await service.idle()
    const finals = await waitFor(
      async () => {
        const r = (await results()).filter((x) => ids.includes(x.requestId))
        return r.some((x) => x.status !== 'started') ? r : null
      },
      { timeoutMs: 90_000, message: 'a final retrain result' },
    )

    expect(finals.filter((r) => r.status === 'started')).toHaveLength(1)
    const final = finals.filter((r) => r.status !== 'started')
    expect(final).toHaveLength(1)
    expect(['succeeded', 'rejected']).toContain(final[0]!.status)
    expect(final[0]!.requestId).toBe(ids[0])
    const byId = new Map((await decisions(ids)).map((d) => [d.trigger_id, d.decision]))
    expect(byId.get(ids[0]!)).toBe(final[0]!.status)
    // coalesced while the run is queued or running, cooldown after it finished: either way no run.
    for (const id of ids.slice(1)) expect(['coalesced', 'cooldown']).toContain(byId.get(id))
    expect(service.stats.runs).toBe(1)

    const production = await registry.production(deps.config.model.name)
    if (final[0]!.status === 'succeeded') expect(production?.version).toBe(final[0]!.version)
    else {
      expect(production?.version).toBe(1)
      expect(final[0]!.reasons.length).toBeGreaterThan(0)
    }

    // The same event again (same eventId): already decided, nothing happens.
    const skippedBefore = service.stats.skipped
    await publishDrift(burst[0]!)
    await waitFor(() => service.stats.skipped > skippedBefore, {
      timeoutMs: 30_000,
      message: 'the duplicate to be seen',
    })
    await service.idle()
    expect(service.stats.runs).toBe(1)
    expect((await results()).filter((x) => ids.includes(x.requestId))).toHaveLength(2)
  })

  it('runs a manual request even inside the cooldown, and ignores non-retrain drift kinds', async () => {
    const quality = driftEvent('data_quality')
    const moderate = driftEvent('data_drift', 'moderate')
    await publishDrift(quality, moderate)
    await waitFor(
      async () => (await decisions([`drift:${quality.eventId}`, `drift:${moderate.eventId}`])).length === 2,
      {
        timeoutMs: 60_000,
        message: 'decisions on the non-retrain events',
      },
    )
    expect(
      (await decisions([`drift:${quality.eventId}`, `drift:${moderate.eventId}`])).map((d) => d.decision),
    ).toEqual(['ignored', 'ignored'])

    await deps.serde.register(deps.topics.retrainRequests, 'RetrainRequest')
    const requestId = uniqueId('req-')
    await deps.producer.send({
      topic: deps.topics.retrainRequests,
      messages: [
        {
          key: deps.config.model.name,
          value: deps.serde.encode(deps.topics.retrainRequests, {
            requestId,
            modelName: deps.config.model.name,
            trigger: 'manual',
            triggerEventId: null,
            reason: 'operator asked',
            requestedBy: 'test',
            requestedAt: Date.now(),
          }),
        },
      ],
    })
    const final = await waitFor(
      async () =>
        (await results()).find((r) => r.requestId === `request:${requestId}` && r.status !== 'started'),
      {
        timeoutMs: 90_000,
        message: 'the manual retrain result',
      },
    )
    expect(['succeeded', 'rejected']).toContain(final.status)
    expect(service.stats.runs).toBe(2)
  })
})
