/**
 * Hot-reload under steady traffic: a new production version is swapped in between batches,
 * a corrupt artifact is refused (the old version keeps serving), duplicate and older events
 * are no-ops, a rollback switches back, and a shadow candidate is scored on the side.
 * Constant-probability models (v1 → 0.1, v2 → 0.2, …) let every prediction prove which
 * version really scored it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createInferenceService,
  type InferenceService,
  type PredictionEvent,
} from '../../../processors/inference/index.ts'
import { collectMessages, uniqueId, waitFor } from '../../helpers/index.ts'
import { constantArtifact, versionEvent } from './fixtures.ts'
import { createHarness, type Harness } from './harness.ts'

let h: Harness
let service: InferenceService | undefined

beforeAll(async () => {
  h = await createHarness()
})

afterAll(async () => {
  await service?.stop()
  await h?.close()
})

/** Collapses runs: [1,1,2,2,1] → [1,2,1]. */
const runs = (xs: number[]) => xs.filter((x, i) => i === 0 || xs[i - 1] !== x)

/** True when `seq` appears in `allowed` in order (each element matched once, in sequence). */
function isSubsequence(seq: number[], allowed: number[]): boolean {
  let j = 0
  for (const x of seq) {
    while (j < allowed.length && allowed[j] !== x) j++
    if (j === allowed.length) return false
    j++
  }
  return true
}

describe('inference hot-reload', () => {
  it('switches versions live without losing or duplicating a prediction', async () => {
    const model = uniqueId('hr-')
    const { topics } = h.deps
    const p = (v: number) => v / 10
    const v1 = versionEvent(constantArtifact(model, 1, p(1)))
    await h.publishVersion(v1)

    service = createInferenceService(h.deps, { modelName: model })
    await service.start()
    await service.ready()
    const metric = async (name: string) =>
      (await service!.metricsRegistry.getSingleMetricAsString(name)) ?? ''
    const count = async (name: string, labels: string) => {
      const m = new RegExp(`${name}\\{${labels}\\} (\\d+)`).exec(await metric(name))
      return m ? Number(m[1]) : 0
    }

    // Steady traffic until told to stop: 30 requests every ~20 ms over 3 partitions.
    let sent = 0
    let traffic = true
    const loop = (async () => {
      while (traffic) {
        const ids = Array.from({ length: 30 }, () => `r-${model}-${sent++}`)
        await h.sendRequests(ids)
        await new Promise((r) => setTimeout(r, 20))
      }
    })()
    const servedCount = (v: number) =>
      count('riskstream_inference_predictions_total', `model="${model}",version="${v}"`)

    await waitFor(async () => (await servedCount(1)) >= 200, { message: 'v1 predictions' })

    // New production version.
    const v2 = versionEvent(constantArtifact(model, 2, p(2)))
    await h.publishVersion(v2)
    await waitFor(() => service!.status().servedVersion === 2, { message: 'switch to v2' })
    await waitFor(async () => (await servedCount(2)) >= 200, { message: 'v2 predictions' })

    // Corrupt artifact (checksum does not match the bytes): refused, v2 keeps serving.
    const v3 = versionEvent(constantArtifact(model, 3, p(3)), { artifactSha256: 'f'.repeat(64) })
    await h.publishVersion(v3)
    await waitFor(
      async () =>
        (await count(
          'riskstream_inference_model_reload_failures_total',
          `model="${model}",slot="serving",reason="ARTIFACT_CORRUPT"`,
        )) === 1,
      { message: 'corrupt v3 refused' },
    )
    expect(service.status().servedVersion).toBe(2)

    // A duplicate of the v2 event and an event signed with an older sequence (for a valid v5,
    // as a re-published old event would be): both no-ops.
    await h.publishVersion(v2)
    await h.publishVersion(
      versionEvent(constantArtifact(model, 5, p(5)), { eventId: `${model}:5:production:0` }),
    )
    // Rollback: a NEWER production event pointing at the OLDER version 1. Published after the
    // no-ops, so once it is applied they have been processed too.
    const rollback = versionEvent(constantArtifact(model, 1, p(1)), { publishedAt: Date.now() + 10_000 })
    await h.publishVersion(rollback)
    await waitFor(() => service!.status().servedVersion === 1, { message: 'rollback to v1' })
    const v1Before = await servedCount(1)
    await waitFor(async () => (await servedCount(1)) >= v1Before + 200, {
      message: 'v1 predictions after rollback',
    })
    // Loads: v1, v2, v1 again. The duplicate and the older v5 event loaded nothing.
    expect(await count('riskstream_inference_model_reloads_total', `model="${model}",slot="serving"`)).toBe(3)

    // Shadow candidate v4: scored on the side, served predictions unaffected.
    await h.publishVersion(
      versionEvent(constantArtifact(model, 4, p(4)), { stage: 'candidate', shadow: true }),
      `${model}#shadow`,
    )
    await waitFor(() => service!.status().shadowVersion === 4, { message: 'shadow v4 loaded' })
    await waitFor(
      async () =>
        (await count('riskstream_inference_shadow_predictions_total', `model="${model}",version="4"`)) >= 100,
      {
        message: 'shadow predictions',
      },
    )

    traffic = false
    await loop
    const total = sent

    // Every request has exactly one served prediction.
    const served = await collectMessages(h.deps.kafka, topics.predictions, (m) => m.length >= total)
    await waitFor(async () => service!.status().processed === total, { message: 'all requests committed' })
    expect(await h.recordCount(topics.predictions)).toBe(total)
    const byPartition = new Map<number, { offset: bigint; reqOffset: number; version: number }[]>()
    const ids = new Set<string>()
    for (const m of served) {
      const pr: PredictionEvent = await h.decodePrediction(m.value!)
      ids.add(pr.requestId)
      expect(pr.probability).toBeCloseTo(p(pr.modelVersion), 12) // the version field is the one that scored it
      expect(pr.shadow).toBe(false)
      const seq = Number(pr.requestId.split('-').at(-1))
      const list = byPartition.get(m.partition) ?? []
      list.push({ offset: BigInt(m.offset), reqOffset: seq, version: pr.modelVersion })
      byPartition.set(m.partition, list)
    }
    expect(ids.size).toBe(total)
    // Per partition, in request order: versions go 1 → 2 → 1 and never back (no 3, no 5, no 4).
    for (const [, list] of byPartition) {
      list.sort((a, b) => a.reqOffset - b.reqOffset)
      const versions = runs(list.map((x) => x.version))
      expect(isSubsequence(versions, [1, 2, 1]), `versions in order ${versions.join(',')}`).toBe(true)
    }
    expect(runs([...byPartition.values()].flatMap((l) => l.map((x) => x.version))).some((v) => v === 2)).toBe(
      true,
    )

    // Shadow predictions: same schema, shadow=true, version 4, never on the served topic.
    const shadows = await collectMessages(h.deps.kafka, topics.shadowPredictions, (m) => m.length >= 100)
    for (const m of shadows.slice(0, 100)) {
      const sp = await h.decodePrediction(m.value!)
      expect(sp).toMatchObject({ shadow: true, modelVersion: 4 })
      expect(sp.probability).toBeCloseTo(0.4, 12)
      expect(ids.has(sp.requestId)).toBe(true)
    }

    // The shadow slot emptied (e.g. the candidate was rejected): shadow scoring stops.
    await h.publishVersion(
      versionEvent(constantArtifact(model, 4, p(4)), { stage: 'rejected', shadow: false }),
      `${model}#shadow`,
    )
    await waitFor(() => service!.status().shadowVersion === null, { message: 'shadow cleared' })
  })
})
