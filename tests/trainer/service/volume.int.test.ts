import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { queryRows } from '../../../lib/clickhouse/index.ts'
import { closeDeps, type Deps } from '../../../lib/runtime/index.ts'
import { createTrainerService, type TrainerService } from '../../../trainer/service/service.ts'
import { preparedDeps, uniqueId, waitFor } from '../../helpers/index.ts'
import { insertLabelled } from './labelled.ts'

let deps: Deps
let service: TrainerService

beforeAll(async () => {
  deps = await preparedDeps({
    MODEL_NAME: uniqueId('m'),
    MIN_NEW_DATA_THRESHOLD: '5',
    RETRAIN_COOLDOWN_MS: '0',
  })
  service = createTrainerService(deps, {
    train: { families: ['logistic_regression'], budget: 1, folds: 3 },
    pollIntervalMs: 200,
  })
  await service.start()
})

afterAll(async () => {
  await service?.stop()
  await closeDeps(deps)
})

describe('trainer service, data-volume trigger', () => {
  it('retrains once when MIN_NEW_DATA_THRESHOLD labelled outcomes have arrived', async () => {
    await insertLabelled(deps, 5, { t0: Date.now() - 60_000 })
    const triggers = () =>
      queryRows<{ trigger_id: string; decision: string }>(
        deps.clickhouse,
        "SELECT trigger_id, decision FROM retrain_triggers FINAL WHERE model_name = {m:String} AND kind = 'data_volume'",
        { m: deps.config.model.name },
      )
    const done = await waitFor(
      async () => (await triggers()).find((t) => t.decision === 'succeeded' || t.decision === 'rejected'),
      {
        timeoutMs: 90_000,
        message: 'the data-volume retrain to finish',
      },
    )
    expect(done.trigger_id).toBe(`data_volume:${deps.config.model.name}:0`)
    // The baseline moved to 5 with the run: the same rows never trigger again.
    await service.idle()
    expect(await triggers()).toHaveLength(1)
    expect(service.stats.runs).toBe(1)
  })
})
