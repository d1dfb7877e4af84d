/**
 * The training pipeline, pure (no Kafka, no ClickHouse): selects the model that ships and
 * estimates it on rows the selection never saw, with bootstrap intervals and a calibration
 * report (estimate.ts).
 */
import { FEATURES } from '../../lib/features/index.ts'
import { getLogger } from '../../lib/log/index.ts'
import type { DatasetFingerprint, ModelArtifact, ModelFamily, ModelMetrics } from '../../lib/model/types.ts'
import { applyPlatt, fitPlatt } from '../../lib/stats/calibration.ts'
import { GRID_BINS } from '../../lib/stats/index.ts'
import {
  type ClassificationMetrics,
  classificationMetrics,
  meanStd,
  type ThresholdChoice,
} from '../../lib/stats/metrics.ts'
import { buildReference, type ReferenceDistribution } from '../../lib/stats/reference.ts'
import { getLearner, LEARNERS } from '../learners/index.ts'
import type { Dataset, TrainedModel } from '../learners/types.ts'
import type { MetricName } from '../selection/cross-validate.ts'
import { subsetDataset } from '../selection/dataset.ts'
import { type Fold, groupStratifiedKFold, rowGroups } from '../selection/folds.ts'
import { betterScore, searchHyperparameters, type Trial } from '../selection/search.ts'
import { chooseThreshold, type ThresholdRule } from '../selection/threshold.ts'
import { decideCalibration, plattRepresentable, plattThreshold, withPlatt } from './calibrate.ts'
import { fingerprintDataset } from './dataset.ts'
import {
  buildEstimate,
  type Estimate,
  type EvaluationKind,
  type HeldOut,
  heldOutMetrics,
} from './estimate.ts'

const log = getLogger('trainer.pipeline')

type Params = Record<string, number | string | boolean>
type Exported = ReturnType<TrainedModel['export']>

export interface TrainProgress {
  family: ModelFamily
  phase: 'search' | 'refit'
  /** 1-based trial number within the family's search (0 for the refit). */
  trial: number
  of: number
  score?: number
  /** Set while estimating: 1-based outer fold (nested CV) or 1 (out-of-time) and their count. */
  outer?: { fold: number; of: number }
}

export interface TrainCandidatesOptions {
  /** Families to try; default every registered learner. */
  families?: ModelFamily[]
  /** Inner CV folds (selection). */
  k: number
  seed: number
  /** Trials per family, or per family by name (families not named get `default`). */
  budget: number | (Partial<Record<ModelFamily, number>> & { default: number })
  primaryMetric: Extract<MetricName, 'roc_auc' | 'f1' | 'accuracy' | 'log_loss'>
  /** Accuracy floor (config MIN_MODEL_ACCURACY): used by the `max_f1_given_accuracy` rule. */
  minAccuracy: number
  /** F1 floor (config MIN_MODEL_F1, default 0.65): used by the `max_accuracy_given_f1` rule. */
  minF1?: number
  /** Threshold rule (default `max_accuracy_given_f1`). */
  thresholdRule?: ThresholdRule
  /** Outer folds of the nested-CV estimate (default 5). */
  outerFolds?: number
  /**
   * Out-of-time evaluation: indices (ascending) of the held-out rows, e.g. the newest labelled
   * window. When given, selection and the shipped model use the other rows only.
   */
  holdout?: number[]
  /** Group key per row (e.g. patient id) joined with byte-identical feature rows for the folds. */
  groupKeys?: (string | null)[]
  /** Bootstrap resamples of the intervals (default 1000). */
  bootstrapResamples?: number
  onProgress?: (p: TrainProgress) => void
  /** Fingerprint from datasetFromRows (keeps sources/subsampling); computed from `data` if absent. */
  fingerprint?: DatasetFingerprint
  modelName?: string
  codeVersion?: string
  /** Bins of the drift reference distributions (default 10). */
  referenceBins?: number
  now?: () => number
}

/** Mean ± std over folds of the metrics we report. */
export type FoldSummary = Record<
  'roc_auc' | 'accuracy' | 'f1' | 'precision' | 'recall' | 'log_loss' | 'brier',
  { mean: number; std: number }
