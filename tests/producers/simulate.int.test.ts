/**
 * Each shipped scenario published through the real broker into its own topics; the test
 * reads the topics back and checks the declared drift with a statistic computed here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { validateFeatures } from '../../lib/features/index.ts'
import { ensureTopics, topicNames } from '../../lib/kafka/index.ts'
import { closeDeps, createDeps, type Deps } from '../../lib/runtime/index.ts'
import { INJECTED_HEADER } from '../../producers/malformed.ts'
import { MALFORMED_KINDS } from '../../producers/scenario.ts'
import { simulate } from '../../producers/simulate.ts'
import { testConfig, uniqueId } from '../helpers/index.ts'
import { readAll } from './streams.ts'

let deps: Deps
beforeAll(async () => {
  deps = await createDeps(testConfig(), { clickhouse: false })
})
afterAll(async () => {
  await closeDeps(deps)
})

type Req = Record<string, number | null> & { requestId: string; eventTime: number }
interface Run {
  requests: { index: number; value: Req }[]
  outcomes: Map<string, number>
  summary: Awaited<ReturnType<typeof simulate>>
  raw: Awaited<ReturnType<typeof readAll>>
}

/** Runs a scenario on fresh topics (rate 0, so event i has eventTime start + i ms) and reads it back. */
async function runScenario(scenario: string, count: number, labelShare = 0.8): Promise<Run> {
  const prefix = `${uniqueId('sim')}.`
  const scoped: Deps = { ...deps, topics: topicNames(prefix) }
  const admin = deps.kafka.admin()
  await admin.connect()
  await ensureTopics(admin, { topics: { ...deps.config.topics, prefix } })
  await admin.disconnect()
  // An hour ago: the producer library refuses event times outside the allowed skew of now.
  const startTime = Math.floor(Date.now() / 1000) * 1000 - 3_600_000
  const summary = await simulate(scoped, {
    scenario,
    count,
    rate: 0,
    labelShare,
    labelDelayMs: 50,
    seed: 3,
    startTime,
  })
  const raw = await readAll(deps.kafka, scoped.topics.requests)
  const requests: Run['requests'] = []
  for (const m of raw) {
    if (m.headers[INJECTED_HEADER]) continue
    const { value } = await deps.serde.decode<Req>(m.value, 'PredictionRequest')
    requests.push({ index: value.eventTime - startTime, value })
  }
  const outcomes = new Map<string, number>()
  for (const m of await readAll(deps.kafka, scoped.topics.outcomes)) {
    const { value } = await deps.serde.decode<{ requestId: string; outcome: number }>(m.value, 'OutcomeLabel')
    outcomes.set(value.requestId, value.outcome)
  }
  expect(outcomes.size).toBe(summary.outcomesSent)
  return { requests, outcomes, summary, raw }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
const feature = (reqs: Run['requests'], f: string, from: number, to: number) =>
  reqs.filter((r) => r.index >= from && r.index < to).map((r) => r.value[f] as number | null)
const present = (xs: (number | null)[]) => xs.filter((x): x is number => x !== null)

describe('simulate: shipped scenarios through the real broker', () => {
  it('glucose-shift: glucose mean moves by +30 from event 1500, every request stays valid', async () => {
    const { requests, summary } = await runScenario('glucose-shift', 3000)
    expect(summary).toMatchObject({ scenario: 'glucose-shift', sent: 3000, rejected: 0, failed: 0 })
    const before = mean(present(feature(requests, 'glucose', 0, 1500)))
    const after = mean(present(feature(requests, 'glucose', 1500, 3000)))
    expect(after - before).toBeGreaterThan(26)
    expect(after - before).toBeLessThan(34)
    expect(requests.every((r) => validateFeatures(r.value).length === 0)).toBe(true)
  })

  it('aging-population: mean age rises by more than 5 years after the ramp', async () => {
    const { requests } = await runScenario('aging-population', 3000)
    const before = mean(present(feature(requests, 'age', 0, 1000)))
    const after = mean(present(feature(requests, 'age', 2000, 3000)))
    expect(before).toBeLessThan(35.5)
    expect(after - before).toBeGreaterThan(5)
  })

  it('concept-flip: outcome rate of high-BMI, high-glucose patients drops after event 1500', async () => {
    const { requests, outcomes } = await runScenario('concept-flip', 3000, 1)
    const rate = (from: number, to: number) =>
      mean(
        requests
          .filter(
            (r) =>
              r.index >= from && r.index < to && (r.value.bmi ?? 0) >= 30 && (r.value.glucose ?? 0) >= 140,
          )
          .map((r) => outcomes.get(r.value.requestId)!),
      )
    const before = rate(0, 1500)
    const after = rate(1500, 3000)
    expect(before).toBeGreaterThan(0.6)
    expect(after).toBeCloseTo(0.8 * (1 - before) + 0.2 * before, 1)
  })

  it('missing-burst: glucose null rate near 0.9 inside events 1500-2499 only', async () => {
    const { requests } = await runScenario('missing-burst', 3000)
    const nullRate = (from: number, to: number) => {
      const xs = feature(requests, 'glucose', from, to)
      return xs.filter((x) => x === null).length / xs.length
    }
    expect(nullRate(1500, 2500)).toBeGreaterThan(0.86)
    expect(nullRate(0, 1500)).toBeLessThan(0.03)
    expect(nullRate(2500, 3000)).toBeLessThan(0.03)
  })

  it('poison: exact injected counts per kind, each failing downstream the intended way', async () => {
    const { raw, summary } = await runScenario('poison', 3000)
    for (const k of MALFORMED_KINDS) expect(summary.malformed[k]).toBe(3)
    expect(summary.plannedMalformed).toEqual(summary.malformed)
    expect(summary.sent).toBe(3000 - 3 * MALFORMED_KINDS.length)
    const expected: Record<string, string> = {
      badMagic: 'DECODE_BAD_MAGIC',
      jsonString: 'DECODE_BAD_MAGIC',
      unknownSchemaId: 'DECODE_UNKNOWN_SCHEMA',
      truncated: 'DECODE_FAILED',
      wrongSchema: 'DECODE_FAILED',
      nanFeature: 'VALIDATION_FAILED:type',
      outOfRange: 'VALIDATION_FAILED:range',
    }
    const seen: Record<string, number> = {}
    for (const m of raw) {
      let verdict = 'OK'
      try {
        const { value } = await deps.serde.decode<Record<string, unknown>>(m.value, 'PredictionRequest')
        const issues = validateFeatures(value)
        if (issues.length > 0) verdict = `VALIDATION_FAILED:${issues[0]!.rule}`
      } catch (err) {
        verdict = (err as { code: string }).code
      }
      const kind = m.headers[INJECTED_HEADER]
      if (kind) {
        expect(verdict, kind).toBe(expected[kind])
        seen[kind] = (seen[kind] ?? 0) + 1
      } else {
        expect(verdict).toBe('OK')
      }
    }
    expect(seen).toEqual(summary.malformed)
  })
})
