/**
 * The monitors' outputs are pinned (golden/outputs.json, written by golden/make.ts): window rows
 * and drift events of four seeded fixed-time scenarios, and the run resumed from a checkpoint
 * written by an earlier build (golden/checkpoint-glucose.json). Statistics registered and estimate
 * metrics added since are additions and left out of the comparison; everything else must match
 * bit for bit.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { MONITOR_STATISTICS, REPORTED_STATISTICS } from '../../../lib/stats/index.ts'
import { CHECKPOINT_AT, digest, feed, fixedStream, newEngine, SCENARIOS } from './golden/scenarios.ts'

const dir = new URL('./golden/', import.meta.url)
const golden = JSON.parse(readFileSync(new URL('outputs.json', dir), 'utf8'))
const checkpoint = JSON.parse(readFileSync(new URL('checkpoint-glucose.json', dir), 'utf8'))
/** Drift statistics and estimate metrics that did not exist when the golden files were written. */
const ADDED: ReadonlySet<string> = new Set(['wasserstein', 'estimated_roc_auc'])

describe('monitor outputs pinned across refactors', () => {
  for (const name of Object.keys(SCENARIOS)) {
    it(`reproduces the ${name} scenario's rows and events`, () => {
      expect(digest(feed(newEngine(), [...fixedStream(name)]), ADDED)).toEqual(golden.outputs[name])
    })
  }

  it('writes the same checkpoint and resumes from one written by an earlier build', () => {
    const items = [...fixedStream('glucose')]
    const engine = newEngine()
    feed(engine, items.slice(0, CHECKPOINT_AT))
    // The join's counters belong to the join (performance/), which has its own restart tests;
    // the segments' monitors (lib/segments) were added since (segments.test.ts restarts them).
    const { join: _join, segments: _segments, ...written } = JSON.parse(JSON.stringify(engine.snapshot()))
    const { join: _pinned, ...pinned } = checkpoint
    expect(written).toEqual(pinned)
    expect(digest(feed(engine, items.slice(CHECKPOINT_AT)), ADDED)).toEqual(golden.continuation)
    const resumed = newEngine()
    resumed.restore(checkpoint)
    expect(digest(feed(resumed, items.slice(CHECKPOINT_AT)), ADDED)).toEqual(golden.afterRestore)
  })
})

describe('a registered statistic reaches the window rows and the evidence without edits elsewhere', () => {
  it('writes every monitored statistic per subject for every sliding and tumbling window, and puts the reported ones in drift events', () => {
    const out = feed(newEngine(), [...fixedStream('glucose')])
    const drift = out.rows.filter((r) => r.monitor === 'drift')
    for (const type of ['sliding', 'tumbling'] as const) {
      const psi = drift.filter((r) => r.windowType === type && r.metric === 'psi')
      const key = (r: (typeof psi)[number]) => `${r.windowWidth}:${r.windowId}:${r.subject}`
      for (const stat of MONITOR_STATISTICS) {
        const rows = drift.filter((r) => r.windowType === type && r.metric === stat.name)
        expect(new Set(rows.map(key))).toEqual(new Set(psi.map(key)))
      }
    }
    const event = out.events.find((e) => e.kind === 'data_drift')!
    const evidence = JSON.parse(event.evidenceJson)
    for (const stat of REPORTED_STATISTICS) expect(Object.keys(evidence[stat.name]).length).toBe(9)
    expect(evidence.wasserstein.glucose).toBeGreaterThan(0.5)
  })
})
