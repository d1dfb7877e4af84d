/**
 * Promise 6: predictions resume within seconds of a crash, with the production CLI and its
 * default group timing (KAFKA_SESSION_TIMEOUT_MS), under load.
 * (a) `riskstream run inference` killed with kill -9 three times and restarted at once;
 * (b) two inference processes in one group, one killed: the other takes over its partitions.
 * Recovered in = seconds from the kill until every partition has a prediction produced after
 * it. Pass, read on the predictions topic as a foreign client sees it: every request has a
 * prediction and exactly one distinct one (a batch whose commit the kill prevented is
 * produced again, identically; the idempotent storage keeps one row of it, which crash.fast
 * checks in ClickHouse). The timings are recorded for the reliability table, not asserted
 * (they depend on the machine's load).
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { uniqueId, waitFor } from '../helpers/index.ts'
import { committed, sendLoad } from './support/load.ts'
import { type Proc, spawnCli } from './support/procs.ts'
import { publishTable, recordResult } from './support/results.ts'
import { createRun, type Run } from './support/run.ts'
import { FULL_SUITE } from './support/sizes.ts'
import { groupAssignment, type PredictionWatch, watchPredictions } from './support/watch.ts'

const FILE = 'recovery'
/** A few thousand requests in CI (2 shared cores); the foreign-client run's 30,000 in the full suite. */
const N = FULL_SUITE ? 30_000 : 6_000
const RATE = FULL_SUITE ? 1_000 : 200
const runs: Run[] = []

afterAll(async () => {
  for (const r of runs) await r.close()
  publishTable()
})

/** A run, its processes tracked for the clean-up. */
async function startRun(): Promise<{ run: Run; track: (p: Proc) => Proc }> {
  const run = await createRun()
  runs.push(run)
  const track = (p: Proc) => {
    run.procs.push(p)
    return p
  }
  return { run, track }
}

/**
 * Waits until inference has committed every request and each has a prediction on the topic,
 * stops the processes and counts: requests without a prediction, requests with more than one
 * distinct prediction, predictions of other runs, and identical redeliveries on the wire.
 */
async function finish(run: Run, runId: string, watch: PredictionWatch) {
  const ours = () => [...watch.byRequest.keys()].filter((id) => id.startsWith(`${runId}-`)).length
  try {
    await waitFor(
      async () =>
        (await committed(run.admin, run.groups.inference, run.deps.topics.requests)) === N && ours() === N,
      { timeoutMs: 300_000, intervalMs: 250, message: 'every request committed and predicted' },
    )
  } finally {
    await watch.stop()
    for (const p of run.procs) await p.stop()
  }
  let conflicting = 0
  for (const said of watch.byRequest.values()) if (said.size > 1) conflicting++
  return {
    missing: N - ours(),
    conflicting,
    foreign: watch.byRequest.size - ours(),
    wireDuplicates: watch.records() - watch.byRequest.size,
  }
}

const seconds = (ms: number) => (ms / 1000).toFixed(1)

/**
 * `riskstream run <role>` under load, killed with kill -9 at the given shares of the load and
 * restarted at once each time; records the row and asserts exactly one distinct prediction per
 * request.
 */
async function killAndRestart(o: { id: string; role: 'inference' | 'all'; at: number[]; fault: string }) {
  const { run, track } = await startRun()
  const runId = uniqueId('rr')
  // `run all` owns the monitors' chDB directory (artifact seeded); no port or retrain of its own.
  const env =
    o.role === 'all' ? { ...run.monitorEnv, API_PORT: '0', AUTO_RETRAIN_ENABLED: 'false' } : run.inferenceEnv
  let proc = track(spawnCli(`${o.role}-0`, ['run', o.role], env))
  await proc.waitForLine(/running: /)
  const watch = await watchPredictions(run.deps)
  let sent = 0
  const load = sendLoad(run.deps, { runId, n: N, rate: RATE, onProgress: (s) => (sent = s) })
  const lives: { resumedMs: number; runningMs: number }[] = []
  try {
    for (const [i, at] of o.at.entries()) {
      await waitFor(() => sent >= at * N, { timeoutMs: 120_000, message: `${at * 100} % of the load sent` })
      const killedAt = Date.now()
      await proc.kill9()
      proc = track(spawnCli(`${o.role}-${i + 1}`, ['run', o.role], env))
      const running = proc.waitForLine(/running: /).then(() => Date.now() - killedAt)
      const resumedMs = await waitFor(() => watch.resumedAfter(killedAt), {
        timeoutMs: 120_000,
        intervalMs: 50,
        message: 'a prediction produced after the kill on every partition',
      })
      lives.push({ resumedMs, runningMs: await running })
    }
    await load
  } catch (err) {
    await watch.stop()
    throw err
  }
  const c = await finish(run, runId, watch)
  const worst = Math.max(...lives.map((l) => l.resumedMs))
  recordResult(FILE, {
    id: o.id,
    fault: o.fault,
    events: N,
    lost: c.missing,
    duplicated: c.conflicting,
    dlq: 0,
    recoveredS: worst / 1000,
    pass: c.missing === 0 && c.conflicting === 0 && c.foreign === 0,
    note:
      `kill → first prediction on every partition ${lives.map((l) => seconds(l.resumedMs)).join(', ')} s ` +
      `(new process running after ${lives.map((l) => seconds(l.runningMs)).join(', ')} s); ` +
      `session ${run.deps.config.kafka.sessionTimeoutMs} ms; ${c.wireDuplicates} identical redeliveries on the topic`,
  })
  expect(lives).toHaveLength(o.at.length)
  expect(c.foreign).toBe(0)
  expect(c.missing).toBe(0)
  expect(c.conflicting).toBe(0)
}

