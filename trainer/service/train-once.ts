/**
 * One training run, end to end: assemble the data set, train every family (in a worker
 * thread), score the current production model (the champion) on the same rows, apply the
 * promotion gate, register the new version as `production` or `rejected`, and record the run.
 *
 * About the champion comparison: the candidate's metrics are out-of-fold CV metrics, while the
 * champion is scored on the same rows it may partly have been trained on. That favours the
 * champion, which is the safe direction for a gate: a candidate only replaces production
 * when it clearly wins.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { REPO_ROOT } from '../../lib/config/index.ts'
import { RiskStreamError, toRiskStreamError } from '../../lib/errors/index.ts'
import { getLogger } from '../../lib/log/index.ts'
import { createScorer } from '../../lib/model/scorer.ts'
import type { ModelFamily, ModelMetrics } from '../../lib/model/types.ts'
import { createRegistry, type ModelRegistry } from '../../lib/registry/index.ts'
import type { Deps } from '../../lib/runtime/index.ts'
import { classificationMetrics } from '../../lib/stats/metrics.ts'
import { assembleTrainingSet } from '../dataset/index.ts'
import type { Dataset } from '../learners/types.ts'
import { formatReport } from '../pipeline/report.ts'
import { type TrainProgress, toModelMetrics } from '../pipeline/train.ts'
import { type GateMetrics, type GateResult, gate } from '../selection/gate.ts'
import { recordRun, type TrainingRun } from '../tracking/index.ts'
import { runPipeline } from './run-pipeline.ts'

const log = getLogger('trainer')

export type TrainerDeps = Pick<Deps, 'config' | 'kafka' | 'serde' | 'topics' | 'producer' | 'clickhouse'>

export interface TrainOnceOptions {
  /** manual | drift | data_volume | schedule | cli … (recorded with the run). */
  trigger: string
  triggerEventId?: string
  reason: string
  /** Families to try (default: all). */
  families?: ModelFamily[]
  /** Called with the per-family report table (`riskstream train --report`). */
  report?: (text: string) => void
  /** Overrides of config.training (tests and quick runs). */
  budget?: number
  folds?: number
  /** Include streamed labelled outcomes from ClickHouse (default true). */
  includeStreamed?: boolean
  /** Run the pipeline in a worker thread (default true; false for profiling). */
  inWorker?: boolean
  onProgress?: (p: TrainProgress) => void
  /** Share the caller's registry so its serialization covers every registration of the process. */
  registry?: ModelRegistry
  runId?: string
}

export interface TrainOnceResult {
  runId: string
  version: number
  stage: 'production' | 'rejected'
  gate: GateResult
  /** The candidate's out-of-fold metrics (what the gate judged). */
  metrics: ModelMetrics
  /** How the candidate compared with the production version, or null when there was none. */
  champion: ChampionComparison | null
  family: ModelFamily
  /** Streamed (labelled, scored) rows the run trained on, besides the Pima data. */
  streamedRows: number
  durationMs: number
}

export function newRunId(now = Date.now()): string {
  return `run-${now.toString(36)}-${randomBytes(3).toString('hex')}`
}

let codeVersionCache: string | undefined
function codeVersion(): string {
  if (!codeVersionCache) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
        name?: string
        version?: string
      }
      codeVersionCache = `${pkg.name ?? 'riskstream'}@${pkg.version ?? '0'}`
    } catch {
      codeVersionCache = 'unknown'
    }
  }
  return codeVersionCache
}

/** Fewer fresh rows than this and the comparison falls back to registered CV metrics. */
export const MIN_FRESH_ROWS = 50

export interface ChampionComparison {
  version: number
  /** How the two were compared (see `compareWithChampion`). */
  basis: 'fresh_rows' | 'registered_cv'
  rows: number
  champion: ModelMetrics
  candidate: ModelMetrics
}

