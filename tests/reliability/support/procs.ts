/**
 * Child processes for the reliability runs: the real CLI (`bin/riskstream.ts run <role>`) or
 * the test runner (support/child.ts, the same roles with a crash hook). Every line a child
 * writes is kept (for the canary check) and appended to a log file under the OS temp dir.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { appendFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { childEnv, REPO_ROOT } from '../../../lib/config/index.ts'

const CLI = path.join(REPO_ROOT, 'bin', 'riskstream.ts')
const CHILD = path.join(REPO_ROOT, 'tests', 'reliability', 'support', 'child.ts')

/** Every line of every child of this test process, for the canary check. */
export const ALL_OUTPUT: { where: string; text: string }[] = []
const logDir = mkdtempSync(path.join(tmpdir(), 'riskstream-reliability-logs-'))

export interface Proc {
  name: string
  child: ChildProcess
  lines: string[]
  /** Only what the child wrote to stderr (where the CLI prints its one-line errors). */
  stderrLines: string[]
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  isRunning(): boolean
  /** kill -9: no flush, no commit, no goodbye. */
  kill9(): Promise<void>
  /** SIGTERM (graceful stop) and wait for the exit. */
  stop(): Promise<void>
  /** Resolves when a line matches. */
  waitForLine(re: RegExp, timeoutMs?: number): Promise<string>
  /** Resolves with the exit; on timeout kills the child and rejects with a diagnosis of where it hung. */
  exitWithin(
    timeoutMs: number,
    expected: string,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  logFile: string
}

let seq = 0
function start(name: string, script: string, args: string[], env: Record<string, string>): Proc {
  const logFile = path.join(logDir, `${++seq}-${name}.log`)
  // The environment is the parent's (PATH, HOME…) plus the run's settings; no RiskStream
  // setting leaks from the parent because the run overrides every one it depends on.
  // node itself with the tsx loader, NOT the tsx wrapper binary: the wrapper runs node as a
  // grandchild, so a SIGKILL sent to it would leave the real process running.
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: REPO_ROOT,
    // debug: the most log lines, so the canary check sees every code path that logs.
    env: childEnv({ LOG_LEVEL: 'debug', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  // Each line stamped with the time the test saw it: the lives' timings are read from here.
  const log = (text: string) => appendFileSync(logFile, `${new Date().toISOString().slice(11, 23)} ${text}`)
  // Written before the child says anything, so a child that never speaks still has a log.
  log(`spawn: pid ${child.pid ?? '(none)'} ${path.basename(script)} ${args.join(' ')}\n`)
  const lines: string[] = []
  const stderrLines: string[] = []
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = []
  let running = true
  const onData = (stream: string) => {
    let buf = ''
    return (d: Buffer) => {
      buf += d.toString('utf8')
      const parts = buf.split('\n')
      buf = parts.pop() ?? ''
      for (const line of parts) {
        lines.push(line)
        if (stream === 'stderr') stderrLines.push(line)
        ALL_OUTPUT.push({ where: `${name} ${stream}`, text: line })
        log(`${stream}: ${line}\n`)
        for (const w of [...waiters]) {
          if (w.re.test(line)) {
            waiters.splice(waiters.indexOf(w), 1)
            w.resolve(line)
          }
        }
      }
    }
  }
  child.stdout!.on('data', onData('stdout'))
  child.stderr!.on('data', onData('stderr'))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('exit', (code, signal) => {
      running = false
      log(`exit: code ${code} signal ${signal}\n`)
      resolve({ code, signal })
    })
    // A child that could not be spawned emits 'error' and never 'exit'.
    child.on('error', (err) => {
      if (!running) return
      running = false
      log(`spawn-error: ${err.message}\n`)
      reject(new Error(`${name} could not run: ${err.message}`, { cause: err }))
    })
  })
  // Callers that only poll isRunning() must not leave the rejection unhandled.
  exited.catch(() => {})
  const proc: Proc = {
    name,
    child,
    lines,
    stderrLines,
    exited,
    logFile,
    isRunning: () => running,
    async kill9() {
      if (running) child.kill('SIGKILL')
      await exited
    },
    async stop() {
      if (running) child.kill('SIGTERM')
      const t = setTimeout(() => child.kill('SIGKILL'), 60_000)
      await exited
      clearTimeout(t)
    },
    async exitWithin(timeoutMs, expected) {
      let timer: NodeJS.Timeout | undefined
      const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)))
      const result = await Promise.race([exited, timedOut]).finally(() => clearTimeout(timer))
      if (result !== 'timeout') return result
      const diagnosis = diagnose(child.pid)
      log(`hang: ${diagnosis}\n`)
      child.kill('SIGKILL')
      await exited
      throw new Error(
        `${name} did not exit within ${timeoutMs} ms (${expected}); last line: ${lines.at(-1) ?? '(none)'}; ` +
          `diagnosis and output in ${logFile}`,
      )
    },
    waitForLine(re, timeoutMs = 120_000) {
      const hit = lines.find((l) => re.test(l))
      if (hit) return Promise.resolve(hit)
      return new Promise((resolve, reject) => {
        const t = setTimeout(
          () => reject(new Error(`${name}: no line matching ${re} within ${timeoutMs} ms; see ${logFile}`)),
          timeoutMs,
        )
        waiters.push({
          re,
          resolve: (l) => {
            clearTimeout(t)
            resolve(l)
          },
        })
        void exited.then(({ code, signal }) => {
          clearTimeout(t)
          reject(
            new Error(
              `${name} exited (code ${code}, signal ${signal}) before a line matching ${re}; see ${logFile}`,
            ),
          )
        })
      })
    },
  }
  return proc
}

