/**
 * `riskstream run inference` as its own process needs no ClickHouse: it serves from a model
 * version whose artifact rides inline on the model-versions topic, never creates its
 * CLICKHOUSE_PATH, and refuses a version whose artifact is not on the topic with
 * MODEL_NOT_FOUND in its log while it keeps running (and serving what it had).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CliRun, startCli } from '../../cli/run.ts'
import { collectMessages, uniqueId } from '../../helpers/index.ts'
import { constantArtifact, versionEvent } from './fixtures.ts'
import { createHarness, type Harness } from './harness.ts'

let h: Harness
const runs: CliRun[] = []
const scratch = mkdtempSync(path.join(tmpdir(), 'riskstream-no-ch-'))

beforeAll(async () => {
  h = await createHarness()
})

afterAll(async () => {
  for (const r of runs) {
    if (r.child.exitCode === null) r.signal('SIGKILL')
    await r.exited
  }
  await h?.close()
  rmSync(scratch, { recursive: true, force: true })
})

/** `run inference` for `model` on the harness's topics, with a chDB path that does not exist. */
function runInference(model: string, chdbPath: string): CliRun {
  const run = startCli('riskstream', ['run', 'inference'], {
    TOPIC_PREFIX: h.deps.config.topics.prefix,
    TOPIC_PARTITIONS: String(h.deps.config.topics.partitions),
    MODEL_NAME: model,
    CLICKHOUSE_PATH: chdbPath,
    CLICKHOUSE_URL: '',
    METRICS_PORT: '',
    LOG_LEVEL: 'info',
  })
  runs.push(run)
  return run
}

/** The predictions of `model` for `ids` (every inference group of the prefix reads all requests). */
async function predictionsFor(model: string, ids: string[]) {
  const want = new Set(ids)
  const found = await collectMessages(h.deps.kafka, h.deps.topics.predictions, (ms) =>
    ids.every((id) => ms.some((m) => m.key === id)),
  )
  const decoded = await Promise.all(
    found.filter((m) => want.has(m.key ?? '')).map((m) => h.decodePrediction(m.value!)),
  )
  return decoded
    .filter((p) => p.modelName === model)
    .map((p) => [p.modelVersion, Math.round(p.probability * 1000) / 1000])
}

describe('run inference without ClickHouse', () => {
  it('serves a version from the topic and refuses one whose artifact is not there', async () => {
    const model = uniqueId('noch-')
    const chdbPath = path.join(scratch, 'chdb-never-created')
    await h.publishVersion(versionEvent(constantArtifact(model, 1, 0.37)))
    const run = runInference(model, chdbPath)
    await run.waitForOutput(/consuming prediction requests/, 90_000)

    const first = [`${model}-a`, `${model}-b`, `${model}-c`]
    await h.sendRequests(first)
    expect(await predictionsFor(model, first)).toEqual(first.map(() => [1, 0.37]))

    // v2 without its bytes (an artifact too large to inline): refused with a code, v1 keeps serving.
    await h.publishVersion(versionEvent(constantArtifact(model, 2, 0.81), { artifact: null }))
    await run.waitForOutput(/MODEL_NOT_FOUND[^\n]*not inline on the model-versions topic/, 30_000)
    const later = [`${model}-d`]
    await h.sendRequests(later)
    expect(await predictionsFor(model, later)).toEqual([[1, 0.37]])
    expect(run.child.exitCode).toBeNull()
    expect(existsSync(chdbPath)).toBe(false)
    run.signal('SIGTERM')
    expect((await run.exited).code).toBe(0)
  }, 180_000)

  it('starts with no loadable version: a clear error in the log, no crash, nothing opened', async () => {
    const model = uniqueId('noch-')
    const chdbPath = path.join(scratch, 'chdb-never-created-2')
    await h.publishVersion(versionEvent(constantArtifact(model, 1, 0.5), { artifact: null }))
    const run = runInference(model, chdbPath)
    await run.waitForOutput(/MODEL_NOT_FOUND[^\n]*not inline on the model-versions topic/, 90_000)
    await run.waitForOutput(/no loadable production version on the topic/, 30_000)
    expect(run.child.exitCode).toBeNull()
    expect(existsSync(chdbPath)).toBe(false)
    // A loadable version published later is picked up by the running process.
    await h.publishVersion(versionEvent(constantArtifact(model, 2, 0.42)))
    await run.waitForOutput(/consuming prediction requests/, 60_000)
    const ids = [`${model}-x`]
    await h.sendRequests(ids)
    expect(await predictionsFor(model, ids)).toEqual([[2, 0.42]])
  }, 180_000)
})
