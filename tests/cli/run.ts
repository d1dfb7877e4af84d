/**
 * Runs the real command line as a person does: `npx tsx bin/riskstream.ts …` or `npm run …`
 * from the checkout, in its own process group (like a terminal's foreground job), with the
 * environment given. Output is collected; `waitForOutput` lets a test act on a line.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { REPO_ROOT } from '../../lib/config/index.ts'
import { waitFor } from '../helpers/index.ts'

export interface CliRun {
  child: ChildProcess
  output(): { stdout: string; stderr: string }
  /** Resolves with the exit code (or 128 + signal number) and how long the process lived. */
  exited: Promise<{ code: number; ms: number }>
  /** Sends a signal to the whole process group, as Ctrl-C in a terminal does. */
  signal(sig: NodeJS.Signals): void
  waitForOutput(pattern: RegExp, timeoutMs: number): Promise<void>
}

const SIGNALS: Record<string, number> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }

export function startCli(
  command: 'riskstream' | 'npm',
  args: readonly string[],
  env: Record<string, string> = {},
): CliRun {
  // `riskstream` runs tsx directly (what `npx tsx bin/riskstream.ts` ends up running), so the exit
  // code is the CLI's own; `npm` is `npm run --silent …` as the README has it.
  const [cmd, argv] =
    command === 'npm'
      ? ['npm', ['run', '--silent', ...args]]
      : [path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx'), ['bin/riskstream.ts', ...args]]
  const t0 = Date.now()
  const child = spawn(cmd, argv, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString()
  })
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  const exited = new Promise<{ code: number; ms: number }>((resolve) => {
    child.on('exit', (code, sig) =>
      resolve({ code: code ?? 128 + (SIGNALS[sig ?? ''] ?? 0), ms: Date.now() - t0 }),
    )
  })
  return {
    child,
    output: () => ({ stdout, stderr }),
    exited,
    signal: (sig) => process.kill(-child.pid!, sig),
    waitForOutput: async (pattern, timeoutMs) => {
      await waitFor(() => pattern.test(stdout) || pattern.test(stderr), {
        timeoutMs,
        intervalMs: 200,
        message: `${pattern} in the output of ${args.join(' ')}:\n${stdout.slice(-3000)}\n${stderr.slice(-3000)}`,
      })
    },
  }
}

/** Runs a command to its end (killing its group after `timeoutMs`) and returns code and output. */
export async function runCli(
  args: readonly string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const run = startCli('riskstream', args, env)
  const timer = setTimeout(() => run.signal('SIGKILL'), timeoutMs)
  const { code, ms } = await run.exited
  clearTimeout(timer)
  return { code, ms, ...run.output() }
}

/** Pids of `pid` and all its descendants, from /proc (Linux). */
export function processTree(pid: number): number[] {
  const out = [pid]
  let children: string[] = []
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)
  } catch {
    return out
  }
  for (const c of children) out.push(...processTree(Number(c)))
  return out
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    // A zombie still answers kill(0); it has exited all the same.
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'))
  } catch {
    return false
  }
}

/** The exit of `run` if it comes within `ms` of now; otherwise kills the group and fails. */
export async function exitsWithin(run: CliRun, ms: number): Promise<{ code: number; ms: number }> {
  const t0 = Date.now()
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), ms)
  })
  const result = await Promise.race([run.exited, late])
  clearTimeout(timer)
  if (result === 'late') {
    run.signal('SIGKILL')
    const { stdout, stderr } = run.output()
    throw new Error(
      `still running ${ms} ms after the signal:\n${stdout.slice(-2000)}\n${stderr.slice(-2000)}`,
    )
  }
  return { code: result.code, ms: Date.now() - t0 }
}

/** Stops `run` if it is still running: SIGINT to its group, SIGKILL after `graceMs`. */
export async function stopCli(run: CliRun | undefined, graceMs = 20_000): Promise<void> {
  if (!run || run.child.exitCode !== null || run.child.signalCode !== null) return
  run.signal('SIGINT')
  const timer = setTimeout(() => run.signal('SIGKILL'), graceMs)
  await run.exited
  clearTimeout(timer)
}