describe('recovery after kill -9 (production CLI, default session)', () => {
  it(
    `run inference killed ×3 and restarted at once: predictions resume, N=${N} exactly once`,
    () =>
      killAndRestart({
        id: '6a',
        role: 'inference',
        at: [0.15, 0.45, 0.75],
        fault: 'run inference (CLI) kill -9 ×3, restarted at once',
      }),
    900_000,
  )

  it(
    `run all killed ×2 and restarted at once: predictions resume, N=${N} exactly once`,
    () =>
      killAndRestart({
        id: '6c',
        role: 'all',
        at: [0.2, 0.6],
        fault: 'run all (CLI) kill -9 ×2, restarted at once',
      }),
    900_000,
  )

  it(`two inference processes, one killed: the other takes over, N=${N} exactly once`, async () => {
    const { run, track } = await startRun()
    const runId = uniqueId('rt')
    const a = track(spawnCli('inference-a', ['run', 'inference'], run.inferenceEnv))
    await a.waitForLine(/running: /)
    // Each process owns its chDB directory (embedded ClickHouse: one engine per directory).
    const bEnv = {
      ...run.inferenceEnv,
      CLICKHOUSE_PATH: mkdtempSync(path.join(tmpdir(), 'riskstream-rel-inf-b-')),
    }
    const b = track(spawnCli('inference-b', ['run', 'inference'], bEnv))
    await b.waitForLine(/running: /)
    const requests = run.deps.topics.requests
    const before = await groupAssignment(run.admin, run.groups.inference, requests, 2)
    const watch = await watchPredictions(run.deps)
    let sent = 0
    const load = sendLoad(run.deps, { runId, n: N, rate: RATE, onProgress: (s) => (sent = s) })
    let resumedMs: number
    let after: Map<string, number[]>
    try {
      await waitFor(() => sent >= 0.3 * N, { timeoutMs: 120_000, message: '30 % of the load sent' })
      const killedAt = Date.now()
      await b.kill9()
      resumedMs = await waitFor(() => watch.resumedAfter(killedAt), {
        timeoutMs: 120_000,
        intervalMs: 50,
        message: 'a prediction produced after the kill on every partition',
      })
      after = await groupAssignment(run.admin, run.groups.inference, requests, 1)
      await load
    } catch (err) {
      await watch.stop()
      throw err
    }
    const killed = [...before.keys()].find((m) => !after.has(m))
    const taken = killed ? (before.get(killed) ?? []) : []
    const c = await finish(run, runId, watch)
    recordResult(FILE, {
      id: '6b',
      fault: 'one of two inference processes (CLI) kill -9',
      events: N,
      lost: c.missing,
      duplicated: c.conflicting,
      dlq: 0,
      recoveredS: resumedMs / 1000,
      pass: c.missing === 0 && c.conflicting === 0 && c.foreign === 0 && taken.length > 0,
      note:
        `the survivor took over partition(s) ${taken.join(', ')} and owns ${[...after.values()][0]?.join(', ')}; ` +
        `session ${run.deps.config.kafka.sessionTimeoutMs} ms; ${c.wireDuplicates} identical redeliveries on the topic`,
    })
    // The killed member owned partitions, and the survivor now owns every one.
    expect(taken.length).toBeGreaterThan(0)
    expect([...after.values()][0]).toEqual(
      Array.from({ length: run.deps.config.topics.partitions }, (_, p) => p),
    )
    expect(c.foreign).toBe(0)
    expect(c.missing).toBe(0)
    expect(c.conflicting).toBe(0)
  }, 900_000)
})
