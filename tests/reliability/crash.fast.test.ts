/**
 * Fault 1 (and 8): processes killed with SIGKILL at about 10 %, 50 % and 90 % of a run and at
 * the worst moments (between produce-ack and commit; between the ClickHouse write and the
 * offset commit), restarted each time. Pass: in ClickHouse count() FINAL = uniqExact(request_id)
 * = N, every request has exactly one prediction. Negative control: the same check on the wire
 * (prediction records on the topic, no idempotent storage) must fail. Canary patient data in
 * the inputs must appear in no log line of any child.
 *
 * Real processes on the real stack: the CLI (`riskstream run <role>`) and the reliability runner
 * (support/child.ts: the same role factories plus the crash hooks, 6 s consumer sessions).
 */
import { afterAll, describe, expect, it } from 'vitest'
import { uniqueId, waitFor } from '../helpers/index.ts'
import { checkLogCanaries } from './support/canary.ts'
import { type Life, playLives } from './support/lives.ts'
import { committed, LoadGate, sendLoad, written } from './support/load.ts'
import { ALL_OUTPUT, type Proc, spawnChild, spawnCli } from './support/procs.ts'
import { publishTable, recordResult } from './support/results.ts'
import { createRun, predictionCounts, type Run } from './support/run.ts'
import { CRASH_N, FULL_SUITE } from './support/sizes.ts'

const FILE = 'crash'
const N = CRASH_N
/** Requests per second; the load is held while a role restarts (LoadGate), so any rate works. */
const RATE = FULL_SUITE ? 2000 : 300
const runs: Run[] = []

afterAll(async () => {
  for (const r of runs) await r.close()
  publishTable()
})

/** Waits until inference has committed every request and the monitor every prediction and outcome. */
async function drained(run: Run): Promise<void> {
  const { admin, groups, deps } = run
  await waitFor(
    async () =>
      (await committed(admin, groups.inference, deps.topics.requests)) === N &&
      (await committed(admin, groups.monitor, deps.topics.predictions)) ===
        (await written(admin, deps.topics.predictions)) &&
      (await committed(admin, groups.monitor, deps.topics.outcomes)) ===
        (await written(admin, deps.topics.outcomes)),
    { timeoutMs: 300_000, intervalMs: 250, message: 'inference and monitor to finish the run' },
  )
}

type Role = 'inference' | 'monitor'

/**
 * The five lives of a role in a crash run: its crash hook, kill -9 at 10, 50 and 90 % of its
 * committed progress, then the production CLI, which takes over the group the others left.
 */
function crashLives(role: Role, env: Record<string, string>, hook: { label: string; flag: string }): Life[] {
  const command = role === 'inference' ? 'inference' : 'monitors'
  return [
    {
      label: `${role} crash hook ${hook.label}`,
      start: () => spawnChild(`${role}-hook`, [command, hook.flag], env),
      end: { kind: 'self' },
    },
    ...[0.1, 0.5, 0.9].map(
      (at, i): Life => ({
        label: `${role} kill -9 at ${at * 100} %`,
        start: () => spawnChild(`${role}-${i + 1}`, [command], env),
        end: { kind: 'kill', at },
      }),
    ),
    {
      label: `${role} (CLI)`,
      start: () => spawnCli(`${role}-cli`, ['run', command], env),
      end: { kind: 'final' },
    },
  ]
}

/**
 * One crash run: the other role runs uninterrupted (the CLI) while `role` lives through its
 * crash lives under the load; then every prediction is counted in ClickHouse.
 */
