import type { ModelArtifact, ModelStage } from '../model/types.ts'

/** The record on the compacted model-versions topic (= schemas/ModelVersion.avsc). */
export interface ModelVersionEvent {
  /** Deterministic: `<model>:<version>:<stage>:<sequence>` (sequence = per-model stage-event number). */
  eventId: string
  modelName: string
  version: number
  stage: ModelStage
  family: string
  threshold: number
  artifactSha256: string
  /** Where the artifact is stored: `clickhouse:model_artifacts/<name>/<version>`. */
  artifactRef: string
  /** The encoded artifact when it is ≤ INLINE_ARTIFACT_MAX_BYTES, else null (load it by reference). */
  artifact: Buffer | null
  metricsJson: string
  parentVersion: number | null
  /** True on a candidate inference should shadow-score (published under `<model>#shadow`). */
  shadow: boolean
  reason: string
  createdAt: number
  publishedAt: number
}

/** One model version as the registry holds it in ClickHouse (model_versions FINAL). */
export interface ModelVersionRow {
  modelName: string
  version: number
  stage: ModelStage
  family: string
  threshold: number
  artifactSha256: string
  artifactRef: string
  metrics: Record<string, unknown>
  dataset: Record<string, unknown>
  hyperparameters: Record<string, unknown>
  parentVersion: number | null
  runId: string
  reason: string
  codeVersion: string
  shadow: boolean
  createdAt: number
  updatedAt: number
}

export type StageAction = 'register' | 'promote' | 'archive' | 'reject' | 'rollback'

/** One stage transition (model_stage_events), oldest first in `history()`. */
export interface StageEventRow {
  eventId: string
  modelName: string
  version: number
  stage: ModelStage
  previousVersion: number | null
  action: StageAction | ''
  seq: number
  reason: string
  at: number
}

export interface RegisterOptions {
  stage: ModelStage
  runId: string
  reason: string
  /** Only meaningful with stage 'candidate': ask inference to shadow-score this version. */
  shadow?: boolean
}

export interface ModelRegistry {
  /**
   * Numbers the artifact (max version in ClickHouse + 1), stores it (model_artifacts,
   * model_versions, model_stage_events) and publishes its ModelVersion event. Registering as
   * 'production' archives the previous production version. Serialized within the process.
   */
  register(
    artifact: ModelArtifact,
    opts: RegisterOptions,
  ): Promise<{ version: number; event: ModelVersionEvent }>
  /** Promote / archive / reject a version; promoting archives the previous production version. */
  setStage(modelName: string, version: number, stage: ModelStage, reason: string): Promise<ModelVersionEvent>
  /** Re-promotes the production version that preceded the current one (MODEL_NOT_FOUND if none). */
  rollback(modelName: string, reason: string): Promise<ModelVersionEvent>
  listVersions(modelName: string): Promise<ModelVersionRow[]>
  getVersion(modelName: string, version: number): Promise<ModelVersionRow | null>
  production(modelName: string): Promise<ModelVersionRow | null>
  /** Stage transitions of a model, oldest first (the timeline). */
  history(modelName: string): Promise<StageEventRow[]>
  /** Inline bytes or ClickHouse; verifies sha256 and format (ARTIFACT_CORRUPT), MODEL_NOT_FOUND if absent. */
  loadArtifact(
    event: Pick<ModelVersionEvent, 'modelName' | 'version' | 'artifact' | 'artifactSha256'>,
  ): Promise<ModelArtifact>
}
