/** What every route module receives: dependencies, the model served, guards and helpers. */
import type { preHandlerAsyncHookHandler } from 'fastify'
import type { Config } from '../lib/config/index.ts'
import type { DomainContext } from '../lib/events/domain.ts'
import type { VersionSigner } from '../lib/model/signing.ts'
import type { ModelRegistry } from '../lib/registry/index.ts'
import type { IdempotencyStore } from './idempotency.ts'
import type { ApiMetrics } from './metrics.ts'
import type { WarehouseReader } from './queries.ts'
import type { RetrainGate } from './retrain-gate.ts'
import type { ProductionScorer } from './scoring.ts'
import type { ApiServices } from './services.ts'

export type { ApiDeps } from './services.ts'

export interface ApiContext {
  services: ApiServices
  config: Readonly<Config>
  modelName: string
  /**
   * Reads (monitoring, dashboard, runs), through this app's read cache (cache.ts,
   * API_CACHE_TTL_MS): a read route may answer up to the TTL old. Writes go through the model
   * registry only.
   */
  warehouse: WarehouseReader
  /** The registry as read routes see it: reads through the same cache; writes delegate, then clear it. */
  registry: ModelRegistry
  /** The same registry without the cache: for reads that decide a write (rollback's checks). */
  freshRegistry: ModelRegistry
  scorer: ProductionScorer
  metrics: ApiMetrics
  now: () => number
  /**
   * "Now" for the period bounds of read routes: `now()` rounded down to the cache TTL, so the
   * requests within one TTL send the same query parameters and share one cache entry (the
   * period then ends less than one TTL ago). Exactly `now()` when the cache is off.
   */
  readNow: () => number
  /** preHandler for read routes: open, or keyed when config.api.readOpen is false. */
  readGuard: preHandlerAsyncHookHandler[]
  /** preHandler for scoring: always keyed (API_KEYS or API_ADMIN_KEYS). */
  writeGuard: preHandlerAsyncHookHandler[]
  /** preHandler for promote, rollback and retrain: an admin key (API_ADMIN_KEYS). */
  adminGuard: preHandlerAsyncHookHandler[]
  /** The input domain's context (now, allowed skew) for a request (lib/events/domain.ts). */
  domain(): DomainContext
  /** MACs the API's scored-by header (lib/kafka/headers.ts). */
  signer: VersionSigner
  /** requestId → payload digest and stored answer (idempotency.ts). */
  idempotency: IdempotencyStore
  /** At most one manual retrain queued (retrain-gate.ts). */
  retrainGate: RetrainGate
}

/** OpenAPI security requirement for keyed routes. */
export const KEYED: { [scheme: string]: string[] }[] = [{ apiKey: [] }, { bearer: [] }]
