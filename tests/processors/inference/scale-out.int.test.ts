/**
 * Scaling out: two inference services in one consumer group share the partitions; every
 * request gets a prediction and both instances do part of the work.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createInferenceService, type InferenceService } from '../../../processors/inference/index.ts'
import { collectMessages, uniqueId, waitFor } from '../../helpers/index.ts'
import { stumpArtifact, versionEvent } from './fixtures.ts'
import { createHarness, type Harness } from './harness.ts'

let h: Harness
const services: InferenceService[] = []

beforeAll(async () => {
  h = await createHarness()
})

afterAll(async () => {
  for (const s of services) await s.stop().catch(() => undefined)
  await h?.close()
})

describe('inference scale-out', () => {
  it('splits the partitions between two consumers of the same group', async () => {
    const model = uniqueId('so-')
    await h.publishVersion(versionEvent(stumpArtifact(model, 1)))
    const groupId = `${h.deps.config.topics.prefix}inference-${model}`
    for (let i = 0; i < 2; i++) {
      const s = createInferenceService(h.deps, { modelName: model, groupId })
      services.push(s)
      await s.start()
    }
    const n = 900
    const ids = Array.from({ length: n }, (_, i) => `so-${model}-${i}`)
    await h.sendRequests(ids)

    await waitFor(() => services.reduce((sum, s) => sum + s.status().processed, 0) >= n, {
      message: 'all requests committed',
    })
    const out = await collectMessages(
      h.deps.kafka,
      h.deps.topics.predictions,
      (m) => new Set(m.map((x) => x.key)).size >= n,
    )
    expect(new Set(out.map((m) => m.key)).size).toBe(n)
    // 3 partitions over 2 members: each member owns at least one partition and did work.
    for (const s of services) expect(s.status().processed).toBeGreaterThan(0)
  })
})
