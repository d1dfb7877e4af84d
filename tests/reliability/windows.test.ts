/**
 * Promise 2: window results are exact after crashes. The same seeded input (one partition per
 * topic) goes through an uninterrupted monitor and through a monitor killed with SIGKILL five
 * times — between the ClickHouse writes and the checkpoint, and between the checkpoint and
 * the offset commit, while it reads predictions and again while it reads outcomes. Pass: the
 * PSI / KS / quality / accuracy window rows (`monitor_windows FINAL`) and the drift event ids
 * of the two runs are identical row for row.
 *
 * Predictions are all processed before the outcomes are published, in both runs: the order in
 * which a consumer of two topics interleaves them is up to the fetcher, and the label join
 * (hence which labels fall in which accuracy window) depends on it, crash or no crash.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { uniqueId, waitFor } from '../helpers/index.ts'
import { checkLogCanaries } from './support/canary.ts'
import { committed, written } from './support/load.ts'
import { ALL_OUTPUT, type Proc, queryIn, spawnChild } from './support/procs.ts'
import { publishTable, recordResult } from './support/results.ts'
import { createRun, type Run } from './support/run.ts'
import { type StreamInput, sendValues, streamInput, withCanaries } from './support/stream.ts'

const FILE = 'windows'
const N = 4000
/** A checkpoint every 500 events: several per phase, so the crash hooks land mid-stream. */
const EVERY = '--checkpoint-every=500'
const runs: Run[] = []

afterAll(async () => {
  for (const r of runs) await r.close()
  publishTable()
})

async function drained(run: Run, topic: string): Promise<void> {
  await waitFor(
    async () => (await committed(run.admin, run.groups.monitor, topic)) === (await written(run.admin, topic)),
    { timeoutMs: 90_000, intervalMs: 250, message: `the monitor to commit all of ${topic}` },
  )
}

/**
 * Feeds `input` through monitor lives: each crash life runs with its hook and must die by it;
 * the last life of each phase runs until the phase's topic is fully committed.
 */
async function play(run: Run, input: StreamInput, crashes: { predictions: string[]; outcomes: string[] }) {
  const env = run.monitorEnv
  let n = 0
  const life = (args: string[]): Proc => {
    const p = spawnChild(`monitor-w${++n}`, ['monitors', EVERY, ...args], env)
    run.procs.push(p)
    return p
  }
  let kills = 0
  const phase = async (topic: string, hooks: string[]): Promise<Proc> => {
    for (const hook of hooks) {
      const p = life([hook])
      const { signal } = await p.exitWithin(90_000, `its ${hook} crash hook should have fired`)
      if (signal !== 'SIGKILL') throw new Error(`${p.name} exited with ${signal}; see ${p.logFile}`)
      kills++
    }
    const p = life([])
    await drained(run, topic)
    return p
  }
  await sendValues(run.deps, run.deps.topics.predictions, input.predictions)
  const afterPredictions = await phase(run.deps.topics.predictions, crashes.predictions)
  if (crashes.outcomes.length > 0) {
    // Also a kill of an idle, caught-up monitor between the phases.
    await afterPredictions.kill9()
    kills++
  }
  await sendValues(run.deps, run.deps.topics.outcomes, input.outcomes)
  const last =
    crashes.outcomes.length > 0 ? await phase(run.deps.topics.outcomes, crashes.outcomes) : afterPredictions
  if (crashes.outcomes.length === 0) await drained(run, run.deps.topics.outcomes)
  await last.stop()
  const rows = await queryIn<Record<string, unknown>>(
    env,
    `SELECT monitor, model_version, window_type, window_width, window_id,
       toUnixTimestamp64Milli(window_start) AS s, toUnixTimestamp64Milli(window_end) AS e,
       window_size, subject, metric, round(value, 12) AS v
     FROM monitor_windows FINAL WHERE model_name = {m:String}
     ORDER BY monitor, window_type, window_width, window_id, subject, metric`,
    { m: run.model },
  )
  const events = await queryIn<{ id: string }>(
    env,
    "SELECT replaceAll(event_id, {m:String}, '') AS id FROM drift_events FINAL WHERE model_name = {m:String} ORDER BY id",
    { m: run.model },
  )
  return { rows, events: events.map((e) => e.id), kills }
}

