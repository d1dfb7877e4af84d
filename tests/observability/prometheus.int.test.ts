/**
 * A real Prometheus (Debian's package, started here on a free port) scrapes a running
 * `riskstream run all` on METRICS_PORT while the glucose-shift scenario plays; PromQL over
 * Prometheus's HTTP API then shows the glucose PSI over its calibrated threshold, every
 * prediction counted, and the consumer lag of every group back at 0.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DRIFT_STATISTIC_METRICS, METRIC } from '../../lib/metrics/index.ts'
import { type CliRun, runCli, startCli, stopCli } from '../cli/run.ts'
import { uniqueId, waitFor } from '../helpers/index.ts'
import { freePort, type Prometheus, startPrometheus } from './prometheus.ts'

const tmp = mkdtempSync(path.join(tmpdir(), 'riskstream-prom-'))
const prefix = `${uniqueId('prom')}.`
let env: Record<string, string>
let prom: Prometheus | undefined
let run: CliRun | undefined
let apiPort = 0

const value = async (promql: string): Promise<number | undefined> => {
  const r = await prom!.query(promql)
  return r.length === 0 ? undefined : Number(r[0]!.value[1])
}

beforeAll(async () => {
  const metricsPort = await freePort()
  apiPort = await freePort()
  env = {
    CLICKHOUSE_PATH: path.join(tmp, 'chdb'),
    TOPIC_PREFIX: prefix,
    API_PORT: String(apiPort),
    METRICS_PORT: String(metricsPort),
    LOG_LEVEL: 'warn',
    // Small training settings and no automatic retrain: this file checks the metrics.
    SEARCH_BUDGET: '1',
    CV_FOLDS: '3',
    AUTO_RETRAIN_ENABLED: 'false',
  }
  prom = await startPrometheus({ targets: [`127.0.0.1:${metricsPort}`], scrapeIntervalS: 1 })
  const train = await runCli(['train', '--if-missing'], env, 300_000)
  expect(train.code, train.stderr).toBe(0)
  // A first run creates the consumer groups and commits stable traffic; the scenario is then
  // produced while the roles are down, so the next start has a backlog to work off.
  run = startCli('riskstream', ['run', 'all'], env)
  await run.waitForOutput(/^running: .*metrics/m, 120_000)
  const warm = await runCli(
    ['produce', 'simulate', '--scenario', 'stable', '--count', '300', '--rate', '0'],
    env,
  )
  expect(warm.code, warm.stderr).toBe(0)
  await waitFor(
    async () =>
      (await value(`sum(${METRIC.inferencePredictions})`)) === 300 &&
      (await value(`count(${METRIC.consumerLag}{group=~".*riskstream-monitor"})`))! > 0 &&
      (await value(`sum(${METRIC.consumerLag})`)) === 0,
    { timeoutMs: 120_000, intervalMs: 1000, message: 'the stable traffic consumed and committed' },
  )
  run.signal('SIGINT')
  await run.exited
}, 420_000)

afterAll(async () => {
  await stopCli(run)
  await prom?.stop()
  rmSync(tmp, { recursive: true, force: true })
}, 60_000)

describe('Prometheus scraping riskstream run all', () => {
  it('sees the shifted feature cross its PSI threshold and the lag return to 0', async () => {
    await waitFor(async () => (await value(`up{job="riskstream"}`)) === 0, {
      timeoutMs: 30_000,
      message: 'the stopped target down',
    })
    const sim = await runCli(
      ['produce', 'simulate', '--scenario', 'glucose-shift', '--rate', '0'],
      env,
      180_000,
    )
    expect(sim.code, sim.stderr).toBe(0)
    const sent = Number(/sent=(\d+)/.exec(sim.stdout)?.[1])
    expect(sent).toBeGreaterThan(0)
    const startedAt = Date.now()
    run = startCli('riskstream', ['run', 'all'], env)

    // The backlog, as scraped while the roles start.
    await waitFor(async () => (await value(`sum(${METRIC.consumerLag})`))! > 0, {
      timeoutMs: 120_000,
      intervalMs: 500,
      message: 'a positive consumer lag',
    })
    // Standard process metrics, without a role prefix.
    expect(await value('process_cpu_seconds_total')).toBeGreaterThan(0)
    expect(await prom!.query('{__name__=~"riskstream_api_(process|nodejs)_.*"}')).toEqual([])

    // Every request scored, as Prometheus scraped it.
    await waitFor(async () => (await value(`sum(${METRIC.inferencePredictions})`)) === sent, {
      timeoutMs: 180_000,
      intervalMs: 1000,
      message: `${sent} predictions in ${METRIC.inferencePredictions}`,
    })

    // The glucose PSI of the sliding window over its calibrated threshold.
    const over = await waitFor(
      async () => {
        const r = await prom!.query(
          `${DRIFT_STATISTIC_METRICS.psi}{window=~"sliding_.*"} > on(model, version, feature, window) ${METRIC.driftPsiThreshold}`,
        )
        return r.some((s) => s.metric.feature === 'glucose') ? r : undefined
      },
      { timeoutMs: 180_000, intervalMs: 1000, message: 'glucose PSI over its threshold' },
    )
    expect(over.map((s) => s.metric.feature)).toContain('glucose')
    const psi = await value(`max(${DRIFT_STATISTIC_METRICS.psi}{feature="glucose",window=~"sliding_.*"})`)
    const threshold = await value(`max(${METRIC.driftPsiThreshold}{feature="glucose"})`)
    expect(psi!).toBeGreaterThan(threshold!)

    // Lag of the inference and monitor groups back at 0 once everything is consumed.
    await waitFor(
      async () => {
        const groups = await prom!.query(`count by (group) (${METRIC.consumerLag})`)
        const names = groups.map((g) => g.metric.group ?? '')
        return (
          names.some((g) => g.includes('riskstream-inference')) &&
          names.some((g) => g.includes('riskstream-monitor')) &&
          (await value(`sum(${METRIC.consumerLag})`)) === 0
        )
      },
      { timeoutMs: 180_000, intervalMs: 1000, message: 'consumer lag back to 0' },
    )
    const since = Math.ceil((Date.now() - startedAt) / 1000) + 5
    const peak = await value(`max_over_time(sum(${METRIC.consumerLag})[${since}s:1s])`)
    expect(peak).toBeGreaterThan(0)

    // Dead letters by topic and reason: the poison scenario sends 7 malformed requests per 1,000.
    const poison = await runCli(
      ['produce', 'simulate', '--scenario', 'poison', '--count', '1000', '--rate', '0'],
      env,
      180_000,
    )
    expect(poison.code, poison.stderr).toBe(0)
    const dlq = await waitFor(
      async () => {
        const r = await prom!.query(`sum by (topic, reason) (${METRIC.dlqRecords})`)
        const total = r.reduce((a, x) => a + Number(x.value[1]), 0)
        return total === 7 ? r : undefined
      },
      { timeoutMs: 120_000, intervalMs: 1000, message: `7 records in ${METRIC.dlqRecords}` },
    )
    expect(dlq.every((x) => x.metric.topic === `${prefix}clinical.prediction-requests`)).toBe(true)
    expect(new Set(dlq.map((x) => x.metric.reason)).size).toBeGreaterThan(1)

    // The API's metrics are on the same registry: one request shows up on METRICS_PORT.
    expect((await fetch(`http://127.0.0.1:${apiPort}/health`)).ok).toBe(true)
    await waitFor(async () => (await value(`sum(${METRIC.apiRequests}{route="/health"})`))! >= 1, {
      timeoutMs: 30_000,
      intervalMs: 500,
      message: 'the API request counted',
    })

    // The other families the roles export, as Prometheus stored them.
    expect(await value(`max(${METRIC.servedVersion})`)).toBeGreaterThan(0)
    expect(await value(`sum(${METRIC.retrainRuns})`)).toBeGreaterThan(0)
    // Labels joined (the scenario labels 80 % of requests, 2 s late), as the monitors count them.
    await waitFor(async () => (await value(`sum(${METRIC.labelsJoined})`))! > 0, {
      timeoutMs: 120_000,
      intervalMs: 1000,
      message: 'labels joined',
    })
    expect(await value(`count(${METRIC.labelJoinPending})`)).toBe(2)
    await waitFor(async () => (await value(`count(${METRIC.estimatedAccuracy})`)) !== undefined, {
      timeoutMs: 60_000,
      intervalMs: 1000,
      message: 'estimated accuracy',
    })
    expect((await prom!.targets())[0]).toMatchObject({ health: 'up', lastError: '' })
  }, 600_000)
})
