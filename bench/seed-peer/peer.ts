/**
 * The seed-style peer (app.py: Flask + xgboost under gunicorn, a JSONL line per prediction):
 * its virtualenv under .cache/seed-peer-venv (git-ignored), created on first use and
 * reinstalled when requirements.txt changes, and a running instance for a benchmark to load.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { childEnv, REPO_ROOT } from '../../lib/config/index.ts'

const PEER_DIR = path.dirname(fileURLToPath(import.meta.url))
const REQUIREMENTS = path.join(PEER_DIR, 'requirements.txt')
export const SEED_PEER_VENV = path.join(REPO_ROOT, '.cache', 'seed-peer-venv')
/** The seed's serving shape: two gunicorn worker processes, one request at a time each. */
export const SEED_PEER_WORKERS = 2
/**
 * gthread with one thread rather than gunicorn's default sync worker: the same one request at a
 * time per process, but with keep-alive. A sync worker closes the connection after every
 * response, and autocannon (unlike wrk) writes its next request on that closing socket and
 * keeps the lost request's clock running until it has reconnected: its figures against a sync
 * worker are not measurements (p50 in the hundreds of ms at a few hundred requests/s).
 */
export const SEED_PEER_WORKER_CLASS = ['-k', 'gthread', '--threads', '1']

const run = promisify(execFile)

/** The venv's gunicorn, after creating the venv or installing requirements.txt if needed. */
export async function ensureSeedPeerVenv(say: (m: string) => void = console.log): Promise<string> {
  const gunicorn = path.join(SEED_PEER_VENV, 'bin', 'gunicorn')
  const stamp = path.join(SEED_PEER_VENV, '.requirements.sha256')
  const want = createHash('sha256').update(readFileSync(REQUIREMENTS)).digest('hex')
  if (existsSync(gunicorn) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === want)
    return gunicorn
  const opts = { env: childEnv(), maxBuffer: 64 * 2 ** 20 }
  try {
    if (!existsSync(path.join(SEED_PEER_VENV, 'bin', 'python'))) {
      say(`seed peer: creating ${path.relative(REPO_ROOT, SEED_PEER_VENV)}`)
      await run('python3', ['-m', 'venv', SEED_PEER_VENV], opts)
    }
    say('seed peer: pip install -r bench/seed-peer/requirements.txt')
    const pip = path.join(SEED_PEER_VENV, 'bin', 'pip')
    await run(pip, ['install', '--quiet', '--disable-pip-version-check', '-r', REQUIREMENTS], opts)
  } catch (e) {
    const err = e as Error & { stderr?: string }
    throw new Error(
      `installing the seed peer failed (needs python3 with venv, e.g. apt-get install python3-venv, ` +
        `and PyPI): ${err.message}\n${(err.stderr ?? '').slice(-2000)}`,
    )
  }
  writeFileSync(stamp, `${want}\n`)
  return gunicorn
}

export interface SeedPeer {
  readonly url: string
  /** SIGTERM to its process group (master and workers), SIGKILL after graceMs; resolves on exit. */
  stop(graceMs?: number): Promise<void>
  output(): string
}

const live = new Set<ChildProcess>()
let hooked = false
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    // already gone
  }
}

/**
 * Starts `gunicorn -w 2 -k gthread --threads 1 app:app` on 127.0.0.1:port and resolves once every worker has trained
 * its model (each prints a ready line) and /health answers. Its process group is killed when
 * this process exits.
 */
export async function startSeedPeer(opts: {
  gunicorn: string
  port: number
  pimaCsv: string
  logFile: string
  timeoutMs?: number
}): Promise<SeedPeer> {
  if (!hooked) {
    hooked = true
    process.on('exit', () => {
      for (const c of live) killGroup(c, 'SIGKILL')
    })
  }
  const child = spawn(
    opts.gunicorn,
    [
      '-w',
      String(SEED_PEER_WORKERS),
      ...SEED_PEER_WORKER_CLASS,
      '-b',
      `127.0.0.1:${opts.port}`,
      // gunicorn's control socket sits at one path per user: two peers would share it.
      '--no-control-socket',
      '--chdir',
      PEER_DIR,
      'app:app',
    ],
    {
      cwd: PEER_DIR,
      env: childEnv({
        SEED_PEER_PIMA_CSV: opts.pimaCsv,
        SEED_PEER_LOG: opts.logFile,
        // No __pycache__ inside the repository.
        PYTHONDONTWRITEBYTECODE: '1',
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  )
  live.add(child)
  const exited = new Promise<void>((resolve) =>
    child.on('close', () => {
      live.delete(child)
      resolve()
    }),
  )
  let out = ''
  const url = `http://127.0.0.1:${opts.port}`
  const peer: SeedPeer = {
    url,
    output: () => out,
    stop: async (graceMs = 10_000) => {
      killGroup(child, 'SIGTERM')
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs)
      await exited
      clearTimeout(timer)
    },
  }
  const timeoutMs = opts.timeoutMs ?? 120_000
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`seed peer not ready within ${timeoutMs} ms:\n${out.slice(-2000)}`)),
        timeoutMs,
      )
      const onData = (d: Buffer) => {
        out += d.toString()
        if ((out.match(/^seed-peer worker ready/gm) ?? []).length >= SEED_PEER_WORKERS) {
          clearTimeout(timer)
          resolve()
        }
      }
      child.stdout!.on('data', onData)
      child.stderr!.on('data', onData)
      exited.then(() => {
        clearTimeout(timer)
        reject(new Error(`seed peer exited (${child.exitCode}) before it was ready:\n${out.slice(-2000)}`))
      })
    })
    const res = await fetch(`${url}/health`)
    if (!res.ok) throw new Error(`seed peer /health answered ${res.status}`)
    await res.arrayBuffer()
  } catch (e) {
    await peer.stop()
    throw e
  }
  return peer
}
