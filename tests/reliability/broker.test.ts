/**
 * Promise 3: a broker restart under load. A PRIVATE Kafka (temp data dir, free ports; the
 * shared broker at 9092 is used by other engineers and is never touched) is stopped for ~15 s
 * while requests flow, then started again. The inference and monitor processes (the production
 * CLI) and the load generator's idempotent producer must ride it out without a restart of their
 * own. Pass: every request has exactly one prediction in ClickHouse (count() FINAL =
 * uniqExact(request_id) = N), both processes are the same pids throughout, and the API's
 * /ready (a real socket) answers 503 with kafka down during the outage and 200 after it.
 *
 * The schema registry is the shared one (8081): only Kafka is started privately.
 */
import { cpSync, existsSync, mkdtempSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createApiService } from '../../api/server.ts'
import { configWith, REPO_ROOT } from '../../lib/config/index.ts'
import { closeDeps, createDeps, type Deps } from '../../lib/runtime/index.ts'
import { stackOptionsFrom } from '../../stack/config.ts'
import { isKafkaUp, type StackOptions, stackDown, startKafka, stopKafka } from '../../stack/index.ts'
import { uniqueId, waitFor } from '../helpers/index.ts'
import { checkLogCanaries } from './support/canary.ts'
import { committed, sendLoad } from './support/load.ts'
import { ALL_OUTPUT, spawnCli } from './support/procs.ts'
import { publishTable, recordResult } from './support/results.ts'
import { createRun, predictionCounts, type Run } from './support/run.ts'
import { FULL_SUITE } from './support/sizes.ts'

const FILE = 'broker'
const N = FULL_SUITE ? 30_000 : 15_000
const RATE = 1000
const OUTAGE_MS = 15_000

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const a = s.address()
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0))
    })
  })
}

let stack: StackOptions | undefined
let run: Run | undefined
let apiDeps: Deps | undefined
let api: ReturnType<typeof createApiService> | undefined

afterAll(async () => {
  await api?.stop().catch(() => undefined)
  if (apiDeps) await closeDeps(apiDeps)
  await run?.close()
  // Our private broker only (its own data dir and pid file); the shared registry is not ours.
  if (stack) await stackDown(stack)
  publishTable()
}, 120_000)

