/**
 * One error shape for every route: `{ success: false, error, code }` with the status the
 * closed registry in lib/errors assigns to the code. Fastify's own failures (schema
 * validation, rate limit, unknown route, oversized body) are mapped onto registry codes
 * here, so a client never sees a bare 500 for a bad request.
 */
import { type Static, Type } from '@sinclair/typebox'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { ERROR_CODES, type ErrorCode, isRiskStreamError, RiskStreamError } from '../lib/errors/index.ts'

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

/** Turns Ajv errors into `{ field, rule, message }` (the field as `params.limit`, `body.requests.0.glucose`). */
export function fieldProblems(error: FastifyError): FieldProblem[] {
  const context = error.validationContext ?? 'request'
  return (error.validation ?? []).map((v) => {
    const missing = (v.params as { missingProperty?: string; additionalProperty?: string } | undefined) ?? {}
    const path = v.instancePath.replace(/^\//, '').split('/').filter(Boolean)
    if (missing.missingProperty) path.push(missing.missingProperty)
    if (missing.additionalProperty) path.push(missing.additionalProperty)
    const field = [context, ...path].join('.')
    return { field, rule: v.keyword, message: `${field} ${v.message ?? 'is invalid'}` }
  })
}

/** Maps anything thrown in a route (or by a plugin) to a registry code and its details. */
export function classify(err: unknown): { code: ErrorCode; message: string; details?: unknown } {
  if (isRiskStreamError(err)) {
    const issues = (err.details as { issues?: unknown }).issues
    return { code: err.code, message: err.message, details: issues }
  }
  const e = err as FastifyError
  if (e?.validation) {
    const problems = fieldProblems(e)
    return {
      code: 'BAD_REQUEST',
      message: `${ERROR_CODES.BAD_REQUEST.message}: ${problems.map((p) => p.message).join('; ')}`,
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
  const { code, message, details } = classify(err)
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
