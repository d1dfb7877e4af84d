/** Starts the pipeline worker (see pipeline-worker.ts for why) and resolves with its result. */
import { RiskStreamError } from '../../lib/errors/index.ts'
import { currentLogSettings } from '../../lib/log/index.ts'
import { startTsxWorker } from '../../lib/runtime/tsx-worker.ts'
import type { Dataset } from '../learners/types.ts'
import {
  type TrainCandidatesOptions,
  type TrainProgress,
  type TrainResult,
  trainCandidates,
} from '../pipeline/train.ts'

export type PipelineOptions = Omit<TrainCandidatesOptions, 'onProgress' | 'now'> & {
  onProgress?: (p: TrainProgress) => void
}

/** Trains off the main thread; `inWorker: false` runs inline (debugging, profiling). */
export function runPipeline(data: Dataset, opts: PipelineOptions, inWorker = true): Promise<TrainResult> {
  const { onProgress, ...serialisable } = opts
  if (!inWorker) return trainCandidates(data, opts)
  return new Promise((resolve, reject) => {
    const worker = startTsxWorker(new URL('./pipeline-worker.ts', import.meta.url), {
      loadFailure: { message: { type: 'error', code: 'TRAINING_FAILED' }, field: 'message' },
      workerData: {
        data,
        opts: serialisable,
        // A worker has its own module instances: it logs where the parent does, explicitly.
        logging: currentLogSettings(),
      },
    })
    let settled = false
    const settle = (fn: () => void) => {
      if (settled) return
      settled = true
      fn()
      void worker.terminate()
    }
    worker.on(
      'message',
      (msg: {
        type: string
        progress?: TrainProgress
        result?: TrainResult
        message?: string
        code?: string
      }) => {
        if (msg.type === 'progress' && msg.progress) onProgress?.(msg.progress)
        else if (msg.type === 'done') settle(() => resolve(msg.result!))
        else if (msg.type === 'error') {
          const code = msg.code === 'DATASET_INVALID' ? 'DATASET_INVALID' : 'TRAINING_FAILED'
          settle(() => reject(new RiskStreamError(code, msg.message)))
        }
      },
    )
    worker.on('error', (err) =>
      settle(() => reject(new RiskStreamError('TRAINING_FAILED', 'pipeline worker crashed', { cause: err }))),
    )
    worker.on('exit', (code) =>
      settle(() =>
        reject(new RiskStreamError('TRAINING_FAILED', `pipeline worker exited with code ${code}`)),
      ),
    )
  })
}
