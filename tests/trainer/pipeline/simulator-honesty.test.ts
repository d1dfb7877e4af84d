/**
 * A retrain on simulator traffic reports what the traffic will show: the demo's situation
 * (Pima champion, glucose shift, retrain on Pima + the labelled stream) without a broker.
 * The retrain holds out the newest labelled window (out-of-time) and reports its estimate;
 * "live" is the shipped model on the labelled traffic that arrives AFTER the retrain. The
 * estimate must cover live AUC with its 95 % interval and match live accuracy within 0.05.
 * The same traffic without measurement noise, judged by plain stratified CV over the resampled
 * rows (the leaking protocol), is shown to be inflated, so this check is able to fail.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../../lib/config/index.ts'
import { loadPima } from '../../../lib/data/pima.ts'
import { createScorer } from '../../../lib/model/scorer.ts'
import { classificationMetrics } from '../../../lib/stats/metrics.ts'
import { generateEvents, type RequestEvent } from '../../../producers/generator.ts'
import { loadScenario } from '../../../producers/scenario.ts'
import { getLearner } from '../../../trainer/learners/index.ts'
import { closeXGBoostWorker } from '../../../trainer/learners/xgboost.ts'
import { datasetFromRows } from '../../../trainer/pipeline/dataset.ts'
import { trainCandidates } from '../../../trainer/pipeline/train.ts'
import { crossValidate } from '../../../trainer/selection/cross-validate.ts'

const pima = loadPima(loadConfig(process.env).data.pimaCsvPath)
afterAll(() => closeXGBoostWorker())

function stream(patients: 'synthetic' | 'copy'): RequestEvent[] {
  const evs = generateEvents({
    data: pima,
    count: 6000,
    seed: 'honesty',
    runId: 'honesty',
    scenario: loadScenario('glucose-shift'), // +30 mg/dL from event 1500
    labelShare: 0.9,
    startTime: 1_700_000_000_000,
    eventIntervalMs: 100,
    sourceSystem: 'test',
    patients,
  })
  return [...evs].filter((e): e is RequestEvent => e.type === 'request' && e.outcome !== null)
}

describe('validation on simulator traffic is honest', () => {
  it('a retrain reports the AUC and accuracy that the following live traffic shows', {
    timeout: 600_000,
  }, async () => {
    const labelled = stream('synthetic')
    const retrainAt = 3000 // event index of the retrain
    const before = labelled.filter((e) => e.index < retrainAt)
    const after = labelled.filter((e) => e.index >= retrainAt)
    const rows = [...pima.rows, ...before.map((e) => e.request)]
    const labels = [...pima.labels, ...before.map((e) => e.outcome as number)]
    const { data } = datasetFromRows(rows, labels, ['pima', 'stream'])
    // newest 20 % of the streamed rows (they are in time order)
    const h = Math.ceil(0.2 * before.length)
    const holdout = Array.from({ length: h }, (_, i) => data.nRows - h + i)
    const result = await trainCandidates(data, {
      families: ['random_forest', 'logistic_regression'],
      k: 5,
      seed: 42,
      budget: 2,
      primaryMetric: 'roc_auc',
      minAccuracy: 0.75,
      minF1: 0.65,
      holdout,
      bootstrapResamples: 500,
    })
    const live = datasetFromRows(
      after.map((e) => e.request),
      after.map((e) => e.outcome as number),
      ['live'],
    ).data
    const a = result.artifact
    const probs = createScorer(a.model, a.preprocessing).scoreBatch(live.X, live.nRows)
    const liveM = classificationMetrics(live.y, probs, a.threshold)
    const est = result.estimate
    console.log(
      `retrain (out-of-time, ${est.rows} rows): AUC ${est.metrics.roc_auc.toFixed(3)} [${est.intervals.roc_auc.lo.toFixed(3)}, ${est.intervals.roc_auc.hi.toFixed(3)}], ` +
        `accuracy ${est.metrics.accuracy.toFixed(3)} [${est.intervals.accuracy.lo.toFixed(3)}, ${est.intervals.accuracy.hi.toFixed(3)}]; ` +
        `live (${live.nRows} labelled rows): AUC ${liveM.rocAuc.toFixed(3)}, accuracy ${liveM.accuracy.toFixed(3)}`,
    )
    expect(est.kind).toBe('out_of_time')
    expect(est.metrics.roc_auc).toBeLessThan(0.95) // no 0.99s
    expect(liveM.rocAuc).toBeGreaterThanOrEqual(est.intervals.roc_auc.lo)
    expect(liveM.rocAuc).toBeLessThanOrEqual(est.intervals.roc_auc.hi)
    expect(Math.abs(liveM.accuracy - est.metrics.accuracy)).toBeLessThan(0.05)
    expect(liveM.accuracy).toBeGreaterThanOrEqual(est.intervals.accuracy.lo)
    expect(liveM.accuracy).toBeLessThanOrEqual(est.intervals.accuracy.hi)

    // The leaking protocol on byte-identical copies: plain CV over resampled rows is inflated.
    const copies = stream('copy').filter((e) => e.index < retrainAt)
    const leaky = datasetFromRows(
      copies.map((e) => e.request),
      copies.map((e) => e.outcome as number),
      ['copies'],
    ).data
    const rf = getLearner('random_forest')
    const cv = await crossValidate(rf, leaky, rf.defaults, { k: 5, seed: 42 })
    console.log(
      `leaking protocol (stratified CV over byte-identical copies): AUC ${cv.pooled.rocAuc.toFixed(3)}`,
    )
    expect(cv.pooled.rocAuc).toBeGreaterThan(est.intervals.roc_auc.hi)
  })
})
