import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadPima } from '../../../lib/data/pima.ts'
import { createRegistry, latestProductionFromTopic, type ModelRegistry } from '../../../lib/registry/index.ts'
import { closeDeps, type Deps } from '../../../lib/runtime/index.ts'
import { formatRunsTable, getRun, listRuns, trainOnce } from '../../../trainer/index.ts'
import { preparedDeps, testConfig, uniqueId } from '../../helpers/index.ts'

// Small, fast runs: one pure-JS family, one trial, 3 folds (the full search is for the CLI).
const QUICK = { families: ['logistic_regression' as const], budget: 1, folds: 3 }

let deps: Deps
let registry: ModelRegistry

beforeAll(async () => {
  deps = await preparedDeps({ MODEL_NAME: uniqueId('m') })
  registry = createRegistry(deps)
})

afterAll(async () => {
  await closeDeps(deps)
})

describe('trainOnce', () => {
  it('trains on the Pima data and registers the initial production version', async () => {
    let report = ''
    const result = await trainOnce(deps, {
      ...QUICK,
      trigger: 'test',
      reason: 'initial model',
      registry,
      report: (r) => (report = r),
    })
    expect(result).toMatchObject({
      version: 1,
      stage: 'production',
      gate: { passed: true, reasons: [] },
      champion: null,
      family: 'logistic_regression',
    })
    // Logistic regression on Pima, 3-fold CV: AUC ≈ 0.83 (published results: 0.82–0.84).
    expect(result.metrics.roc_auc).toBeGreaterThan(0.8)
    expect(result.metrics.roc_auc).toBeLessThan(0.88)
    expect(report).toContain('logistic_regression')

    const model = deps.config.model.name
    expect(await registry.production(model)).toMatchObject({
      version: 1,
      stage: 'production',
      runId: result.runId,
    })
    const fromTopic = await latestProductionFromTopic(
      deps.kafka,
      deps.serde,
      deps.topics.modelVersions,
      model,
    )
    expect(fromTopic).toMatchObject({ version: 1, stage: 'production' })
    const artifact = await registry.loadArtifact(fromTopic!)
    expect(artifact.dataset).toMatchObject({ rows: 768, positives: 268 })

    const run = await getRun(deps.clickhouse, result.runId)
    expect(run).toMatchObject({
      status: 'succeeded',
      trigger: 'test',
      chosenFamily: 'logistic_regression',
      version: 1,
      gatePassed: true,
    })
    expect(run!.finishedAt).toBeGreaterThanOrEqual(run!.startedAt)
    expect((run!.candidates as { family: string }[]).map((c) => c.family)).toEqual(['logistic_regression'])
    const table = formatRunsTable(await listRuns(deps.clickhouse, { modelName: model }))
    expect(table).toContain(result.runId)
    expect(table).toContain('succeeded')
  })

  it('applies the real gate: an unreachable ROC-AUC floor registers a rejected version and keeps production', async () => {
    const strict = {
      ...deps,
      config: testConfig({
        TOPIC_PREFIX: deps.config.topics.prefix,
        MODEL_NAME: deps.config.model.name,
        MIN_MODEL_ROC_AUC: '0.99',
      }),
    }
    const before = await registry.production(deps.config.model.name)
    expect(before).not.toBeNull()
    const result = await trainOnce(strict, { ...QUICK, trigger: 'test', reason: 'strict gate', registry })
    expect(result.stage).toBe('rejected')
    expect(result.gate.passed).toBe(false)
    expect(result.gate.reasons.some((r) => r.startsWith('roc_auc'))).toBe(true)
    expect(result.champion).toMatchObject({ version: before!.version, basis: 'registered_cv' })

    const model = deps.config.model.name
    expect(await registry.getVersion(model, result.version)).toMatchObject({ stage: 'rejected' })
    expect((await registry.production(model))?.version).toBe(before!.version)
    expect(
      await latestProductionFromTopic(deps.kafka, deps.serde, deps.topics.modelVersions, model),
    ).toMatchObject({ version: before!.version })
    expect(await getRun(deps.clickhouse, result.runId)).toMatchObject({
      status: 'rejected',
      gatePassed: false,
      version: result.version,
    })
  })

  it('compares with the champion on streamed rows it never saw, once there are enough', async () => {
    // 120 labelled, scored requests (feature vectors borrowed from the Pima rows), newer than
    // anything the Pima-only champion was trained on.
    const pima = loadPima(deps.config.data.pimaCsvPath)
    const t0 = Date.now() - 3_600_000
    const ts = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '')
    const n = 120
    const reqs = Array.from({ length: n }, () => uniqueId('req-'))
    await deps.clickhouse.insert({
      table: 'predictions',
      format: 'JSONEachRow',
      values: reqs.map((id, i) => {
        const v = pima.rows[i]!
        return {
          request_id: id,
          patient_id: 'p',
          model_name: deps.config.model.name,
          model_version: 1,
          probability: 0.5,
          label: 0,
          threshold: 0.5,
          event_time: ts(t0 + i * 1000),
          scored_at: ts(t0 + i * 1000),
          pregnancies: v.pregnancies,
          glucose: v.glucose,
          blood_pressure: v.bloodPressure,
          skin_thickness: v.skinThickness,
          insulin: v.insulin,
          bmi: v.bmi,
          diabetes_pedigree_function: v.diabetesPedigreeFunction,
          age: v.age,
          kafka_partition: i % 3,
          kafka_offset: i,
        }
      }),
    })
    await deps.clickhouse.insert({
      table: 'outcomes',
      format: 'JSONEachRow',
      values: reqs.map((id, i) => ({
        request_id: id,
        outcome: pima.labels[i]!,
        labelled_at: ts(t0 + i * 1000 + 500),
        source: 'test',
        kafka_partition: i % 3,
        kafka_offset: i,
      })),
    })
    const result = await trainOnce(deps, { ...QUICK, trigger: 'test', reason: 'fresh data', registry })
    expect(result.champion).toMatchObject({ basis: 'fresh_rows', rows: n })
    expect(result.champion!.champion.roc_auc).toBeGreaterThan(0.5)
    const artifact = await registry.loadArtifact({
      ...(await registry.getVersion(deps.config.model.name, result.version))!,
      artifact: null,
    })
    expect(artifact.dataset).toMatchObject({
      rows: 768 + n,
      timeRange: { from: t0, to: t0 + (n - 1) * 1000 },
    })
    expect(artifact.dataset.offsets).toHaveLength(3)
  })
})
