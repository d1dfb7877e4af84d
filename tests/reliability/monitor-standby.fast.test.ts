/**
 * Promise 5: monitors that cannot be split. Two `riskstream run monitors` processes on one run
 * (one chDB data directory): the second waits as a standby (cli/roles.ts monitorsLeadership,
 * a Kafka election in lib/kafka/leader.ts) instead of joining the monitors' group and taking
 * half the partitions; the active one is killed with kill -9 midway through the predictions and
 * the standby takes over from the last checkpoint. Pass: the window rows (`monitor_windows
 * FINAL`) and drift event ids equal those of one uninterrupted monitor on the same input, and
 * the standby started nothing before the kill. Predictions are all processed before the
 * outcomes are published in both runs (as in windows.test.ts: the label join depends on how a
 * consumer of two topics interleaves them).
 */
import { afterAll, describe, expect, it } from 'vitest'
import { uniqueId, waitFor } from '../helpers/index.ts'
import { committed, written } from './support/load.ts'
import { type Proc, queryIn, spawnCli } from './support/procs.ts'
import { publishTable, recordResult } from './support/results.ts'
import { createRun, type Run } from './support/run.ts'
import { FULL_SUITE } from './support/sizes.ts'
import { type StreamInput, sendValues, streamInput } from './support/stream.ts'

const FILE = 'monitor-standby'
/** Predictions; with their outcomes about 10,000 events in CI and 100,000 in the full suite. */
const N = FULL_SUITE ? 50_000 : 5_000
/** Predictions are published over about 5 s, so the kill lands while they are being read. */
const SLICE = N / 50
const runs: Run[] = []

afterAll(async () => {
  for (const r of runs) await r.close()
  publishTable()
})

async function drained(run: Run, topic: string): Promise<void> {
  await waitFor(
    async () => (await committed(run.admin, run.groups.monitor, topic)) === (await written(run.admin, topic)),
    { timeoutMs: 300_000, intervalMs: 250, message: `the monitor to commit all of ${topic}` },
  )
}

/** Publishes the predictions in slices every 100 ms; `onSlice` sees the share published. */
async function publishPaced(run: Run, input: StreamInput, onSlice: (share: number) => Promise<void>) {
  const all = input.predictions
  for (let i = 0; i < all.length; i += SLICE) {
    await sendValues(run.deps, run.deps.topics.predictions, all.slice(i, i + SLICE))
    await onSlice(Math.min(1, (i + SLICE) / all.length))
    await new Promise((r) => setTimeout(r, 100))
  }
}

/**
 * The label join's spill counters are written once per checkpoint (window id = checkpoint
 * number, at the wall-clock moment of the checkpoint: processors/monitors/performance/spill.ts),
 * so their rows follow the checkpoint cadence (every 2 s under load) and differ between any two
 * runs, interrupted or not. Their last values (the totals) are compared instead; the loss
 * counts (`lost_*`, per model version) are written the same way.
 */
const PER_CHECKPOINT =
  "subject = 'label_join' AND (metric IN ('late_outcomes', 'duplicate_outcomes', 'spilled_predictions') OR startsWith(metric, 'lost_'))"

async function windows(run: Run) {
  const rows = await queryIn<Record<string, unknown>>(
    run.monitorEnv,
    `SELECT monitor, model_version, window_type, window_width, window_id,
       toUnixTimestamp64Milli(window_start) AS s, toUnixTimestamp64Milli(window_end) AS e,
       window_size, subject, metric, round(value, 12) AS v
     FROM monitor_windows FINAL WHERE model_name = {m:String} AND NOT (${PER_CHECKPOINT})
     ORDER BY monitor, window_type, window_width, window_id, subject, metric`,
    { m: run.model },
  )
  const totals = await queryIn<Record<string, unknown>>(
    run.monitorEnv,
    `SELECT metric, model_version, argMax(value, window_id) AS last
     FROM monitor_windows FINAL WHERE model_name = {m:String} AND ${PER_CHECKPOINT}
     GROUP BY metric, model_version ORDER BY metric, model_version`,
    { m: run.model },
  )
  const events = await queryIn<{ id: string }>(
    run.monitorEnv,
    "SELECT replaceAll(event_id, {m:String}, '') AS id FROM drift_events FINAL WHERE model_name = {m:String} ORDER BY id",
    { m: run.model },
  )
  return { rows, totals, events: events.map((e) => e.id) }
}

