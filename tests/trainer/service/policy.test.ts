import { describe, expect, it } from 'vitest'
import {
  decide,
  driftWantsRetrain,
  initialState,
  type PolicyRules,
  type PolicyState,
  runAccepted,
  runFinished,
  runResumed,
  runStarted,
  runTrained,
  type Trigger,
  type TriggerDecision,
  type TriggerInput,
  volumeTrigger,
} from '../../../trainer/service/policy.ts'

const RULES: PolicyRules = { modelName: 'm', autoEnabled: true, cooldownMs: 60_000, minNewData: 100 }

const drift = (id: string, over: Partial<TriggerInput> = {}): TriggerInput => ({
  id: `drift:${id}`,
  kind: 'drift',
  modelName: 'm',
  reason: 'data_drift (significant)',
  wantsRetrain: true,
  previous: null,
  ...over,
})
const manual = (id: string): TriggerInput => ({ ...drift(id), id: `request:${id}`, kind: 'manual' })

/**
 * Plays triggers through the policy as the service does: the decision log remembers every
 * decision by id, an accepted trigger is queued (runAccepted).
 */
function play(state: PolicyState, steps: Array<[TriggerInput, number]>) {
  const log = new Map<string, TriggerDecision>()
  const decisions: TriggerDecision[] = []
  for (const [t, now] of steps) {
    const v = decide(state, { ...t, previous: log.get(t.id) ?? null }, now)
    if (!v.duplicate) log.set(t.id, v.decision)
    if (!v.duplicate && v.decision === 'accepted') state = runAccepted(state, t.kind, now)
    decisions.push(v.decision)
  }
  return { state, decisions }
}

describe('decide', () => {
  it('accepts one retrain for a burst of drift events and coalesces the rest while it is queued', () => {
    const { state, decisions } = play(initialState(RULES), [
      [drift('a'), 1_000_000],
      [drift('b'), 1_000_001],
      [drift('c'), 1_000_002],
    ])
    expect(decisions).toEqual(['accepted', 'coalesced', 'coalesced'])
    expect(state.pendingRuns).toBe(1)
    expect(state.lastAutoRunAt).toBe(1_000_000)
  })

  it('keeps the cooldown from acceptance after the run has finished, then accepts again', () => {
    let s = runAccepted(initialState(RULES), 'drift', 1_000_000)
    s = runStarted(s, 'drift', 1_000_500)
    s = runFinished(s)
    expect(s.pendingRuns).toBe(0)
    const during = decide(s, drift('x'), 1_000_500 + 59_999)
    expect(during.decision).toBe('cooldown')
    expect(during.detail).toBe('last run started 59999 ms ago (cooldown 60000 ms)')
    expect(decide(s, drift('x'), 1_000_500 + 60_000).decision).toBe('accepted')
  })

  it('runs a manual request inside the cooldown and behind a running run, without moving the cooldown', () => {
    const { state, decisions } = play(initialState(RULES), [
      [drift('a'), 1_000_000],
      [manual('r1'), 1_000_010],
      [manual('r2'), 1_000_020],
    ])
    expect(decisions).toEqual(['accepted', 'accepted', 'accepted'])
    expect(state.pendingRuns).toBe(3)
    expect(state.lastAutoRunAt).toBe(1_000_000)
    expect(runStarted(state, 'manual', 1_000_030).lastAutoRunAt).toBe(1_000_000)
  })

  it('returns the logged decision for a redelivered trigger and changes nothing', () => {
    const { state, decisions } = play(initialState(RULES), [
      [drift('a'), 1_000_000],
      [drift('a'), 2_000_000],
      [manual('r'), 2_000_001],
      [manual('r'), 2_000_002],
    ])
    expect(decisions).toEqual(['accepted', 'accepted', 'accepted', 'accepted'])
    expect(state.pendingRuns).toBe(2)
    const again = decide(state, { ...drift('b'), previous: 'coalesced' }, 3_000_000)
    expect(again).toEqual({ decision: 'coalesced', detail: 'already decided', duplicate: true })
  })

  it('ignores another model and a drift that does not ask for a retrain; refuses automatic triggers when disabled', () => {
    const s = initialState(RULES)
    expect(decide(s, drift('a', { modelName: 'other' }), 1e6)).toMatchObject({
      decision: 'ignored',
      detail: 'model other is not served here',
    })
    expect(decide(s, drift('a', { wantsRetrain: false }), 1e6).decision).toBe('ignored')
    const off = initialState({ ...RULES, autoEnabled: false })
    expect(decide(off, drift('a'), 1e6).decision).toBe('disabled')
    expect(decide(off, { ...drift('v'), kind: 'data_volume' }, 1e6).decision).toBe('disabled')
    expect(decide(off, manual('r'), 1e6).decision).toBe('accepted')
  })

  it('checks the rules in order: model, wish, switch, queue, cooldown', () => {
    const busy = runAccepted(initialState({ ...RULES, autoEnabled: false }), 'manual', 0)
    expect(decide(busy, drift('a', { modelName: 'x', wantsRetrain: false }), 1).detail).toMatch(/not served/)
    expect(decide(busy, drift('a'), 1).decision).toBe('disabled')
    const queuedInCooldown = runAccepted(initialState(RULES), 'drift', 1_000_000)
    expect(decide(queuedInCooldown, drift('b'), 1_000_001).decision).toBe('coalesced')
  })
})

describe('volumeTrigger', () => {
  it('asks for a run from MIN_NEW_DATA_THRESHOLD labelled outcomes beyond the baseline, one id per baseline', () => {
    let s = initialState(RULES)
    expect(volumeTrigger(s, 99)).toBeNull()
    const t = volumeTrigger(s, 100) as Trigger
    expect(t).toEqual({
      id: 'data_volume:m:0',
      kind: 'data_volume',
      modelName: 'm',
      reason: '100 new labelled outcomes (threshold 100)',
    })
    expect(volumeTrigger(s, 150)?.id).toBe(t.id)
    s = runTrained(s, 120)
    expect(volumeTrigger(s, 219)).toBeNull()
    expect(volumeTrigger(s, 220)?.id).toBe('data_volume:m:120')
  })

  it('never lowers the baseline when a run saw fewer rows than an earlier one', () => {
    expect(runTrained(runTrained(initialState(RULES), 500), 300).labelledBaseline).toBe(500)
  })
})

describe('queue transitions', () => {
  it('counts resumed runs in flight, so an automatic trigger on start is coalesced behind them', () => {
    const s = runResumed(initialState(RULES))
    expect(decide(s, drift('a'), 1e9).decision).toBe('coalesced')
    expect(decide(runFinished(s), drift('a'), 1e9).decision).toBe('accepted')
  })
})

describe('driftWantsRetrain', () => {
  it('retrains on recommendations and significant data/concept drift only', () => {
    expect(driftWantsRetrain({ kind: 'retrain_recommended', severity: 'moderate' })).toBe(true)
    expect(driftWantsRetrain({ kind: 'data_drift', severity: 'significant' })).toBe(true)
    expect(driftWantsRetrain({ kind: 'concept_drift', severity: 'significant' })).toBe(true)
    expect(driftWantsRetrain({ kind: 'data_drift', severity: 'moderate' })).toBe(false)
    expect(driftWantsRetrain({ kind: 'data_quality', severity: 'significant' })).toBe(false)
  })
})