>

export interface CandidateResult {
  family: ModelFamily
  bestParams: Params
  /** Inner score: primary metric, mean over the selection CV folds, of the best trial. */
  score: number
  /** Threshold chosen on the best trial's out-of-fold predictions. */
  threshold: ThresholdChoice
  /** Inner (selection) out-of-fold metrics at that threshold: optimistic, shown for comparison. */
  metrics: ModelMetrics
  folds: Partial<ModelMetrics>[]
  std: FoldSummary
  /** The family's honest estimate (nested outer folds or out-of-time rows) with intervals. */
  estimate: Estimate
  trials: { index: number; params: Params; score: number; durationMs: number }[]
  durationMs: number
}

export interface RunSummary {
  startedAt: number
  durationMs: number
  rows: number
  positives: number
  k: number
  seed: number
  primaryMetric: string
  thresholdRule: ThresholdRule
  evaluation: { kind: EvaluationKind; outerFolds: number; heldOutRows: number; trainingRows: number }
  chosenFamily: ModelFamily
  threshold: number
  /**
   * Platt calibration of the shipped probabilities: decided on the training rows' out-of-fold
   * predictions (see calibrate.ts); `representable: false` for families that cannot carry it.
   */
  calibration: {
    method: 'platt'
    representable: boolean
    applied: boolean
    a?: number
    b?: number
    rawLogLoss?: number
    crossFittedLogLoss?: number
  }
  /** The pipeline's honest estimate (family chosen inside each outer fold). */
  estimate: Estimate
  /** Families chosen in the outer folds (nested_cv) or the one chosen (out_of_time). */
  chosenInOuterFolds: ModelFamily[]
  candidates: {
    family: ModelFamily
    score: number
    params: Params
    metrics: ModelMetrics
    std: FoldSummary
    threshold: number
    estimate: Estimate
    trials: number
    durationMs: number
  }[]
}

export interface TrainResult {
  /** Complete but unregistered: version 0, stage 'candidate', parentVersion null. */
  artifact: ModelArtifact
  candidates: CandidateResult[]
  best: CandidateResult
  /** The pipeline's honest estimate; `artifact.metrics` holds its point estimates. */
  estimate: Estimate
  /**
   * Held-out predictions behind `estimate`: row indices into the data, labels, probabilities.
   * For out_of_time these are the SHIPPED model's probabilities on the holdout rows.
   */
  evaluation: { kind: EvaluationKind; rows: number[]; y: Uint8Array; probs: Float64Array }
  /** Row indices the shipped model was fitted on (all rows for nested_cv). */
  trainingRows: number[]
  summary: RunSummary
}

export function toModelMetrics(m: ClassificationMetrics): ModelMetrics {
  return {
    roc_auc: m.rocAuc,
    accuracy: m.accuracy,
    precision: m.precision,
    recall: m.recall,
    f1: m.f1,
    log_loss: m.logLoss,
    brier: m.brier,
    confusion: { ...m.confusion },
  }
}

const SUMMARY_KEYS = ['roc_auc', 'accuracy', 'f1', 'precision', 'recall', 'log_loss', 'brier'] as const

/** Out-of-fold metrics at `threshold`: pooled over all rows, per fold, and std over folds. */
export function evaluateOutOfFold(
  y: Uint8Array,
  oof: Float64Array,
  folds: { test: number[] }[],
  threshold: number,
): { metrics: ModelMetrics; folds: ModelMetrics[]; std: FoldSummary } {
  const perFold = folds.map((f) =>
    toModelMetrics(
      classificationMetrics(
        f.test.map((i) => y[i]!),
        f.test.map((i) => oof[i]!),
        threshold,
      ),
    ),
  )
  return {
    metrics: toModelMetrics(classificationMetrics(y, oof, threshold)),
    folds: perFold,
    std: stdOf(perFold),
  }
}

function stdOf(perFold: ModelMetrics[]): FoldSummary {
  const std = {} as FoldSummary
  for (const key of SUMMARY_KEYS) std[key] = meanStd(perFold.map((m) => m[key]))
  return std
}

