/**
 * Fixtures for the API tests, written through the same ingestion code the services run:
 * raw predictions/outcomes with the monitors' row mappers and insert functions, window rows and
 * drift events with the monitors' store functions, training runs with the trainer's tracking,
 * model versions with the real registry (register → promote → rollback gives a timeline).
 */

import { migrate } from '../../lib/clickhouse/index.ts'
import { FEATURES } from '../../lib/features/index.ts'
import { ensureTopics } from '../../lib/kafka/index.ts'
import { createRegistry, type ModelRegistry } from '../../lib/registry/index.ts'
import { createDeps, type Deps } from '../../lib/runtime/index.ts'
import { rocAuc } from '../../lib/stats/index.ts'
import {
  type DriftEventRecord,
  driftEventId,
  type WindowRow,
} from '../../processors/monitors/engine/types.ts'
import { insertOutcomes, insertPredictions } from '../../processors/monitors/sink/insert.ts'
import { insertDriftEvents, insertWindowRows } from '../../processors/monitors/sink/outputs.ts'
import { outcomeRow, predictionRow } from '../../processors/monitors/sink/rows.ts'
import { recordRun } from '../../trainer/tracking/index.ts'
import { testConfig, uniqueId, waitFor } from '../helpers/index.ts'
import { linearArtifact } from '../lib/registry/fixtures.ts'

export const API_KEY = 'test-key-0123456789'
const HOUR = 3_600_000
const MIN = 60_000

export interface Stack {
  deps: Deps
  registry: ModelRegistry
  modelName: string
  /** The registry's clock: null = real time; fixtures set it to spread the version timeline. */
  clock: { at: number | null }
}

export async function openStack(overrides: Record<string, string> = {}): Promise<Stack> {
  const modelName = uniqueId('api-')
  const deps = await createDeps(
    // Reads open and API_KEY an admin key: these tests are about the routes; the closed
    // defaults and the key tiers have their own tests (security.int.test.ts).
    testConfig({
      MODEL_NAME: modelName,
      API_KEYS: `other-key,${API_KEY}`,
      API_ADMIN_KEYS: API_KEY,
      API_READ_OPEN: 'true',
      LOG_LEVEL: 'error',
      ...overrides,
    }),
  )
  const admin = deps.kafka.admin()
  await admin.connect()
  try {
    await ensureTopics(admin, deps.config)
    // A fresh topic can be created before every broker serves it: wait for leaders everywhere.
    const topics = [
      deps.topics.modelVersions,
      deps.topics.requests,
      deps.topics.predictions,
      deps.topics.retrainRequests,
    ]
    await waitFor(
      async () => {
        // ListOffsets goes to each partition's leader, which fails until that broker hosts it.
        for (const t of topics) await admin.fetchTopicOffsets(t)
        return true
      },
      { message: 'topic leaders' },
    )
  } finally {
    await admin.disconnect()
  }
  await migrate(deps.clickhouse)
  const clock: Stack['clock'] = { at: null }
  return { deps, registry: createRegistry({ ...deps, now: () => clock.at ?? Date.now() }), modelName, clock }
}

/** v1 production (6 h ago) → v2 promoted (4 h) → rolled back to v1 (2 h) → v3 candidate (1 h). */
export async function registerVersions(s: Stack, now = Date.now()): Promise<void> {
  s.clock.at = now - 6 * HOUR
  await s.registry.register(linearArtifact(s.modelName), {
    stage: 'production',
    runId: 'run-1',
    reason: 'initial',
  })
  s.clock.at = now - 5 * HOUR
  await s.registry.register(linearArtifact(s.modelName, { intercept: -0.5 }), {
    stage: 'candidate',
    runId: 'run-2',
    reason: 'retrained',
  })
  s.clock.at = now - 4 * HOUR
  await s.registry.setStage(s.modelName, 2, 'production', 'better ROC-AUC')
  s.clock.at = now - 2 * HOUR
  await s.registry.rollback(s.modelName, 'accuracy regression')
  s.clock.at = now - HOUR
  await s.registry.register(linearArtifact(s.modelName, { intercept: -2 }), {
    stage: 'candidate',
    runId: 'run-3',
    reason: 'challenger',
  })
  s.clock.at = null
}

export interface PredictionFixture {
  total: number
  labelled: number
  positives: number
  tp: number
  fp: number
  tn: number
  fn: number
  rocAuc: number
  avgProbability: number
  /** Newest first: request ids as the recent-predictions route must list them. */
  newestIds: string[]
}

