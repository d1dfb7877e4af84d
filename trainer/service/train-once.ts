/**
 * One training run, end to end: assemble the data set, run the pipeline (in a worker thread),
 * judge the candidate's held-out estimate (out-of-time on the newest OOT_EVAL_SHARE of labelled
 * streamed rows when there are enough, else nested CV) against the floors, test it against the
 * champion on the same fresh rows (DeLong, p < alpha and a gain above PROMOTION_MARGIN; no fresh
 * rows, no promotion), register it as `production` or `rejected`, record the run and decision.
 * Without a champion the candidate serves even below the floors, flagged in the result and run.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { REPO_ROOT } from '../../lib/config/index.ts'
import { RiskStreamError, toRiskStreamError } from '../../lib/errors/index.ts'
import { getLogger } from '../../lib/log/index.ts'
import type { ModelFamily, ModelMetrics } from '../../lib/model/types.ts'
import { createRegistry, type ModelRegistry } from '../../lib/registry/index.ts'
import type { Deps } from '../../lib/runtime/index.ts'
import { assembleTrainingSet } from '../dataset/index.ts'
import type { Estimate, EvaluationKind } from '../pipeline/estimate.ts'
import { testAgainstChampion } from '../pipeline/promotion.ts'
import { formatReport } from '../pipeline/report.ts'
import type { TrainProgress } from '../pipeline/train.ts'
import { type GateMetrics, type GateResult, gate } from '../selection/gate.ts'
import { type PromotionDecision, recordPromotion, recordRun, type TrainingRun } from '../tracking/index.ts'
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
  /** Outer folds of the nested-CV estimate (default NESTED_OUTER_FOLDS). */
  outerFolds?: number
  /** Share of the streamed labelled rows held out as the out-of-time window (default OOT_EVAL_SHARE). */
  ootShare?: number
  /** One-sided significance level of the promotion test (default PROMOTION_ALPHA). */
  promotionAlpha?: number
}

