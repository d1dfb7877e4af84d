/**
 * Retrain speed on a large labelled set: 100,000 synthetic rows (Pima resampled with noise,
 * missing pattern kept). Measures
 *  1. one XGBoost fit (worker thread, defaults) and one gradient-boosting fit (defaults);
 *  2. both at once (how the pipeline runs them: XGBoost on the worker, JS on the main thread);
 *  3. a complete pipeline retrain (trainCandidates: CV, threshold, refit, references) with
 *     RETRAIN_FAMILIES, k folds and budget from argv.
 * Target: a retrain on 100k rows in < 5 minutes.
 * Run: npx tsx bench/retrain.bench.ts [rows=100000] [k=3] [budget=1] [families=xgboost,gradient_boosting,logistic_regression]
 */
import { getConfig } from '../lib/config/index.ts'
import { loadPima } from '../lib/data/pima.ts'
import { toRow } from '../lib/features/index.ts'
import type { ModelFamily } from '../lib/model/types.ts'
import { gradientBoostingLearner } from '../trainer/learners/gradient-boosting.ts'
import { createRng } from '../trainer/learners/random.ts'
import type { Dataset } from '../trainer/learners/types.ts'
import { closeXGBoostWorker, xgboostLearner } from '../trainer/learners/xgboost.ts'
import { formatReport } from '../trainer/pipeline/report.ts'
import { trainCandidates } from '../trainer/pipeline/train.ts'

const ROWS = Number(process.argv[2] ?? 100_000)
const K = Number(process.argv[3] ?? 3)
const BUDGET = Number(process.argv[4] ?? 1)
const FAMILIES = (process.argv[5] ?? 'xgboost,gradient_boosting,logistic_regression').split(
  ',',
) as ModelFamily[]

async function time<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const out = await fn()
  const wall = performance.now() - t0
  const cpu = process.cpuUsage(cpu0) // whole process: includes the worker thread
  console.log(
    `${label.padEnd(58)} wall ${(wall / 1000).toFixed(1).padStart(6)} s   cpu ${((cpu.user + cpu.system) / 1e6).toFixed(1).padStart(6)} s`,
  )
  return out
}

/** Resamples Pima rows with replacement and adds ±5 % of each feature's std as Gaussian noise. */
function synthetic(n: number, seed: number): Dataset {
  const pima = loadPima(getConfig().data.pimaCsvPath)
  const base = pima.rows.map(toRow)
  const p = 8
  const std = Array.from({ length: p }, (_, j) => {
    const v = base.map((r) => r[j]!).filter((x) => !Number.isNaN(x))
    const m = v.reduce((a, b) => a + b, 0) / v.length
    return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length)
  })
  const rng = createRng(seed)
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next())
  const X = new Float64Array(n * p)
  const y = new Uint8Array(n)
  for (let i = 0; i < n; i++) {
    const src = rng.int(base.length)
    for (let j = 0; j < p; j++) {
      const v = base[src]![j]!
      X[i * p + j] = Number.isNaN(v) ? v : Math.max(0, v + 0.05 * std[j]! * gauss())
    }
    y[i] = pima.labels[src]!
  }
  return { X, y, nRows: n, nFeatures: p }
}

const data = synthetic(ROWS, 42)
console.log(`${ROWS} synthetic rows, ${data.y.reduce((a, b) => a + b, 0)} positive`)
await time(
  'xgboost fit (defaults, worker)',
  async () => await xgboostLearner.fit(data, xgboostLearner.defaults, 1),
)
await time(
  'gradient_boosting fit (defaults)',
  async () => await gradientBoostingLearner.fit(data, gradientBoostingLearner.defaults, 1),
)
await time('xgboost + gradient_boosting fits concurrently', () =>
  Promise.all([
    xgboostLearner.fit(data, xgboostLearner.defaults, 2),
    new Promise((r) => setImmediate(r)).then(() =>
      gradientBoostingLearner.fit(data, gradientBoostingLearner.defaults, 2),
    ),
  ]),
)
const result = await time(`retrain: ${FAMILIES.join('+')}, ${K}-fold, budget ${BUDGET}`, () =>
  trainCandidates(data, {
    families: FAMILIES,
    k: K,
    seed: 42,
    budget: BUDGET,
    primaryMetric: 'roc_auc',
    minAccuracy: 0.75,
  }),
)
console.log(formatReport(result))
await closeXGBoostWorker()
