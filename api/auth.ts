/**
 * API keys: `x-api-key: <key>` or `Authorization: Bearer <key>`, checked against
 * config.api.keys. Keys are compared as SHA-256 digests with timingSafeEqual, against every
 * configured key without an early exit, so neither the key length nor a matching prefix
 * shows in the response time. No configured keys = every keyed route is refused.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { RiskStreamError } from '../lib/errors/index.ts'

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest()

export function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers['x-api-key']
  if (typeof header === 'string' && header !== '') return header
  const auth = request.headers.authorization
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim())
    if (m) return m[1]
  }
  return undefined
}

export function createKeyChecker(keys: readonly string[]): (presented: string | undefined) => boolean {
  const digests = keys.map(digest)
  return (presented) => {
    if (presented === undefined || digests.length === 0) return false
    const d = digest(presented)
    let ok = false
    for (const k of digests) ok = timingSafeEqual(d, k) || ok
    return ok
  }
}

/** A preHandler hook that refuses the request with UNAUTHORIZED (401) unless it carries a valid key. */
export function requireKey(check: (presented: string | undefined) => boolean) {
  return async (request: FastifyRequest): Promise<void> => {
    if (!check(presentedKey(request))) throw new RiskStreamError('UNAUTHORIZED')
  }
}
