/** A TypeScript worker module for tsx-worker.test.ts: answers each message with its double. */
import { parentPort, workerData } from 'node:worker_threads'

const typed: number = (workerData as { factor: number }).factor
parentPort?.on('message', (n: number) => parentPort?.postMessage({ ok: true, value: n * typed }))
parentPort?.postMessage({ ok: true, value: 'ready' })
