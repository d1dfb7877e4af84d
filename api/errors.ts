/**
 * One error shape for every route: `{ success: false, error, code }` with the status the
 * closed registry in lib/errors assigns to the code. Fastify's own failures (schema
 * validation, rate limit, unknown route, oversized body) are mapped onto registry codes
 * here, so a client never sees a bare 500 for a bad request.
 */
import { type Static, Type } from '@sinclair/typebox'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { ERROR_CODES, type ErrorCode, isRiskStreamError, RiskStreamError } from '../lib/errors/index.ts'
import type { DomainIssue, TimeSkew } from '../lib/events/domain.ts'
import { FEATURE_SPECS } from '../lib/features/index.ts'

/**
 * The error body as the OpenAPI document declares it, on every route's 4xx and 5xx. `code` is
 * one of the registry's codes; `details` stays open (validation problems, idempotency issues).
 */
export const ErrorResponse = Type.Object(
  {
    success: Type.Literal(false),
    error: Type.String({ description: 'Human-readable message (never echoes the request body)' }),
    code: Type.Unsafe<ErrorCode>({
      type: 'string',
      enum: Object.keys(ERROR_CODES),
      description: 'Code of the closed error registry (lib/errors); it decides the status',
    }),
    details: Type.Optional(
      Type.Unknown({
        description: 'Structured, log-safe context, e.g. [{ field, rule, message }] for validation failures',
      }),
    ),
  },
  { additionalProperties: false, title: 'ErrorResponse', $id: 'ErrorResponse' },
)
export type ErrorBody = Static<typeof ErrorResponse>

export interface FieldProblem {
  field: string
  rule: string
  message: string
}

/** Ajv's type names as a sentence says them: `number,null` → `a number or null`. */
const TYPE_WORDS: Record<string, string> = {
  number: 'a number',
  integer: 'an integer',
  string: 'a string',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  null: 'null',
}

/** Keywords that only summarise the errors of the branch they chose (already reported). */
const SUMMARIES = new Set(['if'])

/**
 * A property name the client sent, as it may appear in an answer: a name, not a value, but
 * bounded and printable (a hostile client could send a megabyte of key or control characters).
 */
export function propertyName(name: string): string {
  const printable = name.replace(/[^\x20-\x7e]/g, '?')
  return printable.length > 64 ? `${printable.slice(0, 64)}…` : printable
}

/**
 * Turns Ajv errors into `{ field, rule, message }`, the field as `params.limit` or
 * `body.requests.0.glucose`, each problem once. Messages name the field and what it must be,
 * never the value sent (values are patient data).
 */
export function fieldProblems(error: FastifyError): FieldProblem[] {
  const context = error.validationContext ?? 'request'
  const seen = new Set<string>()
  return (error.validation ?? []).flatMap((v) => {
    if (SUMMARIES.has(v.keyword)) return []
    const params = (v.params ?? {}) as { missingProperty?: string; additionalProperty?: string }
    // JSON Pointer segments, unescaped (`~1` is `/`, `~0` is `~`).
    const path = v.instancePath
      .split('/')
      .filter(Boolean)
      .map((p) => propertyName(p.replace(/~1/g, '/').replace(/~0/g, '~')))
    if (params.missingProperty) path.push(propertyName(params.missingProperty))
    if (params.additionalProperty !== undefined) path.push(propertyName(params.additionalProperty))
    const field = [context, ...path].join('.')
    const key = `${field}\u0000${v.keyword}`
    if (seen.has(key)) return []
    seen.add(key)
    return [{ field, rule: v.keyword, message: `${field} ${ajvPhrase(v)}` }]
  })
}

