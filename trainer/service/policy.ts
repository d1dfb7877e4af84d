/**
 * The trainer's trigger policy, pure: which trigger starts a retrain, given the rules, the runs in
 * flight and the clock the caller passes. No I/O; the service (service.ts) reads and writes the
 * decision log and the queue around it.
 */
import type { DriftEventRecord } from '../../lib/events/index.ts'

export type TriggerKind = 'drift' | 'manual' | 'data_volume'
export type TriggerDecision =
  | 'accepted'
  | 'coalesced'
  | 'cooldown'
  | 'disabled'
  | 'ignored'
  | 'succeeded'
  | 'rejected'
  | 'failed'

export interface Trigger {
  id: string
  kind: TriggerKind
  modelName: string
  reason: string
  source?: { topic: string; partition: number; offset: string }
}

export interface PolicyRules {
  /** The model this trainer serves; triggers for another are ignored. */
  modelName: string
  /** AUTO_RETRAIN_ENABLED: automatic triggers (drift, data volume) may start a run. */
  autoEnabled: boolean
  /** RETRAIN_COOLDOWN_MS: minimum time between automatic runs. */
  cooldownMs: number
  /** MIN_NEW_DATA_THRESHOLD: labelled outcomes beyond the baseline that ask for a run. */
  minNewData: number
}

export interface PolicyState {
  readonly rules: PolicyRules
  /** Runs queued or running. */
  readonly pendingRuns: number
  /** When the last automatic run was accepted or started (ms, 0 = never): the cooldown clock. */
  readonly lastAutoRunAt: number
  /** Labelled outcomes the last run saw: the data-volume baseline. */
  readonly labelledBaseline: number
}

export interface TriggerInput extends Trigger {
  /** False for a drift event whose kind or severity does not ask for a retrain. */
  wantsRetrain: boolean
  /** The decision the log already holds for this trigger id (a redelivery or repeat), else null. */
  previous: TriggerDecision | null
}

export interface Verdict {
  decision: TriggerDecision
  detail: string
  /** The trigger was decided before: nothing is recorded or queued again. */
  duplicate: boolean
}

export function initialState(rules: PolicyRules): PolicyState {
  return { rules, pendingRuns: 0, lastAutoRunAt: 0, labelledBaseline: 0 }
}

/** Drift kinds (and severities) that ask for a retrain: a moderate drift is worth watching, not a model. */
export function driftWantsRetrain(e: Pick<DriftEventRecord, 'kind' | 'severity'>): boolean {
  if (e.kind === 'retrain_recommended') return true
  return (e.kind === 'data_drift' || e.kind === 'concept_drift') && e.severity === 'significant'
}

/**
 * One trigger. Manual requests always run (queued behind a running one); automatic ones need
 * AUTO_RETRAIN_ENABLED, no run in flight (a burst causes one retrain) and the cooldown elapsed.
 * An accepted trigger changes the state only through `runAccepted`, applied once it is logged.
 */
export function decide(state: PolicyState, t: TriggerInput, now: number): Verdict {
  if (t.previous) return { decision: t.previous, detail: 'already decided', duplicate: true }
  const { rules } = state
  const automatic = t.kind !== 'manual'
  const verdict = (decision: TriggerDecision, detail: string): Verdict => ({
    decision,
    detail,
    duplicate: false,
  })
  if (t.modelName !== rules.modelName) return verdict('ignored', `model ${t.modelName} is not served here`)
  if (!t.wantsRetrain) return verdict('ignored', 'trigger does not ask for a retrain')
  if (automatic && !rules.autoEnabled) return verdict('disabled', 'AUTO_RETRAIN_ENABLED=false')
  if (automatic && state.pendingRuns > 0)
    return verdict('coalesced', 'a retrain is already queued or running')
  if (automatic && now - state.lastAutoRunAt < rules.cooldownMs)
    return verdict(
      'cooldown',
      `last run started ${now - state.lastAutoRunAt} ms ago (cooldown ${rules.cooldownMs} ms)`,
    )
  return verdict('accepted', '')
}

/** An accepted trigger is queued; an automatic one starts the cooldown at acceptance, not when the queue reaches it. */
export function runAccepted(state: PolicyState, kind: TriggerKind, now: number): PolicyState {
  return {
    ...state,
    pendingRuns: state.pendingRuns + 1,
    lastAutoRunAt: kind === 'manual' ? state.lastAutoRunAt : now,
  }
}

/**
 * The data-volume trigger for `labelled` outcomes, or null below MIN_NEW_DATA_THRESHOLD. One id
 * per baseline: the same surplus is decided once, however often it is polled.
 */
export function volumeTrigger(state: PolicyState, labelled: number): Trigger | null {
  const { rules, labelledBaseline } = state
  const surplus = labelled - labelledBaseline
  if (surplus < rules.minNewData) return null
  return {
    id: `data_volume:${rules.modelName}:${labelledBaseline}`,
    kind: 'data_volume',
    modelName: rules.modelName,
    reason: `${surplus} new labelled outcomes (threshold ${rules.minNewData})`,
  }
}

/** A run re-queued on start (accepted before a crash, never finished). */
export function runResumed(state: PolicyState): PolicyState {
  return { ...state, pendingRuns: state.pendingRuns + 1 }
}

/** A queued run starts: an automatic one restarts the cooldown clock. */
export function runStarted(state: PolicyState, kind: TriggerKind, now: number): PolicyState {
  return kind === 'manual' ? state : { ...state, lastAutoRunAt: now }
}

/**
 * A run trained on `streamedRows` labelled rows: they become the baseline. Rows that arrived
 * during the run were not in it, so they still count towards the next one.
 */
export function runTrained(state: PolicyState, streamedRows: number): PolicyState {
  return { ...state, labelledBaseline: Math.max(state.labelledBaseline, streamedRows) }
}

/** A run left the queue (finished, rejected or failed). */
export function runFinished(state: PolicyState): PolicyState {
  return { ...state, pendingRuns: state.pendingRuns - 1 }
}