/**
 * Where a hung child is: its kernel state and wait channel, and the native stack of every
 * thread when gdb is installed (a hang inside the embedded ClickHouse or the Kafka client's
 * socket shows there; a JS-level await shows as an idle event loop, named by the child's
 * last "step:" line instead).
 */
function diagnose(pid: number | undefined): string {
  if (pid === undefined) return 'never spawned'
  const read = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8').trim() : '(gone)')
  const state = read(`/proc/${pid}/status`)
    .split('\n')
    .filter((l) => /^(State|Threads|VmRSS):/.test(l))
    .join('; ')
  let stacks = '(gdb not installed)'
  try {
    stacks = execFileSync('gdb', ['-p', String(pid), '-batch', '-ex', 'thread apply all bt 12'], {
      encoding: 'utf8',
      timeout: 30_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
  } catch (err) {
    stacks = `(gdb failed: ${(err as Error).message.split('\n')[0]})`
  }
  return `${state}; wchan ${read(`/proc/${pid}/wchan`)}\n${stacks}`
}

/** `riskstream <args>` as its own process. */
export function spawnCli(name: string, args: string[], env: Record<string, string>): Proc {
  return start(name, CLI, args, env)
}

/** The reliability child runner (support/child.ts). */
export function spawnChild(name: string, args: string[], env: Record<string, string>): Proc {
  return start(name, CHILD, args, env)
}

/** Runs a child to completion; rejects on a non-zero exit with its output. */
export async function runChild(name: string, args: string[], env: Record<string, string>): Promise<string[]> {
  const p = spawnChild(name, args, env)
  const { code, signal } = await p.exited
  if (code !== 0)
    throw new Error(`${name} failed (code ${code}, signal ${signal}):\n${p.lines.slice(-20).join('\n')}`)
  return p.lines
}

/** Runs SQL in a short child process that owns the chDB directory of `env.CLICKHOUSE_PATH`. */
export async function queryIn<T>(
  env: Record<string, string>,
  sql: string,
  params: Record<string, unknown> = {},
): Promise<T[]> {
  const lines = await runChild('query', ['query', sql, JSON.stringify(params)], { ...env, LOG_LEVEL: 'warn' })
  const out = lines.find((l) => l.startsWith('ROWS '))
  if (!out) throw new Error(`query printed no rows: ${lines.join('\n')}`)
  return JSON.parse(out.slice(5)) as T[]
}