function ajvPhrase(v: { keyword: string; params?: unknown; message?: string }): string {
  const { type, limit } = (v.params ?? {}) as { type?: unknown; limit?: number }
  const plural = (n: number | undefined, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`
  switch (v.keyword) {
    case 'required':
      return 'is required'
    case 'additionalProperties':
      return 'is not a known field'
    case 'type': {
      const types = Array.isArray(type) ? type : String(type).split(',')
      return `must be ${types.map((t) => TYPE_WORDS[t] ?? t).join(' or ')}`
    }
    case 'minLength':
      return limit === 1 ? 'must not be empty' : `must have at least ${plural(limit, 'character')}`
    case 'maxLength':
      return `must have at most ${plural(limit, 'character')}`
    case 'minItems':
      return `must hold at least ${plural(limit, 'item')}`
    case 'maxItems':
      return `must hold at most ${plural(limit, 'item')}`
    default:
      return v.message ?? 'is invalid'
  }
}

const DAY_MS = 86_400_000

/** `365 days`, `5 minutes`: a skew bound as a client reads it. */
function span(ms: number): string {
  const [n, unit] =
    ms >= DAY_MS ? [ms / DAY_MS, 'day'] : ms >= 3_600_000 ? [ms / 3_600_000, 'hour'] : [ms / 60_000, 'minute']
  const rounded = Math.round(n * 10) / 10
  return `${rounded} ${unit}${rounded === 1 ? '' : 's'}`
}

const TIME_FIELDS = new Set(['eventTime', 'scoredAt', 'labelledAt'])

/** What a domain rule (lib/events/domain.ts) means for `field`, in words, with its bounds. */
function domainPhrase(issue: DomainIssue, skew: TimeSkew): string {
  const feature = FEATURE_SPECS.find((s) => s.name === issue.field)
  switch (issue.rule) {
    case 'missing':
      return 'is required (and not blank)'
    case 'type':
      if (feature) return 'must be a finite number'
      return TIME_FIELDS.has(issue.field) ? 'must be an integer (epoch milliseconds)' : 'has the wrong type'
    case 'range':
      return feature
        ? `is outside its physiological bounds [${feature.min}, ${feature.max}] ${feature.unit}`
        : 'is out of range'
    case 'length':
      return 'is too long'
    case 'chars':
      return 'may hold printable ASCII only, without leading or trailing spaces'
    case 'too_old':
      return `is more than ${span(skew.maxAgeMs)} in the past`
    case 'future':
      return `is more than ${span(skew.maxAheadMs)} in the future`
    case 'contract_range':
      return 'is outside the epoch-milliseconds range of years 1970 to 9999'
    case 'unknown':
      return 'is not a known field'
  }
}

/**
 * The input-domain problems of one record as API problems: the field under `prefix`
 * (`body`, `body.requests.3`), the domain's rule, and a message with the bound that was
 * crossed and the domain's hint (e.g. an event time sent in seconds), never the value.
 */
export function domainProblems(
  issues: readonly DomainIssue[],
  prefix: string,
  skew: TimeSkew,
): FieldProblem[] {
  return issues.map((issue) => {
    const field = `${prefix}.${issue.field}`
    const hint = issue.hint ? `: ${issue.hint}` : ''
    return { field, rule: issue.rule, message: `${field} ${domainPhrase(issue, skew)}${hint}` }
  })
}

/** How many problems an error message names; `details` carries them all. */
const MESSAGE_PROBLEMS = 10

/** The problems' messages as one line, the first MESSAGE_PROBLEMS of them (a batch can have thousands). */
export function problemsLine(problems: readonly FieldProblem[]): string {
  const named = problems.slice(0, MESSAGE_PROBLEMS).map((p) => p.message)
  const more = problems.length - named.length
  return more > 0 ? `${named.join('; ')}; and ${more} more (see details)` : named.join('; ')
}

/** A 400 VALIDATION_FAILED naming each problem once, with them as its details. */
export function validationFailed(problems: readonly FieldProblem[]): RiskStreamError {
  return new RiskStreamError('VALIDATION_FAILED', problemsLine(problems), { details: { issues: problems } })
}

/**
 * A route may add problems of its own to its body schema's, computed from the body it got: what
 * the client most likely meant (e.g. a batch under a misspelt key). Set as the route's
 * `config.validationHints`; never given the values to echo, only to look at.
 */
export type ValidationHints = (body: unknown) => FieldProblem[]

declare module 'fastify' {
  interface FastifyContextConfig {
    validationHints?: ValidationHints
  }
}

/** Maps anything thrown in a route (or by a plugin) to a registry code and its details. */
export function classify(
  err: unknown,
  bodyHints: readonly FieldProblem[] = [],
): { code: ErrorCode; message: string; details?: unknown } {
  if (isRiskStreamError(err)) {
    const issues = (err.details as { issues?: unknown }).issues
    return { code: err.code, message: err.message, details: issues }
  }
  const e = err as FastifyError
  if (e?.validation) {
    const problems = [...fieldProblems(e), ...(e.validationContext === 'body' ? bodyHints : [])]
    return {
      code: 'BAD_REQUEST',
      message: `${ERROR_CODES.BAD_REQUEST.message}: ${problemsLine(problems)}`,
      details: problems,
    }
  }
  const status = typeof e?.statusCode === 'number' ? e.statusCode : 500
  if (status === 429) return { code: 'RATE_LIMITED', message: ERROR_CODES.RATE_LIMITED.message }
  if (status === 404) return { code: 'NOT_FOUND', message: ERROR_CODES.NOT_FOUND.message }
  if (status === 401 || status === 403)
    return { code: 'UNAUTHORIZED', message: ERROR_CODES.UNAUTHORIZED.message }
  // Malformed JSON, wrong content type, body too large: the client's fault, said without echoing the body.
  if (status >= 400 && status < 500)
    return { code: 'BAD_REQUEST', message: `${ERROR_CODES.BAD_REQUEST.message}: ${e.message}` }
  return { code: 'INTERNAL', message: ERROR_CODES.INTERNAL.message }
}

export function errorHandler(err: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const hints = (err as FastifyError)?.validation ? request.routeOptions.config?.validationHints : undefined
  const { code, message, details } = classify(err, hints?.(request.body) ?? [])
  const status = ERROR_CODES[code].status
  if (status >= 500) {
    request.log.error({ err, code, route: request.routeOptions.url }, 'request failed')
  } else {
    request.log.debug({ code, route: request.routeOptions.url }, 'request rejected')
  }
  const body: ErrorBody = { success: false, error: message, code }
  if (details !== undefined) body.details = details
  if (status === 429 && !reply.hasHeader('retry-after')) reply.header('retry-after', '1')
  reply.status(status).send(body)
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): void {
  reply.status(404).send({
    success: false,
    error: `${ERROR_CODES.NOT_FOUND.message}: ${request.method} ${request.url.split('?')[0]}`,
    code: 'NOT_FOUND',
  })
}

export { RiskStreamError }
