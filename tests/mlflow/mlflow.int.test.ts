/**
 * The MLflow mirror against real MLflow tracking servers (tests/setup/mlflow.ts), through the
 * real command line (child processes, a temporary ClickHouse directory, unique topics), read
 * back with MLflow's own Python client (read_back.py): `riskstream train` logs the run and sets
 * the champion alias, a promotion moves it, a training run while MLflow is down still succeeds
 * and `runs export --mlflow` back-fills it, and an export to an empty server gives the same
 * runs, once, however often it runs.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../../lib/config/index.ts'
import type { TrainingRun } from '../../lib/registry/index.ts'
import { runCli } from '../cli/run.ts'
import { uniqueId } from '../helpers/index.ts'
import { freePort } from '../observability/prometheus.ts'
import { type MlflowServer, mlflowPython, startMlflow } from '../setup/mlflow.ts'

const EXPERIMENT = 'riskstream-it'
const MODEL = 'diabetes-risk'
const tmp = mkdtempSync(path.join(tmpdir(), 'riskstream-mlflow-it-'))
const env = {
  CLICKHOUSE_PATH: path.join(tmp, 'chdb'),
  TOPIC_PREFIX: `${uniqueId('mlflow')}.`,
  MODEL_NAME: MODEL,
  MLFLOW_EXPERIMENT_NAME: EXPERIMENT,
  // Small training settings: this file checks the mirror, not the models.
  SEARCH_BUDGET: '1',
  CV_FOLDS: '3',
  NESTED_OUTER_FOLDS: '3',
}

interface ReadRun {
  id: string
  status: string
  start_time: number
  end_time: number
  params: Record<string, string>
  metrics: Record<string, number>
  tags: Record<string, string>
  fold_roc_auc: [number, number][]
  inputs: { name: string; digest: string }[]
  artifacts: string[]
  artifact_sha256: Record<string, string>
}
interface ReadBack {
  runs: ReadRun[]
  versions: { version: string; run_id: string; source: string; tags: Record<string, string> }[]
  aliases: Record<string, string>
}

/** The server's experiment and registered model, as MLflow's own client reads them. */
function readBack(server: MlflowServer): ReadBack {
  const r = spawnSync(
    mlflowPython(),
    [path.join(REPO_ROOT, 'tests', 'mlflow', 'read_back.py'), server.url, EXPERIMENT, MODEL],
    { encoding: 'utf8', timeout: 120_000 },
  )
  if (r.status !== 0) throw new Error(`read_back.py failed: ${r.stderr}`)
  return JSON.parse(r.stdout) as ReadBack
}

const byRsRun = (b: ReadBack) => new Map(b.runs.map((r) => [r.tags['riskstream.run_id']!, r]))
/** The MLflow version number carrying RiskStream version `v`. */
const mlflowVersion = (b: ReadBack, v: number) =>
  b.versions.find((x) => x.tags['riskstream.version'] === String(v))?.version

async function cli(args: string[], extra: Record<string, string> = {}, timeoutMs = 300_000) {
  const r = await runCli(args, { ...env, ...extra }, timeoutMs)
  expect(r.code, `${args.join(' ')}: ${r.stderr.slice(-3000)}`).toBe(0)
  return r
}

async function runs(): Promise<TrainingRun[]> {
  return JSON.parse((await cli(['runs', '--json'])).stdout) as TrainingRun[]
}

let a: MlflowServer
let b: MlflowServer

beforeAll(async () => {
  ;[a, b] = await Promise.all([startMlflow(), startMlflow()])
  await cli(['setup'])
}, 300_000)

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()])
  rmSync(tmp, { recursive: true, force: true })
})

