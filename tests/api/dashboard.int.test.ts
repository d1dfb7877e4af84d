/**
 * The dashboard in headless Chromium (found as cli/prereqs.ts says, driven by playwright-core) over a
 * listening app with fixture data: every chart must have drawn data points, and a screenshot
 * is saved to tests/artifacts/dashboard.png for a human look.
 */

import { mkdirSync } from 'node:fs'
import path from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { buildApp } from '../../api/app.ts'
import { REPO_ROOT } from '../../lib/config/index.ts'
import { closeDeps } from '../../lib/runtime/index.ts'
import { SHADOW_SEGMENT } from '../../lib/segments/index.ts'
import { MONITOR_STATISTICS } from '../../lib/stats/index.ts'
import { insertWindowRows } from '../../processors/monitors/sink/outputs.ts'
import { launchChromium } from '../helpers/browser.ts'
import {
  openStack,
  registerVersions,
  type Stack,
  writeMonitoring,
  writePredictions,
  writeRuns,
} from './fixtures.ts'

let s: Stack
let app: FastifyInstance
let browser: Browser
let base: string

beforeAll(async () => {
  s = await openStack()
  const now = Date.now()
  await registerVersions(s, now)
  await writePredictions(s, now)
  await writeMonitoring(s, now)
  await writeRuns(s, now)
  app = await buildApp({ ...s.deps, registry: s.registry })
  base = await app.listen({ host: '127.0.0.1', port: 0 })
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  await app?.close()
  if (s) await closeDeps(s.deps)
})

