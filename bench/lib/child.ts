/**
 * Runs a TypeScript script as a child Node process (`node --import tsx`), in its own process
 * group, so that a timeout or Ctrl-C kills the script AND anything it started (the e2e bench
 * starts a load generator). Every child is tracked and killed when this process exits: the
 * benchmarks must never leave stray processes on the shared machine.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { childEnv } from '../../lib/config/index.ts'

const live = new Set<ChildProcess>()

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  try {
    process.kill(-child.pid, signal) // the whole group (detached: the child leads it)
  } catch {
    // already gone
  }
}

let hooked = false
function hookExit(): void {
  if (hooked) return
  hooked = true
  process.on('exit', () => {
    for (const c of live) killGroup(c, 'SIGKILL')
  })
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      for (const c of live) killGroup(c, 'SIGTERM')
      process.exit(130)
    })
  }
}

export interface ChildResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  timedOut: boolean
  ms: number
}

export interface RunScriptOptions {
  timeoutMs?: number
  /** Extra environment (merged over this process's). */
  env?: Record<string, string>
  /** Each stdout/stderr line as it arrives (progress display). */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void
  cwd?: string
  /** Called with the child's pid once it is spawned (e.g. to meter its CPU). */
  onSpawn?: (pid: number) => void
}

/** Runs `node --import tsx <script> ...args`; resolves when it exits (never rejects). */
export function runScript(script: string, args: string[], opts: RunScriptOptions = {}): Promise<ChildResult> {
  hookExit()
  const t0 = performance.now()
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: opts.cwd,
    env: childEnv(opts.env),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  live.add(child)
  if (child.pid !== undefined) opts.onSpawn?.(child.pid)
  let stdout = ''
  let stderr = ''
  const pending = { stdout: '', stderr: '' }
  const feed = (stream: 'stdout' | 'stderr', chunk: Buffer) => {
    const text = chunk.toString()
    if (stream === 'stdout') stdout += text
    else stderr += text
    if (!opts.onLine) return
    pending[stream] += text
    const lines = pending[stream].split('\n')
    pending[stream] = lines.pop() ?? ''
    for (const l of lines) opts.onLine(l, stream)
  }
  child.stdout!.on('data', (c: Buffer) => feed('stdout', c))
  child.stderr!.on('data', (c: Buffer) => feed('stderr', c))
  let timedOut = false
  const timer =
    opts.timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true
          killGroup(child, 'SIGTERM')
          setTimeout(() => killGroup(child, 'SIGKILL'), 5000).unref()
        }, opts.timeoutMs)
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer)
      live.delete(child)
      // The script may have left grandchildren behind if it crashed: end its group.
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL')
        } catch {
          // group already empty: the normal case
        }
      }
      if (opts.onLine)
        for (const s of ['stdout', 'stderr'] as const) if (pending[s]) opts.onLine(pending[s], s)
      resolve({ code, signal, stdout, stderr, timedOut, ms: performance.now() - t0 })
    })
  })
}

export interface LongChild {
  readonly pid: number
  /** Resolves with the first stdout/stderr line matching `re`; rejects if the child exits first. */
  waitForLine(re: RegExp, timeoutMs: number): Promise<string>
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>
  /** Everything it wrote so far (the end of it goes into an error when it fails). */
  output(): string
}

/**
 * Starts `node --import tsx <script> ...args` and leaves it running (a role under test, such
 * as `bin/riskstream.ts run inference`); tracked like runScript's children, so it never
 * outlives the bench.
 */
export function spawnScript(
  script: string,
  args: string[],
  opts: Omit<RunScriptOptions, 'timeoutMs'> = {},
): LongChild {
  hookExit()
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: opts.cwd,
    env: childEnv(opts.env),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  if (child.pid === undefined) throw new Error(`could not start ${script}`)
  live.add(child)
  let out = ''
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = []
  const exited = new Promise<void>((resolve) =>
    child.on('close', () => {
      live.delete(child)
      resolve()
    }),
  )
  let pending = ''
  const feed = (chunk: Buffer) => {
    out += chunk.toString()
    pending += chunk.toString()
    const lines = pending.split('\n')
    pending = lines.pop() ?? ''
    for (const l of lines) {
      opts.onLine?.(l, 'stdout')
      for (const w of [...waiters]) if (w.re.test(l)) w.resolve(l)
    }
  }
  child.stdout!.on('data', feed)
  child.stderr!.on('data', feed)
  return {
    pid: child.pid,
    output: () => out,
    waitForLine: (re, timeoutMs) =>
      new Promise<string>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(new Error(`${script}: no line matching ${re} within ${timeoutMs} ms: ${out.slice(-800)}`)),
          timeoutMs,
        )
        const done = (l: string) => {
          clearTimeout(timer)
          resolve(l)
        }
        waiters.push({ re, resolve: done })
        exited.then(() => {
          clearTimeout(timer)
          reject(new Error(`${script} exited before a line matching ${re}: ${out.slice(-800)}`))
        })
      }),
    stop: async (graceMs = 15_000) => {
      killGroup(child, 'SIGTERM')
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs)
      await exited
      clearTimeout(timer)
    },
  }
}

/** The last `{"<key>": …}` JSON line of a child's stdout. */
export function lastJson<T>(stdout: string, key: string): T | undefined {
  const lines = stdout.split('\n').reverse()
  for (const l of lines) {
    const t = l.trim()
    if (!t.startsWith(`{"${key}"`)) continue
    try {
      return (JSON.parse(t) as Record<string, T>)[key]
    } catch {
      // keep looking
    }
  }
  return undefined
}