/** `n` predictions spread over the last 6 h (one outside the 1-day period), two thirds labelled. */
export async function writePredictions(s: Stack, now: number, n = 120): Promise<PredictionFixture> {
  const preds = []
  const outcomes = []
  const ys: number[] = []
  const ps: number[] = []
  const f: PredictionFixture = {
    total: 0,
    labelled: 0,
    positives: 0,
    tp: 0,
    fp: 0,
    tn: 0,
    fn: 0,
    rocAuc: 0,
    avgProbability: 0,
    newestIds: [],
  }
  let sumP = 0
  for (let i = 0; i < n; i++) {
    const probability = ((i * 37) % 100) / 100 + 0.005
    const label = probability >= 0.5 ? 1 : 0
    const t = now - 6 * HOUR + i * 3 * MIN
    const requestId = `${s.modelName}-r${String(i).padStart(4, '0')}`
    const features = Object.fromEntries(
      FEATURES.map((name, j) => [name, j === 1 ? 90 + i : j + 1]),
    ) as Record<(typeof FEATURES)[number], number>
    preds.push(
      predictionRow(
        {
          requestId,
          patientId: `p-${i % 40}`,
          modelName: s.modelName,
          modelVersion: 1,
          probability,
          label,
          threshold: 0.5,
          shadow: false,
          eventTime: t,
          scoredAt: t + 50,
          ...features,
        },
        { partition: 0, offset: String(i) },
      ),
    )
    f.total++
    sumP += probability
    if (label === 1) f.positives++
    if (i % 3 !== 0) {
      // Mostly right, with a deterministic share of mistakes in both directions.
      const outcome = i % 7 === 0 ? 1 - label : label
      outcomes.push(
        outcomeRow(
          { requestId, outcome, labelledAt: t + 10 * MIN, source: 'ehr' },
          { partition: 0, offset: String(i) },
        ),
      )
      f.labelled++
      ys.push(outcome)
      ps.push(probability)
      if (label === 1 && outcome === 1) f.tp++
      else if (label === 1) f.fp++
      else if (outcome === 0) f.tn++
      else f.fn++
    }
  }
  f.avgProbability = sumP / n
  f.rocAuc = rocAuc(ys, ps)
  f.newestIds = preds.map((p) => p.request_id).reverse()
  // One prediction 400 days old: outside every period ≤ 365 days, and in another month partition.
  const old = now - 400 * 24 * HOUR
  preds.push(
    predictionRow(
      {
        requestId: `${s.modelName}-old`,
        patientId: 'p-old',
        modelName: s.modelName,
        modelVersion: 1,
        probability: 0.9,
        label: 1,
        threshold: 0.5,
        eventTime: old,
        scoredAt: old,
        ...Object.fromEntries(FEATURES.map((x) => [x, null])),
      } as never,
      { partition: 0, offset: '9999' },
    ),
  )
  await insertPredictions(s.deps.clickhouse, preds, `api-fixture:${s.modelName}:p`)
  await insertOutcomes(s.deps.clickhouse, outcomes, `api-fixture:${s.modelName}:o`)
  return f
}