describe('the MLflow mirror', () => {
  it('riskstream train logs the run, its artifact and version, and sets the champion alias', async () => {
    const train = await cli(['train'], { MLFLOW_TRACKING_URI: a.url })
    expect(train.stdout).toMatch(/v1 → production/)
    const [run] = await runs()
    expect(run?.version).toBe(1)

    const got = readBack(a)
    expect(got.runs).toHaveLength(1)
    const m = got.runs[0]!
    expect(m.tags['riskstream.run_id']).toBe(run!.runId)
    expect(m.status).toBe('FINISHED')
    expect(m.start_time).toBe(run!.startedAt)
    expect(m.end_time).toBe(run!.finishedAt)
    // Params: the run's settings, the chosen model and its hyperparameters, the data set.
    expect(m.params).toMatchObject({
      k: '3',
      outerFolds: '3',
      budget: '1',
      'model.family': run!.chosenFamily,
    })
    expect(Object.keys(m.params).filter((k) => k.startsWith('model.')).length).toBeGreaterThan(1)
    expect(m.params['dataset.rows']).toBe(String(run!.dataset.rows))
    // Aggregate metrics as recorded in ClickHouse, and one point per outer fold.
    for (const k of ['roc_auc', 'accuracy', 'f1', 'log_loss'])
      expect(m.metrics[k], k).toBeCloseTo(run!.metrics[k] as number, 12)
    expect(m.fold_roc_auc.map(([step]) => step)).toEqual([0, 1, 2])
    for (const [, v] of m.fold_roc_auc) expect(v).toBeGreaterThan(0.5)
    expect(Object.keys(m.metrics)).toEqual(expect.arrayContaining(['estimate.intervals.roc_auc.lo']))
    // The gate and promotion decision, the dataset fingerprint (tag and logged dataset input).
    expect(m.tags['riskstream.gate']).toBe(run!.gatePassed ? 'passed' : 'failed')
    expect(m.tags['riskstream.promotion']).toBe((run!.metrics.promotion as { decision: string }).decision)
    const sha = run!.dataset.sha256 as string
    expect(sha).toMatch(/^[0-9a-f]{64}$/)
    expect(m.tags['riskstream.dataset_sha256']).toBe(sha)
    expect(m.inputs).toEqual([{ name: `${MODEL}-training`, digest: sha.slice(0, 36) }])
    // The artifact as a file, byte for byte what the registry stored.
    expect(m.artifacts).toEqual(expect.arrayContaining(['run.json', `model/${MODEL}-v1.json.gz`]))
    const versions = JSON.parse((await cli(['models', 'list', '--json'])).stdout) as {
      version: number
      artifactSha256: string
    }[]
    expect(m.artifact_sha256[`model/${MODEL}-v1.json.gz`]).toBe(versions[0]!.artifactSha256)
    // The registered version, linked to the run, and the champion alias on it.
    expect(got.versions).toHaveLength(1)
    expect(got.versions[0]).toMatchObject({
      run_id: m.id,
      tags: { 'riskstream.version': '1', 'riskstream.stage': 'production', 'riskstream.run_id': run!.runId },
    })
    expect(got.aliases).toEqual({ champion: mlflowVersion(got, 1) })
  }, 400_000)

  it('mirrors a rejected run and a promotion: the champion alias follows production', async () => {
    const train = await cli(['train'], { MLFLOW_TRACKING_URI: a.url })
    expect(train.stdout).toMatch(/v2 → rejected/)
    let got = readBack(a)
    expect(got.runs).toHaveLength(2)
    expect(got.versions.map((v) => v.tags['riskstream.stage']).sort()).toEqual(['production', 'rejected'])
    expect(got.aliases.champion).toBe(mlflowVersion(got, 1))

    await cli(['models', 'promote', '2', '--reason', 'mlflow test'], { MLFLOW_TRACKING_URI: a.url })
    got = readBack(a)
    expect(got.aliases.champion).toBe(mlflowVersion(got, 2))
    const stage = (v: number) => got.versions.find((x) => x.tags['riskstream.version'] === String(v))?.tags
    expect(stage(1)?.['riskstream.stage']).toBe('archived')
    expect(stage(2)?.['riskstream.stage']).toBe('production')
  }, 400_000)

  it('trains while MLflow is down (a warning), and runs export --mlflow back-fills that run', async () => {
    const down = `http://127.0.0.1:${await freePort()}`
    const train = await cli(['train'], { MLFLOW_TRACKING_URI: down })
    expect(train.stdout).toMatch(/v3 → rejected/)
    expect(train.stderr).toMatch(/MLflow mirror failed/)
    expect(train.stderr).toContain('MLFLOW_UNAVAILABLE')
    expect(readBack(a).runs).toHaveLength(2)

    const exp = await cli(['runs', 'export', '--mlflow', a.url, '--json'])
    const summary = JSON.parse(exp.stdout) as {
      runs: Record<string, number>
      versions: { created: number[] }
    }
    expect(summary.runs).toEqual({ created: 1, completed: 0, present: 2, running: 0 })
    expect(summary.versions.created).toEqual([3])
    const got = readBack(a)
    expect(got.runs).toHaveLength(3)
    expect([...byRsRun(got).keys()].sort()).toEqual((await runs()).map((r) => r.runId).sort())
    expect(got.versions).toHaveLength(3)
    expect(got.aliases.champion).toBe(mlflowVersion(got, 2))
  }, 400_000)

  it('exports to an empty server: the same runs and aliases, and twice makes no duplicates', async () => {
    expect(readBack(b).runs).toEqual([])
    const first = await cli(['runs', 'export', '--mlflow', b.url])
    expect(first.stdout).toMatch(/runs: 3 created, 0 completed, 0 already there/)
    expect(first.stdout).toMatch(/aliases: champion=v2 challenger=-/)
    const fromA = readBack(a)
    const once = readBack(b)
    expect(once.runs).toHaveLength(3)
    expect(once.versions).toHaveLength(3)
    expect(once.aliases.champion).toBe(mlflowVersion(once, 2))
    // The back-filled runs carry what the live mirror logged (params, metric keys, tags, files).
    const live = byRsRun(fromA)
    for (const [id, r] of byRsRun(once)) {
      const l = live.get(id)!
      expect(r.params, id).toEqual(l.params)
      expect(r.metrics, id).toEqual(l.metrics)
      expect(r.fold_roc_auc, id).toEqual(l.fold_roc_auc)
      expect(r.tags['riskstream.gate'], id).toBe(l.tags['riskstream.gate'])
      expect(r.artifact_sha256, id).toEqual(l.artifact_sha256)
    }

    const second = await cli(['runs', 'export', '--mlflow', b.url, '--json'])
    expect(JSON.parse(second.stdout).runs).toEqual({ created: 0, completed: 0, present: 3, running: 0 })
    const twice = readBack(b)
    expect(twice.runs.map((r) => r.id).sort()).toEqual(once.runs.map((r) => r.id).sort())
    expect(twice.versions).toHaveLength(3)
    for (const r of twice.runs)
      expect(r.fold_roc_auc).toEqual(byRsRun(once).get(r.tags['riskstream.run_id']!)!.fold_roc_auc)
  }, 400_000)

  it('refuses an export without a server (usage) and reports an unreachable one (exit 1, transient)', async () => {
    const usage = await runCli(['runs', 'export'], env)
    expect(usage.code).toBe(2)
    expect(usage.stderr).toMatch(/needs --mlflow/)
    const down = await runCli(['runs', 'export', '--mlflow', `http://127.0.0.1:${await freePort()}`], env)
    expect(down.code).toBe(1)
    expect(down.stderr).toMatch(/^riskstream: MLFLOW_UNAVAILABLE: .*\(transient/m)
  }, 120_000)
})