/**
 * Puts the champion and the candidate on the same footing. Scoring the champion on rows it
 * was trained on would flatter it (an in-sample random forest has AUC ≈ 1 and could never be
 * beaten), so:
 * - `fresh_rows`: when ≥ MIN_FRESH_ROWS streamed rows are newer than the champion's training
 *   data, both are judged on exactly those rows — the champion's scores against the
 *   candidate's out-of-fold probabilities (neither saw its own evaluation rows).
 * - `registered_cv`: otherwise both are out-of-fold CV estimates: the candidate's from this
 *   run and the champion's as registered.
 */
async function compareWithChampion(
  registry: ModelRegistry,
  modelName: string,
  data: Dataset,
  eventTimes: (number | null)[] | null,
  candidate: { metrics: ModelMetrics; oof: Float64Array; threshold: number },
): Promise<ChampionComparison | null> {
  const prod = await registry.production(modelName)
  if (!prod) return null
  const artifact = await registry.loadArtifact({
    modelName,
    version: prod.version,
    artifact: null,
    artifactSha256: prod.artifactSha256,
  })
  const seenUntil = artifact.dataset.timeRange?.to ?? Number.NEGATIVE_INFINITY
  const fresh: number[] = []
  eventTimes?.forEach((t, i) => {
    if (t !== null && t > seenUntil) fresh.push(i)
  })
  if (fresh.length >= MIN_FRESH_ROWS) {
    const p = data.nFeatures
    const X = new Float64Array(fresh.length * p)
    fresh.forEach((i, r) => {
      X.set(data.X.subarray(i * p, (i + 1) * p), r * p)
    })
    const y = fresh.map((i) => data.y[i]!)
    const champProbs = createScorer(artifact.model, artifact.preprocessing).scoreBatch(X, fresh.length)
    return {
      version: prod.version,
      basis: 'fresh_rows',
      rows: fresh.length,
      champion: toModelMetrics(classificationMetrics(y, champProbs, artifact.threshold)),
      candidate: toModelMetrics(
        classificationMetrics(
          y,
          fresh.map((i) => candidate.oof[i]!),
          candidate.threshold,
        ),
      ),
    }
  }
  return {
    version: prod.version,
    basis: 'registered_cv',
    rows: artifact.dataset.rows,
    champion: toPlainMetrics(artifact.metrics),
    candidate: toPlainMetrics(candidate.metrics),
  }
}

