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
