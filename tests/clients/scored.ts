/**
 * What both client tests check once a foreign producer has written its requests: RiskStream's
 * own inference scores each of them exactly once (none lost, none twice, none dead-lettered).
 * Returns the started service for the caller's `afterAll` to stop.
 */
import { expect } from 'vitest'
import type { PredictionEvent } from '../../lib/events/index.ts'
import { createInferenceService, type InferenceService } from '../../processors/inference/index.ts'
import { collectMessages, waitFor } from '../helpers/index.ts'
import type { Harness } from '../processors/inference/harness.ts'

export async function expectEachScoredOnce(
  h: Harness,
  model: string,
  requestIds: readonly string[],
  each: (p: PredictionEvent) => void = () => {},
): Promise<InferenceService> {
  const { deps } = h
  const n = requestIds.length
  const service = createInferenceService(deps, { modelName: model })
  await service.start()
  await service.ready()
  await waitFor(() => service.status().processed >= n, {
    timeoutMs: 120_000,
    message: `${n} requests scored`,
  })
  const predictions = await collectMessages(deps.kafka, deps.topics.predictions, (m) => m.length >= n)
  expect(await h.recordCount(deps.topics.predictions)).toBe(n) // none twice, none lost
  expect(await h.recordCount(deps.topics.dlq.requests)).toBe(0)
  const seen = new Map<string, number>()
  for (const m of predictions) {
    const p = await h.decodePrediction(m.value!)
    expect(m.key).toBe(p.requestId)
    expect(p.modelName).toBe(model)
    each(p)
    seen.set(p.requestId, (seen.get(p.requestId) ?? 0) + 1)
  }
  expect([...seen.keys()].sort()).toEqual([...requestIds].sort())
  expect([...seen.values()].every((c) => c === 1)).toBe(true)
  return service
}
