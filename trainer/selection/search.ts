/**
 * Random hyperparameter search. Trial 0 is always the learner's documented defaults (a known
 * good configuration, so the search can never do worse than not searching); trials 1..budget-1
 * are drawn from the learner's `searchSpace` with a seeded RNG. Every trial uses the same CV
 * folds, so their scores differ only by the parameters.
 *
 * Random search rather than a grid: with 5–7 parameters of unequal importance it covers each
 * important one with more distinct values per trial (Bergstra & Bengio, 2012).
 */

import { createRng, type Rng } from '../learners/random.ts'
import type { Dataset, Learner, ParamSpace } from '../learners/types.ts'
import {
  type CrossValidationResult,
  crossValidate,
  lowerIsBetter,
  type MetricName,
} from './cross-validate.ts'
import { type Fold, stratifiedKFold } from './folds.ts'

export interface Trial<P> {
  index: number
  params: P
  /** Mean over folds of the primary metric. */
  score: number
  cv: CrossValidationResult
}

export interface SearchOptions<P> {
  budget: number
  k: number
  seed: number
  primaryMetric: MetricName
  /** The CV split every trial uses (e.g. group-aware folds); default stratified k-fold of `data`. */
  folds?: Fold[]
  onTrial?: (trial: Trial<P>, of: number) => void
}

export interface SearchResult<P> {
  best: Trial<P>
  trials: Trial<P>[]
}

/** Keeps sampled floats readable in reports and artifacts (4 significant digits). */
function round4(x: number): number {
  return Number(x.toPrecision(4))
}

export function sampleParams<P>(space: ParamSpace, defaults: P, rng: Rng): P {
  const out: Record<string, unknown> = { ...(defaults as Record<string, unknown>) }
  // Sorted keys: the draw order (hence the result) must not depend on object key order.
  for (const name of Object.keys(space).sort()) {
    const s = space[name]!
    if (s.type === 'choice') {
      const values = s.values ?? []
      out[name] = values[rng.int(values.length)]
      continue
    }
    const min = s.min ?? 0
    const max = s.max ?? min
    const u = rng.next()
    if (s.type === 'int') {
      const v = s.log
        ? Math.round(Math.exp(Math.log(min) + u * (Math.log(max) - Math.log(min))))
        : min + Math.floor(u * (max - min + 1))
      out[name] = Math.min(max, Math.max(min, v))
    } else {
      out[name] = round4(
        s.log ? Math.exp(Math.log(min) + u * (Math.log(max) - Math.log(min))) : min + u * (max - min),
      )
    }
  }
  return out as P
}

/** True when score `a` is better than `b` for `metric` (NaN never wins). */
export function betterScore(metric: MetricName, a: number, b: number): boolean {
  if (Number.isNaN(a)) return false
  if (Number.isNaN(b)) return true
  return lowerIsBetter(metric) ? a < b : a > b
}

export async function searchHyperparameters<P>(
  learner: Learner<P>,
  data: Dataset,
  opts: SearchOptions<P>,
): Promise<SearchResult<P>> {
  const budget = Math.max(1, Math.floor(opts.budget))
  const folds = opts.folds ?? stratifiedKFold(data.y, opts.k, opts.seed)
  const rng = createRng(`${opts.seed}:search:${learner.family}`)
  const trials: Trial<P>[] = []
  let best: Trial<P> | null = null
  for (let index = 0; index < budget; index++) {
    const params =
      index === 0 ? { ...learner.defaults } : sampleParams(learner.searchSpace, learner.defaults, rng)
    const cv = await crossValidate(learner, data, params, { k: opts.k, seed: opts.seed, folds })
    const trial: Trial<P> = { index, params, score: cv.summary[opts.primaryMetric].mean, cv }
    trials.push(trial)
    if (best === null || betterScore(opts.primaryMetric, trial.score, best.score)) best = trial
    opts.onTrial?.(trial, budget)
  }
  return { best: best!, trials }
}
