/**
 * Promise 5: a slow dependency. The monitor's sink stalls for 15 s — longer than the consumer
 * session timeout (6 s in the test runner) — just before a checkpoint, while predictions keep
 * arriving. kafkajs heartbeats from the batch loop only, so the broker evicts the stalled member
 * and the group rebalances; the member's commit after the stall is refused (or skipped: the batch
 * is stale) and it rejoins. Pass: a bounded number of group generations (no rebalance loop), the
 * process never restarts, the group's lag returns to 0 after the stall, and every prediction is
 * in ClickHouse exactly once (the redelivered records are absorbed).
 */
import { afterAll, describe, expect, it } from 'vitest'
import { uniqueId, waitFor } from '../helpers/index.ts'
import { committed, written } from './support/load.ts'
import { spawnChild } from './support/procs.ts'
import { publishTable, recordResult } from './support/results.ts'
import { createRun, predictionCounts, type Run } from './support/run.ts'
import { sendValues, streamInput } from './support/stream.ts'

const FILE = 'stall'
const N = 6000
const STALL_MS = 15_000
let run: Run | undefined

afterAll(async () => {
  await run?.close()
  publishTable()
})

describe('slow dependency', () => {
  it(`monitor sink stalls ${STALL_MS / 1000} s (> 6 s session timeout) under load: bounded rebalances, progress resumes, no duplicates`, async () => {
    run = await createRun()
    const r = run
    const seed = uniqueId('st')
    const input = streamInput({ n: N, seed, model: r.model })
    const monitor = spawnChild(
      'monitor-stall',
      ['monitors', `--stall-before-checkpoint-ms=${STALL_MS}`],
      r.monitorEnv,
    )
    r.procs.push(monitor)
    await monitor.waitForLine(/running: /)
    // Predictions in 20 slices over ~20 s, so records keep arriving before, during and after the stall.
    const slice = N / 20
    const load = (async () => {
      for (let i = 0; i < N; i += slice) {
        await sendValues(r.deps, r.deps.topics.predictions, input.predictions.slice(i, i + slice))
        await new Promise((res) => setTimeout(res, 1000))
      }
    })()
    await monitor.waitForLine(/stall-hook: sink stalls/, 60_000)
    await monitor.waitForLine(/stall-hook: sink resumes/, STALL_MS + 30_000)
    const resumedAt = Date.now()
    await load
    const topic = r.deps.topics.predictions
    await waitFor(
      async () => (await committed(r.admin, r.groups.monitor, topic)) === (await written(r.admin, topic)),
      {
        timeoutMs: 120_000,
        intervalMs: 250,
        message: 'the monitor to commit every prediction after the stall',
      },
    )
    const recoveredS = (Date.now() - resumedAt) / 1000
    const group = r.groups.monitor
    // One join per generation this member took part in (the first one included).
    const generations = monitor.lines.filter((l) => l.includes(`group-join: ${group} member`)).length
    const members = new Set(
      monitor.lines
        .filter((l) => l.includes(`group-join: ${group} member`))
        .map((l) => l.split('member ')[1]),
    )
    const crashes = monitor.lines.filter((l) => l.includes(`consumer-crash: ${group} `))
    const alive = monitor.isRunning()
    await monitor.stop()
    // Request ids of the stream are `${seed}-${k}`.
    const c = await predictionCounts(r, seed)
    const pass = alive && c.final === N && c.uniq === N && generations <= 4
    recordResult(FILE, {
      id: '5',
      fault: `monitor sink stalled ${STALL_MS / 1000} s (> 6 s session timeout) under load`,
      events: N,
      lost: N - c.uniq,
      duplicated: c.final - c.uniq,
      dlq: 0,
      recoveredS,
      pass,
      note: `group joins ${generations} (${members.size} member ids); consumer crashes ${crashes.length}; ${c.raw - c.final} redelivered rows merged by FINAL; process restarts 0`,
    })
    expect(alive).toBe(true)
    // The stall must actually have cost the member its session (else the test proves nothing).
    expect(generations).toBeGreaterThanOrEqual(2)
    expect(generations).toBeLessThanOrEqual(4)
    expect(c.foreign).toBe(0)
    expect(c.uniq).toBe(N)
    expect(c.final).toBe(N)
  }, 300_000)
})
