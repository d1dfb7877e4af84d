/**
 * Worker threads running a TypeScript module. tsx's `--import` hook does not reach worker
 * threads on Node 20 (tsx issue #354: ERR_UNKNOWN_FILE_EXTENSION, also with execArgv
 * ['--import', 'tsx']), so a tiny CommonJS bootstrap registers tsx's ESM hooks inside the
 * worker first, then imports the module.
 */
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import { Worker, type WorkerOptions } from 'node:worker_threads'

const BOOTSTRAP = `
const { workerData, parentPort } = require('node:worker_threads');
import(workerData.tsxApi)
  .then((tsx) => {
    tsx.register();
    return import(workerData.entry);
  })
  .catch((err) => {
    const f = workerData.loadFailure;
    parentPort.postMessage({ ...f.message, [f.field]: String((err && err.stack) || err) });
  });
`

/**
 * URL of tsx's ESM register API. `require.resolve` only sees the package's "require" export
 * (index.cjs, whose register() resolves its own helper wrongly inside a worker), so we take the
 * ESM build next to it.
 */
function tsxEsmApiUrl(): string {
  const cjs = createRequire(import.meta.url).resolve('tsx/esm/api')
  return pathToFileURL(cjs.replace(/\.cjs$/, '.mjs')).href
}

export interface TsxWorkerOptions extends Omit<WorkerOptions, 'eval' | 'execArgv' | 'workerData'> {
  /** Passed to the module as `workerData` (with the bootstrap's own keys added). */
  workerData?: Record<string, unknown>
  /**
   * What the worker posts when the module cannot be loaded: `message` with the error text in
   * `field`, in the shape the parent already reads its module's messages.
   */
  loadFailure: { message: Record<string, unknown>; field: string }
}

/** Starts a worker thread that imports `entry` (a .ts module URL) under tsx. */
export function startTsxWorker(entry: URL, opts: TsxWorkerOptions): Worker {
  const { workerData, loadFailure, ...rest } = opts
  return new Worker(BOOTSTRAP, {
    ...rest,
    eval: true,
    execArgv: [],
    workerData: { ...workerData, entry: entry.href, tsxApi: tsxEsmApiUrl(), loadFailure },
  })
}
