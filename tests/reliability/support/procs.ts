/**
 * Child processes for the reliability runs: the real CLI (`bin/riskstream.ts run <role>`) or
 * the test runner (support/child.ts, the same roles with a crash hook). Every line a child
 * writes is kept (for the canary check) and appended to a log file under the OS temp dir.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { appendFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { REPO_ROOT } from '../../../lib/config/index.ts'

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
    env: { ...process.env, LOG_LEVEL: 'debug', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
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
        appendFileSync(logFile, `${stream}: ${line}\n`)
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
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      running = false
      resolve({ code, signal })
    })
  })
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
