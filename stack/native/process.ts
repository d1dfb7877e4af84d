/**
 * The native services' processes: detached spawn with a pid file, the per-service lock, the
 * readiness wait, and stopping a process group (SIGTERM, then SIGKILL after the grace time).
 */
import { type SpawnOptions, spawn } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { RiskStreamError } from '../../lib/errors/index.ts'
import type { StackOptions } from '../options.ts'
import { type NativeServiceName, nativePaths } from './paths.ts'

/** How long a caller waits for another's lock: longer than the slowest start (the registry's 180 s). */
const LOCK_WAIT_MS = 240_000

/** Pid from the pid file if that process is alive and is still ours (guards against pid reuse). */
export function runningPid(
  opts: Pick<StackOptions, 'dataDir'>,
  service: NativeServiceName,
): number | undefined {
  const file = nativePaths(opts).pidFile(service)
  if (!existsSync(file)) return undefined
  const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10)
  if (!Number.isInteger(pid) || pid <= 0) return undefined
  return isAlive(pid, service === 'kafka' ? 'kafka.Kafka' : 'quarkus-run.jar') ? pid : undefined
}

function isAlive(pid: number, cmdlineMarker?: string): boolean {
  try {
    process.kill(pid, 0)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  // On Linux also reject zombies and recycled pids; elsewhere the signal-0 check must do.
  const proc = `/proc/${pid}`
  if (!existsSync(proc)) return true
  try {
    const stat = readFileSync(`${proc}/stat`, 'utf8')
    if (/\)\s+Z\s/.test(stat)) return false
    if (cmdlineMarker) return readFileSync(`${proc}/cmdline`, 'utf8').includes(cmdlineMarker)
  } catch {
    return false
  }
  return true
}

export function spawnDetached(
  opts: StackOptions,
  service: NativeServiceName,
  cmd: string,
  args: string[],
  extra: SpawnOptions = {},
): number {
  const p = nativePaths(opts)
  mkdirSync(p.runDir, { recursive: true })
  mkdirSync(p.logsDir, { recursive: true })
  const out = openSync(p.logFile(service), 'a')
  writeFileSync(out, `\n==== ${new Date().toISOString()} starting ${service}: ${cmd} ${args.join(' ')}\n`)
  // detached: own process group, so the service outlives `stack up` and `down` can signal the group.
  const child = spawn(cmd, args, { ...extra, detached: true, stdio: ['ignore', out, out] })
  closeSync(out)
  if (child.pid === undefined) throw new RiskStreamError('STACK_FAILED', `could not spawn ${cmd}`)
  child.on('error', () => {}) // reported through the readiness wait instead
  child.unref()
  writeFileSync(p.pidFile(service), String(child.pid))
  return child.pid
}

/**
 * Per-service lock file, so concurrent `up`/`down`/restart calls on one dataDir (parallel test
 * workers, two terminals) cannot both spawn a broker and overwrite each other's pid file.
 * A lock whose holder process is gone is taken over.
 */
export async function withServiceLock<T>(
  opts: StackOptions,
  service: NativeServiceName,
  fn: () => Promise<T>,
): Promise<T> {
  const p = nativePaths(opts)
  mkdirSync(p.runDir, { recursive: true })
  const lockFile = join(p.runDir, `${service}.lock`)
  const t0 = Date.now()
  let announced = false
  for (;;) {
    try {
      writeFileSync(lockFile, String(process.pid), { flag: 'wx' })
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const holder = Number.parseInt(readFileSync(lockFile, 'utf8').trim() || '0', 10)
      if (!(holder > 0 && isAlive(holder))) {
        rmSync(lockFile, { force: true }) // stale: its holder died mid-operation
        continue
      }
      if (Date.now() - t0 > LOCK_WAIT_MS) {
        throw new RiskStreamError(
          'STACK_FAILED',
          `${service}: ${lockFile} held by pid ${holder} for too long`,
        )
      }
      if (!announced) opts.log(`${service}: waiting for pid ${holder} (holds ${lockFile})`)
      announced = true
      await sleep(250)
    }
  }
  try {
    return await fn()
  } finally {
    rmSync(lockFile, { force: true })
  }
}

