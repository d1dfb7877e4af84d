/**
 * A real MLflow tracking server for tests: `mlflow server` (found by cli/prereqs.ts: the venv
 * .ci/run installs under .cache/, or PATH) on a free local port, with its own SQLite store and
 * artifact directory in a temporary directory, serving artifacts (MLflow's default). Started in
 * its own process group so its workers stop with it. `python` runs MLflow's own Python client.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { findMlflow } from '../../cli/prereqs.ts'
import { waitFor } from '../helpers/index.ts'
import { freePort } from '../observability/prometheus.ts'

export interface MlflowServer {
  url: string
  stop(): Promise<void>
  logs(): string
}

export function mlflowBinary(): string {
  const bin = findMlflow()
  if (!bin)
    throw new Error(
      'mlflow not found: python3 -m venv .cache/mlflow-venv && .cache/mlflow-venv/bin/pip install mlflow (or pip install mlflow)',
    )
  return bin
}

/** The interpreter MLflow's CLI runs with (its shebang), so its Python client is importable. */
export function mlflowPython(): string {
  const first = readFileSync(mlflowBinary(), 'utf8').split('\n', 1)[0] ?? ''
  return first.startsWith('#!') ? first.slice(2).trim() : 'python3'
}

export async function startMlflow(): Promise<MlflowServer> {
  const bin = mlflowBinary()
  const dir = mkdtempSync(path.join(tmpdir(), 'riskstream-mlflow-'))
  const port = await freePort()
  let output = ''
  const child: ChildProcess = spawn(
    bin,
    [
      'server',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--workers',
      '1',
      '--backend-store-uri',
      `sqlite:///${path.join(dir, 'mlflow.db')}`,
      '--artifacts-destination',
      path.join(dir, 'artifacts'),
    ],
    { cwd: dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-20_000)
  }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const url = `http://127.0.0.1:${port}`
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(-child.pid!, 'SIGTERM')
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL')
        } catch {
          // already gone
        }
      }, 10_000)
      await exited
      clearTimeout(timer)
    }
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    // Creating the SQLite schema takes MLflow 10-30 s on a busy 2-core machine.
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`mlflow server exited: ${output.slice(-2000)}`)
        const r = await fetch(`${url}/health`).catch(() => undefined)
        return r?.ok === true
      },
      { timeoutMs: 180_000, intervalMs: 250, message: `mlflow server on ${url}` },
    )
  } catch (err) {
    await stop()
    throw err
  }
  return { url, stop, logs: () => output }
}
