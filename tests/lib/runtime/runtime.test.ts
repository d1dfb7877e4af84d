/** The promise-chain mutex and tsx worker threads of lib/runtime. */
import { once } from 'node:events'
import { describe, expect, it } from 'vitest'
import { createSerializer } from '../../../lib/runtime/serialize.ts'
import { startTsxWorker } from '../../../lib/runtime/tsx-worker.ts'

describe('createSerializer', () => {
  it('runs tasks one at a time in call order, and a failure does not stop the queue', async () => {
    const serialize = createSerializer()
    const log: string[] = []
    let running = 0
    const task = (name: string, fail = false) =>
      serialize(async () => {
        running += 1
        expect(running).toBe(1)
        log.push(`start ${name}`)
        await new Promise<void>((resolve) => setImmediate(resolve))
        log.push(`end ${name}`)
        running -= 1
        if (fail) throw new Error(name)
        return name
      })
    const results = await Promise.allSettled([task('a'), task('b', true), task('c')])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c'])
  })
})

describe('startTsxWorker', () => {
  it('runs a TypeScript module in a worker thread with its workerData', async () => {
    const w = startTsxWorker(new URL('./echo-worker.ts', import.meta.url), {
      workerData: { factor: 2 },
      loadFailure: { message: { ok: false }, field: 'error' },
    })
    try {
      expect((await once(w, 'message'))[0]).toEqual({ ok: true, value: 'ready' })
      w.postMessage(21)
      expect((await once(w, 'message'))[0]).toEqual({ ok: true, value: 42 })
    } finally {
      await w.terminate()
    }
  })

  it('posts the load-failure message with the error text when the module cannot load', async () => {
    const w = startTsxWorker(new URL('./no-such-module.ts', import.meta.url), {
      loadFailure: { message: { type: 'error', code: 'X' }, field: 'message' },
    })
    try {
      const [msg] = await once(w, 'message')
      expect(msg).toMatchObject({ type: 'error', code: 'X' })
      expect(msg.message).toContain('no-such-module')
    } finally {
      await w.terminate()
    }
  })
})
