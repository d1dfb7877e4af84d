import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRegistry, latestProductionFromTopic, type ModelRegistry } from '../../../lib/registry/index.ts'
import { closeDeps, type Deps } from '../../../lib/runtime/index.ts'
import { formatRunsTable, getPromotion, getRun, listRuns, trainOnce } from '../../../trainer/index.ts'
import { preparedDeps, testConfig, uniqueId } from '../../helpers/index.ts'
import { insertLabelled } from './labelled.ts'

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
    // Logistic regression (defaults), 3-fold inner CV nested in 5 outer folds.
    expect(result).toMatchObject({
      version: 1,
      stage: 'production',
      champion: null,
      family: 'logistic_regression',
      belowGate: false,
      gate: { passed: true, reasons: [] },
      promotion: { decision: 'initial', test: null, championVersion: null },
      estimate: { kind: 'nested_cv', rows: 768 },
    })
    expect(result.metrics.roc_auc).toBeGreaterThan(0.8)
    expect(result.metrics.roc_auc).toBeLessThan(0.88)
    expect(result.metrics).toEqual(result.estimate.metrics)
    const auc = result.estimate.intervals.roc_auc
    expect(auc.lo).toBeLessThan(result.metrics.roc_auc)
    expect(auc.hi).toBeGreaterThan(result.metrics.roc_auc)
    expect(report).toContain('[95% CI]')
    expect(await getPromotion(deps.clickhouse, result.runId)).toMatchObject({
      decision: 'initial',
      test: '',
      rows: 0,
    })
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

  it('registers an initial model that misses the floors as production, flagged below the gate', async () => {
    const other = {
      ...deps,
      config: testConfig({
        TOPIC_PREFIX: deps.config.topics.prefix,
        MODEL_NAME: uniqueId('below'),
        MIN_MODEL_F1: '0.95',
      }),
    }
    const result = await trainOnce(other, {
      ...QUICK,
      trigger: 'test',
      reason: 'initial, strict floors',
      registry,
    })
    expect(result).toMatchObject({
      stage: 'production',
      belowGate: true,
      gate: { passed: false },
      promotion: { decision: 'initial_below_gate', championVersion: null },
    })
    expect(result.gate.reasons.some((r) => r.startsWith('f1 '))).toBe(true)
    expect(result.gate.reasons).toContain('initial model registered below the gate')
    expect(await registry.production(other.config.model.name)).toMatchObject({ version: result.version })
    expect(await getPromotion(deps.clickhouse, result.runId)).toMatchObject({
      decision: 'initial_below_gate',
    })
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
    // no streamed rows: no fresh out-of-time rows, hence no fair comparison and no promotion
    expect(result.champion).toBeNull()
    expect(result.promotion).toMatchObject({ decision: 'not_promoted', championVersion: before!.version })
    expect(result.gate.reasons.some((r) => r.includes('no fresh out-of-time rows'))).toBe(true)

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

  it('holds out the newest streamed rows, tests the challenger against the champion on them and stores the decision', async () => {
    // 400 labelled, scored requests (feature vectors borrowed from the Pima rows, one patient
    // each), newer than anything the Pima-only champion was trained on.
    const t0 = Date.now() - 3_600_000
    const reqs = await insertLabelled(deps, 400, { t0, stepMs: 1000, labelDelayMs: 500 })
    const champion = await registry.production(deps.config.model.name)
    const result = await trainOnce(deps, { ...QUICK, trigger: 'test', reason: 'fresh data', registry })
    // newest 20 % = 80 rows held out: the estimate and the test are on them only
    expect(result.estimate).toMatchObject({ kind: 'out_of_time', rows: 80 })
    expect(result.champion).toMatchObject({ basis: 'fresh_rows', rows: 80, version: champion!.version })
    expect(result.promotion.test).not.toBeNull()
    expect(result.promotion.test!.name).toBe('delong_roc_auc')
    expect(result.promotion.test!.alpha).toBe(0.05)
    expect(result.promotion.rows).toBe(80)
    expect(result.promotion.requestIds).toEqual(reqs.slice(320))
    expect(result.promotion.timeRange).toEqual({ from: t0 + 320_000, to: t0 + 399_000 })
    const significant = result.promotion.test!.pValue < 0.05 && result.promotion.test!.difference > 0
    expect(result.promotion.decision).toBe(
      significant && result.gate.reasons.length === 0 ? 'promoted' : 'not_promoted',
    )
    expect(result.stage).toBe(result.promotion.decision === 'promoted' ? 'production' : 'rejected')

    const stored = await getPromotion(deps.clickhouse, result.runId)
    expect(stored).toMatchObject({ decision: result.promotion.decision, test: 'delong_roc_auc', rows: 80 })
    expect(stored!.p_value).toBeCloseTo(result.promotion.test!.pValue, 12)
    expect(stored!.request_ids).toEqual(reqs.slice(320))

    // The shipped model was fitted on the 320 earlier streamed rows and the Pima rows, minus
    // the 80 Pima rows whose byte-identical copies are in the holdout (same group: held out whole).
    const artifact = await registry.loadArtifact({
      ...(await registry.getVersion(deps.config.model.name, result.version))!,
      artifact: null,
    })
    expect(artifact.dataset).toMatchObject({
      rows: 768 - 80 + 320,
      timeRange: { from: t0, to: t0 + 319_000 },
    })
  })
})
