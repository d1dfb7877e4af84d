/**
 * The MLflow mirror of experiment tracking and the registry. ClickHouse stays the system of
 * record; MLflow gets a copy where experiment reviewers already look:
 *
 * - a finished training run becomes an MLflow run in MLFLOW_EXPERIMENT_NAME, tagged
 *   `riskstream.run_id`: params (run settings, chosen hyperparameters, dataset facts), aggregate
 *   metrics (step 0), per-fold metrics (`fold.<metric>`, step = fold index), per-family metrics
 *   (`candidate.<family>.<metric>`), the gate and promotion decision as tags, the dataset
 *   fingerprint as a tag and a logged dataset input, the run record (`run.json`) and the model
 *   artifact's stored bytes (`model/<name>-v<N>.json.gz`) as files;
 * - each registered version whose run is in MLflow becomes an MLflow model version (tags
 *   `riskstream.version`, `riskstream.stage`), and the aliases follow the stages: `champion` =
 *   the production version, `challenger` = the newest candidate (the shadow-scored one first).
 *
 * Every step is idempotent (runs are found by their tag, versions by theirs, aliases set to the
 * state ClickHouse holds), so the live hooks and `riskstream runs export --mlflow` share it and
 * an export after an outage fills in what the hooks missed. Metric timestamps are the run's
 * finish time, so logging a run twice stores each point once.
 */
import type { ClickHouseClient } from '../clickhouse/index.ts'
import type { Config } from '../config/index.ts'
import { toRiskStreamError } from '../errors/index.ts'
import type { Logger } from '../log/index.ts'
import {
  countMirrorFailure,
  createMlflowClient,
  type KeyValue,
  MAX_PARAM_VALUE,
  MAX_TAG_VALUE,
  type Metric,
  type MirrorOperation,
  type MlflowClient,
  type Run,
} from '../mlflow/index.ts'
import { decodeArtifact } from '../model/artifact.ts'
import { createSerializer } from '../runtime/serialize.ts'
import { listRuns, type TrainingRun } from './runs.ts'
import { type StoredVersion, selectArtifact, selectVersions } from './store.ts'

/** Tag keys the mirror writes and finds things by. */
export const MLFLOW_TAG = {
  runId: 'riskstream.run_id',
  model: 'riskstream.model',
  /** Set last: a run without it was interrupted mid-mirror and is completed by the next sync. */
  mirrored: 'riskstream.mirrored',
  version: 'riskstream.version',
  stage: 'riskstream.stage',
  gate: 'riskstream.gate',
  gateReasons: 'riskstream.gate_reasons',
  promotion: 'riskstream.promotion',
  datasetSha256: 'riskstream.dataset_sha256',
} as const

export const CHAMPION_ALIAS = 'champion'
export const CHALLENGER_ALIAS = 'challenger'

/** Where a run's model artifact goes inside the MLflow run (the model version's source). */
export const MODEL_ARTIFACT_DIR = 'model'

export interface MirrorDeps {
  clickhouse: ClickHouseClient
  config: Pick<Config, 'mlflow'>
  log: Logger
  /** A client of another server than MLFLOW_TRACKING_URI (`runs export --mlflow URI`). */
  trackingUri?: string
}

export interface RunSync {
  runId: string
  mlflowRunId: string | null
  /** created: new MLflow run; completed: an interrupted one finished; present: nothing to do; running: not finished, skipped. */
  action: 'created' | 'completed' | 'present' | 'running'
}

export interface ModelSync {
  /** RiskStream versions that got an MLflow model version in this sync. */
  created: number[]
  /** RiskStream versions whose run is not in MLflow (yet): nothing to link them to. */
  withoutRun: number[]
  aliases: { champion: number | null; challenger: number | null }
}

export interface MlflowMirror {
  readonly client: MlflowClient
  /** Mirrors a finished run (a running one is left for its final row). */
  syncRun(run: TrainingRun): Promise<RunSync>
  /** Model versions, their stage tags and the champion/challenger aliases. */
  syncModel(modelName: string): Promise<ModelSync>
  /** Every run of `modelName`, oldest first, then the model (`riskstream runs export --mlflow`). */
  exportAll(modelName: string): Promise<{ runs: RunSync[]; model: ModelSync }>
}

const quote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
const byRunTag = (id: string) => `tags.\`${MLFLOW_TAG.runId}\` = ${quote(id)}`
const byModelTag = (name: string) => `tags.\`${MLFLOW_TAG.model}\` = ${quote(name)}`
const tagOf = (r: Pick<Run, 'data'>, key: string) => r.data.tags?.find((t) => t.key === key)?.value

const clip = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s)
const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x)
const isObj = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x)

