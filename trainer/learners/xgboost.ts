/**
 * The XGBoost family: fits with ml-xgboost in a worker thread, exports the trees into our
 * `TreeEnsembleModel`, and predicts with the shared scorer — so CV metrics, the shipped
 * artifact and online inference all use the exact same scoring code.
 */
import type { Worker } from 'node:worker_threads'
import { RiskStreamError } from '../../lib/errors/index.ts'
import { getLogger } from '../../lib/log/index.ts'
import { createScorer } from '../../lib/model/scorer.ts'
import type { Preprocessing, TreeEnsembleModel } from '../../lib/model/types.ts'
import { startTsxWorker } from '../../lib/runtime/tsx-worker.ts'
import type { Dataset, Learner, ParamSpace, TrainedModel } from './types.ts'
import { xgboostToTreeEnsemble } from './xgboost-export.ts'
import {
  encodeMissing,
  type WorkerReply,
  type WorkerRequest,
  type XGBoostNativeParams,
  type XGBoostTrainRequest,
  type XGBoostTrainResponse,
  xgboostMaxRows,
} from './xgboost-worker.ts'

const log = getLogger('trainer.xgboost')

export type XGBoostParams = XGBoostNativeParams

/**
 * Defaults are deliberately conservative (stumps-plus-one-level trees, small eta): on a few
 * hundred noisy clinical rows, deeper or aggressive boosting overfits and loses ROC-AUC to plain
 * logistic regression. Measured with 10-fold stratified CV (seed 42) on Pima: these defaults
 * 0.841 mean AUC; max_depth 3 / eta 0.05 / 200 rounds 0.832. 'hist' is supported by
 * XGBoost 0.7 and is much faster on 100k+ rows.
 */
export const XGBOOST_DEFAULTS: XGBoostParams = {
  n_estimators: 250,
  max_depth: 2,
  eta: 0.03,
  subsample: 0.8,
  colsample_bytree: 0.8,
  min_child_weight: 3,
  lambda: 1,
  tree_method: 'hist',
}

export const XGBOOST_SEARCH_SPACE: ParamSpace = {
  n_estimators: { type: 'int', min: 100, max: 300 },
  max_depth: { type: 'int', min: 2, max: 4 },
  eta: { type: 'float', min: 0.02, max: 0.1, log: true },
  subsample: { type: 'float', min: 0.6, max: 1 },
  colsample_bytree: { type: 'float', min: 0.6, max: 1 },
  min_child_weight: { type: 'float', min: 1, max: 10, log: true },
  lambda: { type: 'float', min: 0.5, max: 10, log: true },
}

// ---------------------------------------------------------------------------------------------
// Worker: one long-lived thread per process, started lazily. Starting a tsx worker costs ~0.5 s
// and a CV search runs ~100 fits, so a worker per fit would dominate the run time.

let worker: Worker | null = null
let nextId = 1
const pending = new Map<number, { resolve: (r: XGBoostTrainResponse) => void; reject: (e: Error) => void }>()

function getWorker(): Worker {
  if (worker) return worker
  const w = startTsxWorker(new URL('./xgboost-worker.ts', import.meta.url), {
    // stdout/stderr piped here rather than to the terminal: the WASM runtime prints notices
    // ("falling back to ArrayBuffer instantiation", "Tree method is selected…").
    stdout: true,
    stderr: true,
    workerData: { role: 'xgboost' },
    loadFailure: { message: { id: 0, ok: false }, field: 'error' },
  })
  for (const stream of [w.stdout, w.stderr]) {
    stream.setEncoding('utf8')
    stream.on('data', (chunk: string) => {
      for (const line of chunk.split('\n'))
        if (line.trim()) log.debug({ line: line.slice(0, 300) }, 'xgboost worker output')
    })
  }
  const fail = (err: Error) => {
    for (const p of pending.values())
      p.reject(new RiskStreamError('TRAINING_FAILED', 'xgboost worker died', { cause: err }))
    pending.clear()
    if (worker === w) worker = null
  }
  w.on('message', (msg: WorkerReply) => {
    const p = pending.get(msg.id)
    if (!p) {
      // id 0: the bootstrap failed before the worker could serve anything.
      if (!msg.ok) {
        fail(new Error(msg.error))
        void w.terminate()
      }
      return
    }
    pending.delete(msg.id)
    if (msg.ok) p.resolve(msg.res)
    else p.reject(new RiskStreamError('TRAINING_FAILED', `xgboost: ${msg.error}`))
    if (pending.size === 0) w.unref() // an idle worker must not keep the process alive
  })
  w.on('error', fail)
  w.on('exit', (code) => fail(new Error(`xgboost worker exited with code ${code}`)))
  worker = w
  return w
}

/** Trains in the worker thread; the main thread stays free (Kafka heartbeats keep flowing). */
export function trainXGBoost(req: XGBoostTrainRequest): Promise<XGBoostTrainResponse> {
  const w = getWorker()
  const id = nextId++
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject })
    w.ref()
    w.postMessage({ id, req } satisfies WorkerRequest)
  })
}

/** Stops the worker (tests, shutdown). Safe to call when none is running. */
export async function closeXGBoostWorker(): Promise<void> {
  const w = worker
  worker = null
  if (w) await w.terminate()
}

// ---------------------------------------------------------------------------------------------

export function buildXGBoostRequest(data: Dataset, params: XGBoostParams, seed: number): XGBoostTrainRequest {
  const maxRows = xgboostMaxRows(data.nFeatures)
  if (data.nRows > maxRows) {
    throw new RiskStreamError(
      'TRAINING_FAILED',
      `xgboost can train on at most ${maxRows} rows; subsample first`,
      {
        details: { rows: data.nRows, maxRows },
      },
    )
  }
  if (data.nRows === 0) throw new RiskStreamError('TRAINING_FAILED', 'xgboost: empty training set')
  let X: Float32Array
  try {
    X = encodeMissing(data.X.subarray(0, data.nRows * data.nFeatures))
  } catch (err) {
    throw new RiskStreamError('TRAINING_FAILED', 'xgboost: input contains the reserved value -1', {
      cause: err,
    })
  }
  return { X, y: Float32Array.from(data.y), nRows: data.nRows, nFeatures: data.nFeatures, params, seed }
}

function trainedFrom(model: TreeEnsembleModel): TrainedModel {
  // Trees route missing values natively: nothing to impute or scale.
  const preprocessing: Preprocessing = { impute: new Array(model.nFeatures).fill(null) }
  const scorer = createScorer(model, preprocessing)
  return {
    family: 'xgboost',
    predictProba: (X, nRows) => scorer.scoreBatch(X, nRows),
    export: () => ({ model, preprocessing }),
  }
}

export const xgboostLearner: Learner<XGBoostParams> = {
  family: 'xgboost',
  defaults: XGBOOST_DEFAULTS,
  searchSpace: XGBOOST_SEARCH_SPACE,
  async fit(data, params, seed) {
    const full = { ...XGBOOST_DEFAULTS, ...params }
    const res = await trainXGBoost(buildXGBoostRequest(data, full, seed))
    log.debug(
      { rows: data.nRows, trees: full.n_estimators, trainMs: Math.round(res.trainMs) },
      'xgboost fitted',
    )
    return trainedFrom(xgboostToTreeEnsemble(res.model, data.nFeatures))
  },
}