describe('broker restart under load', () => {
  it(`Kafka stopped ${OUTAGE_MS / 1000} s mid-load (N=${N}): clients recover in place, nothing lost, /ready 503 → 200`, async () => {
    const kafkaPort = await freePort()
    const controllerPort = await freePort()
    const dataRoot = mkdtempSync(path.join(tmpdir(), 'riskstream-rel-broker-'))
    const brokerEnv = {
      KAFKA_BROKERS: `127.0.0.1:${kafkaPort}`,
      KAFKA_PORT: String(kafkaPort),
      KAFKA_CONTROLLER_PORT: String(controllerPort),
    }
    const log = (m: string) => console.log(`[private kafka] ${m}`)
    stack = {
      ...stackOptionsFrom(configWith({ ...brokerEnv, DATA_DIR: dataRoot, STACK_MODE: 'native' }), log),
      mode: 'native',
    }
    // The broker jars are resolved once per data dir (mvn); reuse the shared stack's copy if any.
    const shared = path.join(REPO_ROOT, '.data', 'stack', 'kafka-libs')
    if (existsSync(shared)) cpSync(shared, path.join(stack.dataDir, 'kafka-libs'), { recursive: true })
    await startKafka(stack)
    expect(await isKafkaUp(stack)).toBe(true)

    run = await createRun(brokerEnv)
    const r = run
    apiDeps = await createDeps(
      configWith({
        ...r.env,
        ...brokerEnv,
        CLICKHOUSE_PATH: mkdtempSync(path.join(tmpdir(), 'riskstream-rel-api-')),
        API_HOST: '127.0.0.1',
        API_PORT: '0',
        LOG_LEVEL: 'warn',
      }),
    )
    api = createApiService(apiDeps, { readyTimeoutMs: 1500 })
    await api.start()
    const base = api.address()!
    const ready = async () => {
      const res = await fetch(`${base}/ready`)
      const body = (await res.json()) as { checks: Record<string, { status: string }> }
      return { status: res.status, kafka: body.checks.kafka?.status }
    }
    expect(await ready()).toEqual({ status: 200, kafka: 'up' })

    const monitor = spawnCli('monitor', ['run', 'monitors'], r.monitorEnv)
    const inference = spawnCli('inference', ['run', 'inference'], r.inferenceEnv)
    r.procs.push(monitor, inference)
    await Promise.all([monitor.waitForLine(/running: /), inference.waitForLine(/running: /)])
    const pids = [monitor.child.pid, inference.child.pid]

    // /ready, polled through the whole run: every status seen, in order.
    const seen: { at: number; status: number; kafka?: string }[] = []
    let polling = true
    const poller = (async () => {
      while (polling) {
        const s = await ready().catch(() => ({ status: 0, kafka: 'error' }))
        const last = seen[seen.length - 1]
        if (!last || last.status !== s.status) seen.push({ at: Date.now(), ...s })
        await new Promise((res) => setTimeout(res, 500))
      }
    })()

    const runId = uniqueId('rb')
    let sent = 0
    // The load generator is a producer like any other: if a send fails for good, that is a
    // result (recorded), not a crash of the test, and the run goes on with what was acknowledged.
    const load = sendLoad(r.deps, { runId, n: N, rate: RATE, onProgress: (k) => (sent = k) }).then(
      (x) => ({ ok: true as const, outcomes: x.outcomes, error: '', at: Date.now() }),
      (err: unknown) => ({
        ok: false as const,
        outcomes: 0,
        error: String(err).slice(0, 120),
        at: Date.now(),
      }),
    )
    await waitFor(() => sent >= N / 4, { timeoutMs: 60_000, message: 'a quarter of the load sent' })
    const stoppedAt = Date.now()
    await stopKafka(stack)
    const sentAtStop = sent
    await waitFor(() => seen.some((s) => s.status === 503 && s.kafka === 'down'), {
      timeoutMs: 15_000,
      message: '/ready to report kafka down',
    })
    await new Promise((res) => setTimeout(res, Math.max(0, OUTAGE_MS - (Date.now() - stoppedAt))))
    const sentDuringOutage = sent - sentAtStop
    await startKafka(stack)
    const startedAt = Date.now()
    const outageS = (startedAt - stoppedAt) / 1000
    await waitFor(() => seen[seen.length - 1]?.status === 200, {
      timeoutMs: 30_000,
      message: '/ready to report ready again',
    })
    const readyAgainS = (seen[seen.length - 1]!.at - startedAt) / 1000
    const result = await load
    // Acknowledged requests (all N unless the load generator's producer gave up).
    const acked = sent
    await waitFor(
      async () =>
        (await committed(r.admin, r.groups.inference, r.deps.topics.requests)) >= acked &&
        (await committed(r.admin, r.groups.monitor, r.deps.topics.predictions)) >= acked,
      { timeoutMs: 240_000, intervalMs: 500, message: 'inference and monitor to finish after the restart' },
    )
    const recoveredS = (Date.now() - startedAt) / 1000
    polling = false
    await poller
    const samePids =
      monitor.isRunning() &&
      inference.isRunning() &&
      [monitor.child.pid, inference.child.pid].join() === pids.join()
    await inference.stop()
    await monitor.stop()
    const c = await predictionCounts(r, runId)
    const statuses = seen.map((s) => `${s.status}${s.kafka ? `(${s.kafka})` : ''}`).join('→')
    const pass = result.ok && c.final === N && c.uniq === N && samePids && statuses.includes('503(down)')
    const producerNote = result.ok
      ? 'load producer rode it out'
      : `load producer FAILED ${((result.at - stoppedAt) / 1000).toFixed(0)} s after the stop (${result.error}); ${acked} of ${N} acknowledged`
    recordResult(FILE, {
      id: '3',
      fault: `Kafka broker stopped ${outageS.toFixed(0)} s under load (${RATE}/s)`,
      events: acked,
      lost: acked - c.uniq,
      duplicated: c.final - c.uniq,
      dlq: 0,
      recoveredS,
      pass,
      note: `${producerNote}; /ready ${statuses} (200 again ${readyAgainS.toFixed(1)} s after start); ${sentDuringOutage} requests acknowledged while down; inference+monitor same pids: ${samePids}; ${result.outcomes} outcomes`,
    })
    expect(result.error).toBe('')
    expect(seen[0]?.status).toBe(200)
    expect(statuses).toContain('503(down)')
    expect(seen[seen.length - 1]?.status).toBe(200)
    expect(samePids).toBe(true)
    expect(c.foreign).toBe(0)
    expect(c.uniq).toBe(N)
    expect(c.final).toBe(N)
  }, 600_000)

  it('no canary patient data in any log line of the processes that rode out the outage', () => {
    // The outage drives the error and retry paths, where a record is most likely to be logged.
    expect(ALL_OUTPUT.length).toBeGreaterThan(0)
    expect(checkLogCanaries(FILE, '8c', 'broker outage run')).toEqual([])
  })
})