export async function trainOnce(deps: TrainerDeps, opts: TrainOnceOptions): Promise<TrainOnceResult> {
  const { config } = deps
  const t = config.training
  const modelName = config.model.name
  const registry = opts.registry ?? createRegistry(deps)
  const runId = opts.runId ?? newRunId()
  const startedAt = Date.now()
  const params = {
    families: opts.families ?? 'all',
    k: opts.folds ?? t.cvFolds,
    seed: t.seed,
    budget: opts.budget ?? t.searchBudget,
    primaryMetric: t.primaryMetric,
    maxRows: t.maxRows,
    thresholds: {
      minAccuracy: t.minAccuracy,
      minRocAuc: t.minRocAuc,
      minF1: t.minF1,
      promotionMargin: t.promotionMargin,
    },
    reason: opts.reason,
  }
  const base: Omit<TrainingRun, 'updatedAt'> = {
    runId,
    modelName,
    trigger: opts.trigger,
    triggerEventId: opts.triggerEventId ?? '',
    status: 'running',
    startedAt,
    finishedAt: null,
    durationMs: 0,
    params,
    candidates: [],
    chosenFamily: '',
    gatePassed: false,
    gateReasons: [],
    version: null,
    metrics: {},
    dataset: {},
    error: '',
  }
  await recordRun(deps.clickhouse, base)
  log.info({ runId, trigger: opts.trigger, triggerEventId: opts.triggerEventId }, 'training run started')

  try {
    const set = await assembleTrainingSet(deps, deps.topics.predictions, {
      includeStreamed: opts.includeStreamed,
    })
    const result = await runPipeline(
      set.data,
      {
        families: opts.families,
        k: params.k,
        seed: params.seed,
        budget: params.budget,
        primaryMetric: t.primaryMetric,
        minAccuracy: t.minAccuracy,
        fingerprint: set.fingerprint,
        modelName,
        codeVersion: codeVersion(),
        referenceBins: config.drift.bins,
        onProgress: opts.onProgress,
      },
      opts.inWorker ?? true,
    )
    if (opts.report) opts.report(formatReport(result))

    const candidateMetrics = result.artifact.metrics
    const champion = await compareWithChampion(registry, modelName, set.data, set.eventTimes, {
      metrics: candidateMetrics,
      oof: result.evaluation.probs,
      threshold: result.artifact.threshold,
    })
    // Floors judge the candidate's full CV metrics; the champion comparison uses the shared basis.
    const thresholds = {
      minAccuracy: t.minAccuracy,
      minRocAuc: t.minRocAuc,
      minF1: t.minF1,
      margin: t.promotionMargin,
      primaryMetric: t.primaryMetric,
    }
    const floors = gate(candidateMetrics as GateMetrics, null, thresholds)
    const versus = champion
      ? gate(champion.candidate, champion.champion, { ...thresholds, minAccuracy: 0, minRocAuc: 0, minF1: 0 })
      : { passed: true, reasons: [] }
    const decision: GateResult = {
      passed: floors.passed && versus.passed,
      reasons: [...floors.reasons, ...versus.reasons],
    }
    const stage = decision.passed ? 'production' : 'rejected'
    const reason = decision.passed
      ? `${opts.reason}; gate passed${champion ? ` (champion v${champion.version})` : ' (initial model)'}`
      : `${opts.reason}; gate failed: ${decision.reasons.join('; ')}`
    const { version } = await registry.register(result.artifact, { stage, runId, reason })

    const { folds: _folds, ...metrics } = candidateMetrics
    const finishedAt = Date.now()
    await recordRun(deps.clickhouse, {
      ...base,
      status: decision.passed ? 'succeeded' : 'rejected',
      finishedAt,
      durationMs: finishedAt - startedAt,
      candidates: result.summary.candidates,
      chosenFamily: result.artifact.family,
      gatePassed: decision.passed,
      gateReasons: decision.reasons,
      version,
      metrics: { ...metrics, champion },
      dataset: { ...set.fingerprint, streamedRows: set.streamedRows },
    })
    log.info(
      { runId, version, stage, family: result.artifact.family, ms: finishedAt - startedAt },
      'training run finished',
    )
    return {
      runId,
      version,
      stage,
      gate: decision,
      metrics: toPlainMetrics(candidateMetrics),
      champion,
      family: result.artifact.family,
      streamedRows: set.streamedRows,
      durationMs: finishedAt - startedAt,
    }
  } catch (err) {
    const e = toRiskStreamError(err, 'TRAINING_FAILED')
    const finishedAt = Date.now()
    await recordRun(deps.clickhouse, {
      ...base,
      status: 'failed',
      finishedAt,
      durationMs: finishedAt - startedAt,
      error: e.message,
    }).catch((recordErr) => log.error({ runId, err: String(recordErr) }, 'could not record the failed run'))
    log.error({ runId, code: e.code }, 'training run failed')
    throw e.code === 'TRAINING_FAILED' || e.retriable
      ? e
      : new RiskStreamError('TRAINING_FAILED', e.message, { cause: e, details: { code: e.code } })
  }
}

function toPlainMetrics(m: ModelMetrics): ModelMetrics {
  return {
    roc_auc: m.roc_auc,
    accuracy: m.accuracy,
    precision: m.precision,
    recall: m.recall,
    f1: m.f1,
    log_loss: m.log_loss,
    brier: m.brier,
    confusion: { ...m.confusion },
  }
}
