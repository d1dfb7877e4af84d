import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { createRootLogger } from '../../../lib/log/index.ts'
import { buildLoadedModel, warmLoadedModel } from '../../../processors/inference/model-follower.ts'
import { constantArtifact, stumpArtifact, versionEvent } from './fixtures.ts'

function capture() {
  const lines: Record<string, unknown>[] = []
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(JSON.parse(String(chunk)))
      cb()
    },
  })
  return { lines, log: createRootLogger({ level: 'debug', destination: sink }) }
}

const OUTCOME_KEYS = ['busyMs', 'maxSliceMs', 'model', 'ms', 'rows', 'slot', 'stoppedBy', 'tier', 'version']

describe('warmLoadedModel', () => {
  it('warms a tree scorer before it serves and logs the outcome, nothing about rows or patients', async () => {
    const { lines, log } = capture()
    const a = stumpArtifact('m', 3)
    const model = buildLoadedModel(versionEvent(a), a)
    const before = model.scorer.scoreBatch(Float64Array.from([2, 100, 70, 25, 80, 30, 0.5, 40]), 1)[0]
    const report = await warmLoadedModel(model, 'serving', log)
    expect(report.rows).toBeGreaterThan(0)
    expect(report.tier).toEqual(model.scorer.tier())
    const line = lines.find((l) => l.msg === 'model scorer warmed up')!
    expect(line).toMatchObject({ level: 30, model: 'm', version: 3, slot: 'serving', rows: report.rows })
    expect(
      Object.keys(line)
        .filter((k) => !['level', 'time', 'service', 'msg'].includes(k))
        .sort(),
    ).toEqual(OUTCOME_KEYS)
    expect(model.scorer.scoreBatch(Float64Array.from([2, 100, 70, 25, 80, 30, 0.5, 40]), 1)[0]).toBe(before)
  })

  it('has nothing to warm for a linear model: a debug line, no rows scored', async () => {
    const { lines, log } = capture()
    const a = constantArtifact('m', 4, 0.3)
    const report = await warmLoadedModel(buildLoadedModel(versionEvent(a), a), 'shadow', log)
    expect(report).toMatchObject({ rows: 0, stoppedBy: 'settled', tier: { batch: 'linear', one: 'linear' } })
    expect(lines.map((l) => [l.level, l.msg])).toEqual([[20, 'model scorer needs no warm-up']])
  })
})
