/**
 * In-memory fakes of the API's narrow services (api/services.ts) for the unit route tests:
 * a model registry with stage history, a warehouse reader answering from arrays, a scorer
 * with a fixed probability, a publisher that records what it sent and readiness checks that
 * answer as told.
 */

import type { RunRow, WarehouseReader } from '../../api/queries.ts'
import type { ProductionScorer } from '../../api/scoring.ts'
import type { ApiServices, PublishBatch } from '../../api/services.ts'
import type { Config } from '../../lib/config/index.ts'
import { RiskStreamError } from '../../lib/errors/index.ts'
import { FEATURES } from '../../lib/features/index.ts'
import { topicNames } from '../../lib/kafka/index.ts'
import type { Scorer } from '../../lib/model/types.ts'
import {
  type ModelRegistry,
  type ModelVersionEvent,
  type ModelVersionRow,
  rollbackTarget,
  type StageEventRow,
} from '../../lib/registry/index.ts'
import type { LoadedModel } from '../../lib/serving/index.ts'

export function versionRow(
  modelName: string,
  version: number,
  over: Partial<ModelVersionRow> = {},
): ModelVersionRow {
  return {
    modelName,
    version,
    stage: 'candidate',
    family: 'logistic',
    threshold: 0.5,
    artifactSha256: 'a'.repeat(64),
    artifactRef: `clickhouse:model_artifacts/${modelName}/${version}`,
    metrics: { roc_auc: 0.8 },
    dataset: { sha256: 'f'.repeat(64) },
    hyperparameters: {},
    parentVersion: null,
    runId: `run-${version}`,
    reason: 'test',
    codeVersion: 'test',
    shadow: false,
    createdAt: 1_000 * version,
    updatedAt: 1_000 * version,
    ...over,
  }
}

/** A registry over arrays: setStage and rollback move stages and append to the history. */
export function fakeRegistry(modelName: string, rows: ModelVersionRow[] = []) {
  const versions = new Map(rows.map((r) => [r.version, { ...r }]))
  const history: StageEventRow[] = []
  let seq = 0
  const record = (
    version: number,
    stage: ModelVersionRow['stage'],
    action: StageEventRow['action'],
    reason: string,
  ) => {
    const row = versions.get(version)
    if (!row) throw new RiskStreamError('MODEL_NOT_FOUND', `${modelName} v${version}`)
    const previous = [...versions.values()].find((v) => v.stage === 'production') ?? null
    if (stage === 'production' && previous && previous.version !== version) previous.stage = 'archived'
    row.stage = stage
    seq += 1
    const eventId = `${modelName}:${version}:${stage}:${seq}`
    history.push({
      eventId,
      modelName,
      version,
      stage,
      previousVersion: previous?.version ?? null,
      action,
      seq,
      reason,
      at: seq,
    })
    return {
      eventId,
      modelName,
      version,
      stage,
      family: row.family,
      threshold: row.threshold,
      artifactSha256: row.artifactSha256,
      artifactRef: row.artifactRef,
      artifact: null,
      metricsJson: '{}',
      parentVersion: row.parentVersion,
      shadow: false,
      reason,
      createdAt: row.createdAt,
      publishedAt: seq,
    } satisfies ModelVersionEvent
  }
  for (const r of rows) if (r.stage === 'production') record(r.version, 'production', 'promote', 'initial')
  const registry: ModelRegistry = {
    register: () => Promise.reject(new Error('not used by the routes')),
    loadArtifact: () => Promise.reject(new Error('the fake scorer needs no artifact')),
    setStage: async (_m, version, stage, reason) => record(version, stage, 'promote', reason),
    rollback: async (_m, reason) => {
      const prod = [...versions.values()].find((v) => v.stage === 'production')
      const target = prod ? rollbackTarget(history, prod.version) : undefined
      if (target === undefined)
        throw new RiskStreamError('MODEL_NOT_FOUND', `${modelName} has no earlier production version`)
      return record(target, 'production', 'rollback', reason)
    },
    listVersions: async () => [...versions.values()].map((v) => ({ ...v })),
    getVersion: async (_m, version) => {
      const v = versions.get(version)
      return v ? { ...v } : null
    },
    production: async () => {
      const v = [...versions.values()].find((x) => x.stage === 'production')
      return v ? { ...v } : null
    },
    history: async () => history.map((e) => ({ ...e })),
  }
  return { registry, history }
}

