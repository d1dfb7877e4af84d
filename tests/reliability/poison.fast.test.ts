/**
 * Fault 4 (and 8): poison pills. In every 1,000 requests one record of each malformed kind the
 * simulator knows (producers/malformed.ts: badMagic, unknownSchemaId, truncated, wrongSchema,
 * jsonString, nanFeature, outOfRange) replaces a valid one, on canary-bearing requests.
 * Pass: the requests DLQ holds exactly the injected records with the right reason each, the
 * inference group's lag returns to 0, the inference process never crashes, every valid request
 * has exactly one prediction, and no DLQ header and no log line carries canary patient data.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { DLQ_HEADERS } from '../../lib/kafka/index.ts'
import type { PredictionRequestEvent } from '../../producers/index.ts'
import { malformedPayload } from '../../producers/malformed.ts'
import { createRng } from '../../producers/rng.ts'
import type { MalformedKind } from '../../producers/scenario.ts'
import { collectMessages, uniqueId, waitFor } from '../helpers/index.ts'
import { findCanaries } from './support/canary.ts'
import { committed, sendLoad, written } from './support/load.ts'
import { ALL_OUTPUT, queryIn, spawnCli } from './support/procs.ts'
import { publishTable, recordResult } from './support/results.ts'
import { createRun, predictionCounts, type Run } from './support/run.ts'
import { FULL_SUITE } from './support/sizes.ts'

const FILE = 'poison'
const N = FULL_SUITE ? 50_000 : 7_000
const KINDS: { kind: MalformedKind; reason: string }[] = [
  { kind: 'badMagic', reason: 'DECODE_BAD_MAGIC' },
  { kind: 'unknownSchemaId', reason: 'DECODE_UNKNOWN_SCHEMA' },
  { kind: 'truncated', reason: 'DECODE_FAILED' },
  { kind: 'wrongSchema', reason: 'DECODE_FAILED' },
  { kind: 'jsonString', reason: 'DECODE_BAD_MAGIC' },
  { kind: 'nanFeature', reason: 'VALIDATION_FAILED' },
  { kind: 'outOfRange', reason: 'VALIDATION_FAILED' },
]
let run: Run | undefined

afterAll(async () => {
  await run?.close()
  publishTable()
})

describe('poison pills', () => {
  it(`1 in 1,000 of each malformed kind among ${N} requests: dead-lettered with the right reason, lag 0, no crash`, async () => {
    run = await createRun()
    const r = run
    const runId = uniqueId('rp')
    const rng = createRng(runId)
    // Offset 10·k in each block of 1,000: request i % 10 === 0 carries the canaries.
    const injected = new Map<string, string>() // requestId → expected reason
    const replace = (i: number, event: Parameters<typeof malformedPayload>[1] | object) => {
      const k = (i % 1000) / 10
      if (!Number.isInteger(k) || k >= KINDS.length) return null
      const { kind, reason } = KINDS[k]!
      injected.set((event as PredictionRequestEvent).requestId, reason)
      return malformedPayload(
        kind,
        event as PredictionRequestEvent,
        r.deps.serde,
        r.deps.topics.requests,
        rng,
      )
    }
    const monitor = spawnCli('monitor', ['run', 'monitors'], r.monitorEnv)
    const inference = spawnCli('inference', ['run', 'inference'], r.inferenceEnv)
    r.procs.push(monitor, inference)
    await Promise.all([monitor.waitForLine(/running: /), inference.waitForLine(/running: /)])
    const t0 = Date.now()
    await sendLoad(r.deps, { runId, n: N, rate: 5000, replace })
    const expected = injected.size
    expect(expected).toBe((N / 1000) * KINDS.length)

    // Lag back to 0: every record (poison included) committed by inference.
    await waitFor(async () => (await committed(r.admin, r.groups.inference, r.deps.topics.requests)) === N, {
      timeoutMs: 120_000,
      message: 'inference lag to return to 0',
    })
    const lagZeroS = (Date.now() - t0) / 1000
    const dlq = await collectMessages(r.deps.kafka, r.deps.topics.dlq.requests, (m) => m.length >= expected)
    // Nothing more arrives: the DLQ holds exactly the injected count.
    expect(await written(r.admin, r.deps.topics.dlq.requests)).toBe(expected)
    const byReason = new Map<string, number>()
    for (const m of dlq) {
      const reason = m.headers[DLQ_HEADERS.reason] ?? 'none'
      byReason.set(reason, (byReason.get(reason) ?? 0) + 1)
      expect(reason).toBe(injected.get(m.key ?? ''))
    }
    // The monitor's DLQ sink and the predictions: wait for the monitor to catch up, stop it.
    await waitFor(
      async () =>
        (await committed(r.admin, r.groups.monitor, r.deps.topics.predictions)) ===
        (await written(r.admin, r.deps.topics.predictions)),
      { timeoutMs: 120_000, message: 'monitor to catch up' },
    )
    await waitFor(
      async () =>
        (await committed(r.admin, `${r.groups.monitor}-dlq`, r.deps.topics.dlq.requests)) === expected,
      {
        timeoutMs: 120_000,
        message: 'the monitor DLQ sink to store every dead letter',
      },
    )
    expect(inference.isRunning()).toBe(true) // zero consumer crashes
    await inference.stop()
    await monitor.stop()
    expect((await inference.exited).code).toBe(0)
    const c = await predictionCounts(r, runId)
    const [d] = await queryIn<{ n: number }>(r.monitorEnv, 'SELECT count() AS n FROM dlq_records FINAL')
    const headerHits = findCanaries(
      dlq.map((m) => ({ where: `DLQ headers of ${m.key}`, text: JSON.stringify(m.headers) })),
    )
    const logHits = findCanaries(ALL_OUTPUT)
    const valid = N - expected
    const pass = c.final === valid && c.uniq === valid && headerHits.length === 0 && logHits.length === 0
    recordResult(FILE, {
      id: '4',
      fault: `poison pills: 1/1,000 of each of ${KINDS.length} kinds`,
      events: N,
      lost: valid - c.uniq,
      duplicated: c.final - c.uniq,
      dlq: dlq.length,
      recoveredS: lagZeroS,
      pass,
      note: `injected ${expected}; reasons ${[...byReason].map(([k, v]) => `${k}:${v}`).join(', ')}; dlq_records ${Number(d?.n)}; inference crashes 0; recovered = lag 0 after load start`,
    })
    recordResult(FILE, {
      id: '8b',
      fault: 'canary patient data in logs and DLQ headers (poison run)',
      events: ALL_OUTPUT.length + dlq.length,
      lost: 0,
      duplicated: 0,
      dlq: dlq.length,
      recoveredS: null,
      pass: headerHits.length === 0 && logHits.length === 0,
      note: `${ALL_OUTPUT.length} log lines, ${dlq.length} DLQ header sets searched; ${headerHits.length + logHits.length} hits`,
    })
    expect(byReason.get('DECODE_BAD_MAGIC')).toBe((N / 1000) * 2)
    expect(byReason.get('DECODE_FAILED')).toBe((N / 1000) * 2)
    expect(byReason.get('DECODE_UNKNOWN_SCHEMA')).toBe(N / 1000)
    expect(byReason.get('VALIDATION_FAILED')).toBe((N / 1000) * 2)
    expect(Number(d?.n)).toBe(expected)
    expect(c.uniq).toBe(valid)
    expect(c.final).toBe(valid)
    expect(headerHits).toEqual([])
    expect(logHits).toEqual([])
  }, 400_000)
})