describe('two monitor processes on one run', () => {
  it(`the second waits as a standby and takes over after a kill -9: windows equal the uninterrupted run`, async () => {
    const seed = uniqueId('sb')
    const input = (run: Run) =>
      streamInput({ n: N, seed, model: run.model, scenario: { kind: 'glucose_shift', at: N / 2, sds: 1 } })

    // The uninterrupted run: one monitor.
    const clean = await createRun({ TOPIC_PARTITIONS: '1' })
    runs.push(clean)
    const only = spawnCli('monitor-only', ['run', 'monitors'], clean.monitorEnv)
    clean.procs.push(only)
    await only.waitForLine(/running: /)
    const cleanInput = input(clean)
    await publishPaced(clean, cleanInput, async () => {})
    await drained(clean, clean.deps.topics.predictions)
    await sendValues(clean.deps, clean.deps.topics.outcomes, cleanInput.outcomes)
    await drained(clean, clean.deps.topics.outcomes)
    await only.stop()
    const a = await windows(clean)

    // Active and standby on the same data directory; the active one is killed midway.
    const run = await createRun({ TOPIC_PARTITIONS: '1' })
    runs.push(run)
    const track = (p: Proc) => {
      run.procs.push(p)
      return p
    }
    const active = track(spawnCli('monitor-active', ['run', 'monitors'], run.monitorEnv))
    await active.waitForLine(/running: /)
    const standby = track(spawnCli('monitor-standby', ['run', 'monitors'], run.monitorEnv))
    await standby.waitForLine(/standby/)
    const runInput = input(run)
    let killedAt: { share: number; progress: number; at: number } | undefined
    let standbyRanBeforeKill = false
    await publishPaced(run, runInput, async (share) => {
      if (killedAt) return
      const done = await committed(run.admin, run.groups.monitor, run.deps.topics.predictions)
      // Midway: once a checkpoint covers a third of the predictions (checkpoints every 2 s).
      if (done < N / 3) return
      standbyRanBeforeKill = standby.lines.some((l) => /running: /.test(l))
      await active.kill9()
      killedAt = { share, progress: done / N, at: Date.now() }
    })
    if (!killedAt) {
      // The whole input was committed before a checkpoint was seen mid-publish: kill now anyway.
      standbyRanBeforeKill = standby.lines.some((l) => /running: /.test(l))
      await active.kill9()
      killedAt = { share: 1, progress: 1, at: Date.now() }
    }
    await standby.waitForLine(/running: /)
    const takeoverS = (Date.now() - killedAt.at) / 1000
    await drained(run, run.deps.topics.predictions)
    await sendValues(run.deps, run.deps.topics.outcomes, runInput.outcomes)
    await drained(run, run.deps.topics.outcomes)
    await standby.stop()
    const b = await windows(run)

    const key = (r: Record<string, unknown>) => JSON.stringify(r)
    const inA = new Set(a.rows.map(key))
    const inB = new Set(b.rows.map(key))
    const missing = a.rows.filter((r) => !inB.has(key(r))).length
    const extra = b.rows.filter((r) => !inA.has(key(r))).length
    const sameEvents = JSON.stringify(a.events) === JSON.stringify(b.events)
    const sameTotals = JSON.stringify(a.totals) === JSON.stringify(b.totals)
    // Where they differ, by monitor / subject / metric (the toEqual diff below is truncated).
    const where = new Map<string, number>()
    for (const r of [...a.rows.filter((x) => !inB.has(key(x))), ...b.rows.filter((x) => !inA.has(key(x)))]) {
      const k = `${r.monitor}/${r.subject}/${r.metric}`
      where.set(k, (where.get(k) ?? 0) + 1)
    }
    if (where.size > 0) console.error(`windows differ: ${JSON.stringify(Object.fromEntries(where))}`)
    recordResult(FILE, {
      id: '5',
      fault: 'two monitor processes on one run, the active one kill -9 midway',
      events: runInput.predictions.length + runInput.outcomes.length,
      lost: missing,
      duplicated: extra,
      dlq: 0,
      recoveredS: takeoverS,
      pass: missing === 0 && extra === 0 && sameEvents && sameTotals && !standbyRanBeforeKill,
      note:
        `killed with ${Math.round(killedAt.progress * 100)} % of the predictions committed (${Math.round(killedAt.share * 100)} % published); ` +
        `recovered = kill → standby running; ${a.rows.length} window rows, ${a.events.length} drift events, label-join totals ${sameTotals ? 'equal' : 'differ'}; ${missing} missing, ${extra} extra or different${where.size > 0 ? ` (${[...where.keys()].join(', ')})` : ''}`,
    })
    expect(standbyRanBeforeKill).toBe(false)
    expect(a.rows.length).toBeGreaterThan(0)
    expect(a.events.length).toBeGreaterThan(0)
    expect(b.rows).toEqual(a.rows)
    expect(b.events).toEqual(a.events)
    expect(a.totals).toHaveLength(3)
    expect(b.totals).toEqual(a.totals)
  }, 900_000)

  it('an active process stalled past the session stays the only writer: the successor cannot open the data directory and leaves', async () => {
    const run = await createRun({ TOPIC_PARTITIONS: '1' })
    runs.push(run)
    const active = spawnCli('monitor-stalled', ['run', 'monitors'], run.monitorEnv)
    run.procs.push(active)
    await active.waitForLine(/running: /)
    const successor = spawnCli('monitor-successor', ['run', 'monitors'], run.monitorEnv)
    run.procs.push(successor)
    await successor.waitForLine(/standby/)
    const input = streamInput({ n: 2000, seed: uniqueId('st'), model: run.model })
    const half = input.predictions.length / 2
    await sendValues(run.deps, run.deps.topics.predictions, input.predictions.slice(0, half))
    await drained(run, run.deps.topics.predictions)
    // Stopped (as a paused VM or a blocked event loop) past the session: its memberships expire
    // and the successor is elected while the stalled process still holds chDB.
    const stoppedAt = Date.now()
    active.child.kill('SIGSTOP')
    let successorExit: { code: number | null; signal: NodeJS.Signals | null }
    try {
      successorExit = await successor.exitWithin(
        60_000,
        'it cannot open the data directory the stalled one holds',
      )
    } finally {
      active.child.kill('SIGCONT')
    }
    const stalledS = (Date.now() - stoppedAt) / 1000
    const why = successor.stderrLines.join(' ')
    await sendValues(run.deps, run.deps.topics.predictions, input.predictions.slice(half))
    await drained(run, run.deps.topics.predictions)
    await sendValues(run.deps, run.deps.topics.outcomes, input.outcomes)
    await drained(run, run.deps.topics.outcomes)
    const stillRunning = active.isRunning()
    await active.stop()
    const { code } = await active.exited
    recordResult(FILE, {
      id: '5b',
      fault: `active monitors process stopped (SIGSTOP) ${stalledS.toFixed(0)} s, beyond the session, with a standby`,
      events: input.predictions.length + input.outcomes.length,
      lost: 0,
      duplicated: 0,
      dlq: 0,
      recoveredS: null,
      pass: successorExit.code !== 0 && /Cannot lock file/.test(why) && stillRunning && code === 0,
      note: `successor elected, exit ${successorExit.code} (${why.slice(0, 90)}); the stalled process resumed, kept the lock and committed every record`,
    })
    expect(successorExit.code).not.toBe(0)
    expect(why).toMatch(/Cannot lock file/)
    expect(stillRunning).toBe(true)
    expect(code).toBe(0)
  }, 600_000)
})
