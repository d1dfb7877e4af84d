/**
 * Input domains: the one place that says what a valid event is (the Avro contract checks types,
 * these check ranges), called by the API, every consumer and the producer library. Times within
 * the contract's range and the configured skew of now; ids and strings bounded; outcomes,
 * probabilities and thresholds in range; features within lib/features' bounds. A problem is
 * reported as a field and a rule, never the value (values are patient data).
 */
import { RiskStreamError } from '../errors/index.ts'
import { validateFeatures } from '../features/index.ts'
import type { OutcomeLabelEvent, PredictionEvent, PredictionRequestEvent } from './contracts.ts'

export type DomainRule =
  | 'missing'
  | 'type'
  | 'range'
  | 'length'
  | 'chars'
  | 'too_old'
  | 'future'
  | 'contract_range'
  | 'unknown'

export interface DomainIssue {
  field: string
  rule: DomainRule
  /** What the sender most likely did wrong, when it can be told without echoing the value. */
  hint?: string
}

/** The hint for an event time that is plausible as seconds (a common client mistake). */
export const SECONDS_HINT = 'looks like seconds since 1970; event times are milliseconds (multiply by 1000)'

/** How far event times may be from now. */
export interface TimeSkew {
  maxAgeMs: number
  maxAheadMs: number
}

export const DEFAULT_SKEW: TimeSkew = { maxAgeMs: 365 * 24 * 3600 * 1000, maxAheadMs: 5 * 60 * 1000 }

/** timestamp-millis range every consumer can represent as a calendar date (1970-01-01 … 9999-12-31). */
export const CONTRACT_TIME_MIN = 0
export const CONTRACT_TIME_MAX = 253_402_300_799_999

export const MAX_ID_LENGTH = 128
export const MAX_SOURCE_LENGTH = 64
export const MAX_NOTES_LENGTH = 2000
export const MAX_MODEL_VERSION = 2_147_483_647

export interface DomainContext {
  now: number
  skew: TimeSkew
}

/** Ids: printable, no whitespace other than a plain space inside, 1..128 characters. */
const ID_CHARS = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/

export function checkId(x: unknown, field: string, out: DomainIssue[], maxLength = MAX_ID_LENGTH): void {
  if (x === undefined || x === null || x === '') out.push({ field, rule: 'missing' })
  else if (typeof x !== 'string') out.push({ field, rule: 'type' })
  else if (x.trim() === '') out.push({ field, rule: 'missing' })
  else if (x.length > maxLength) out.push({ field, rule: 'length' })
  else if (!ID_CHARS.test(x)) out.push({ field, rule: 'chars' })
}

export function checkText(
  x: unknown,
  field: string,
  maxLength: number,
  out: DomainIssue[],
  optional = false,
): void {
  if (x === undefined || x === null) {
    if (!optional) out.push({ field, rule: 'missing' })
    return
  }
  if (typeof x !== 'string') out.push({ field, rule: 'type' })
  else if (x.length > maxLength) out.push({ field, rule: 'length' })
}

/** An event time: integer epoch ms, inside the contract range and within the skew of now. */
export function checkTime(x: unknown, field: string, ctx: DomainContext, out: DomainIssue[]): void {
  if (x === undefined || x === null) {
    out.push({ field, rule: 'missing' })
    return
  }
  if (typeof x !== 'number' || !Number.isInteger(x)) {
    out.push({ field, rule: 'type' })
    return
  }
  if (x < CONTRACT_TIME_MIN || x > CONTRACT_TIME_MAX) out.push({ field, rule: 'contract_range' })
  else if (x < ctx.now - ctx.skew.maxAgeMs) {
    const seconds = x * 1000 >= ctx.now - ctx.skew.maxAgeMs && x * 1000 <= ctx.now + ctx.skew.maxAheadMs
    out.push(seconds ? { field, rule: 'too_old', hint: SECONDS_HINT } : { field, rule: 'too_old' })
  } else if (x > ctx.now + ctx.skew.maxAheadMs) out.push({ field, rule: 'future' })
}

