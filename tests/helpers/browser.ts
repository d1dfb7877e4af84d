/**
 * Headless Chromium for the browser tests (the dashboard, the drift report), found the way
 * cli/prereqs.ts finds it; the test setup has already checked that one exists.
 */
import { type Browser, chromium } from 'playwright-core'
import { findChromium } from '../../cli/prereqs.ts'

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: findChromium(),
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      // Nothing the pages load may come from the network: background traffic is off too.
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
}
