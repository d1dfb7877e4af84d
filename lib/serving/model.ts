/**
 * The loaded model: a scorer built from a verified artifact, with the version it serves and
 * the layout of its input row. Inference (processors/inference) and the API's synchronous
 * scoring (api/scoring.ts) both hold one.
 */
import { RiskStreamError } from '../errors/index.ts'
import { FEATURES, type FeatureName } from '../features/index.ts'
import { createScorer } from '../model/scorer.ts'
import type { ModelArtifact, Scorer } from '../model/types.ts'

/** A ready-to-score model version. Immutable once built. */
export interface LoadedModel {
  readonly modelName: string
  readonly version: number
  readonly family: string
  readonly threshold: number
  readonly scorer: Scorer
  /** For each model column, its index in FEATURES (columnMap). */
  readonly columns: Int32Array
  /** The model-version event it was loaded from; null when loaded from the registry's rows. */
  readonly eventId: string | null
  readonly loadedAt: number
}

/** What the served version is, as the loader knows it (event or registry row). */
export interface ModelIdentity {
  modelName: string
  version: number
  family: string
  threshold: number
  eventId: string | null
}

/**
 * For each model column, the index of that feature in FEATURES. Artifacts normally list the
 * features in FEATURES order (the identity), but the artifact is the authority on its layout.
 * Throws ARTIFACT_CORRUPT for a feature we do not know: scoring it would be garbage.
 */
export function columnMap(modelFeatures: readonly string[]): Int32Array {
  const map = new Int32Array(modelFeatures.length)
  modelFeatures.forEach((f, j) => {
    const i = FEATURES.indexOf(f as FeatureName)
    if (i < 0)
      throw new RiskStreamError('ARTIFACT_CORRUPT', `model expects unknown feature ${f}`, {
        details: { feature: f },
      })
    map[j] = i
  })
  return map
}

/** Builds the scorer and the column layout of a verified artifact. */
export function loadModel(identity: ModelIdentity, artifact: ModelArtifact, now = Date.now()): LoadedModel {
  const columns = columnMap(artifact.features)
  return {
    ...identity,
    scorer: createScorer(artifact.model, artifact.preprocessing),
    columns,
    loadedAt: now,
  }
}