export interface TrainOnceResult {
  runId: string
  version: number
  stage: 'production' | 'rejected'
  gate: GateResult
  /** The candidate's honest estimate (nested CV or out-of-time): what the floors judged. */
  metrics: ModelMetrics
  /** The same with its 95 % intervals and calibration. */
  estimate: EstimateSummary
  /** What was decided about production, why, the test statistic and the rows it used. */
  promotion: PromotionDecision
  /** True when this is an initial model that misses the floors but serves anyway (stage production). */
  belowGate: boolean
  /** How the candidate compared with the production version on fresh rows, or null when it could not. */
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

/** Fewer fresh out-of-time rows than this and no promotion test is run (and nothing is promoted). */
export const MIN_FRESH_ROWS = 50

export interface ChampionComparison {
  version: number
  /** Both judged on the same fresh out-of-time rows (newer than the champion's training data). */
  basis: 'fresh_rows'
  rows: number
  champion: ModelMetrics
  candidate: ModelMetrics
}

/** The honest estimate the floors judged: point estimates with their bootstrap intervals. */
export interface EstimateSummary {
  kind: EvaluationKind
  rows: number
  level: number
  metrics: ModelMetrics
  intervals: Estimate['intervals']
  /** Expected calibration error and Brier score of the held-out probabilities. */
  calibration: { ece: number; brier: number }
}

/**
 * The newest `share` of the streamed rows (by event time), as ascending row indices, or null
 * when that window would hold fewer than MIN_FRESH_ROWS rows (then the run is estimated by
 * nested CV and cannot be promoted over a champion).
 */
export function outOfTimeRows(eventTimes: readonly (number | null)[], share: number): number[] | null {
  const streamed: number[] = []
  eventTimes.forEach((t, i) => {
    if (t !== null) streamed.push(i)
  })
  const h = Math.ceil(share * streamed.length)
  if (h < MIN_FRESH_ROWS || streamed.length - h < MIN_FRESH_ROWS) return null
  streamed.sort((a, b) => eventTimes[a]! - eventTimes[b]! || a - b)
  return streamed.slice(streamed.length - h).sort((a, b) => a - b)
}

function timeRangeOf(times: (number | null)[], rows: number[]): { from: number; to: number } | null {
  let from = Number.POSITIVE_INFINITY
  let to = Number.NEGATIVE_INFINITY
  for (const i of rows) {
    const t = times[i]
    if (t === null || t === undefined) continue
    from = Math.min(from, t)
    to = Math.max(to, t)
  }
  return Number.isFinite(from) ? { from, to } : null
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
    outerFolds: opts.outerFolds ?? t.outerFolds,
    seed: t.seed,
    budget: opts.budget ?? t.searchBudget,
    primaryMetric: t.primaryMetric,
    maxRows: t.maxRows,
    thresholdRule: 'max_accuracy_given_f1' as const,
    ootShare: opts.ootShare ?? t.ootShare,
    thresholds: {
      minAccuracy: t.minAccuracy,
      minRocAuc: t.minRocAuc,
      minF1: t.minF1,
      promotionMargin: t.promotionMargin,
      promotionAlpha: opts.promotionAlpha ?? t.promotionAlpha,
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
    // Out-of-time: the newest labelled window is held out of selection AND of the shipped
    // model's training rows (the pipeline also drops earlier rows of the held-out groups).
    const holdout = set.eventTimes ? outOfTimeRows(set.eventTimes, params.ootShare) : null
    const result = await runPipeline(
      set.data,
      {
        families: opts.families,
        k: params.k,
        outerFolds: params.outerFolds,
        seed: params.seed,
        budget: params.budget,
        primaryMetric: t.primaryMetric,
        minAccuracy: t.minAccuracy,
        minF1: t.minF1,
        thresholdRule: params.thresholdRule,
        holdout: holdout ?? undefined,
        groupKeys: set.patientIds ?? undefined,
        fingerprint: set.fingerprint,
        modelName,
        codeVersion: codeVersion(),
        referenceBins: config.drift.bins,
        onProgress: opts.onProgress,
      },
      opts.inWorker ?? true,
    )
    if (opts.report) opts.report(formatReport(result))
    // The registered time range is that of the rows fitted on, so the next retrain knows which
    // rows are fresh for this model.
    const fingerprint = result.artifact.dataset
    if (result.evaluation.kind === 'out_of_time' && set.eventTimes) {
      const range = timeRangeOf(set.eventTimes, result.trainingRows)
      if (range) fingerprint.timeRange = range
    }

    const estimate = result.estimate
    const candidateMetrics = toPlainMetrics(result.artifact.metrics)
    const rule = { alpha: params.thresholds.promotionAlpha, margin: t.promotionMargin, seed: t.seed }

    // ---- the champion, judged with the challenger on the same fresh out-of-time rows ----
    const prod = await registry.production(modelName)
    let champion: ChampionComparison | null = null
    let promotion: PromotionDecision
    const floors = gate(candidateMetrics as GateMetrics, null, {
      minAccuracy: t.minAccuracy,
      minRocAuc: t.minRocAuc,
      minF1: t.minF1,
      margin: 0,
      primaryMetric: t.primaryMetric,
    })
    if (!prod) {
      promotion = {
        decision: floors.passed ? 'initial' : 'initial_below_gate',
        reason: floors.passed
          ? 'initial model: meets the floors on the unbiased estimate'
          : `initial model registered BELOW THE GATE (nothing else to serve): ${floors.reasons.join('; ')}`,
        championVersion: null,
        evaluation: estimate.kind,
        test: null,
        rows: 0,
        requestIds: [],
        timeRange: null,
      }
    } else {
      const artifact = await registry.loadArtifact({
        modelName,
        version: prod.version,
        artifact: null,
        artifactSha256: prod.artifactSha256,
      })
      const seenUntil = artifact.dataset.timeRange?.to ?? Number.NEGATIVE_INFINITY
      const ev = result.evaluation
      const positions: number[] = []
      if (ev.kind === 'out_of_time' && set.eventTimes) {
        ev.rows.forEach((row, r) => {
          const time = set.eventTimes![row]
          if (time !== null && time !== undefined && time > seenUntil) positions.push(r)
        })
      }
      const rows = positions.map((r) => ev.rows[r]!)
      const requestIds = set.requestIds ? rows.map((i) => set.requestIds![i] ?? '') : []
      const timeRange = set.eventTimes ? timeRangeOf(set.eventTimes, rows) : null
      if (positions.length >= MIN_FRESH_ROWS) {
        const test = testAgainstChampion(
          artifact,
          set.data,
          rows,
          { probs: Float64Array.from(positions, (r) => ev.probs[r]!), threshold: result.artifact.threshold },
          rule,
        )
        champion = {
          version: prod.version,
          basis: 'fresh_rows',
          rows: test.rows,
          champion: test.champion,
          candidate: test.candidate,
        }
        const stat = `DeLong z ${fmt(test.z)}, one-sided p ${fmtP(test.pValue)} (alpha ${rule.alpha}), AUC ${fmt(test.candidateAuc)} vs ${fmt(test.championAuc)} (gain ${fmt(test.difference)}, 95% CI [${fmt(test.interval.lo)}, ${fmt(test.interval.hi)}]) on ${test.rows} fresh rows`
        promotion = {
          decision: test.significant && floors.passed ? 'promoted' : 'not_promoted',
          reason: test.significant
            ? `beats champion v${prod.version}: ${stat}`
            : `does not beat champion v${prod.version} significantly: ${stat}`,
          championVersion: prod.version,
          evaluation: estimate.kind,
          test: {
            name: test.test,
            alpha: test.alpha,
            margin: test.margin,
            z: test.z,
            pValue: test.pValue,
            candidateAuc: test.candidateAuc,
            championAuc: test.championAuc,
            difference: test.difference,
            interval: test.interval,
            positives: test.positives,
          },
          rows: test.rows,
          requestIds,
          timeRange,
        }
      } else {
        promotion = {
          decision: 'not_promoted',
          reason:
            ev.kind === 'out_of_time'
              ? `only ${positions.length} out-of-time rows are newer than champion v${prod.version}'s data (need ${MIN_FRESH_ROWS}): no fair comparison, not promoted`
              : `no fresh out-of-time rows to compare with champion v${prod.version} (nested-CV run): not promoted`,
          championVersion: prod.version,
          evaluation: estimate.kind,
          test: null,
          rows: positions.length,
          requestIds,
          timeRange,
        }
      }
    }
    const belowGate = promotion.decision === 'initial_below_gate'
    const promoted = promotion.decision === 'promoted' || promotion.decision === 'initial' || belowGate
    const stage = promoted ? 'production' : 'rejected'
    const decision: GateResult = {
      passed: promotion.decision === 'promoted' || promotion.decision === 'initial',
      reasons: [
        ...floors.reasons,
        ...(promotion.decision === 'not_promoted' ? [promotion.reason] : []),
        ...(belowGate ? ['initial model registered below the gate'] : []),
      ],
    }
    const reason = `${opts.reason}; ${promotion.reason}`
    const { version } = await registry.register(result.artifact, { stage, runId, reason })

    const estimateSummary: EstimateSummary = {
      kind: estimate.kind,
      rows: estimate.rows,
      level: estimate.level,
      metrics: toPlainMetrics(estimate.metrics),
      intervals: estimate.intervals,
      calibration: { ece: estimate.calibration.ece, brier: estimate.calibration.brier },
    }
    const finishedAt = Date.now()
    await recordPromotion(deps.clickhouse, {
      runId,
      modelName,
      candidateVersion: version,
      decidedAt: finishedAt,
      decision: promotion,
    })
    await recordRun(deps, {
      ...base,
      status: stage === 'production' ? 'succeeded' : 'rejected',
      finishedAt,
      durationMs: finishedAt - startedAt,
      candidates: result.summary.candidates,
      chosenFamily: result.artifact.family,
      gatePassed: decision.passed,
      gateReasons: decision.reasons,
      version,
      metrics: {
        ...candidateMetrics,
        estimate: { ...estimateSummary, calibration: estimate.calibration, platt: estimate.platt },
        champion,
        promotion: { ...promotion, requestIds: undefined, requestIdCount: promotion.requestIds.length },
        belowGate,
      },
      dataset: {
        ...fingerprint,
        streamedRows: set.streamedRows,
        evaluation: result.summary.evaluation,
      },
    })
    log.info(
      {
        runId,
        version,
        stage,
        decision: promotion.decision,
        family: result.artifact.family,
        ms: finishedAt - startedAt,
      },
      'training run finished',
    )
    return {
      runId,
      version,
      stage,
      gate: decision,
      metrics: candidateMetrics,
      estimate: estimateSummary,
      promotion,
      belowGate,
      champion,
      family: result.artifact.family,
      streamedRows: set.streamedRows,
      durationMs: finishedAt - startedAt,
    }
  } catch (err) {
    const e = toRiskStreamError(err, 'TRAINING_FAILED')
    const finishedAt = Date.now()
    await recordRun(deps, {
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

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : 'n/a')
const fmtP = (p: number) => (p > 0 && p < 1e-4 ? p.toExponential(1) : fmt(p))

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