describe('window rows after crashes', () => {
  it(`${N} predictions + outcomes, 5 kill -9s (before checkpoint, before commit, idle): monitor_windows FINAL equals the uninterrupted run`, async () => {
    const seed = uniqueId('w')
    const clean = await createRun({ TOPIC_PARTITIONS: '1' })
    runs.push(clean)
    const crashed = await createRun({ TOPIC_PARTITIONS: '1' })
    runs.push(crashed)
    // Same records in both runs (each run has its own model name, stripped from the ids).
    const input = (run: Run) =>
      withCanaries(
        streamInput({ n: N, seed, model: run.model, scenario: { kind: 'glucose_shift', at: N / 2, sds: 1 } }),
      )
    const a = await play(clean, input(clean), { predictions: [], outcomes: [] })
    const t0 = Date.now()
    const b = await play(crashed, input(crashed), {
      predictions: ['--kill-before-commit=2', '--kill-before-checkpoint=2'],
      outcomes: ['--kill-before-checkpoint=1', '--kill-before-commit=2'],
    })
    const elapsedS = (Date.now() - t0) / 1000
    const monitors = new Set(a.rows.map((r) => r.monitor))
    const key = (r: Record<string, unknown>) => JSON.stringify(r)
    const inA = new Set(a.rows.map(key))
    const inB = new Set(b.rows.map(key))
    const missing = a.rows.filter((r) => !inB.has(key(r))).length
    const extra = b.rows.filter((r) => !inA.has(key(r))).length
    const pass = missing === 0 && extra === 0 && JSON.stringify(a.events) === JSON.stringify(b.events)
    if (!pass) {
      // The full toEqual diff below is truncated; name the first differing rows plainly.
      const show = (rows: Record<string, unknown>[], other: Set<string>) =>
        rows
          .filter((r) => !other.has(key(r)))
          .slice(0, 12)
          .map(key)
          .join('\n  ')
      console.error(`windows differ\n missing:\n  ${show(a.rows, inB)}\n extra:\n  ${show(b.rows, inA)}`)
    }
    recordResult(FILE, {
      id: '2',
      fault: `monitor kill -9 ×${b.kills} (before checkpoint / before commit / idle): window rows vs uninterrupted run`,
      events: input(clean).predictions.length + input(clean).outcomes.length,
      lost: missing,
      duplicated: extra,
      dlq: 0,
      recoveredS: null,
      pass,
      note: `${a.rows.length} window rows (${[...monitors].join('/')}), ${a.events.length} drift events; ${missing} missing, ${extra} extra or different; crash run ${elapsedS.toFixed(0)} s`,
    })
    expect(b.kills).toBe(5)
    expect(monitors).toEqual(new Set(['drift', 'quality', 'performance', 'estimate']))
    expect(a.rows.some((r) => r.metric === 'psi')).toBe(true)
    // The detectors' verdicts and the label join's counts are window rows too.
    expect(a.rows.some((r) => r.metric === 'psi_state')).toBe(true)
    expect(a.rows.some((r) => r.metric === 'expired_outcomes')).toBe(true)
    expect(a.rows.some((r) => r.metric === 'accuracy')).toBe(true)
    expect(a.events.length).toBeGreaterThan(0)
    expect(b.rows).toEqual(a.rows)
    expect(b.events).toEqual(a.events)
  }, 240_000)

  it('no canary patient data in any log line of the monitor lives', () => {
    expect(ALL_OUTPUT.length).toBeGreaterThan(0)
    expect(checkLogCanaries(FILE, '8d', 'window crash runs')).toEqual([])
  })
})
