import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { checkPrereqs, findChromium, formatMissing } from '../../cli/prereqs.ts'
import { configWith } from '../../lib/config/index.ts'

function fakeBinary(file: string): string {
  mkdirSync(path.dirname(file), { recursive: true })
  writeFileSync(file, '#!/bin/sh\n')
  chmodSync(file, 0o755)
  return file
}

describe('prerequisites', () => {
  it('finds Chromium through CHROMIUM_PATH first', () => {
    const bin = fakeBinary(path.join(mkdtempSync(path.join(tmpdir(), 'chromium-')), 'chrome'))
    expect(findChromium({ CHROMIUM_PATH: bin })).toBe(bin)
  })

  it("finds Chromium in Playwright's browser cache", () => {
    const root = mkdtempSync(path.join(tmpdir(), 'ms-playwright-'))
    const bin = fakeBinary(path.join(root, 'chromium-1200', 'chrome-linux', 'chrome'))
    const found = findChromium({ PLAYWRIGHT_BROWSERS_PATH: root, CHROMIUM_PATH: '/nonexistent/chrome' })
    // A system Chromium, where installed, comes before the cache.
    expect([bin, '/usr/bin/chromium', '/usr/bin/chromium-browser']).toContain(found)
  })

  it('names a missing data set and the command that provides it, in one line', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'nodata-'))
    const config = configWith({ PIMA_CSV_PATH: path.join(dir, 'pima.csv') })
    // No network route to a mirror is assumed: a refused download is reported, not thrown.
    const report = await checkPrereqs(config, ['pima']).catch((e: Error) => ({
      missing: [],
      notes: [e.message],
    }))
    if (report.missing.length > 0) {
      const text = formatMissing(report.missing)
      expect(text.split('\n')).toHaveLength(1)
      expect(text).toMatch(/^riskstream: missing prerequisite: the Pima data set .*: npm run data:fetch/)
    } else expect(report.notes.join(' ')).toMatch(/downloaded and verified/)
  })
})
