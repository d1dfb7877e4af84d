/**
 * Runs ml-xgboost (XGBoost 0.7, single-threaded WASM) off the main thread, where a long
 * synchronous `train()` would stop Kafka heartbeats. Traps handled (ml-xgboost 1.1.2): -1 is
 * its hard-wired "missing" and NaN aborts, so NaN is sent as -1 and a real -1 is refused;
 * inputs beyond the 5 MiB WASM stack are refused; the model is always `free()`d.
 */
import { createRequire } from 'node:module'
import { isMainThread, parentPort, workerData } from 'node:worker_threads'
import { createSerializer } from '../../lib/runtime/serialize.ts'

/** The XGBoost parameters we pass through (names as XGBoost spells them). */
export interface XGBoostNativeParams {
  n_estimators: number
  max_depth: number
  eta: number
  subsample: number
  colsample_bytree: number
  min_child_weight: number
  lambda: number
  tree_method: 'hist' | 'exact' | 'approx'
}

export interface XGBoostTrainRequest {
  /** Row-major features as float32, missing already encoded as -1. */
  X: Float32Array
  y: Float32Array
  nRows: number
  nFeatures: number
  params: XGBoostNativeParams
  seed: number
  /** Optional rows (same encoding) to predict with XGBoost itself — used to verify the export. */
  predictX?: Float32Array
  predictRows?: number
}

export interface XGBoostTrainResponse {
  /** Legacy binary model (XGBoost 0.7 save format), unsigned bytes. */
  model: Uint8Array
  predictions?: Float64Array
  trainMs: number
}

/**
 * ml-xgboost copies features AND labels (float32) onto its 5 MiB WASM stack. Measured with
 * 8 features: 145,630 rows train, 145,700 abort ("memory access out of bounds"). We keep 16 KiB
 * for stack frames: 145,180 rows with 8 features (config TRAIN_MAX_ROWS defaults to 145,000).
 */
export const XGBOOST_STACK_BYTES = 5 * 1024 * 1024
export const XGBOOST_MAX_CELLS = Math.floor((XGBOOST_STACK_BYTES - 16 * 1024) / 4)

/** Largest row count ml-xgboost can train on with `nFeatures` features. */
export function xgboostMaxRows(nFeatures: number): number {
  return Math.floor(XGBOOST_MAX_CELLS / (nFeatures + 1))
}

/** Float64 rows with NaN → float32 rows with -1 (XGBoost's missing marker in this binding). */
export function encodeMissing(X: ArrayLike<number>): Float32Array {
  const out = new Float32Array(X.length)
  for (let i = 0; i < X.length; i++) {
    const v = X[i]!
    if (v === -1) throw new Error('feature value -1 would be read as missing by xgboost')
    out[i] = Number.isNaN(v) ? -1 : v
  }
  return out
}

interface XGBoostInstance {
  train(X: number[][], y: number[]): void
  predict(X: number[][]): number[]
  toJSON(): { model: number[] }
  free(): void
}
type XGBoostCtor = new (options: Record<string, unknown>) => XGBoostInstance

let ctorPromise: Promise<XGBoostCtor> | null = null
function loadXGBoost(): Promise<XGBoostCtor> {
  // The package is CommonJS and exports a promise of the class (it waits for the WASM runtime).
  // It has no type declarations, hence createRequire + a local interface.
  ctorPromise ??= createRequire(import.meta.url)('ml-xgboost') as Promise<XGBoostCtor>
  return ctorPromise
}

function toMatrix(X: Float32Array, nRows: number, nFeatures: number): number[][] {
  const rows: number[][] = new Array(nRows)
  for (let i = 0; i < nRows; i++) rows[i] = Array.from(X.subarray(i * nFeatures, (i + 1) * nFeatures))
  return rows
}

/** Trains in the CURRENT thread. Use `trainXGBoost` in xgboost.ts from application code. */
export async function trainXGBoostInProcess(req: XGBoostTrainRequest): Promise<XGBoostTrainResponse> {
  const cells = (req.nFeatures + 1) * req.nRows
  if (cells > XGBOOST_MAX_CELLS) {
    throw new Error(
      `${req.nRows} rows × ${req.nFeatures} features exceed ml-xgboost's 5 MiB stack (max ${xgboostMaxRows(req.nFeatures)} rows); subsample first`,
    )
  }
  const XGBoost = await loadXGBoost()
  const p = req.params
  const booster = new XGBoost({
    booster: 'gbtree',
    // ml-xgboost defaults to regression and to subsample 0.5: set everything explicitly.
    objective: 'binary:logistic',
    base_score: 0.5,
    iterations: p.n_estimators,
    max_depth: p.max_depth,
    eta: p.eta,
    subsample: p.subsample,
    colsample_bytree: p.colsample_bytree,
    min_child_weight: p.min_child_weight,
    lambda: p.lambda,
    tree_method: p.tree_method,
    seed: req.seed,
    silent: 1,
  })
  const started = performance.now()
  try {
    booster.train(toMatrix(req.X, req.nRows, req.nFeatures), Array.from(req.y))
    const trainMs = performance.now() - started
    const json = booster.toJSON()
    const model = Uint8Array.from(json.model, (b) => b & 0xff)
    let predictions: Float64Array | undefined
    if (req.predictX && req.predictRows) {
      predictions = Float64Array.from(booster.predict(toMatrix(req.predictX, req.predictRows, req.nFeatures)))
    }
    return { model, predictions, trainMs }
  } finally {
    booster.free()
  }
}

export interface WorkerRequest {
  id: number
  req: XGBoostTrainRequest
}
export type WorkerReply =
  | { id: number; ok: true; res: XGBoostTrainResponse }
  | { id: number; ok: false; error: string }

// Worker entry: only when started by xgboost.ts (workerData marks it), never on plain import.
if (!isMainThread && parentPort && (workerData as { role?: string } | null)?.role === 'xgboost') {
  const port = parentPort
  // Requests are processed one at a time (the WASM instance is single-threaded anyway).
  const serialize = createSerializer()
  port.on('message', (msg: WorkerRequest) => {
    void serialize(async () => {
      try {
        const res = await trainXGBoostInProcess(msg.req)
        const transfer = [res.model.buffer as ArrayBuffer]
        if (res.predictions) transfer.push(res.predictions.buffer as ArrayBuffer)
        port.postMessage({ id: msg.id, ok: true, res } satisfies WorkerReply, transfer)
      } catch (err) {
        port.postMessage({
          id: msg.id,
          ok: false,
          error: err instanceof Error ? err.message : String(err),
        } satisfies WorkerReply)
      }
    })
  })
}