/** Scalar leaves of an object as `a.b.c` keys (arrays as JSON; null and undefined dropped). */
function flatten(
  value: unknown,
  prefix: string,
  out: Map<string, unknown> = new Map(),
): Map<string, unknown> {
  if (isObj(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out)
  } else if (value !== null && value !== undefined && prefix) {
    out.set(prefix, value)
  }
  return out
}

/** Numeric leaves of `value` under `prefix` as metric points (arrays and non-finite values skipped). */
function numericLeaves(value: unknown, prefix: string, at: number, step = 0): Metric[] {
  const out: Metric[] = []
  for (const [key, v] of flatten(value, prefix))
    if (isNum(v) && !Array.isArray(v)) out.push({ key, value: v, timestamp: at, step })
  return out
}

const paramValue = (v: unknown) => clip(typeof v === 'string' ? v : JSON.stringify(v), MAX_PARAM_VALUE)

/** Params of a run: its settings, the chosen model's hyperparameters, the data set's facts. */
function runParams(run: TrainingRun, hyperparameters: Record<string, unknown> | undefined): KeyValue[] {
  const params = new Map<string, unknown>()
  for (const [k, v] of flatten(run.params, '')) params.set(k, v)
  if (run.chosenFamily) params.set('model.family', run.chosenFamily)
  for (const [k, v] of flatten(hyperparameters ?? {}, 'model')) params.set(k, v)
  const { sha256: _sha, ...dataset } = run.dataset
  for (const [k, v] of flatten(dataset, 'dataset')) params.set(k, v)
  return [...params].map(([key, value]) => ({ key, value: paramValue(value) }))
}

/** Aggregate (step 0), per-fold (step = fold) and per-family metrics, at the run's finish time. */
function runMetrics(run: TrainingRun, folds: Record<string, unknown>[] | undefined): Metric[] {
  const at = run.finishedAt ?? run.startedAt
  const { estimate, champion, promotion, ...aggregate } = run.metrics
  const out: Metric[] = [
    ...numericLeaves(aggregate, '', at),
    ...numericLeaves(
      isObj(estimate) ? { metrics: estimate.metrics, intervals: estimate.intervals } : {},
      'estimate',
      at,
    ),
    ...numericLeaves(
      isObj(estimate) && isObj(estimate.calibration) ? estimate.calibration : {},
      'calibration',
      at,
    ),
    ...numericLeaves(isObj(promotion) ? promotion.test : {}, 'promotion', at),
    ...numericLeaves(champion, 'champion', at),
  ]
  for (const [i, f] of (folds ?? []).entries()) out.push(...numericLeaves(f, 'fold', at, i))
  for (const c of run.candidates) {
    if (!isObj(c) || typeof c.family !== 'string') continue
    out.push(
      ...numericLeaves(
        { metrics: c.metrics, score: c.score, threshold: c.threshold },
        `candidate.${c.family}`,
        at,
      ),
    )
  }
  out.push({ key: 'duration_seconds', value: run.durationMs / 1000, timestamp: at, step: 0 })
  // MLflow keys: alphanumerics, _ - . / and spaces.
  return out.map((m) => ({ ...m, key: m.key.replace(/[^\w\-./ ]/g, '_') }))
}

function runTags(run: TrainingRun): KeyValue[] {
  const promotion = isObj(run.metrics.promotion) ? run.metrics.promotion : {}
  const gate = run.status === 'failed' ? 'none' : run.gatePassed ? 'passed' : 'failed'
  const tags: Record<string, string> = {
    [MLFLOW_TAG.runId]: run.runId,
    [MLFLOW_TAG.model]: run.modelName,
    'riskstream.trigger': run.trigger,
    'riskstream.trigger_event_id': run.triggerEventId,
    'riskstream.status': run.status,
    [MLFLOW_TAG.gate]: gate,
    [MLFLOW_TAG.gateReasons]: run.gateReasons.join('; '),
    [MLFLOW_TAG.promotion]: typeof promotion.decision === 'string' ? promotion.decision : '',
    'riskstream.promotion_reason': typeof promotion.reason === 'string' ? promotion.reason : '',
    [MLFLOW_TAG.datasetSha256]: typeof run.dataset.sha256 === 'string' ? run.dataset.sha256 : '',
    [MLFLOW_TAG.version]: run.version === null ? '' : String(run.version),
    'riskstream.error': run.error,
    // MLflow shows this tag as the run's description.
    'mlflow.note.content': `RiskStream run ${run.runId} (${run.trigger}): ${run.status}${run.version === null ? '' : `, v${run.version}`}; gate ${gate}${run.gateReasons.length ? ` (${run.gateReasons.join('; ')})` : ''}`,
  }
  return Object.entries(tags)
    .filter(([, v]) => v !== '')
    .map(([key, value]) => ({ key, value: clip(value, MAX_TAG_VALUE) }))
}