it('renders every chart with data points and saves a screenshot', async () => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1500 } })
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text())
  })
  await page.goto(`${base}/dashboard`)
  await page.waitForFunction(
    () =>
      Number(
        (globalThis as unknown as { document: { body: { dataset: { loaded?: string } } } }).document.body
          .dataset.loaded ?? 0,
      ) >= 1,
    null,
    {
      timeout: 30_000,
    },
  )

  // Runs in the page (the test's tsconfig has no DOM types, hence the loose typing).
  const counts: Record<string, number[]> = await page.evaluate(() => {
    const g = globalThis as unknown as {
      document: { querySelectorAll(s: string): ArrayLike<{ id: string }> }
      Chart: { getChart(c: unknown): { data: { datasets: { data: unknown[] }[] } } }
    }
    const out: Record<string, number[]> = {}
    for (const canvas of Array.from(g.document.querySelectorAll('canvas'))) {
      out[canvas.id] = g.Chart.getChart(canvas).data.datasets.map((d) => d.data.length)
    }
    return out
  })
  expect(Object.keys(counts).sort()).toEqual([
    'chart-alerts',
    'chart-performance',
    'chart-psi',
    'chart-runs',
    'chart-versions',
    'chart-volume',
  ])
  // One line per feature, then each feature's calibrated threshold (a dashed 2-point line).
  expect(counts['chart-psi']!.slice(0, 8)).toEqual(Array(8).fill(12))
  expect(counts['chart-psi']!.slice(8)).toEqual(Array(8).fill(2))
  // Every monitored drift statistic of the registry is a column of the per-feature table.
  expect(await page.locator('#drift-table thead th').allTextContents()).toEqual([
    'Feature',
    ...MONITOR_STATISTICS.map((st) => st.display.label),
    'Threshold',
    'State',
  ])
  expect(await page.locator('#drift-table tbody tr').count()).toBe(8)
  expect(counts['chart-performance']!.slice(0, 3)).toEqual([12, 12, 12])
  // Accuracy, F1 and ROC-AUC estimated from the served probabilities, beside the realised figures.
  const labels = await page.evaluate(() => {
    const g = globalThis as unknown as {
      document: { getElementById(id: string): unknown }
      Chart: { getChart(c: unknown): { data: { datasets: { label: string; data: unknown[] }[] } } }
    }
    return g.Chart.getChart(g.document.getElementById('chart-performance')).data.datasets.map((d) => [
      d.label,
      d.data.length,
    ])
  })
  expect(labels.slice(0, 6)).toEqual([
    ['accuracy', 12],
    ['F1', 12],
    ['ROC-AUC', 12],
    ['accuracy (estimated, before labels)', 12],
    ['F1 (estimated, before labels)', 12],
    ['ROC-AUC (estimated, before labels)', 12],
  ])
  // Drawn dashed, in the chart's own data (not only handed to it).
  const dashed = await page.evaluate(() => {
    const g = globalThis as unknown as {
      document: { getElementById(id: string): unknown }
      Chart: {
        getChart(c: unknown): {
          data: { datasets: { label: string; borderDash?: number[] }[] }
          getDatasetMeta(i: number): { hidden: boolean | null; data: unknown[] }
          isDatasetVisible(i: number): boolean
        }
      }
    }
    const chart = g.Chart.getChart(g.document.getElementById('chart-performance'))
    return chart.data.datasets
      .map((d, i) => ({ d, i }))
      .filter(({ d }) => d.label.includes('estimated'))
      .map(({ d, i }) => [
        d.label,
        (d.borderDash ?? []).length > 0,
        chart.isDatasetVisible(i),
        chart.getDatasetMeta(i).data.length,
      ])
  })
  expect(dashed).toEqual([
    ['accuracy (estimated, before labels)', true, true, 12],
    ['F1 (estimated, before labels)', true, true, 12],
    ['ROC-AUC (estimated, before labels)', true, true, 12],
  ])
  expect(counts['chart-performance']!.length).toBeGreaterThanOrEqual(6) // + threshold lines
  for (const id of ['chart-volume', 'chart-alerts', 'chart-versions', 'chart-runs']) {
    expect(
      counts[id]!.reduce((a, b) => a + b, 0),
      id,
    ).toBeGreaterThan(0)
  }
  expect(await page.locator('#runs-table tbody tr').count()).toBe(2)
  // Each alert on its kind's row: the segment's alarm on its own, not on the population's data_drift.
  const alertRows = await page.evaluate(() => {
    const g = globalThis as unknown as {
      document: { getElementById(id: string): unknown }
      Chart: { getChart(c: unknown): { data: { datasets: { data: { y: number; label: string }[] }[] } } }
    }
    return g.Chart.getChart(g.document.getElementById('chart-alerts'))
      .data.datasets.flatMap((d) => d.data.map((p) => [p.label.split(' · ')[0], p.y]))
      .sort()
  })
  expect(alertRows).toEqual([
    ['concept_drift', 1],
    ['data_drift', 0],
    ['data_drift', 0],
    ['segment_data_drift', 5],
  ])
  // Segments: every segment, the drifting source system marked; the family filter narrows it.
  expect(await page.locator('#segments-table tbody tr td:first-child').allTextContents()).toEqual([
    'age=30-39',
    'source=clinic-a',
    'source=clinic-b',
  ])
  expect(await page.locator('#segments-table tbody tr.over td:first-child').allTextContents()).toEqual([
    'source=clinic-b',
  ])
  await selectSegmentFamily(page, 'age')
  expect(await page.locator('#segments-table tbody tr td:first-child').allTextContents()).toEqual([
    'age=30-39',
  ])
  // A shadow version's lane: its realised performance beside the estimate.
  const win = {
    modelName: s.modelName,
    modelVersion: 2,
    windowType: 'sliding' as const,
    windowWidth: 1000,
    windowId: 400,
    windowStart: Date.now() - 30 * 60_000,
    windowEnd: Date.now() - 60_000,
    windowSize: 1000,
    subject: '',
    segment: SHADOW_SEGMENT,
  }
  await insertWindowRows(s.deps.clickhouse, [
    { ...win, monitor: 'estimate', metric: 'estimated_accuracy', value: 0.71 },
    { ...win, monitor: 'performance', windowId: 300, metric: 'accuracy', value: 0.69 },
  ])
  await selectSegmentFamily(page, 'lane')
  expect(await page.locator('#segments-table tbody tr td:first-child').allTextContents()).toEqual([
    SHADOW_SEGMENT,
  ])
  expect(await page.locator('#segments-table tbody tr td:nth-child(4)').textContent()).toBe(
    '0.710 (realised 0.690)',
  )
  expect(await page.locator('#c-model').textContent()).toContain('v1')
  expect(errors).toEqual([])

  const dir = path.join(REPO_ROOT, 'tests', 'artifacts')
  mkdirSync(dir, { recursive: true })
  await page.screenshot({ path: path.join(dir, 'dashboard.png'), fullPage: true })
})

/** Picks a segment family on the dashboard and waits for the reload it triggers. */
async function selectSegmentFamily(page: Page, family: string): Promise<void> {
  const loadCount = () =>
    Number(
      (globalThis as unknown as { document: { body: { dataset: { loaded: string } } } }).document.body.dataset
        .loaded,
    )
  const before = await page.evaluate(loadCount)
  await page.selectOption('#segment-family', family)
  await page.waitForFunction(
    (n) =>
      Number(
        (globalThis as unknown as { document: { body: { dataset: { loaded: string } } } }).document.body
          .dataset.loaded,
      ) > n,
    before,
    { timeout: 30_000 },
  )
}