async function crashRun(role: Role, hook: { label: string; flag: string }) {
  const run = await createRun()
  runs.push(run)
  const runId = uniqueId(role === 'inference' ? 'ri' : 'rm')
  const track = (p: Proc) => run.procs.push(p)
  const other: Role = role === 'inference' ? 'monitor' : 'inference'
  const envOf = (r: Role) => (r === 'inference' ? run.inferenceEnv : run.monitorEnv)
  const otherProc = spawnCli(other, ['run', other === 'inference' ? 'inference' : 'monitors'], envOf(other))
  track(otherProc)
  await otherProc.waitForLine(/running: /)
  // Held until the first life runs, and again from each crash until the next life runs.
  const gate = new LoadGate(true)
  const load = sendLoad(run.deps, { runId, n: N, rate: RATE, gate })
  // The role's committed progress: requests for inference, predictions for the monitor.
  const progress =
    role === 'inference'
      ? async () => (await committed(run.admin, run.groups.inference, run.deps.topics.requests)) / N
      : async () => (await committed(run.admin, run.groups.monitor, run.deps.topics.predictions)) / N
  const played = await playLives(crashLives(role, envOf(role), hook), progress, track, gate)
  const sent = await load
  await drained(run)
  await played.recovered
  const wire = await written(run.admin, run.deps.topics.predictions)
  for (const p of run.procs) await p.stop()
  const counts = await predictionCounts(run, runId)
  const recoveredS = Math.max(...played.crashes.map((x) => (x.recoveryMs ?? Number.NaN) / 1000))
  const crashedAt = played.crashes.map((x) => `${Math.round(x.progressAtCrash * 100)}%`).join(', ')
  return { counts, crashes: played.crashes, crashedAt, recoveredS, wire, outcomes: sent.outcomes }
}

describe('crash recovery (kill -9)', () => {
  it(`inference killed at ~10/50/90 % and between produce-ack and commit: N=${N} predictions exactly once`, async () => {
    const r = await crashRun('inference', { label: 'after produce-ack', flag: '--kill-after-acked=5' })
    const c = r.counts
    recordResult(FILE, {
      id: '1a',
      fault: 'inference kill -9 ×4 (~10/50/90 %, after produce-ack)',
      events: N,
      lost: N - c.uniq,
      duplicated: c.final - c.uniq,
      dlq: 0,
      recoveredS: r.recoveredS,
      pass: c.final === N && c.uniq === N && c.foreign === 0,
      note: `crashed at ${r.crashedAt}; ${r.wire - N} duplicate predictions on the wire absorbed; ${r.outcomes} outcomes`,
    })
    expect(r.crashes).toHaveLength(4)
    expect(c.foreign).toBe(0)
    expect(c.uniq).toBe(N)
    expect(c.final).toBe(N)
    // Negative control: without idempotent storage (the raw prediction stream) the same check
    // fails, because the batch whose commit the crash prevented was produced twice.
    expect(r.wire).toBeGreaterThan(N)
  }, 600_000)

  it(`monitor killed at ~10/50/90 %, and between ClickHouse write and commit: N=${N} rows exactly once`, async () => {
    const r = await crashRun('monitor', {
      label: 'between ClickHouse write and commit',
      flag: '--kill-before-commit=2',
    })
    const c = r.counts
    recordResult(FILE, {
      id: '1b',
      fault: 'monitor kill -9 ×4 (~10/50/90 %, between CH write and commit)',
      events: N,
      lost: N - c.uniq,
      duplicated: c.final - c.uniq,
      dlq: 0,
      recoveredS: r.recoveredS,
      pass: c.final === N && c.uniq === N && c.foreign === 0,
      note: `crashed at ${r.crashedAt}; ${c.raw - c.final} unmerged duplicate rows without FINAL; ${r.outcomes} outcomes`,
    })
    expect(r.crashes).toHaveLength(4)
    expect(c.foreign).toBe(0)
    expect(c.uniq).toBe(N)
    expect(c.final).toBe(N)
  }, 600_000)

  it('no canary patient data in any log line of any child process', () => {
    expect(ALL_OUTPUT.length).toBeGreaterThan(0)
    expect(checkLogCanaries(FILE, '8a', 'crash runs')).toEqual([])
  })
})
