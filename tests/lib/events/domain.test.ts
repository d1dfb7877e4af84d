/**
 * The input domains (lib/events/domain.ts) with property-based generators: for any record
 * the generators build inside the domain the check passes, and for any single field pushed
 * out of it the check names exactly that field and never echoes the value.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  CONTRACT_TIME_MAX,
  checkDomain,
  DEFAULT_SKEW,
  type DomainContext,
  outcomeIssues,
  predictionIssues,
  predictionRequestIssues,
  SECONDS_HINT,
} from '../../../lib/events/domain.ts'
import { FEATURE_SPECS } from '../../../lib/features/index.ts'

const NOW = Date.UTC(2026, 5, 1)
const ctx: DomainContext = { now: NOW, skew: DEFAULT_SKEW }

const id = fc.stringMatching(/^[A-Za-z0-9_-][A-Za-z0-9 _.:-]{0,126}[A-Za-z0-9_-]$/)
const inSkew = fc.integer({ min: NOW - DEFAULT_SKEW.maxAgeMs, max: NOW + DEFAULT_SKEW.maxAheadMs })
const features = fc.record(
  Object.fromEntries(
    FEATURE_SPECS.map((s) => [
      s.name,
      fc.option(fc.double({ min: s.min, max: s.max, noNaN: true }), { nil: null }),
    ]),
  ) as Record<string, fc.Arbitrary<number | null>>,
)
const request = fc
  .record({
    requestId: id,
    patientId: id,
    eventTime: inSkew,
    sourceSystem: fc.string({ maxLength: 64 }),
    notes: fc.option(fc.string({ maxLength: 2000 }), { nil: null }),
  })
  .chain((r) => features.map((f) => ({ ...r, ...f })))

/** Times outside the domain: before 1970, past year 9999, not integers, too old, too far ahead. */
const badTime = fc.oneof(
  fc.integer({ min: Number.MIN_SAFE_INTEGER, max: -1 }),
  fc.integer({ min: CONTRACT_TIME_MAX + 1, max: Number.MAX_SAFE_INTEGER }),
  fc.double({ noInteger: true }),
  fc.integer({ min: 0, max: NOW - DEFAULT_SKEW.maxAgeMs - 1 }),
  fc.integer({ min: NOW + DEFAULT_SKEW.maxAheadMs + 1, max: CONTRACT_TIME_MAX }),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY),
)