/** A warehouse with no rows unless `over` gives some; every read is counted by name. */
export function fakeWarehouse(over: Partial<WarehouseReader> = {}) {
  const calls: string[] = []
  const empty: WarehouseReader = {
    performanceSummary: async (_m, from, to) => ({
      total_predictions: 0,
      labelled_predictions: 0,
      label_coverage: null,
      avg_probability: null,
      prediction_distribution: { positive: 0, negative: 0, positive_rate: null, histogram: [] },
      accuracy: null,
      precision: null,
      recall: null,
      f1_score: null,
      roc_auc: null,
      confusion: { tp: 0, fp: 0, tn: 0, fn: 0 },
      period_start: from,
      period_end: to,
    }),
    recentPredictions: async () => [],
    latestDriftVerdicts: async () => [],
    latestPerformanceWindows: async () => [],
    latestEstimateWindows: async () => [],
    recentAlerts: async () => ({ alerts: [], total: 0 }),
    listRuns: async () => ({ runs: [], total: 0 }),
    getRun: async () => null,
    windowSeries: async () => [],
    segmentWindows: async () => [],
    volumeSeries: async () => [],
    storedPredictions: async () => [],
    retrainRequestSeen: async () => false,
  }
  const all = { ...empty, ...over }
  const warehouse = Object.fromEntries(
    Object.entries(all).map(([name, read]) => [
      name,
      (...args: unknown[]) => {
        calls.push(name)
        return (read as (...a: unknown[]) => unknown)(...args)
      },
    ]),
  ) as WarehouseReader
  return { warehouse, calls }
}

/** A finished run with every column a run row has (listings carry params {} and candidates []). */
export function runRow(modelName: string, runId: string, over: Partial<RunRow> = {}): RunRow {
  return {
    run_id: runId,
    model_name: modelName,
    trigger: 'manual',
    trigger_event_id: '',
    status: 'succeeded',
    started_at: 1_000,
    finished_at: 61_000,
    duration_ms: 60_000,
    chosen_family: 'logistic',
    gate_passed: true,
    gate_reasons: [],
    version: 2,
    metrics: { roc_auc: 0.81, folds: [{ roc_auc: 0.8 }] },
    dataset: { rows: 768, sha256: 'f'.repeat(64) },
    params: { k: 5 },
    candidates: [{ family: 'logistic' }],
    error: '',
    ...over,
  }
}

/** A scorer that gives every row `probability`, for the production version of `registry`. */
export function fakeScorer(registry: ModelRegistry, modelName: string, probability = 0.8): ProductionScorer {
  const scorer = {
    tier: 'interpreted',
    scoreOne: () => probability,
    scoreBatch: (_rows: Float64Array, n: number) => new Float64Array(n).fill(probability),
  } as unknown as Scorer
  let version = 0
  return {
    async get(): Promise<LoadedModel> {
      const prod = await registry.production(modelName)
      if (!prod) throw new RiskStreamError('MODEL_NOT_FOUND', `${modelName} has no production version`)
      version = prod.version
      return {
        modelName,
        version: prod.version,
        family: prod.family,
        threshold: prod.threshold,
        scorer,
        columns: Int32Array.from(FEATURES.keys()),
        eventId: null,
        loadedAt: 0,
      }
    },
    invalidate() {},
    currentVersion: () => version,
  }
}

/** Every publish, in order; `fail` makes the next ones throw (a broker outage). */
export function fakePublisher() {
  const sent: PublishBatch[] = []
  const state = { fail: false }
  return {
    publisher: {
      async publish(batches: PublishBatch[]) {
        if (state.fail) throw new Error('broker unavailable')
        sent.push(...batches)
      },
    },
    sent,
    state,
  }
}

export function fakeServices(config: Readonly<Config>, over: Partial<ApiServices> = {}): ApiServices {
  const modelName = config.model.name
  const registry = over.registry ?? fakeRegistry(modelName).registry
  return {
    config,
    topics: topicNames(config.topics.prefix),
    registry,
    warehouse: fakeWarehouse().warehouse,
    scorer: fakeScorer(registry, modelName),
    publisher: fakePublisher().publisher,
    ready: { kafka: async () => {}, schemaRegistry: async () => {}, clickhouse: async () => {} },
    ...over,
  }
}