/** 12 PSI windows per feature (glucose drifting to 0.31), 12 performance windows, 3 drift events. */
export async function writeMonitoring(
  s: Stack,
  now: number,
): Promise<{ latestGlucosePsi: number; latestAccuracy: number; expectedAccuracy: number }> {
  const rows: WindowRow[] = []
  const base = { modelName: s.modelName, windowType: 'sliding' as const, windowWidth: 100 }
  let latestGlucosePsi = 0
  let latestAccuracy = 0
  const expectedAccuracy = 0.77
  for (let w = 0; w < 12; w++) {
    const end = now - (11 - w) * 25 * MIN
    const win = {
      ...base,
      modelVersion: 1,
      windowId: 100 + w * 10,
      windowStart: end - 30 * MIN,
      windowEnd: end,
      windowSize: 100,
    }
    FEATURES.forEach((feature, j) => {
      const psi = feature === 'glucose' ? 0.02 + w * 0.026 : 0.01 + 0.004 * j + 0.002 * (w % 3)
      if (feature === 'glucose') latestGlucosePsi = psi
      rows.push({ ...win, monitor: 'drift', subject: feature, metric: 'psi', value: psi })
      rows.push({ ...win, monitor: 'drift', subject: feature, metric: 'ks', value: psi / 2 })
      rows.push({ ...win, monitor: 'drift', subject: feature, metric: 'wasserstein', value: psi * 3 })
      // The monitors' verdict rows: calibrated threshold and detector state (2 = alert).
      rows.push({ ...win, monitor: 'drift', subject: feature, metric: 'psi_threshold', value: 0.12 })
      rows.push({
        ...win,
        monitor: 'drift',
        subject: feature,
        metric: 'psi_state',
        value: psi >= 0.12 ? 2 : 0,
      })
    })
    rows.push({ ...win, monitor: 'drift', subject: '__probability', metric: 'psi', value: 0.05 })
    rows.push({ ...win, monitor: 'drift', subject: '__probability', metric: 'psi_threshold', value: 0.12 })
    rows.push({ ...win, monitor: 'drift', subject: '__probability', metric: 'psi_state', value: 0 })
    const accuracy = 0.8 - w * 0.012
    latestAccuracy = accuracy
    const perf = { ...win, windowWidth: 200, windowSize: 200 }
    for (const [metric, value] of Object.entries({
      accuracy,
      f1: accuracy - 0.1,
      roc_auc: accuracy + 0.05,
      expected_accuracy: expectedAccuracy,
      accuracy_drop: expectedAccuracy - accuracy,
      labels: 200,
      concept_state: expectedAccuracy - accuracy >= 0.1 ? 2 : 0,
    })) {
      rows.push({ ...perf, monitor: 'performance', subject: '', metric, value })
    }
    // Performance estimated from the served probabilities (no labels), per prediction window.
    rows.push({
      ...win,
      monitor: 'estimate',
      subject: '',
      metric: 'estimated_accuracy',
      value: 0.76 - w * 0.001,
    })
    rows.push({ ...win, monitor: 'estimate', subject: '', metric: 'estimated_f1', value: 0.6 })
    rows.push({
      ...win,
      monitor: 'estimate',
      subject: '',
      metric: 'estimated_roc_auc',
      value: 0.82 - w * 0.001,
    })
  }
  // Segments (lib/segments): two source systems, one of them drifting on glucose, and an age band.
  for (let w = 0; w < 12; w++) {
    const end = now - (11 - w) * 25 * MIN
    const win = {
      ...base,
      modelVersion: 1,
      windowId: 20 + w * 2,
      windowStart: end - 30 * MIN,
      windowEnd: end,
      windowSize: 100,
    }
    for (const [segment, psi, state] of [
      ['source=clinic-a', 0.02, 0],
      ['source=clinic-b', 0.05 + w * 0.03, w >= 10 ? 2 : 0],
    ] as const) {
      for (const feature of FEATURES) {
        const v = feature === 'glucose' ? psi : 0.01
        rows.push({ ...win, segment, monitor: 'drift', subject: feature, metric: 'psi', value: v })
        rows.push({
          ...win,
          segment,
          monitor: 'drift',
          subject: feature,
          metric: 'psi_threshold',
          value: 0.2,
        })
        rows.push({
          ...win,
          segment,
          monitor: 'drift',
          subject: feature,
          metric: 'psi_state',
          value: feature === 'glucose' ? state : 0,
        })
      }
    }
    for (const segment of ['source=clinic-a', 'source=clinic-b', 'age=30-39']) {
      rows.push({
        ...win,
        segment,
        monitor: 'estimate',
        subject: '',
        metric: 'estimated_accuracy',
        value: 0.74,
      })
      rows.push({ ...win, segment, monitor: 'estimate', subject: '', metric: 'estimated_f1', value: 0.61 })
      rows.push({
        ...win,
        segment,
        monitor: 'estimate',
        subject: '',
        metric: 'estimated_roc_auc',
        value: 0.8 + w * 0.001,
      })
      rows.push({ ...win, segment, monitor: 'estimate', subject: '', metric: 'estimate_state', value: 0 })
    }
  }
  await insertWindowRows(s.deps.clickhouse, rows)
  const event = (
    kind: DriftEventRecord['kind'],
    severity: DriftEventRecord['severity'],
    minutesAgo: number,
    features: string[],
  ): DriftEventRecord => {
    const end = now - minutesAgo * MIN
    return {
      eventId: driftEventId(s.modelName, 1, kind, 'sliding', 100, end),
      kind,
      severity,
      modelName: s.modelName,
      modelVersion: 1,
      windowType: 'sliding',
      windowStart: end - 30 * MIN,
      windowEnd: end,
      windowSize: 100,
      features,
      scores: Object.fromEntries(features.map((x) => [x, 0.3])),
      evidenceJson: '{}',
      detectedAt: end,
    }
  }
  await insertDriftEvents(s.deps.clickhouse, [
    event('data_drift', 'moderate', 120, ['glucose']),
    event('data_drift', 'significant', 30, ['glucose']),
    // A segment's alarm (lib/segments): its own kind, never the population's verdict.
    event('segment_data_drift', 'significant', 60, ['glucose']),
    event('concept_drift', 'significant', 10, []),
  ])
  return { latestGlucosePsi, latestAccuracy, expectedAccuracy }
}

export async function writeRuns(s: Stack, now: number): Promise<string[]> {
  const ids = [uniqueId('run-'), uniqueId('run-')]
  const common = {
    modelName: s.modelName,
    triggerEventId: '',
    params: { k: 5 },
    candidates: [{ family: 'xgboost' }],
    dataset: { rows: 768 },
    error: '',
  }
  await recordRun(s.deps.clickhouse, {
    ...common,
    runId: ids[0]!,
    trigger: 'manual',
    status: 'succeeded',
    startedAt: now - 5 * HOUR,
    finishedAt: now - 5 * HOUR + 42_000,
    durationMs: 42_000,
    chosenFamily: 'xgboost',
    gatePassed: true,
    gateReasons: [],
    version: 2,
    metrics: { roc_auc: 0.84, f1: 0.68, accuracy: 0.78 },
  })
  await recordRun(s.deps.clickhouse, {
    ...common,
    runId: ids[1]!,
    trigger: 'drift',
    status: 'rejected',
    startedAt: now - HOUR,
    finishedAt: now - HOUR + 30_000,
    durationMs: 30_000,
    chosenFamily: 'random_forest',
    gatePassed: false,
    gateReasons: ['roc_auc 0.79 < 0.80'],
    version: null,
    metrics: { roc_auc: 0.79, f1: 0.63, accuracy: 0.74 },
  })
  return ids
}