const artifactName = (modelName: string, version: number) => `${modelName}-v${version}.json.gz`

export function createMlflowMirror(deps: MirrorDeps): MlflowMirror {
  const { clickhouse: ch, log } = deps
  const m = deps.config.mlflow
  const trackingUri = deps.trackingUri ?? m.trackingUri
  if (!trackingUri) throw new Error('createMlflowMirror needs a tracking URI')
  const client = createMlflowClient({
    trackingUri,
    token: m.token,
    username: m.username,
    password: m.password,
  })
  // One sync at a time per process: version creation is find-then-create.
  const serialize = createSerializer()
  let experimentId: Promise<string> | undefined
  const experiment = () => {
    experimentId ??= client.ensureExperiment(m.experimentName).catch((err) => {
      experimentId = undefined
      throw err
    })
    return experimentId
  }

  async function syncRunWith(run: TrainingRun, existing: Run | undefined): Promise<RunSync> {
    if (run.status === 'running')
      return { runId: run.runId, mlflowRunId: existing?.info.run_id ?? null, action: 'running' }
    if (existing && tagOf(existing, MLFLOW_TAG.mirrored) === 'complete')
      return { runId: run.runId, mlflowRunId: existing.info.run_id, action: 'present' }

    const info =
      existing?.info ??
      (await client.createRun({
        experimentId: await experiment(),
        startTime: run.startedAt,
        runName: `${run.modelName}-${run.runId}`,
        tags: [
          { key: MLFLOW_TAG.runId, value: run.runId },
          { key: MLFLOW_TAG.model, value: run.modelName },
        ],
      }))
    // The version's artifact holds the per-fold metrics and the chosen hyperparameters.
    const stored = run.version === null ? null : await selectArtifact(ch, run.modelName, run.version)
    const artifact = stored ? decodeArtifact(stored.bytes, stored.sha256) : null
    await client.logBatch(info.run_id, {
      params: runParams(run, artifact?.hyperparameters),
      metrics: runMetrics(run, artifact?.metrics.folds as Record<string, unknown>[] | undefined),
      tags: runTags(run),
    })
    const sha = typeof run.dataset.sha256 === 'string' ? run.dataset.sha256 : ''
    if (sha) {
      const { sha256: _s, evaluation: _e, ...facts } = run.dataset
      await client.logInputs(info.run_id, [
        {
          dataset: {
            name: `${run.modelName}-training`,
            // MLflow keeps at most 36 characters of a digest; the full sha256 is the tag.
            digest: sha.slice(0, 36),
            source_type: 'riskstream',
            source: JSON.stringify({ sources: run.dataset.sources ?? [], sha256: sha }),
            profile: JSON.stringify(facts),
          },
          tags: [{ key: 'mlflow.data.context', value: 'training' }],
        },
      ])
    }
    await client.uploadArtifact(
      info.artifact_uri,
      'run.json',
      JSON.stringify(run, null, 2),
      'application/json',
    )
    if (stored && run.version !== null)
      await client.uploadArtifact(
        info.artifact_uri,
        `${MODEL_ARTIFACT_DIR}/${artifactName(run.modelName, run.version)}`,
        stored.bytes,
        'application/gzip',
      )
    await client.updateRun(
      info.run_id,
      run.status === 'failed' ? 'FAILED' : 'FINISHED',
      run.finishedAt ?? Date.now(),
    )
    await client.logBatch(info.run_id, { tags: [{ key: MLFLOW_TAG.mirrored, value: 'complete' }] })
    const action = existing ? 'completed' : 'created'
    log.info(
      { runId: run.runId, mlflowRunId: info.run_id, action, server: client.trackingUri },
      'run mirrored to MLflow',
    )
    return { runId: run.runId, mlflowRunId: info.run_id, action }
  }

  /** MLflow runs of the model by RiskStream run id. */
  async function runsOf(modelName: string): Promise<Map<string, Run>> {
    const runs = await client.searchRuns([await experiment()], byModelTag(modelName))
    const out = new Map<string, Run>()
    for (const r of runs) {
      const id = tagOf(r, MLFLOW_TAG.runId)
      if (id && !out.has(id)) out.set(id, r)
    }
    return out
  }

  async function syncModelNow(modelName: string): Promise<ModelSync> {
    const versions = await selectVersions(ch, modelName)
    const result: ModelSync = { created: [], withoutRun: [], aliases: { champion: null, challenger: null } }
    if (versions.length === 0) return result
    const runs = await runsOf(modelName)
    const linkable = versions.filter((v) => runs.has(v.runId))
    result.withoutRun = versions.filter((v) => !runs.has(v.runId)).map((v) => v.version)
    if (linkable.length === 0) return result

    const model = await client.ensureRegisteredModel(
      modelName,
      'Mirrored from RiskStream (ClickHouse is the system of record): aliases champion = production, challenger = newest candidate',
    )
    const mirrored = new Map<number, { version: string; stage: string | undefined }>()
    for (const mv of await client.searchModelVersions(modelName)) {
      const rs = Number(mv.tags?.find((t) => t.key === MLFLOW_TAG.version)?.value)
      if (Number.isInteger(rs) && !mirrored.has(rs))
        mirrored.set(rs, {
          version: mv.version,
          stage: mv.tags?.find((t) => t.key === MLFLOW_TAG.stage)?.value,
        })
    }
    for (const v of linkable) {
      const have = mirrored.get(v.version)
      if (have) {
        if (have.stage !== v.stage)
          await client.setModelVersionTag(modelName, have.version, MLFLOW_TAG.stage, v.stage)
        continue
      }
      const run = runs.get(v.runId)!
      const mv = await client.createModelVersion({
        name: modelName,
        source: `${run.info.artifact_uri}/${MODEL_ARTIFACT_DIR}`,
        runId: run.info.run_id,
        description: clip(v.reason, 5000),
        tags: [
          { key: MLFLOW_TAG.version, value: String(v.version) },
          { key: MLFLOW_TAG.stage, value: v.stage },
          { key: MLFLOW_TAG.runId, value: v.runId },
          { key: 'riskstream.family', value: v.family },
          { key: 'riskstream.artifact_sha256', value: v.artifactSha256 },
        ],
      })
      mirrored.set(v.version, { version: mv.version, stage: v.stage })
      result.created.push(v.version)
    }

    const production = versions.find((v) => v.stage === 'production')
    const candidates = versions.filter((v) => v.stage === 'candidate')
    const challenger: StoredVersion | undefined =
      candidates.filter((v) => v.shadow).at(-1) ?? candidates.at(-1)
    const current = new Map((model.aliases ?? []).map((a) => [a.alias, a.version]))
    for (const [alias, v] of [
      [CHAMPION_ALIAS, production],
      [CHALLENGER_ALIAS, challenger],
    ] as const) {
      const target = v ? mirrored.get(v.version)?.version : undefined
      if (target && current.get(alias) !== target) await client.setAlias(modelName, alias, target)
      else if (!target && current.has(alias)) await client.deleteAlias(modelName, alias)
    }
    result.aliases = {
      champion: production && mirrored.has(production.version) ? production.version : null,
      challenger: challenger && mirrored.has(challenger.version) ? challenger.version : null,
    }
    return result
  }

  return {
    client,
    syncRun: (run) =>
      serialize(async () => {
        const found = await client.searchRuns([await experiment()], byRunTag(run.runId))
        return syncRunWith(run, found[0])
      }),
    syncModel: (modelName) => serialize(() => syncModelNow(modelName)),
    exportAll: (modelName) =>
      serialize(async () => {
        const all = await listRuns(ch, { modelName, limit: 1_000_000 })
        const known = await runsOf(modelName)
        const runs: RunSync[] = []
        for (const run of all.reverse()) runs.push(await syncRunWith(run, known.get(run.runId)))
        return { runs, model: await syncModelNow(modelName) }
      }),
  }
}

/**
 * Runs `work` against the configured MLflow server, if any: a failure is logged as a warning and
 * counted (riskstream_mlflow_mirror_failures_total), never thrown, so MLflow can never fail the
 * training or the stage change it mirrors. Returns undefined when nothing was mirrored.
 */
export async function mirrorSafely<T>(
  deps: { clickhouse: ClickHouseClient; config: Partial<Pick<Config, 'mlflow'>>; log: Logger },
  operation: MirrorOperation,
  work: (mirror: MlflowMirror) => Promise<T>,
): Promise<T | undefined> {
  if (!deps.config.mlflow?.trackingUri) return undefined
  try {
    return await work(createMlflowMirror({ ...deps, config: { mlflow: deps.config.mlflow } }))
  } catch (err) {
    countMirrorFailure(operation)
    const e = toRiskStreamError(err, 'MLFLOW_UNAVAILABLE')
    deps.log.warn(
      { code: e.code, retriable: e.retriable, operation, err: e.message },
      'MLflow mirror failed (RiskStream is unaffected; `riskstream runs export --mlflow` back-fills)',
    )
    return undefined
  }
}
