/**
 * `riskstream report drift` end to end: a small model trained through the CLI, `run all` scoring
 * the glucose-shift scenario, then the report written as HTML (and JSON) by the real command,
 * opened in Chromium from the file: the glucose card and the summary flag drift, the stable
 * features do not, every chart has bars, nothing is fetched from the network, and a screenshot
 * is saved to tests/artifacts/drift-report.png.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../../lib/config/index.ts'
import { METRIC } from '../../lib/metrics/index.ts'
import type { DriftReport } from '../../lib/report/index.ts'
import { type CliRun, runCli, startCli, stopCli } from '../cli/run.ts'
import { launchChromium } from '../helpers/browser.ts'
import { uniqueId, waitFor } from '../helpers/index.ts'
import { freePort } from '../observability/prometheus.ts'

const tmp = mkdtempSync(path.join(tmpdir(), 'riskstream-report-'))
const htmlFile = path.join(tmp, 'report.html')
let env: Record<string, string>
let run: CliRun | undefined
let browser: Browser | undefined

/** Sum of a metric's samples in Prometheus text (undefined when absent). */
function sample(text: string, name: string): number | undefined {
  let sum: number | undefined
  for (const line of text.split('\n'))
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `))
      sum = (sum ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1))
  return sum
}

beforeAll(async () => {
  const metricsPort = await freePort()
  env = {
    CLICKHOUSE_PATH: path.join(tmp, 'chdb'),
    TOPIC_PREFIX: `${uniqueId('rep')}.`,
    API_PORT: '0',
    METRICS_PORT: String(metricsPort),
    LOG_LEVEL: 'warn',
    SEARCH_BUDGET: '1',
    CV_FOLDS: '3',
    AUTO_RETRAIN_ENABLED: 'false',
  }
  const train = await runCli(['train', '--if-missing'], env, 300_000)
  expect(train.code, train.stderr).toBe(0)
  run = startCli('riskstream', ['run', 'all'], env)
  await run.waitForOutput(/^running: /m, 120_000)
  const sim = await runCli(
    ['produce', 'simulate', '--scenario', 'glucose-shift', '--rate', '0'],
    env,
    180_000,
  )
  expect(sim.code, sim.stderr).toBe(0)
  const sent = Number(/sent=(\d+)/.exec(sim.stdout)?.[1])
  // Scored and written: every prediction counted and the monitors' lag back at 0.
  await waitFor(
    async () => {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()
      return sample(text, METRIC.inferencePredictions) === sent && sample(text, METRIC.consumerLag) === 0
    },
    { timeoutMs: 180_000, intervalMs: 1000, message: `${sent} predictions consumed` },
  )
  // Embedded ClickHouse belongs to one process at a time: stop the roles before reporting.
  run.signal('SIGINT')
  await run.exited
}, 480_000)

afterAll(async () => {
  await stopCli(run, 0)
  await browser?.close()
  rmSync(tmp, { recursive: true, force: true })
}, 60_000)

describe('riskstream report drift', () => {
  it('writes a self-contained HTML report that flags the shifted feature in Chromium', async () => {
    const r = await runCli(['report', 'drift', '--out', htmlFile, '--json'], env, 120_000)
    expect(r.code, r.stderr).toBe(0)
    const report = JSON.parse(r.stdout) as DriftReport
    expect(report.drifted).toContain('glucose')
    const glucose = report.features.find((f) => f.name === 'glucose')!
    expect(glucose.psi).toBeGreaterThan(glucose.thresholds.psi)
    expect(glucose.current.n).toBe(report.current.rows)
    // A stable feature, compared on the same rows, stays under its threshold.
    expect(report.features.find((f) => f.name === 'pregnancies')!.drifted).toBe(false)
    expect(r.stderr).toMatch(/drift in .*glucose.*report written to/)

    const html = readFileSync(htmlFile, 'utf8')
    expect(html).not.toMatch(/<script|<link|src=|url\(/i) // self-contained: nothing to fetch

    browser = await launchChromium()
    const page = await browser.newPage({ viewport: { width: 1300, height: 900 } })
    const requests: string[] = []
    page.on('request', (req) => {
      if (!req.url().startsWith('file:')) requests.push(req.url())
    })
    await page.goto(pathToFileURL(htmlFile).href)
    expect(await page.title()).toContain(`v${report.version}`)
    expect(await page.locator('section.card[data-feature="glucose"]').getAttribute('data-drifted')).toBe(
      'true',
    )
    expect(await page.locator('section.card[data-feature="pregnancies"]').getAttribute('data-drifted')).toBe(
      'false',
    )
    expect(await page.locator('section.card[data-feature="glucose"] .badge').textContent()).toBe('DRIFT')
    expect(await page.locator('.verdict').textContent()).toContain('glucose')
    // One card per feature plus the prediction, each with reference and current bars drawn.
    expect(await page.locator('section.card').count()).toBe(report.features.length + 1)
    const bars = await page
      .locator('section.card')
      .evaluateAll((cards) =>
        cards.map(
          (c) =>
            [...c.querySelectorAll('svg rect')].filter((r) => Number(r.getAttribute('height')) > 0).length,
        ),
      )
    for (const n of bars) expect(n).toBeGreaterThan(2)
    const box = await page.locator('section.card[data-feature="glucose"] svg').boundingBox()
    expect(box!.width).toBeGreaterThan(300)
    expect(requests).toEqual([])

    const dir = path.join(REPO_ROOT, 'tests', 'artifacts')
    mkdirSync(dir, { recursive: true })
    await page.screenshot({ path: path.join(dir, 'drift-report.png'), fullPage: true })
  }, 180_000)
})
