/**
 * Why trainOnce runs the pipeline in a worker thread: the main thread's event-loop stalls
 * during one training run, inline vs in the worker (Pima data, all families, budget 2, k 5).
 * Run: npx tsx bench/trainer-event-loop.bench.ts [families] [budget]
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { configWith } from '../lib/config/index.ts'
import { loadPima } from '../lib/data/pima.ts'
import type { ModelFamily } from '../lib/model/types.ts'
import { closeXGBoostWorker } from '../trainer/learners/xgboost.ts'
import { datasetFromRows } from '../trainer/pipeline/dataset.ts'
import { runPipeline } from '../trainer/service/run-pipeline.ts'

const config = configWith({ LOG_LEVEL: 'warn' })
const pima = loadPima(config.data.pimaCsvPath)
const { data, fingerprint } = datasetFromRows(pima.rows, pima.labels, ['pima'], {})
const families = (process.argv[2] ?? 'logistic_regression,random_forest,gradient_boosting,xgboost').split(
  ',',
) as ModelFamily[]
const budget = Number(process.argv[3] ?? 2)

for (const inWorker of [false, true]) {
  const h = monitorEventLoopDelay({ resolution: 10 })
  h.enable()
  const t0 = performance.now()
  const r = await runPipeline(
    data,
    { families, k: 5, seed: 42, budget, primaryMetric: 'roc_auc', minAccuracy: 0.75, fingerprint },
    inWorker,
  )
  h.disable()
  await closeXGBoostWorker()
  console.log(
    `${inWorker ? 'worker' : 'inline'}: ${Math.round(performance.now() - t0)} ms, chose ${r.best.family}, ` +
      `event-loop delay p99 ${(h.percentile(99) / 1e6).toFixed(0)} ms, max ${(h.max / 1e6).toFixed(0)} ms`,
  )
}
