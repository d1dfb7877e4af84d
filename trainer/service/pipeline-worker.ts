/**
 * Runs `trainCandidates` in a worker thread. Measured on the Pima data (4 families, budget 2,
 * k 5, 2 busy cores): the pure-JS learners stall the event loop for up to ~2.2 s per step and
 * starve 20 ms timers for ~9 s, which would stop Kafka heartbeats and API responses in the
 * same process. In a worker the main thread only waits for one message.
 *
 * Protocol: workerData = { data: Dataset, opts: serialisable TrainCandidatesOptions };
 * messages out: { type: 'progress', progress } … then { type: 'done', result } or
 * { type: 'error', message, code }.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { initLogging, type LogSettings } from '../../lib/log/index.ts'
import type { Dataset } from '../learners/types.ts'
import { closeXGBoostWorker } from '../learners/xgboost.ts'
import { type TrainCandidatesOptions, trainCandidates } from '../pipeline/train.ts'

const { data, opts, logging } = workerData as {
  data: Dataset
  opts: Omit<TrainCandidatesOptions, 'onProgress' | 'now'>
  logging?: LogSettings
}
initLogging(logging ?? { level: 'info' })
const port = parentPort!
try {
  const result = await trainCandidates(data, {
    ...opts,
    onProgress: (progress) => port.postMessage({ type: 'progress', progress }),
  })
  port.postMessage({ type: 'done', result })
} catch (err) {
  const e = err as { message?: string; code?: string }
  port.postMessage({ type: 'error', message: e.message ?? String(err), code: e.code ?? 'TRAINING_FAILED' })
} finally {
  await closeXGBoostWorker()
}
