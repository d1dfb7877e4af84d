/**
 * What the unit route tests (routes.test.ts, predict-input.test.ts, openapi.test.ts) share:
 * one model, the key tiers and their config, a registry with a promotion history, and apps
 * over in-memory fakes (fakes.ts) that are closed after each test.
 */
import type { FastifyInstance } from 'fastify'
import { afterEach } from 'vitest'
import { type BuildAppOptions, buildApp } from '../../api/app.ts'
import type { ApiServices } from '../../api/services.ts'
import { configWith } from '../../lib/config/index.ts'
import type { ModelVersionRow } from '../../lib/registry/index.ts'
import { fakeRegistry, versionRow } from './fakes.ts'

export const MODEL = 'unit-model'
export const API_KEY = 'api-key-0123456789'
export const ADMIN_KEY = 'admin-key-0123456789'

/** The unit config: reads need API_KEY, promote/rollback/retrain ADMIN_KEY; `over` adds settings. */
export const unitConfig = (over: Record<string, string> = {}) =>
  configWith({
    MODEL_NAME: MODEL,
    API_KEYS: API_KEY,
    API_ADMIN_KEYS: ADMIN_KEY,
    MODEL_SIGNING_KEY: 's'.repeat(40),
    TOPIC_PREFIX: 'unit.',
    LOG_LEVEL: 'error',
    ...over,
  })

/**
 * v1 was production, v2 is (so v1 is the rollback target), v3 a candidate never served;
 * `over` adds fields to a version's row.
 */
export function registryWithHistory(over: Partial<Record<1 | 2 | 3, Partial<ModelVersionRow>>> = {}) {
  const fake = fakeRegistry(MODEL, [
    versionRow(MODEL, 1, { stage: 'production', ...over[1] }),
    versionRow(MODEL, 2, over[2]),
    versionRow(MODEL, 3, over[3]),
  ])
  void fake.registry.setStage(MODEL, 2, 'production', 'newer')
  return fake
}

/** Builds apps over `services` (a high rate limit: tests send bursts), closing them after each test. */
export function unitApps(): (services: ApiServices, opts?: BuildAppOptions) => Promise<FastifyInstance> {
  let apps: FastifyInstance[] = []
  afterEach(async () => {
    await Promise.all(apps.map((a) => a.close()))
    apps = []
  })
  return async (services, opts = {}) => {
    const a = await buildApp(services, { rateLimitMax: 10_000, ...opts })
    apps.push(a)
    return a
  }
}
