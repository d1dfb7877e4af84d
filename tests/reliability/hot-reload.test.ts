/**
 * Promise 6: hot-reload under load. ~2,000 requests/s flow through an inference service while
 * a new version is promoted through the registry (createRegistry(deps).register / setStage),
 * and then the same ModelVersion record is published again (duplicate) together with an event
 * older than it (for another version). Constant-probability models (v → v/10) let each
 * prediction prove which version scored it.
 *
 * Pass: zero failed requests (every request has exactly one prediction, nothing dead-lettered),
 * per partition the served version never goes back in request-offset order (1 … 1, 2 … 2), and
 * the duplicate and the older event are no-ops (the serving reload counter counts exactly the two
 * real loads; the served version stays 2).
 */
import { afterAll, describe, expect, it } from 'vitest'
import { createRegistry } from '../../lib/registry/index.ts'
import {
  createInferenceService,
  type InferenceService,
  type PredictionEvent,
} from '../../processors/inference/index.ts'
import { collectMessages, uniqueId, waitFor } from '../helpers/index.ts'
import { constantArtifact, versionEvent } from '../processors/inference/fixtures.ts'
import { createHarness, type Harness } from '../processors/inference/harness.ts'
import { publishTable, recordResult } from './support/results.ts'

const FILE = 'hot-reload'
const RATE = 2000
const SECONDS = 15
const N = RATE * SECONDS
let h: Harness | undefined
let service: InferenceService | undefined

afterAll(async () => {
  await service?.stop()
  await h?.close()
  publishTable()
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('hot-reload under load', () => {
  it(`promote v2 (plus a duplicate and an older event) at ~${RATE} requests/s: no failed request, versions monotonic, no-ops are no-ops`, async () => {
    h = await createHarness()
    const deps = h.deps
    const model = uniqueId('hl-')
    const registry = createRegistry(deps)
    const p = (v: number) => v / 10
    const v1 = await registry.register(constantArtifact(model, 1, p(1)), {
      stage: 'production',
      runId: 'reliability',
      reason: 'first version',
    })
    const v2 = await registry.register(constantArtifact(model, 2, p(2)), {
      stage: 'candidate',
      runId: 'reliability',
      reason: 'next version',
    })
    expect([v1.version, v2.version]).toEqual([1, 2])

    service = createInferenceService(deps, { modelName: model })
    await service.start()
    await service.ready()
    const s = service
    const metric = async (name: string, labels: string) => {
      const text = (await s.metricsRegistry.getSingleMetricAsString(name)) ?? ''
      const m = new RegExp(`${name}\\{${labels}\\} (\\d+)`).exec(text)
      return m ? Number(m[1]) : 0
    }
    const reloads = () =>
      metric('riskstream_inference_model_reloads_total', `model="${model}",slot="serving"`)

    // Steady load: RATE/10 requests every 100 ms (on schedule), round-robin over the partitions.
    let sent = 0
    const started = Date.now()
    const load = (async () => {
      while (sent < N) {
        const ids = Array.from({ length: RATE / 10 }, (_, i) => `${model}-${sent + i}`)
        await h!.sendRequests(ids)
        sent += ids.length
        const wait = started + (sent / RATE) * 1000 - Date.now()
        if (wait > 0) await sleep(wait)
      }
    })()

    await waitFor(() => sent >= N / 3, { timeoutMs: 60_000, message: 'a third of the load sent' })
    const promoted = await registry.setStage(model, 2, 'production', 'promote under load')
    await waitFor(() => s.status().servedVersion === 2, { timeoutMs: 30_000, message: 'switch to v2' })
    const reloadsAfterPromotion = await reloads()
    // The same ModelVersion record again, and an event published BEFORE it (for a v3).
    // Older = signed with a sequence below the promotion's (as a re-published old event would be).
    const older = versionEvent(constantArtifact(model, 3, p(3)), { eventId: `${model}:3:production:0` })
    for (const e of [promoted, older]) await h.publishVersion(e)
    // A marker after them on the (single-partition) versions topic: once the shadow slot holds
    // it, the duplicate and the older event have been processed.
    const marker = versionEvent(constantArtifact(model, 4, p(4)), { stage: 'candidate', shadow: true })
    await h.publishVersion(marker, `${model}#shadow`)
    await waitFor(() => s.status().shadowVersion === 4, {
      timeoutMs: 30_000,
      message: 'marker event applied',
    })
    await load
    const achievedRate = N / ((Date.now() - started) / 1000)
    await waitFor(() => s.status().processed === N, { timeoutMs: 120_000, message: 'every request consumed' })
    const status = s.status()

    const msgs = await collectMessages(deps.kafka, deps.topics.predictions, (m) => m.length >= N, {
      timeoutMs: 120_000,
    })
    const ids = new Set<string>()
    let wrongProbability = 0
    const perPartition = new Map<number, { seq: number; version: number }[]>()
    for (const m of msgs) {
      const { value: pr } = await deps.serde.decode<PredictionEvent>(m.value!, 'Prediction')
      ids.add(pr.requestId)
      if (Math.abs(pr.probability - p(pr.modelVersion)) > 1e-12) wrongProbability++
      // Requests are sent round-robin: request k is on partition k % 3 in increasing offset order.
      const seq = Number(pr.requestId.split('-').at(-1))
      const list = perPartition.get(seq % deps.config.topics.partitions) ?? []
      list.push({ seq, version: pr.modelVersion })
      perPartition.set(seq % deps.config.topics.partitions, list)
    }
    let backwards = 0
    const switches: string[] = []
    for (const [part, list] of perPartition) {
      list.sort((a, b) => a.seq - b.seq)
      for (let i = 1; i < list.length; i++) {
        if (list[i]!.version < list[i - 1]!.version) backwards++
        if (list[i]!.version !== list[i - 1]!.version) switches.push(`p${part}@${list[i]!.seq}`)
      }
    }
    const versionsSeen = [
      ...new Set([...perPartition.values()].flatMap((l) => l.map((x) => x.version))),
    ].sort()
    const dlq = await h.recordCount(deps.topics.dlq.requests)
    const finalReloads = await reloads()
    const failed = N - ids.size + dlq
    const duplicatePredictions = msgs.length - ids.size
    const pass =
      failed === 0 &&
      backwards === 0 &&
      wrongProbability === 0 &&
      finalReloads === 2 &&
      status.servedVersion === 2
    recordResult(FILE, {
      id: '6',
      fault: `hot-reload v1→v2 + duplicate + older event at ${Math.round(achievedRate)} req/s`,
      events: N,
      lost: N - ids.size,
      duplicated: duplicatePredictions,
      dlq,
      recoveredS: null,
      pass,
      note: `failed requests ${failed}; versions ${versionsSeen.join(',')}; switches ${switches.join(' ')}; backwards ${backwards}; serving reloads ${finalReloads} (after promotion ${reloadsAfterPromotion}); served v${status.servedVersion}`,
    })
    expect(achievedRate).toBeGreaterThan(RATE * 0.8)
    expect(failed).toBe(0)
    expect(dlq).toBe(0)
    expect(wrongProbability).toBe(0)
    expect(versionsSeen).toEqual([1, 2])
    expect(backwards).toBe(0)
    // One switch per partition: 1 → 2 exactly once.
    expect(switches).toHaveLength(deps.config.topics.partitions)
    expect(reloadsAfterPromotion).toBe(2)
    expect(finalReloads).toBe(2)
    expect(status.servedVersion).toBe(2)
  }, 300_000)
})
