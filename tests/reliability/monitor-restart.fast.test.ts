/**
 * Suspected stall (found in an early crash run): a monitor restarted after two kill -9s in
 * quick succession restored its checkpoint and then wrote no further checkpoint, and its
 * committed offsets never reached the end of the topic.
 *
 * Cause: a kill between the checkpoint write and the offset commit leaves the group's
 * committed offsets BELOW the checkpoint. The restarted monitor correctly skips the records the
 * checkpoint covers, but it only ever committed after writing a new checkpoint, and a batch of
 * skipped records writes none. With no record beyond the checkpoint, the group's committed
 * offsets stayed behind forever (lag > 0 for good; every later restart re-reads the same span).
 *
 * Pass: after each restart the group's committed offsets reach the end of both topics, and a
 * record published afterwards is checkpointed (the monitor is alive, not stuck).
 */
import { afterAll, describe, expect, it } from 'vitest'
import { uniqueId, waitFor } from '../helpers/index.ts'
import { committed, written } from './support/load.ts'
import { type Proc, spawnChild } from './support/procs.ts'
import { publishTable, recordResult } from './support/results.ts'
import { createRun, type Run } from './support/run.ts'
import { publishStream } from './support/stream.ts'

const FILE = 'monitor-restart'
const runs: Run[] = []

afterAll(async () => {
  for (const r of runs) await r.close()
  publishTable()
})

/** True when the monitor group has committed every record written to predictions and outcomes. */
async function caughtUp(run: Run): Promise<boolean> {
  const { admin, groups, deps } = run
  for (const t of [deps.topics.predictions, deps.topics.outcomes])
    if ((await committed(admin, groups.monitor, t)) !== (await written(admin, t))) return false
  return true
}

async function lag(run: Run): Promise<number> {
  const { admin, groups, deps } = run
  let l = 0
  for (const t of [deps.topics.predictions, deps.topics.outcomes])
    l += (await written(admin, t)) - (await committed(admin, groups.monitor, t))
  return l
}

const checkpointLines = (p: Proc) => p.lines.filter((l) => l.includes('checkpoint-hook: checkpoint')).length

describe('monitor restarted after two quick kills', () => {
  it('kill before checkpoint, then kill between checkpoint and commit: the restart commits what the checkpoint covers', async () => {
    // One partition and a batch that fits one fetch: the second life's first checkpoint covers
    // everything, so after its kill there is no record beyond the checkpoint to trigger a new one.
    const run = await createRun({ TOPIC_PARTITIONS: '1' })
    runs.push(run)
    const sent = await publishStream(run.deps, {
      n: 150,
      seed: uniqueId('ma'),
      model: run.model,
      predictionsOnly: true,
    })
    const env = run.monitorEnv
    const track = (p: Proc) => {
      run.procs.push(p)
      return p
    }
    const life1 = track(spawnChild('monitor-a1', ['monitors', '--kill-before-checkpoint=1'], env))
    expect((await life1.exited).signal).toBe('SIGKILL')
    const life2 = track(spawnChild('monitor-a2', ['monitors', '--kill-before-commit=1'], env))
    expect((await life2.exited).signal).toBe('SIGKILL')
    const lagAfterKills = await lag(run)
    const life3 = track(spawnChild('monitor-a3', ['monitors'], env))
    const restarted = Date.now()
    await life3.waitForLine(/monitor state restored/)
    let ok = true
    try {
      await waitFor(() => caughtUp(run), {
        timeoutMs: 45_000,
        intervalMs: 250,
        message: 'the restarted monitor to commit the offsets its checkpoint covers',
      })
    } catch {
      ok = false
    }
    const recoveredS = (Date.now() - restarted) / 1000
    const lagEnd = await lag(run)
    // Alive: a new record is processed and checkpointed.
    const before = checkpointLines(life3)
    await publishStream(run.deps, { n: 5, seed: uniqueId('mb'), model: run.model, predictionsOnly: true })
    await waitFor(() => checkpointLines(life3) > before, { timeoutMs: 30_000, message: 'a new checkpoint' })
    recordResult(FILE, {
      id: '1c',
      fault: 'monitor kill -9 before checkpoint, then between checkpoint and commit (2 quick kills)',
      events: sent.predictions,
      lost: 0,
      duplicated: 0,
      dlq: 0,
      recoveredS: ok ? recoveredS : null,
      pass: ok && lagEnd === 0,
      note: `group lag after the kills ${lagAfterKills}, ${ok ? 0 : lagEnd} after the restart (${ok ? 'committed' : 'stuck: no commit without a new checkpoint'})`,
    })
    expect(lagAfterKills).toBeGreaterThan(0)
    expect(ok).toBe(true)
    expect(lagEnd).toBe(0)
  }, 150_000)

  it('kill before checkpoint, restart, kill -9 right after its first checkpoint, restart: lag returns to 0', async () => {
    const run = await createRun()
    runs.push(run)
    const sent = await publishStream(run.deps, { n: 3000, seed: uniqueId('mc'), model: run.model })
    const env = run.monitorEnv
    const track = (p: Proc) => {
      run.procs.push(p)
      return p
    }
    const life1 = track(spawnChild('monitor-b1', ['monitors', '--kill-before-checkpoint=1'], env))
    expect((await life1.exited).signal).toBe('SIGKILL')
    const life2 = track(spawnChild('monitor-b2', ['monitors'], env))
    await life2.waitForLine(/checkpoint-hook: checkpoint 1 /)
    await life2.kill9()
    const life3 = track(spawnChild('monitor-b3', ['monitors'], env))
    const restarted = Date.now()
    await waitFor(() => caughtUp(run), {
      timeoutMs: 60_000,
      intervalMs: 250,
      message: 'monitor lag to return to 0 after the second restart',
    })
    const recoveredS = (Date.now() - restarted) / 1000
    const before = checkpointLines(life3)
    await publishStream(run.deps, { n: 30, seed: uniqueId('md'), model: run.model })
    await waitFor(() => checkpointLines(life3) > before, { timeoutMs: 30_000, message: 'a new checkpoint' })
    await waitFor(() => caughtUp(run), { timeoutMs: 30_000, message: 'lag 0 after new records' })
    recordResult(FILE, {
      id: '1d',
      fault: 'monitor kill -9 before checkpoint, restart, kill -9 after 1st checkpoint, restart',
      events: sent.predictions + sent.outcomes,
      lost: 0,
      duplicated: 0,
      dlq: 0,
      recoveredS,
      pass: true,
      note: 'lag 0 after the restart; a record published later is checkpointed',
    })
  }, 150_000)
})