function budgetFor(budget: TrainCandidatesOptions['budget'], family: ModelFamily): number {
  return typeof budget === 'number' ? budget : (budget[family] ?? budget.default)
}

interface FamilySelection {
  family: ModelFamily
  best: Trial<Params>
  trials: Trial<Params>[]
  threshold: ThresholdChoice
  durationMs: number
}

interface Selection {
  families: Map<ModelFamily, FamilySelection>
  chosen: ModelFamily
  folds: Fold[]
}

/** Predictions of one family on a held-out block, at the threshold chosen inside the block's training rows. */
interface FamilyHeldOut {
  probs: Float64Array
  pred: Uint8Array
  platt: Float64Array
  threshold: number
}

/**
 * Selection: every family searched with group-aware stratified CV, the best mean CV score of
 * the primary metric wins, its threshold chosen on its out-of-fold probabilities. Estimation,
 * on rows that played no part in the selection: `nested_cv` reruns the whole selection inside
 * each outer fold (the shipped model is refitted on every row); `out_of_time` (given `holdout`
 * rows) selects on the other rows, minus groups with a row in the holdout, and the model fitted
 * there is the one that ships.
 */
export async function trainCandidates(data: Dataset, opts: TrainCandidatesOptions): Promise<TrainResult> {
  const now = opts.now ?? Date.now
  const startedAt = now()
  const t0 = performance.now()
  const families = opts.families ?? (Object.keys(LEARNERS) as ModelFamily[])
  const rule = opts.thresholdRule ?? 'max_accuracy_given_f1'
  const floors = { minAccuracy: opts.minAccuracy, minF1: opts.minF1 ?? 0.65 }
  const groups = rowGroups(data.X, data.nRows, data.nFeatures, opts.groupKeys)

  /**
   * The selection on `sub`: families are searched CONCURRENTLY (XGBoost fits in its worker
   * thread while the pure-JS learners fit on this one; cross-validation yields between folds).
   * Results do not depend on the interleaving: every fit is seeded and independent.
   */
  const select = async (
    sub: Dataset,
    subGroups: Int32Array,
    outer?: TrainProgress['outer'],
  ): Promise<Selection> => {
    const folds = groupStratifiedKFold(sub.y, subGroups, opts.k, opts.seed)
    const searchFamily = async (family: ModelFamily): Promise<FamilySelection> => {
      const started = performance.now()
      const budget = budgetFor(opts.budget, family)
      const search = await searchHyperparameters<Params>(getLearner(family), sub, {
        budget,
        k: opts.k,
        seed: opts.seed,
        folds,
        primaryMetric: opts.primaryMetric,
        onTrial: (trial, of) =>
          opts.onProgress?.({
            family,
            phase: 'search',
            trial: trial.index + 1,
            of,
            score: trial.score,
            outer,
          }),
      })
      const threshold = chooseThreshold(sub.y, search.best.cv.oof, floors, rule)
      return {
        family,
        best: search.best,
        trials: search.trials,
        threshold,
        durationMs: performance.now() - started,
      }
    }
    // Worker-backed families first, so their first fit is queued before the JS learners start.
    const order = [...families].sort((a, b) => Number(b === 'xgboost') - Number(a === 'xgboost'))
    const results = new Map<ModelFamily, FamilySelection>()
    await Promise.all(order.map(async (f) => results.set(f, await searchFamily(f))))
    const sorted = new Map(families.map((f) => [f, results.get(f)!]))
    let chosen = families[0]!
    for (const f of families)
      if (betterScore(opts.primaryMetric, sorted.get(f)!.best.score, sorted.get(chosen)!.best.score))
        chosen = f
    return { families: sorted, chosen, folds }
  }

  /** Fits every family's selected params on `train` and predicts `test`; keeps the chosen one's export when asked. */
  const fitPredict = async (
    sel: Selection,
    train: Dataset,
    test: Dataset,
    keepExportOf?: ModelFamily,
  ): Promise<{ held: Map<ModelFamily, FamilyHeldOut>; exported?: Exported }> => {
    const held = new Map<ModelFamily, FamilyHeldOut>()
    let exported: Exported | undefined
    for (const family of families) {
      const s = sel.families.get(family)!
      const model = await getLearner(family).fit(train, s.best.params, opts.seed)
      try {
        const probs = model.predictProba(test.X, test.nRows)
        const pred = Uint8Array.from(probs, (p) => (p >= s.threshold.threshold ? 1 : 0))
        // Platt map fitted on the training rows' out-of-fold probabilities only.
        const platt = applyPlatt(fitPlatt(train.y, s.best.cv.oof), probs)
        held.set(family, { probs, pred, platt, threshold: s.threshold.threshold })
        if (family === keepExportOf) exported = model.export()
      } finally {
        model.free?.()
      }
    }
    return { held, exported }
  }

  const estimateOpts = { resamples: opts.bootstrapResamples ?? 1000, seed: opts.seed }
  const pick = <T extends Uint8Array | Float64Array | Int32Array>(src: T, idx: number[]): T => {
    const out = new (src.constructor as new (n: number) => T)(idx.length)
    idx.forEach((i, r) => {
      out[r] = src[i]!
    })
    return out
  }

  let kind: EvaluationKind
  let finalSel: Selection
  let trainRows: number[]
  let evalRows: number[]
  let exported: Exported
  const familyEstimates = new Map<ModelFamily, Estimate>()
  let pipelineEstimate: Estimate
  let pipelineHeld: HeldOut
  let pipelineProbs: Float64Array
  let chosenInOuterFolds: ModelFamily[]

  if (opts.holdout && opts.holdout.length > 0) {
    // ---- out-of-time: select on the earlier rows, judge on the holdout, ship that model ----
    kind = 'out_of_time'
    const hold = new Set(opts.holdout)
    evalRows = [...opts.holdout].sort((a, b) => a - b)
    // A group (patient, or identical feature rows) with a row in the holdout is held out whole:
    // its earlier rows do not train the model that is judged on its later ones.
    const heldGroups = new Set(evalRows.map((i) => groups[i]!))
    trainRows = []
    for (let i = 0; i < data.nRows; i++) if (!hold.has(i) && !heldGroups.has(groups[i]!)) trainRows.push(i)
    const train = subsetDataset(data, trainRows)
    const test = subsetDataset(data, evalRows)
    finalSel = await select(train, pick(groups, trainRows), { fold: 1, of: 1 })
    opts.onProgress?.({ family: finalSel.chosen, phase: 'refit', trial: 0, of: 0 })
    const fp = await fitPredict(finalSel, train, test, finalSel.chosen)
    exported = fp.exported!
    const testGroups = pick(groups, evalRows)
    for (const family of families) {
      const h = fp.held.get(family)!
      familyEstimates.set(
        family,
        buildEstimate(
          kind,
          {
            y: test.y,
            probs: h.probs,
            pred: h.pred,
            groups: testGroups,
            plattProbs: h.platt,
            thresholds: [h.threshold],
            perFold: [],
          },
          estimateOpts,
        ),
      )
    }
    pipelineEstimate = familyEstimates.get(finalSel.chosen)!
    const chosenHeld = fp.held.get(finalSel.chosen)!
    pipelineHeld = {
      y: test.y,
      probs: chosenHeld.probs,
      pred: chosenHeld.pred,
      groups: testGroups,
      plattProbs: chosenHeld.platt,
      thresholds: [chosenHeld.threshold],
      perFold: [],
    }
    pipelineProbs = chosenHeld.probs
    chosenInOuterFolds = [finalSel.chosen]
  } else {
    // ---- nested CV: the whole selection inside each outer fold; ship the selection on all rows ----
    kind = 'nested_cv'
    const outerK = opts.outerFolds ?? 5
    const outer = groupStratifiedKFold(data.y, groups, outerK, opts.seed + 1)
    const n = data.nRows
    const fam = new Map(
      families.map((f) => [
        f,
        {
          probs: new Float64Array(n),
          pred: new Uint8Array(n),
          platt: new Float64Array(n),
          thresholds: [] as number[],
          perFold: [] as ModelMetrics[],
        },
      ]),
    )
    const pipe = {
      probs: new Float64Array(n),
      pred: new Uint8Array(n),
      platt: new Float64Array(n),
      thresholds: [] as number[],
      perFold: [] as ModelMetrics[],
    }
    chosenInOuterFolds = []
    for (const [f, fold] of outer.entries()) {
      const train = subsetDataset(data, fold.train)
      const test = subsetDataset(data, fold.test)
      const sel = await select(train, pick(groups, fold.train), { fold: f + 1, of: outerK })
      const fp = await fitPredict(sel, train, test)
      chosenInOuterFolds.push(sel.chosen)
      for (const family of families) {
        const h = fp.held.get(family)!
        const acc = fam.get(family)!
        const targets = family === sel.chosen ? [acc, pipe] : [acc]
        for (const t of targets) {
          fold.test.forEach((row, r) => {
            t.probs[row] = h.probs[r]!
            t.pred[row] = h.pred[r]!
            t.platt[row] = h.platt[r]!
          })
          t.thresholds.push(h.threshold)
          t.perFold.push(heldOutMetrics(test.y, h.probs, h.pred))
        }
      }
      log.info({ outerFold: f + 1, of: outerK, chosen: sel.chosen }, 'outer fold estimated')
    }
    for (const family of families) {
      const a = fam.get(family)!
      familyEstimates.set(
        family,
        buildEstimate(
          kind,
          {
            y: data.y,
            probs: a.probs,
            pred: a.pred,
            groups,
            plattProbs: a.platt,
            thresholds: a.thresholds,
            perFold: a.perFold,
          },
          estimateOpts,
        ),
      )
    }
    pipelineHeld = {
      y: data.y,
      probs: pipe.probs,
      pred: pipe.pred,
      groups,
      plattProbs: pipe.platt,
      thresholds: pipe.thresholds,
      perFold: pipe.perFold,
    }
    pipelineEstimate = buildEstimate(kind, pipelineHeld, estimateOpts)
    pipelineProbs = pipe.probs
    trainRows = Array.from({ length: n }, (_, i) => i)
    evalRows = trainRows
    finalSel = await select(data, groups)
    // Refit the winner on every row; its out-of-fold predictions already gave the threshold.
    opts.onProgress?.({ family: finalSel.chosen, phase: 'refit', trial: 0, of: 0 })
    const fitted = await getLearner(finalSel.chosen).fit(
      data,
      finalSel.families.get(finalSel.chosen)!.best.params,
      opts.seed,
    )
    try {
      exported = fitted.export()
    } finally {
      fitted.free?.()
    }
  }

  const trainData = kind === 'out_of_time' ? subsetDataset(data, trainRows) : data
  const candidates: CandidateResult[] = families.map((family) => {
    const s = finalSel.families.get(family)!
    const ev = evaluateOutOfFold(trainData.y, s.best.cv.oof, s.best.cv.folds, s.threshold.threshold)
    log.info(
      {
        family,
        innerScore: s.best.score,
        estimate: familyEstimates.get(family)!.metrics[opts.primaryMetric],
        kind,
      },
      'family searched',
    )
    return {
      family,
      bestParams: s.best.params,
      score: s.best.score,
      threshold: s.threshold,
      metrics: ev.metrics,
      folds: ev.folds,
      std: ev.std,
      estimate: familyEstimates.get(family)!,
      trials: s.trials.map((t) => ({
        index: t.index,
        params: t.params,
        score: t.score,
        durationMs: t.cv.durationMs,
      })),
      durationMs: s.durationMs,
    }
  })
  const best = candidates.find((c) => c.family === finalSel.chosen)!

  let oof = finalSel.families.get(best.family)!.best.cv.oof
  let threshold = best.threshold.threshold
  // Calibration: decided on the training rows only; the estimate then describes the shipped
  // (calibrated) probabilities, with the Platt maps fitted inside each fold.
  let calibration: RunSummary['calibration'] = {
    method: 'platt',
    representable: plattRepresentable(exported.model),
    applied: false,
  }
  if (calibration.representable) {
    const d = decideCalibration(trainData.y, oof, opts.seed)
    calibration = {
      ...calibration,
      applied: d.apply,
      a: d.map.a,
      b: d.map.b,
      rawLogLoss: d.rawLogLoss,
      crossFittedLogLoss: d.crossFittedLogLoss,
    }
    if (d.apply) {
      exported = { ...exported, model: withPlatt(exported.model, d.map) }
      threshold = plattThreshold(threshold, d.map)
      oof = applyPlatt(d.map, oof)
      pipelineEstimate = buildEstimate(
        kind,
        { ...pipelineHeld, probs: pipelineHeld.plattProbs },
        estimateOpts,
      )
      pipelineProbs = pipelineHeld.plattProbs
    }
  }
  const bins = opts.referenceBins ?? 10
  const featureNames =
    trainData.nFeatures === FEATURES.length
      ? [...FEATURES]
      : Array.from({ length: trainData.nFeatures }, (_, j) => `f${j}`)
  const features: Record<string, ReferenceDistribution> = {}
  // The fine grid of the statistics that need one (KS, Wasserstein; lib/stats GRID_BINS): PSI's
  // bands assume about ten bins, while those catch shape changes inside a decile.
  const fine: Record<string, ReferenceDistribution> = {}
  featureNames.forEach((name, j) => {
    const column = new Float64Array(trainData.nRows)
    for (let r = 0; r < trainData.nRows; r++) column[r] = trainData.X[r * trainData.nFeatures + j]!
    features[name] = buildReference(column, bins, { psiNull: true })
    fine[name] = buildReference(column, GRID_BINS.fine)
  })

  // artifact.metrics = the HONEST estimate: the concept-drift monitor compares live accuracy
  // with it, so an optimistic figure here would start every deployment inside its allowance.
  const perFold = pipelineEstimate.perFold
  const artifact: ModelArtifact = {
    formatVersion: 1,
    modelName: opts.modelName ?? 'diabetes-risk',
    version: 0,
    family: best.family,
    model: exported.model,
    features: featureNames,
    preprocessing: exported.preprocessing,
    threshold,
    reference: {
      features,
      probability: buildReference(oof, bins, { psiNull: true }),
      fine: { features: fine, probability: buildReference(oof, GRID_BINS.fine) },
    },
    metrics: {
      ...pipelineEstimate.metrics,
      confusion: { ...pipelineEstimate.metrics.confusion },
      folds: perFold,
      std: perFold.length > 1 ? Object.fromEntries(SUMMARY_KEYS.map((k) => [k, stdOf(perFold)[k].std])) : {},
    },
    // out-of-time: the fingerprint describes the rows the shipped model was fitted on
    dataset:
      kind === 'out_of_time'
        ? fingerprintDataset(trainData, [
            ...(opts.fingerprint?.sources ?? []),
            `out-of-time: fitted on ${trainRows.length} of ${data.nRows} rows, newest ${evalRows.length} held out`,
          ])
        : (opts.fingerprint ?? fingerprintDataset(trainData, [])),
    hyperparameters: { ...best.bestParams, seed: opts.seed },
    codeVersion: opts.codeVersion ?? 'unknown',
    createdAt: now(),
    parentVersion: null,
    stage: 'candidate',
  }

  const durationMs = performance.now() - t0
  const summary: RunSummary = {
    startedAt,
    durationMs,
    rows: data.nRows,
    positives: artifact.dataset.positives,
    k: opts.k,
    seed: opts.seed,
    primaryMetric: opts.primaryMetric,
    thresholdRule: rule,
    evaluation: {
      kind,
      outerFolds: pipelineEstimate.outerFolds,
      heldOutRows: evalRows.length,
      trainingRows: trainRows.length,
    },
    chosenFamily: best.family,
    threshold: artifact.threshold,
    calibration,
    estimate: pipelineEstimate,
    chosenInOuterFolds,
    candidates: candidates.map((c) => ({
      family: c.family,
      score: c.score,
      params: c.bestParams,
      metrics: c.metrics,
      std: c.std,
      threshold: c.threshold.threshold,
      estimate: c.estimate,
      trials: c.trials.length,
      durationMs: c.durationMs,
    })),
  }
  return {
    artifact,
    candidates,
    best,
    estimate: pipelineEstimate,
    evaluation: { kind, rows: evalRows, y: pick(data.y, evalRows), probs: pipelineProbs },
    trainingRows: trainRows,
    summary,
  }
}