describe('prediction request domain', () => {
  it('accepts every generated in-domain request', () => {
    fc.assert(fc.property(request, (r) => predictionRequestIssues(r, ctx).length === 0))
  })

  it('refuses any event time outside the contract range or the skew, naming eventTime only', () => {
    fc.assert(
      fc.property(request, badTime, (r, t) => {
        const issues = predictionRequestIssues({ ...r, eventTime: t }, ctx)
        expect(issues.map((i) => i.field)).toEqual(['eventTime'])
      }),
    )
  })

  it('the reported attack values: 0, 1 day, seconds instead of ms, year 2100, 8.64e15', () => {
    for (const t of [0, 86_400_000, 1_765_000_000, 4_102_444_800_000, 8.64e15]) {
      const err = checkDomain('request', predictionRequestIssues, { eventTime: t } as never, ctx)
      expect(err?.code).toBe('VALIDATION_FAILED')
      expect(err?.message).toMatch(/eventTime \((too_old|future|contract_range)[):]/)
      expect(err?.message).not.toContain(String(t))
    }
  })

  it('an event time in seconds is refused with a hint to send milliseconds; other old times get none', () => {
    const seconds = Math.floor(NOW / 1000) - 3600
    expect(
      predictionRequestIssues({ eventTime: seconds } as never, ctx).find((i) => i.field === 'eventTime'),
    ).toEqual({
      field: 'eventTime',
      rule: 'too_old',
      hint: SECONDS_HINT,
    })
    const err = checkDomain('request', predictionRequestIssues, { eventTime: seconds } as never, ctx)
    expect(err?.message).toContain(`eventTime (too_old: ${SECONDS_HINT})`)
    // Two years ago in milliseconds: too old, and not plausible as seconds.
    const old = predictionRequestIssues({ eventTime: NOW - 2 * DEFAULT_SKEW.maxAgeMs } as never, ctx)
    expect(old.find((i) => i.field === 'eventTime')).toEqual({ field: 'eventTime', rule: 'too_old' })
  })

  it('refuses wrong types without coercion: "120" is not 120, 123 is not "123"', () => {
    fc.assert(
      fc.property(request, (r) => {
        const issues = predictionRequestIssues({ ...r, glucose: '120', patientId: 123 } as never, ctx)
        expect(issues).toEqual([
          { field: 'patientId', rule: 'type' },
          { field: 'glucose', rule: 'type' },
        ])
      }),
    )
  })

  it('refuses over-long and control-character ids and over-long strings', () => {
    fc.assert(
      fc.property(request, fc.integer({ min: 129, max: 700_000 }), (r, n) => {
        const issues = predictionRequestIssues(
          { ...r, requestId: 'x'.repeat(n), notes: 'y'.repeat(2001) },
          ctx,
        )
        expect(issues).toEqual([
          { field: 'requestId', rule: 'length' },
          { field: 'notes', rule: 'length' },
        ])
      }),
    )
    expect(predictionRequestIssues({ requestId: 'a\nb' } as never, ctx)[0]).toEqual({
      field: 'requestId',
      rule: 'chars',
    })
  })

  it('refuses any feature outside its bounds, naming the feature', () => {
    const spec = fc.constantFrom(...FEATURE_SPECS)
    fc.assert(
      fc.property(
        request,
        spec,
        fc.boolean(),
        fc.double({ min: 1e-6, max: 1e6, noNaN: true }),
        (r, s, low, d) => {
          const v = low ? s.min - d : s.max + d
          expect(predictionRequestIssues({ ...r, [s.name]: v }, ctx)).toEqual([
            { field: s.name, rule: 'range' },
          ])
        },
      ),
    )
  })
})

describe('outcome domain', () => {
  const outcome = fc.record({
    requestId: id,
    outcome: fc.constantFrom(0, 1),
    labelledAt: inSkew,
    source: fc.string({ maxLength: 64 }),
  })
  it('accepts outcomes 0 and 1 and refuses anything else (300 is not stored as 44)', () => {
    fc.assert(fc.property(outcome, (o) => outcomeIssues(o, ctx).length === 0))
    fc.assert(
      fc.property(
        outcome,
        fc.oneof(
          fc.integer().filter((x) => x !== 0 && x !== 1),
          fc.double({ noInteger: true }),
        ),
        (o, x) => {
          expect(outcomeIssues({ ...o, outcome: x }, ctx).map((i) => i.field)).toEqual(['outcome'])
        },
      ),
    )
  })
  it('refuses labelledAt outside the skew', () => {
    fc.assert(
      fc.property(outcome, badTime, (o, t) => {
        expect(outcomeIssues({ ...o, labelledAt: t }, ctx).map((i) => i.field)).toEqual(['labelledAt'])
      }),
    )
  })
})

describe('prediction domain', () => {
  const prediction = request.chain((r) =>
    fc
      .record({
        modelName: fc.constantFrom('diabetes-risk', 'm-1'),
        modelVersion: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        probability: fc.double({ min: 0, max: 1, noNaN: true }),
        label: fc.constantFrom(0, 1),
        threshold: fc.double({ min: 0, max: 1, noNaN: true }),
        scoredAt: inSkew,
        shadow: fc.boolean(),
      })
      .map((p) => ({ ...r, ...p })),
  )
  it('accepts in-domain predictions and refuses a bad probability, label, version or time', () => {
    fc.assert(fc.property(prediction, (p) => predictionIssues(p, ctx).length === 0))
    fc.assert(
      fc.property(prediction, badTime, (p, t) => {
        const issues = predictionIssues(
          { ...p, probability: 1.5, label: 2, modelVersion: 0, scoredAt: t },
          ctx,
        )
        expect(issues.map((i) => i.field)).toEqual(['modelVersion', 'probability', 'label', 'scoredAt'])
      }),
    )
  })
})
