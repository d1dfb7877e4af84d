/**
 * API keys: `x-api-key: <key>` or `Authorization: Bearer <key>`, in two tiers:
 *  - API_KEYS: scoring, and reads unless API_READ_OPEN=true;
 *  - API_ADMIN_KEYS: promote, rollback and retrain (and everything an API key may do).
 * Keys are compared as SHA-256 digests with timingSafeEqual, against every configured key
 * without an early exit, so neither the key length nor a matching prefix shows in the response
 * time. No configured keys = every keyed route is refused. A key is only ever logged or used
 * as a rate-limit bucket by its id (the first 12 hex digits of its SHA-256), never itself.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { RiskStreamError } from '../lib/errors/index.ts'

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest()

export type KeyTier = 'api' | 'admin'

/** What a presented key grants: its id and tier, or null for no / an unknown key. */
export interface KeyGrant {
  keyId: string
  tier: KeyTier
}

export function keyId(key: string): string {
  return digest(key).toString('hex').slice(0, 12)
}

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

export type KeyChecker = (presented: string | undefined) => KeyGrant | null

export function createKeyChecker(keys: readonly string[], adminKeys: readonly string[] = []): KeyChecker {
  const entries = [
    ...keys.map((k) => ({ d: digest(k), tier: 'api' as KeyTier })),
    ...adminKeys.map((k) => ({ d: digest(k), tier: 'admin' as KeyTier })),
  ]
  return (presented) => {
    if (presented === undefined || entries.length === 0) return null
    const d = digest(presented)
    let tier: KeyTier | null = null
    for (const e of entries) {
      const match = timingSafeEqual(d, e.d)
      if (match && tier !== 'admin') tier = e.tier
    }
    return tier ? { keyId: d.toString('hex').slice(0, 12), tier } : null
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by a key guard: the id (never the key) and tier of the key the request carried. */
    apiKey?: KeyGrant
  }
}

/**
 * A preHandler hook: UNAUTHORIZED (401) without a valid key, FORBIDDEN (403) when the key's
 * tier is below `tier`.
 */
export function requireKey(check: KeyChecker, tier: KeyTier = 'api') {
  return async (request: FastifyRequest): Promise<void> => {
    const grant = check(presentedKey(request))
    if (!grant) throw new RiskStreamError('UNAUTHORIZED')
    if (tier === 'admin' && grant.tier !== 'admin')
      throw new RiskStreamError('FORBIDDEN', 'this route needs an admin key (API_ADMIN_KEYS)')
    request.apiKey = grant
  }
}