export async function stopPid(
  opts: StackOptions,
  service: NativeServiceName,
  graceMs: number,
): Promise<void> {
  const pidFile = nativePaths(opts).pidFile(service)
  const pid = runningPid(opts, service)
  if (pid === undefined) {
    rmSync(pidFile, { force: true })
    opts.log(`${service}: not running`)
    return
  }
  opts.log(`${service}: stopping pid ${pid} (SIGTERM)`)
  // Leave a trace in the service log, so an unexpected shutdown there can be told apart from ours.
  writeFileSync(
    nativePaths(opts).logFile(service),
    `\n==== ${new Date().toISOString()} stack stop: SIGTERM pid ${pid}\n`,
    {
      flag: 'a',
    },
  )
  const t0 = Date.now()
  signalGroup(pid, 'SIGTERM')
  while (isAlive(pid) && Date.now() - t0 < graceMs) await sleep(200)
  if (isAlive(pid)) {
    opts.log(`${service}: still alive after ${graceMs} ms, sending SIGKILL`)
    signalGroup(pid, 'SIGKILL')
    while (isAlive(pid) && Date.now() - t0 < graceMs + 5000) await sleep(100)
  }
  rmSync(pidFile, { force: true })
  opts.log(`${service}: stopped in ${Date.now() - t0} ms`)
}

function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig) // the process group created by detached spawn
  } catch {
    try {
      process.kill(pid, sig)
    } catch {
      /* already gone */
    }
  }
}

export async function waitUntilUp(
  opts: StackOptions,
  service: NativeServiceName,
  pid: number,
  probe: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const t0 = Date.now()
  const logFile = nativePaths(opts).logFile(service)
  while (Date.now() - t0 < timeoutMs) {
    if (await probe()) {
      opts.log(`${service}: answering after ${Date.now() - t0} ms`)
      return
    }
    if (!isAlive(pid)) {
      rmSync(nativePaths(opts).pidFile(service), { force: true })
      throw new RiskStreamError(
        'STACK_FAILED',
        `${service} (pid ${pid}) exited during startup; see ${logFile}`,
        {
          details: { service, logFile, tail: tail(logFile) },
        },
      )
    }
    await sleep(500)
  }
  throw new RiskStreamError(
    'STACK_FAILED',
    `${service} did not answer within ${timeoutMs} ms; see ${logFile}`,
    {
      details: { service, pid, logFile, tail: tail(logFile) },
    },
  )
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n')
  } catch {
    return ''
  }
}

interface RunResult {
  status: number | null
  output: string
  error?: Error
}

/** Async spawn that collects output (spawnSync would block the other service's startup). */
export function run(cmd: string, args: string[], extra: SpawnOptions = {}): Promise<RunResult> {
  return new Promise((resolveRun) => {
    const child = spawn(cmd, args, { ...extra, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout?.on('data', (d) => {
      output += d
    })
    child.stderr?.on('data', (d) => {
      output += d
    })
    child.on('error', (error) => resolveRun({ status: null, output, error }))
    child.on('close', (status) => resolveRun({ status, output }))
  })
}

/**
 * A service that is already there: ours by its pid file (maybe still starting, so wait until it
 * answers), or another process answering on its address, used as it is. False: start it.
 */
export async function alreadyRunning(
  opts: StackOptions,
  service: NativeServiceName,
  address: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
): Promise<boolean> {
  const existing = runningPid(opts, service)
  if (existing !== undefined) {
    await waitUntilUp(opts, service, existing, probe, timeoutMs)
    opts.log(`${service}: already running (pid ${existing}) on ${address}`)
    return true
  }
  if (await probe()) {
    opts.log(`${service}: ${address} already answers but was not started by this stack; using it`)
    return true
  }
  return false
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}