function checkUnit(x: unknown, field: string, out: DomainIssue[]): void {
  if (typeof x !== 'number' || !Number.isFinite(x)) out.push({ field, rule: 'type' })
  else if (x < 0 || x > 1) out.push({ field, rule: 'range' })
}

function checkBinary(x: unknown, field: string, out: DomainIssue[]): void {
  if (typeof x !== 'number' || !Number.isInteger(x)) out.push({ field, rule: 'type' })
  else if (x !== 0 && x !== 1) out.push({ field, rule: 'range' })
}

function checkFeatures(v: Record<string, unknown>, out: DomainIssue[], prefix = ''): void {
  for (const i of validateFeatures(v)) {
    out.push({ field: `${prefix}${i.feature}`, rule: i.rule })
  }
}

/** A prediction request (clinical.prediction-requests, POST /v1/predict after defaults). */
export function predictionRequestIssues(
  r: Partial<PredictionRequestEvent>,
  ctx: DomainContext,
): DomainIssue[] {
  const out: DomainIssue[] = []
  checkId(r.requestId, 'requestId', out)
  checkId(r.patientId, 'patientId', out)
  checkTime(r.eventTime, 'eventTime', ctx, out)
  checkText(r.sourceSystem, 'sourceSystem', MAX_SOURCE_LENGTH, out)
  checkText(r.notes, 'notes', MAX_NOTES_LENGTH, out, true)
  checkFeatures(r as Record<string, unknown>, out)
  return out
}

/** A prediction (mlops.predictions and mlops.shadow-predictions). */
export function predictionIssues(p: Partial<PredictionEvent>, ctx: DomainContext): DomainIssue[] {
  const out: DomainIssue[] = []
  checkId(p.requestId, 'requestId', out)
  checkId(p.patientId, 'patientId', out)
  checkId(p.modelName, 'modelName', out, 64)
  if (typeof p.modelVersion !== 'number' || !Number.isInteger(p.modelVersion))
    out.push({ field: 'modelVersion', rule: 'type' })
  else if (p.modelVersion < 1 || p.modelVersion > MAX_MODEL_VERSION)
    out.push({ field: 'modelVersion', rule: 'range' })
  checkUnit(p.probability, 'probability', out)
  checkBinary(p.label, 'label', out)
  checkUnit(p.threshold, 'threshold', out)
  checkTime(p.eventTime, 'eventTime', ctx, out)
  checkTime(p.scoredAt, 'scoredAt', ctx, out)
  checkText(p.sourceSystem, 'sourceSystem', MAX_SOURCE_LENGTH, out, true)
  checkFeatures(p as Record<string, unknown>, out)
  return out
}

/** A labelled outcome (clinical.outcomes). */
export function outcomeIssues(o: Partial<OutcomeLabelEvent>, ctx: DomainContext): DomainIssue[] {
  const out: DomainIssue[] = []
  checkId(o.requestId, 'requestId', out)
  checkBinary(o.outcome, 'outcome', out)
  checkTime(o.labelledAt, 'labelledAt', ctx, out)
  checkText(o.source, 'source', MAX_SOURCE_LENGTH, out)
  return out
}

/** One line naming each field and rule: `eventTime (future), glucose (range)`. */
export function describeIssues(issues: readonly DomainIssue[]): string {
  return issues.map((i) => `${i.field} (${i.rule}${i.hint ? `: ${i.hint}` : ''})`).join(', ')
}

/** VALIDATION_FAILED naming every field and rule (dead-letter reason, API 400). */
export function domainError(what: string, issues: readonly DomainIssue[]): RiskStreamError {
  return new RiskStreamError('VALIDATION_FAILED', `${what} rejected: ${describeIssues(issues)}`, {
    details: { issues },
  })
}

/** The check as the edges use it: null when the record is in its domain, else the error. */
export function checkDomain<T>(
  what: string,
  check: (x: T, ctx: DomainContext) => DomainIssue[],
  x: T,
  ctx: DomainContext,
): RiskStreamError | null {
  const issues = check(x, ctx)
  return issues.length === 0 ? null : domainError(what, issues)
}
