/**
 * Synchronous scoring for POST /v1/predict with the production model.
 *
 * The scorer is cached. Before scoring, the production version is re-read from the registry
 * at most every `refreshMs` (one query in flight at a time, shared by concurrent requests);
 * the artifact is only loaded and compiled when that version differs from the cached one.
 * A promotion or rollback made through this API invalidates the cache at once; one made
 * elsewhere (the trainer) is picked up within `refreshMs`.
 */
import { RiskStreamError } from '../lib/errors/index.ts'
import type { ModelRegistry } from '../lib/registry/index.ts'
import { type LoadedModel, loadModel } from '../lib/serving/index.ts'

export interface ProductionScorer {
  /** The production model, loading or refreshing it when needed (MODEL_NOT_FOUND if none). */
  get(): Promise<LoadedModel>
  /** Forget the cached version check (the next get() asks the registry). */
  invalidate(): void
  /** The cached version, without I/O (0 = none loaded). */
  currentVersion(): number
}

export function createProductionScorer(opts: {
  registry: ModelRegistry
  modelName: string
  refreshMs: number
  now?: () => number
}): ProductionScorer {
  const now = opts.now ?? Date.now
  let loaded: LoadedModel | null = null
  let checkedAt = Number.NEGATIVE_INFINITY
  let inflight: Promise<LoadedModel> | null = null

  async function refresh(): Promise<LoadedModel> {
    const row = await opts.registry.production(opts.modelName)
    if (!row) {
      loaded = null
      throw new RiskStreamError('MODEL_NOT_FOUND', `${opts.modelName} has no production version`)
    }
    if (!loaded || loaded.version !== row.version || loaded.threshold !== row.threshold) {
      const artifact = await opts.registry.loadArtifact({
        modelName: row.modelName,
        version: row.version,
        artifact: null,
        artifactSha256: row.artifactSha256,
      })
      loaded = loadModel(
        {
          modelName: row.modelName,
          version: row.version,
          threshold: row.threshold,
          family: row.family,
          eventId: null,
        },
        artifact,
        now(),
      )
    }
    checkedAt = now()
    return loaded
  }

  return {
    get() {
      if (loaded && now() - checkedAt < opts.refreshMs) return Promise.resolve(loaded)
      inflight ??= refresh().finally(() => {
        inflight = null
      })
      return inflight
    },
    invalidate() {
      checkedAt = Number.NEGATIVE_INFINITY
    },
    currentVersion: () => loaded?.version ?? 0,
  }
}
