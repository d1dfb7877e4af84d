/**
 * The registry's stage changes as MLflow aliases, in process against a real MLflow server and
 * the real registry (Kafka, chDB): `champion` follows production through promotion and
 * rollback, `challenger` is the newest candidate with the shadow-scored one first, and an alias
 * with no version left is removed. Read back with MLflow's own Python client.
 */
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../../lib/config/index.ts'
import { createRegistry, type ModelRegistry } from '../../lib/registry/index.ts'
import { closeDeps, type Deps } from '../../lib/runtime/index.ts'
import { recordRun } from '../../trainer/tracking/index.ts'
import { preparedDeps, uniqueId } from '../helpers/index.ts'
import { linearArtifact } from '../lib/registry/fixtures.ts'
import { type MlflowServer, mlflowPython, startMlflow } from '../setup/mlflow.ts'

const MODEL = uniqueId('alias-')
  .toLowerCase()
  .replace(/[^a-z0-9-]/g, '-')
let server: MlflowServer
let deps: Deps
let registry: ModelRegistry

beforeAll(async () => {
  server = await startMlflow()
  deps = await preparedDeps({ MLFLOW_TRACKING_URI: server.url, MODEL_NAME: MODEL })
  registry = createRegistry(deps)
}, 300_000)

afterAll(async () => {
  await closeDeps(deps)
  await server?.stop()
})

/** Aliases as RiskStream versions, and each version's stage tag, through MLflow's Python client. */
function mlflowState(): { aliases: Record<string, number>; stages: Record<number, string> } {
  const r = spawnSync(
    mlflowPython(),
    [
      path.join(REPO_ROOT, 'tests', 'mlflow', 'read_back.py'),
      server.url,
      deps.config.mlflow.experimentName,
      MODEL,
    ],
    { encoding: 'utf8', timeout: 120_000 },
  )
  if (r.status !== 0) throw new Error(`read_back.py failed: ${r.stderr}`)
  const got = JSON.parse(r.stdout) as {
    versions: { version: string; tags: Record<string, string> }[]
    aliases: Record<string, string>
  }
  const rs = new Map(got.versions.map((v) => [v.version, Number(v.tags['riskstream.version'])]))
  return {
    aliases: Object.fromEntries(Object.entries(got.aliases).map(([a, v]) => [a, rs.get(v)!])),
    stages: Object.fromEntries(
      got.versions.map((v) => [Number(v.tags['riskstream.version']), v.tags['riskstream.stage']!]),
    ),
  }
}

/** Registers a version and records its finished run, as a training run does. */
async function trained(stage: 'production' | 'candidate', shadow = false): Promise<number> {
  const runId = uniqueId('run-')
  const { version } = await registry.register(linearArtifact(MODEL), { stage, runId, reason: 'test', shadow })
  const now = Date.now()
  await recordRun(deps, {
    runId,
    modelName: MODEL,
    trigger: 'test',
    triggerEventId: '',
    status: 'succeeded',
    startedAt: now - 1000,
    finishedAt: now,
    durationMs: 1000,
    chosenFamily: 'logistic_regression',
    gatePassed: true,
    gateReasons: [],
    version,
    metrics: { roc_auc: 0.8 },
    dataset: { rows: 10, sha256: 'a'.repeat(64) },
    params: { k: 3 },
    candidates: [],
    error: '',
  })
  return version
}

describe('MLflow aliases follow the registry', () => {
  it('champion = production, challenger = newest candidate (shadow first), through promote and rollback', async () => {
    const v1 = await trained('production')
    expect(mlflowState()).toEqual({ aliases: { champion: v1 }, stages: { [v1]: 'production' } })

    const v2 = await trained('candidate', true)
    const v3 = await trained('candidate')
    // The shadow-scored candidate is the challenger even though v3 is newer.
    expect(mlflowState().aliases).toEqual({ champion: v1, challenger: v2 })

    await registry.setStage(MODEL, v2, 'rejected', 'worse')
    let state = mlflowState()
    expect(state.aliases).toEqual({ champion: v1, challenger: v3 })
    expect(state.stages[v2]).toBe('rejected')

    await registry.setStage(MODEL, v3, 'production', 'better')
    state = mlflowState()
    // No candidate is left: the challenger alias is removed, not left on a stale version.
    expect(state.aliases).toEqual({ champion: v3 })
    expect(state.stages).toEqual({ [v1]: 'archived', [v2]: 'rejected', [v3]: 'production' })

    await registry.rollback(MODEL, 'back')
    state = mlflowState()
    expect(state.aliases).toEqual({ champion: v1 })
    expect(state.stages[v1]).toBe('production')
  }, 300_000)
})
