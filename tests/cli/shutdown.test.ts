import { EventEmitter } from 'node:events'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { EXIT } from '../../cli/exit-codes.ts'
import { Interrupted, installShutdown, stopServices, unlessAborted } from '../../cli/shutdown.ts'

function setup(boundMs = 12_000) {
  const target = new EventEmitter()
  const said: string[] = []
  const exits: number[] = []
  const shutdown = installShutdown({
    boundMs,
    target: target as unknown as NodeJS.Process,
    say: (m) => said.push(m),
    exit: (c) => exits.push(c),
  })
  return { target, said, exits, shutdown }
}

afterEach(() => {
  vi.useRealTimers()
})

describe('shutdown', () => {
  it('aborts on the first signal and exits at once on a later second Ctrl-C', () => {
    vi.useFakeTimers()
    const { target, exits, shutdown } = setup()
    target.emit('SIGTERM')
    expect(shutdown.signal.aborted).toBe(true)
    expect(shutdown.signal.reason).toBe('SIGTERM')
    // The same key press relayed by a wrapper (npm, tsx) is not a second press.
    vi.advanceTimersByTime(100)
    target.emit('SIGINT')
    expect(exits).toEqual([])
    vi.advanceTimersByTime(2_000)
    target.emit('SIGINT')
    expect(exits).toEqual([EXIT.INTERRUPTED])
    shutdown.dispose()
  })

  it('exits after the bound, naming what is still running', () => {
    vi.useFakeTimers()
    const { target, said, exits, shutdown } = setup(5_000)
    shutdown.track('stopping monitors')
    const done = shutdown.track('stopping api')
    done()
    target.emit('SIGINT')
    vi.advanceTimersByTime(4_999)
    expect(exits).toEqual([])
    vi.advanceTimersByTime(1)
    expect(exits).toEqual([EXIT.FAILURE])
    expect(said.at(-1)).toMatch(/exiting without waiting for: stopping monitors$/)
    shutdown.dispose()
  })

  it('interrupts a wait but not the work behind it', async () => {
    const { target, shutdown } = setup()
    let finish: (v: number) => void = () => {}
    const work = new Promise<number>((r) => {
      finish = r
    })
    const waited = unlessAborted(work, shutdown.signal, 'training')
    target.emit('SIGINT')
    await expect(waited).rejects.toBeInstanceOf(Interrupted)
    await expect(waited).rejects.toThrow('interrupted while training')
    finish(1)
    await expect(work).resolves.toBe(1)
    shutdown.dispose()
  })

  it('stops services in reverse order within the budget; one that hangs is named, the others stop', async () => {
    const order: string[] = []
    const said: string[] = []
    const svc = (name: string, stop: () => Promise<void>) => ({
      name,
      stop: () => {
        order.push(name)
        return stop()
      },
    })
    const left = await stopServices(
      [
        svc('monitors', () => new Promise<void>((r) => setTimeout(r, 10))),
        svc('inference', () => new Promise<void>(() => {})),
        svc('api', async () => {}),
      ],
      { budgetMs: 90, say: (m) => said.push(m) },
    )
    expect(order).toEqual(['api', 'inference', 'monitors'])
    expect(left).toEqual(['inference'])
    expect(said.join('\n')).toMatch(/not flushed: inference did not finish stopping/)
  })
})
