/**
 * The monitors' outputs are pinned (golden/outputs.json, written by golden/make.ts): window rows
 * and drift events of four seeded fixed-time scenarios, and the run resumed from a checkpoint
 * written by an earlier build (golden/checkpoint-glucose.json). Statistics registered since are
 * additions and left out of the comparison; everything else must match bit for bit.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { CHECKPOINT_AT, digest, feed, fixedStream, newEngine, SCENARIOS } from './golden/scenarios.ts'

const dir = new URL('./golden/', import.meta.url)
const golden = JSON.parse(readFileSync(new URL('outputs.json', dir), 'utf8'))
const checkpoint = JSON.parse(readFileSync(new URL('checkpoint-glucose.json', dir), 'utf8'))
/** Drift statistics that did not exist when the golden files were written. */
const ADDED: ReadonlySet<string> = new Set()

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
    // The join's counters belong to the join (performance/), which has its own restart tests.
    const { join: _join, ...written } = JSON.parse(JSON.stringify(engine.snapshot()))
    const { join: _pinned, ...pinned } = checkpoint
    expect(written).toEqual(pinned)
    expect(digest(feed(engine, items.slice(CHECKPOINT_AT)), ADDED)).toEqual(golden.continuation)
    const resumed = newEngine()
    resumed.restore(checkpoint)
    expect(digest(feed(resumed, items.slice(CHECKPOINT_AT)), ADDED)).toEqual(golden.afterRestore)
  })
})
