/**
 * How a long-running command stops. The first SIGINT/SIGTERM aborts `signal`: commands stop
 * what they are doing, flush, commit and close. A second SIGINT exits at once. Whatever is still
 * running `boundMs` after the first signal (a role stuck in a retry loop, a broker that never
 * answers a disconnect) is named on stderr and the process exits anyway, so Ctrl-C always works.
 */
import { EXIT } from './exit-codes.ts'

const DEBOUNCE_MS = 750

export interface Shutdown {
  /** Aborted by the first SIGINT/SIGTERM (its `reason` is the signal name). */
  readonly signal: AbortSignal
  /** Registers a step that is running; `done()` removes it. Unfinished steps are named at the bound. */
  track(what: string): () => void
  /** Removes the signal handlers (the command has finished). */
  dispose(): void
}

export interface ShutdownOptions {
  /** From the first signal to a forced exit (the bound a person waits for; default 12 s). */
  boundMs?: number
  say?: (msg: string) => void
  exit?: (code: number) => void
  /** Where the handlers are installed (tests pass an EventEmitter). */
  target?: Pick<NodeJS.Process, 'on' | 'off'>
}

export function installShutdown(options: ShutdownOptions = {}): Shutdown {
  const say = options.say ?? ((m: string) => process.stderr.write(`${m}\n`))
  const exit = options.exit ?? ((code: number) => process.exit(code))
  const target = options.target ?? process
  const boundMs = options.boundMs ?? 12_000
  const controller = new AbortController()
  const pending = new Map<number, string>()
  let nextId = 0
  let forceTimer: NodeJS.Timeout | undefined

  let firstAt = 0
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      // One Ctrl-C can arrive twice: from the terminal to the process group, and forwarded by a
      // wrapper (npm run, tsx). Only a press a person makes later counts as the second one.
      if (sig === 'SIGINT' && Date.now() - firstAt > DEBOUNCE_MS) {
        say('riskstream: second interrupt: exiting now')
        exit(EXIT.INTERRUPTED)
      }
      return
    }
    firstAt = Date.now()
    say(`riskstream: ${sig}: stopping (press Ctrl-C again to exit at once)`)
    controller.abort(sig)
    forceTimer = setTimeout(() => {
      const left = [...pending.values()]
      say(
        `riskstream: still stopping after ${Math.round(boundMs / 1000)} s; exiting without waiting for: ${left.join(', ') || 'nothing named'}`,
      )
      exit(EXIT.FAILURE)
    }, boundMs)
    // The timer must not keep a process alive that has otherwise finished.
    forceTimer.unref()
  }
  const onInt = () => onSignal('SIGINT')
  const onTerm = () => onSignal('SIGTERM')
  target.on('SIGINT', onInt)
  target.on('SIGTERM', onTerm)

  return {
    signal: controller.signal,
    track(what) {
      const id = nextId++
      pending.set(id, what)
      return () => pending.delete(id)
    },
    dispose() {
      target.off('SIGINT', onInt)
      target.off('SIGTERM', onTerm)
      if (forceTimer) clearTimeout(forceTimer)
    },
  }
}

/** The error an interrupted wait rejects with (the CLI maps it to exit code 130). */
export class Interrupted extends Error {
  constructor(what: string) {
    super(`interrupted while ${what}`)
    this.name = 'Interrupted'
  }
}

/**
 * Waits for `work` unless `signal` aborts first. The work itself may go on in the background
 * (a JVM that is starting, a training run in a worker): the caller's `finally` and the process
 * exit end it.
 */
export function unlessAborted<T>(
  work: Promise<T>,
  signal: AbortSignal | undefined,
  what: string,
): Promise<T> {
  if (!signal) return work
  if (signal.aborted) return Promise.reject(new Interrupted(what))
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Interrupted(what))
    signal.addEventListener('abort', onAbort, { once: true })
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort)
        resolve(v)
      },
      (err) => {
        signal.removeEventListener('abort', onAbort)
        reject(err)
      },
    )
  })
}

/** Resolves when `signal` aborts (a command that runs until it is stopped). */
export function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve()
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
}

/** Resolves after `ms`, or early when `signal` aborts. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms)
    function done() {
      clearTimeout(t)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })
}

/**
 * Stops services in reverse start order, each bounded by its share of what is left of
 * `budgetMs`, so one service that never finishes stopping cannot keep the others from flushing. Returns the names
 * of those that did not finish in time.
 */
export async function stopServices(
  services: readonly { name: string; stop(): Promise<void> }[],
  options: { budgetMs: number; say: (m: string) => void; track?: Shutdown['track'] },
): Promise<string[]> {
  const deadline = Date.now() + options.budgetMs
  const unfinished: string[] = []
  const ordered = [...services].reverse()
  for (const [i, s] of ordered.entries()) {
    const done = options.track?.(`stopping ${s.name}`)
    // A fair share of what is left, so a service that hangs leaves time for the ones after it.
    const left = Math.max(0, deadline - Date.now()) / (ordered.length - i)
    let timer: NodeJS.Timeout | undefined
    const outcome = await Promise.race([
      s.stop().then(
        () => 'stopped' as const,
        (err: unknown) => {
          options.say(`stop ${s.name}: ${(err as Error)?.message ?? String(err)}`)
          return 'failed' as const
        },
      ),
      new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), left)
      }),
    ])
    clearTimeout(timer)
    if (outcome === 'late') unfinished.push(s.name)
    else done?.()
  }
  if (unfinished.length > 0)
    options.say(
      `not flushed: ${unfinished.join(', ')} did not finish stopping in ${Math.round(options.budgetMs / 1000)} s` +
        ' (uncommitted records are consumed again on the next start)',
    )
  return unfinished
}
