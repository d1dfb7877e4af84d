/**
 * Monitoring honesty, measured in-process with the monitors' own code (VersionMonitor: binning,
 * sliding windows, PSI, calibrated thresholds, hysteresis), no Kafka and no ClickHouse.
 *
 * False alarms per 10⁶ stationary events, per (window, bins) setting: the population is the Pima
 * data (rows drawn with replacement). Each DEPLOYMENT trains its reference on its own sample of
 * 768 rows drawn from that population (features and the model score, calibrated as the trainer
 * does it, `buildReference(…, { psiNull: true })`), then monitors fresh draws from the same
 * population: nothing drifts, so every data_drift event is a false alarm. A new deployment every
 * `--per-deployment` events makes the reference's own sampling error part of what is measured
 * (a single reference would measure one draw of it). One extra setting uses 384-row references.
 *
 * Detection delay: a fresh deployment (window 1000, 10 bins, the defaults) sees 6,000 stationary
 * events, then every event is shifted (glucose + 0.5 SD of the Pima glucose; BMI × 1.1; the model
 * score follows its inputs). Delay = events after the onset until the first data_drift event
 * naming the shifted feature; median over `--delay-runs` deployments.
 *
 * Performance before labels (CBPE): the monitors' estimated accuracy and ROC-AUC per full sliding
 * window against the realised figures of the same events (see the section below for the label
 * models).
 *
 * Labels at production rates: 2,000 predictions/s with half of them labelled 5 minutes later
 * (share joined, and every other label counted by reason), through the service's pipeline with
 * the label spill to chDB (`labels-spill`, the headline figure) and through the engine alone with
 * everything in memory (`labels`).
 *
 *   npx tsx bench/monitoring.bench.ts [--quick] [--events N] [--sections false-alarms,delay,estimate,labels,labels-spill] [--write]
 *
 * `--write` merges the monitoring.* results into bench/results/latest.json and latest.md,
 * keeping every other result (the runner, `npm run bench -- --only monitoring`, rewrites the
 * whole file instead).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import seedrandom from 'seedrandom'
import { createClickHouse, migrate } from '../lib/clickhouse/index.ts'
import { configWith } from '../lib/config/index.ts'
import { FEATURES, type FeatureVector } from '../lib/features/index.ts'
import { rocAuc } from '../lib/stats/metrics.ts'
import { buildReference } from '../lib/stats/reference.ts'
import type { MonitoredArtifact } from '../processors/monitors/drift/columns.ts'
import { MonitorEngine } from '../processors/monitors/engine/engine.ts'
import type { DriftEventRecord, WindowRow } from '../processors/monitors/engine/types.ts'
import { type DriftSettings, VersionMonitor } from '../processors/monitors/engine/version.ts'
import { AnalyticsPipeline } from '../processors/monitors/pipeline.ts'
import type { OutcomeEvent, PredictionEvent } from '../processors/monitors/sink/rows.ts'
import { glucoseSd, PIMA, pimaArtifact, score } from '../tests/processors/monitors/streams.ts'
import {
  type BenchResult,
  buildResultFile,
  emitResult,
  machineInfo,
  type ResultFile,
  writeResultFiles,
} from './lib/results.ts'

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    events: { type: 'string' },
    'per-deployment': { type: 'string' },
    'delay-runs': { type: 'string' },
    write: { type: 'boolean', default: false },
    sections: { type: 'string', default: 'false-alarms,delay,estimate,labels,labels-spill' },
  },
})
const SECTIONS = new Set(values.sections!.split(',').map((x) => x.trim()))
const quick = values.quick!
const EVENTS = Number(values.events ?? (quick ? 400_000 : 20_000_000))
const PER_DEPLOYMENT = Number(values['per-deployment'] ?? (quick ? 200_000 : 500_000))
const DELAY_RUNS = Number(values['delay-runs'] ?? (quick ? 5 : 40))
const ONSET = 6000
const DELAY_CAP = 50_000
const SPACING_MS = 100
const T0 = Date.UTC(2026, 0, 1)

const base = configWith({}).drift
const rows = PIMA.rows
const probs = rows.map(score)
const template = pimaArtifact()

/** A deployment's artifact: references from its own training sample of `m` population rows. */
function deploymentArtifact(rng: () => number, m: number, bins: number): MonitoredArtifact {
  const idx = Array.from({ length: m }, () => Math.floor(rng() * rows.length))
  const features: MonitoredArtifact['reference']['features'] = {}
  for (const f of FEATURES)
    features[f] = buildReference(
      idx.map((i) => rows[i]![f]),
      bins,
      { psiNull: true },
    )
  return {
    ...template,
    reference: {
      features,
      probability: buildReference(
        idx.map((i) => probs[i]!),
        bins,
        { psiNull: true },
      ),
    },
  }
}

function settings(window: number): DriftSettings {
  // Tumbling windows raise no events; leaving them out only saves time.
  return { ...base, window, timeWindowsMs: [] }
}

interface FalseAlarmResult {
  events: number
  alarms: number
  deployments: number
  deploymentsWithAlarm: number
  subjectsInAlarms: number
  /** Subject-evaluations with PSI at or over the calibrated threshold, and how many were tested. */
  exceedances: number
  tests: number
  alpha: number
  seconds: number
}

function falseAlarms(window: number, bins: number, m: number, seed: string): FalseAlarmResult {
  const rng = seedrandom.alea(seed)
  const drift = settings(window)
  const out: WindowRow[] = []
  const events: DriftEventRecord[] = []
  let alarms = 0
  let subjects = 0
  let withAlarm = 0
  let deployments = 0
  let exceedances = 0
  let tests = 0
  let alpha = 0
  const psi = new Map<string, number>()
  const t0 = performance.now()
  for (let done = 0; done < EVENTS; done += PER_DEPLOYMENT) {
    const artifact = deploymentArtifact(rng, m, bins)
    const mon = new VersionMonitor({ modelName: 'bench', modelVersion: 1, artifact, drift })
    deployments++
    alpha = mon.thresholds.alpha
    let here = 0
    const n = Math.min(PER_DEPLOYMENT, EVENTS - done)
    for (let k = 0; k < n; k++) {
      const i = Math.floor(rng() * rows.length)
      mon.addPrediction(rows[i]!, probs[i]!, T0 + (done + k) * SPACING_MS, out, events)
      if (out.length > 0) {
        // One sliding evaluation: psi rows, then each subject's calibrated psi_threshold row.
        for (const r of out) {
          if (r.windowType !== 'sliding') continue
          if (r.metric === 'psi') psi.set(r.subject, r.value)
          else if (r.metric === 'psi_threshold') {
            tests++
            if ((psi.get(r.subject) ?? 0) >= r.value) exceedances++
          }
        }
        out.length = 0
      }
      if (events.length > 0) {
        for (const e of events) {
          if (e.kind !== 'data_drift') continue
          alarms++
          here++
          subjects += e.features.length
        }
        events.length = 0
      }
    }
    if (here > 0) withAlarm++
  }
  return {
    events: EVENTS,
    alarms,
    deployments,
    deploymentsWithAlarm: withAlarm,
    subjectsInAlarms: subjects,
    exceedances,
    tests,
    alpha,
    seconds: (performance.now() - t0) / 1000,
  }
}

type Shift = { name: string; feature: (typeof FEATURES)[number]; apply: (v: FeatureVector) => FeatureVector }
const SHIFTS: Shift[] = [
  {
    name: 'glucose_plus_0_5_sd',
    feature: 'glucose',
    apply: (v) => ({ ...v, glucose: v.glucose === null ? null : v.glucose + 0.5 * glucoseSd }),
  },
  {
    name: 'bmi_times_1_1',
    feature: 'bmi',
    apply: (v) => ({ ...v, bmi: v.bmi === null ? null : v.bmi * 1.1 }),
  },
]

function detectionDelays(shift: Shift, seed: string): { delays: number[]; censored: number } {
  const rng = seedrandom.alea(seed)
  const shifted = rows.map(shift.apply)
  const shiftedProbs = shifted.map(score)
  const drift = settings(base.window)
  const delays: number[] = []
  let censored = 0
  for (let r = 0; r < DELAY_RUNS; r++) {
    const artifact = deploymentArtifact(rng, 768, base.bins)
    const mon = new VersionMonitor({ modelName: 'bench', modelVersion: 1, artifact, drift })
    const out: WindowRow[] = []
    const events: DriftEventRecord[] = []
    let found = -1
    for (let k = 0; k < ONSET + DELAY_CAP && found < 0; k++) {
      const i = Math.floor(rng() * rows.length)
      const after = k >= ONSET
      mon.addPrediction(
        after ? shifted[i]! : rows[i]!,
        after ? shiftedProbs[i]! : probs[i]!,
        T0 + k * SPACING_MS,
        out,
        events,
      )
      out.length = 0
      for (const e of events)
        if (after && e.kind === 'data_drift' && e.features.includes(shift.feature)) found = k + 1 - ONSET
      events.length = 0
    }
    if (found < 0) censored++
    else delays.push(found)
  }
  return { delays, censored }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? Number.NaN : s[Math.floor((s.length - 1) / 2)]!
}

const load1 = () => Number(loadavg()[0]!.toFixed(2))
const results: BenchResult[] = []
const common = {
  budgetPerMillion: base.falseAlarmsPerMillion,
  evalEvery: base.evalEvery,
  consecutive: base.consecutiveWindows,
  minWindow: base.minWindow,
  population: 'Pima rows drawn with replacement',
}

const SETTINGS: { window: number; bins: number; m: number }[] = [
  { window: 250, bins: 10, m: 768 },
  { window: 250, bins: 30, m: 768 },
  { window: 1000, bins: 10, m: 768 },
  { window: 1000, bins: 30, m: 768 },
  { window: 5000, bins: 10, m: 768 },
  { window: 5000, bins: 30, m: 768 },
  { window: 1000, bins: 10, m: 384 },
]

console.log(
  `monitoring bench (${[...SECTIONS].join(', ')}): ${EVENTS.toLocaleString('en-US')} events per setting, a deployment every ${PER_DEPLOYMENT.toLocaleString('en-US')}, ${DELAY_RUNS} delay runs per shift${quick ? ' (quick)' : ''}`,
)
for (const s of SECTIONS.has('false-alarms') ? SETTINGS : []) {
  const l = load1()
  const r = falseAlarms(s.window, s.bins, s.m, `fa-${s.window}-${s.bins}-${s.m}`)
  const perMillion = (r.alarms / r.events) * 1e6
  const name = `monitoring.false_alarms_per_million.w${s.window}_b${s.bins}${s.m === 768 ? '' : `_ref${s.m}`}`
  console.log(
    `${name}: ${r.alarms} alarms in ${r.events.toLocaleString('en-US')} events = ${perMillion.toFixed(3)} per million (budget ${base.falseAlarmsPerMillion}); ${r.deploymentsWithAlarm}/${r.deployments} deployments alarmed; ${r.exceedances} of ${r.tests.toLocaleString('en-US')} subject-evaluations over their threshold (expected at most ${(r.alpha * r.tests).toFixed(1)}); ${(r.events / r.seconds).toFixed(0)} events/s`,
  )
  const res: BenchResult = {
    name,
    value: perMillion,
    unit: 'alarms/1M events',
    config: {
      ...common,
      load1: l,
      window: s.window,
      bins: s.bins,
      referenceRows: s.m,
      events: r.events,
      alarms: r.alarms,
      deployments: r.deployments,
      deploymentsWithAlarm: r.deploymentsWithAlarm,
      subjectsNamed: r.subjectsInAlarms,
      alphaPerTest: Number(r.alpha.toExponential(3)),
      subjectEvaluations: r.tests,
      overThreshold: r.exceedances,
      expectedOverThreshold: Number((r.alpha * r.tests).toFixed(2)),
      seconds: Number(r.seconds.toFixed(1)),
    },
  }
  emitResult(res)
  results.push(res)
}

for (const shift of SECTIONS.has('delay') ? SHIFTS : []) {
  const l = load1()
  const { delays, censored } = detectionDelays(shift, `delay-${shift.name}`)
  const med = median(delays)
  const sorted = [...delays].sort((a, b) => a - b)
  console.log(
    `monitoring.detection_delay_events.${shift.name}: median ${med} events after onset (runs ${DELAY_RUNS}, min ${sorted[0]}, max ${sorted.at(-1)}, not detected within ${DELAY_CAP}: ${censored})`,
  )
  const res: BenchResult = {
    name: `monitoring.detection_delay_events.${shift.name}`,
    value: Number.isFinite(med) ? med : DELAY_CAP,
    unit: 'events',
    config: {
      ...common,
      load1: l,
      window: base.window,
      bins: base.bins,
      referenceRows: 768,
      runs: DELAY_RUNS,
      onsetAfter: ONSET,
      statistic: 'median',
      min: sorted[0] ?? null,
      p90: sorted[Math.min(sorted.length - 1, Math.ceil(0.9 * sorted.length) - 1)] ?? null,
      max: sorted.at(-1) ?? null,
      censoredAt: DELAY_CAP,
      censored,
    },
  }
  emitResult(res)
  results.push(res)
}

// ── performance estimated before labels (CBPE) ─────────────────────────────────────────
// Labels drawn as y ~ Bernoulli(score(x)) make the served probabilities calibrated by
// construction: the case CBPE is meant for. Covariate shift (glucose + 0.5 SD) keeps P(y | x), so
// the estimate must follow it; concept drift (30 % of labels flipped) changes P(y | x), which no
// label-free estimate can see: it is reported apart. `pima_labels` uses the real Pima outcomes
// with the streams' fixed, untrained logistic score, i.e. probabilities that are NOT calibrated.
type LabelMode = 'bernoulli' | 'pima'
const ESTIMATE_EVENTS = quick ? 100_000 : 2_000_000
const ESTIMATE_CASES: { name: string; shift: boolean; flip: number; labels: LabelMode }[] = [
  { name: 'monitoring.estimated_accuracy_mae', shift: false, flip: 0, labels: 'bernoulli' },
  { name: 'monitoring.estimated_accuracy_mae.covariate_shift', shift: true, flip: 0, labels: 'bernoulli' },
  { name: 'monitoring.estimated_accuracy_mae.concept_drift', shift: false, flip: 0.3, labels: 'bernoulli' },
  { name: 'monitoring.estimated_accuracy_mae.pima_labels', shift: false, flip: 0, labels: 'pima' },
]

interface EstimateError {
  mae: number
  windows: number
  bias: number
  /** The same for the estimated ROC-AUC against the realised ROC-AUC of the window's events. */
  auc: { mae: number; bias: number; windows: number }
}

function estimateError(c: (typeof ESTIMATE_CASES)[number]): EstimateError {
  const rng = seedrandom.alea(`estimate-${c.name}`)
  const shifted = rows.map(SHIFTS[0]!.apply)
  const shiftedProbs = shifted.map(score)
  const drift = settings(base.window)
  const artifact = deploymentArtifact(rng, 768, base.bins)
  const mon = new VersionMonitor({ modelName: 'bench', modelVersion: 1, artifact, drift })
  const t = artifact.threshold
  const size = base.window
  const correct = new Uint8Array(size)
  const ys = new Uint8Array(size)
  const ps = new Float64Array(size)
  let filled = 0
  let head = 0
  let right = 0
  const out: WindowRow[] = []
  const events: DriftEventRecord[] = []
  let abs = 0
  let signed = 0
  let windows = 0
  let aucAbs = 0
  let aucSigned = 0
  let aucWindows = 0
  for (let k = 0; k < ESTIMATE_EVENTS; k++) {
    const i = Math.floor(rng() * rows.length)
    const p = c.shift ? shiftedProbs[i]! : probs[i]!
    let y = c.labels === 'pima' ? PIMA.labels[i]! : rng() < p ? 1 : 0
    if (c.flip > 0 && rng() < c.flip) y = 1 - y
    const ok = ((p >= t ? 1 : 0) === y ? 1 : 0) as number
    if (filled === size) right -= correct[head]!
    else filled++
    correct[head] = ok
    ys[head] = y
    ps[head] = p
    right += ok
    head = head + 1 === size ? 0 : head + 1
    mon.addPrediction(c.shift ? shifted[i]! : rows[i]!, p, T0 + k * SPACING_MS, out, events)
    events.length = 0
    for (const r of out) {
      if (r.monitor !== 'estimate' || r.windowSize < size) continue
      if (r.metric === 'estimated_accuracy') {
        const realised = right / filled
        abs += Math.abs(r.value - realised)
        signed += r.value - realised
        windows++
      } else if (r.metric === 'estimated_roc_auc') {
        // Order does not matter to ROC-AUC, so the ring is passed as it is.
        const realised = rocAuc(ys, ps)
        if (!Number.isFinite(realised)) continue
        aucAbs += Math.abs(r.value - realised)
        aucSigned += r.value - realised
        aucWindows++
      }
    }
    out.length = 0
  }
  return {
    mae: abs / windows,
    windows,
    bias: signed / windows,
    auc: { mae: aucAbs / aucWindows, bias: aucSigned / aucWindows, windows: aucWindows },
  }
}

for (const c of SECTIONS.has('estimate') ? ESTIMATE_CASES : []) {
  const l = load1()
  const r = estimateError(c)
  console.log(
    `${c.name}: mean |estimated − realised accuracy| = ${r.mae.toFixed(4)} over ${r.windows} full windows of ${base.window} (mean signed error ${r.bias.toFixed(4)})`,
  )
  const res: BenchResult = {
    name: c.name,
    value: r.mae,
    unit: 'accuracy',
    config: {
      ...common,
      load1: l,
      window: base.window,
      events: ESTIMATE_EVENTS,
      windows: r.windows,
      meanSignedError: Number(r.bias.toFixed(4)),
      labels:
        c.labels === 'pima'
          ? 'Pima outcomes, fixed untrained score (not calibrated)'
          : 'y ~ Bernoulli(score): calibrated',
      shift: c.shift ? 'glucose + 0.5 SD (covariate shift only)' : 'none',
      labelFlips: c.flip,
      method: 'CBPE: expected confusion from served probabilities at the artifact threshold',
    },
  }
  emitResult(res)
  results.push(res)
  const aucName = c.name.replace('estimated_accuracy_mae', 'estimated_roc_auc_mae')
  console.log(
    `${aucName}: mean |estimated − realised ROC-AUC| = ${r.auc.mae.toFixed(4)} over ${r.auc.windows} full windows of ${base.window} (mean signed error ${r.auc.bias.toFixed(4)})`,
  )
  const auc: BenchResult = {
    name: aucName,
    value: r.auc.mae,
    unit: 'roc_auc',
    config: {
      ...res.config,
      windows: r.auc.windows,
      meanSignedError: Number(r.auc.bias.toFixed(4)),
      method:
        'CBPE: expected concordant (positive, negative) pairs over expected pairs, from the served probabilities (lib/stats/cbpe.ts)',
    },
  }
  emitResult(auc)
  results.push(auc)
}

// ── labels joined at production rates ──────────────────────────────────────────────────
// 2,000 predictions/s of event time; half of them get their outcome exactly 5 minutes later
// (outcomes are merged into the stream at their own time). Everything not joined is counted by
// reason in the join's stats; the share joined is what the performance monitors get to see.
function labelJoinShare(rate: number, delayS: number, durationS: number) {
  const rng = seedrandom.alea('labels')
  const engine = new MonitorEngine({
    modelName: 'bench',
    drift: settings(base.window),
    artifactFor: () => template,
  })
  const stepMs = 1000 / rate
  const n = rate * durationS
  const queue: { id: string; at: number; outcome: number }[] = []
  let qHead = 0
  let labels = 0
  let peakPending = 0
  global.gc?.()
  const heap0 = process.memoryUsage().heapUsed
  let heapPeak = heap0
  const t0 = performance.now()
  const sendOutcomesUpTo = (t: number) => {
    while (qHead < queue.length && queue[qHead]!.at <= t) {
      const q = queue[qHead++]!
      engine.onOutcome({ requestId: q.id, outcome: q.outcome, labelledAt: q.at, source: 'bench' })
      labels++
    }
    if (qHead > 100_000) {
      queue.splice(0, qHead)
      qHead = 0
    }
  }
  for (let k = 0; k < n; k++) {
    const t = T0 + Math.floor(k * stepMs)
    sendOutcomesUpTo(t)
    const i = Math.floor(rng() * rows.length)
    const p = probs[i]!
    const id = `q${k}`
    engine.onPrediction(benchPrediction(id, i, p, t, rows[i]!))
    engine.takeOutputs()
    if (rng() < 0.5) queue.push({ id, at: t + delayS * 1000, outcome: PIMA.labels[i]! })
    if (k % 100_000 === 0) {
      peakPending = Math.max(peakPending, engine.join.predictions.size)
      heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed)
    }
  }
  sendOutcomesUpTo(Number.POSITIVE_INFINITY)
  engine.takeOutputs()
  return {
    predictions: n,
    labels,
    stats: { ...engine.join.stats },
    labelsWithoutMonitor: engine.counters.labelsWithoutMonitor ?? 0,
    peakPending,
    heapGrowthMiB: (heapPeak - heap0) / 2 ** 20,
    capacity: base.labelJoinMaxPending,
    seconds: (performance.now() - t0) / 1000,
  }
}

if (SECTIONS.has('labels')) {
  const l = load1()
  const r = labelJoinShare(2000, 300, quick ? 600 : 1800)
  const share = r.stats.joined / r.labels
  console.log(
    `monitoring.labels_joined_share_at_2000rps.engine_in_memory: ${r.stats.joined} of ${r.labels} labels joined (${(100 * share).toFixed(2)} %); expired ${r.stats.expiredPredictions}/${r.stats.expiredOutcomes}, evicted ${r.stats.evictedPredictions}/${r.stats.evictedOutcomes} (predictions/outcomes), peak pending ${r.peakPending} of ${r.capacity}, heap growth ≈ ${r.heapGrowthMiB.toFixed(0)} MiB; ${(r.predictions / r.seconds).toFixed(0)} predictions/s`,
  )
  const res: BenchResult = {
    name: 'monitoring.labels_joined_share_at_2000rps.engine_in_memory',
    value: share,
    unit: 'share',
    config: {
      load1: l,
      rate: 2000,
      labelDelayS: 300,
      labelledShare: 0.5,
      eventTimeS: r.predictions / 2000,
      predictions: r.predictions,
      labels: r.labels,
      joined: r.stats.joined,
      expiredPredictions: r.stats.expiredPredictions,
      evictedPredictions: r.stats.evictedPredictions,
      expiredOutcomes: r.stats.expiredOutcomes,
      evictedOutcomes: r.stats.evictedOutcomes,
      labelsWithoutMonitor: r.labelsWithoutMonitor,
      capacity: r.capacity,
      peakPendingPredictions: r.peakPending,
      heapGrowthMiB: Number(r.heapGrowthMiB.toFixed(0)),
      path: 'MonitorEngine in-process (join + windows), no Kafka, no ClickHouse',
    },
  }
  emitResult(res)
  results.push(res)
}

// ── labels joined at production rates, through the service's pipeline with the spill ───────
// The same traffic through the monitor service's own analytics path (pipeline.ts: raw inserts,
// window rows, checkpoints, embedded chDB) with the label join's memory budget at 200,000
// predictions (a fifth of what 5 minutes at 2,000/s keep in flight): the oldest go to
// ClickHouse (performance/spill.ts) and come back when their label arrives. One Kafka batch per
// topic per second of event time, as a consumer at that rate would see them.
async function labelJoinSpillShare(rate: number, delayS: number, durationS: number, budget: number) {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-label-spill-'))
  const config = configWith({ CLICKHOUSE_PATH: dir, LOG_LEVEL: 'warn' })
  const ch = createClickHouse(config)
  await migrate(ch)
  const engine = new MonitorEngine({
    modelName: 'bench',
    drift: settings(base.window),
    artifactFor: () => template,
    joinMaxSize: budget,
  })
  const topics = { predictions: 'bench.predictions', outcomes: 'bench.outcomes' }
  const pipeline = new AnalyticsPipeline({
    client: ch,
    engine,
    groupId: 'bench-labels',
    topics,
    modelName: 'bench',
    ensureArtifacts: async () => {},
    publish: async () => {},
    labelSpill: { budget, ttlMs: config.drift.labelJoinTtlMs },
  })
  const rng = seedrandom.alea('labels')
  const queue: OutcomeEvent[] = []
  let qHead = 0
  let labels = 0
  let peakMemory = 0
  const offsets = { predictions: 0, outcomes: 0 }
  const records = <T>(topic: 'predictions' | 'outcomes', values: T[]) =>
    values.map((value) => ({ value, topic: topics[topic], partition: 0, offset: String(offsets[topic]++) }))
  const t0 = performance.now()
  const sendOutcomesUpTo = async (t: number) => {
    const due: OutcomeEvent[] = []
    while (qHead < queue.length && (queue[qHead]!.labelledAt as number) <= t) due.push(queue[qHead++]!)
    if (qHead > 100_000) {
      queue.splice(0, qHead)
      qHead = 0
    }
    labels += due.length
    if (due.length > 0) await pipeline.handle(records('outcomes', due), false)
  }
  for (let s = 0; s < durationS; s++) {
    const preds: PredictionEvent[] = []
    for (let j = 0; j < rate; j++) {
      const k = s * rate + j
      const t = T0 + Math.floor((k * 1000) / rate)
      const i = Math.floor(rng() * rows.length)
      const p = probs[i]!
      const id = `q${k}`
      preds.push(benchPrediction(id, i, p, t, rows[i]!))
      if (rng() < 0.5)
        queue.push({
          requestId: id,
          outcome: PIMA.labels[i]!,
          labelledAt: t + delayS * 1000,
          source: 'bench',
        })
    }
    await pipeline.handle(records('predictions', preds), false)
    await sendOutcomesUpTo(T0 + (s + 1) * 1000 - 1)
    peakMemory = Math.max(peakMemory, engine.join.predictions.size)
    if ((s + 1) % 60 === 0)
      console.error(
        `  labels-spill: ${s + 1} s of event time, ${engine.join.stats.joined} joined, ${pipeline.spill!.pending} spilled pending, ${((performance.now() - t0) / 1000).toFixed(0)} s`,
      )
  }
  // The last labels, still one batch per second of event time.
  for (let s = durationS; qHead < queue.length; s++) await sendOutcomesUpTo(T0 + (s + 1) * 1000 - 1)
  await pipeline.checkpoint()
  const seconds = (performance.now() - t0) / 1000
  const result = {
    predictions: rate * durationS,
    labels,
    stats: { ...engine.join.stats },
    labelsWithoutMonitor: engine.counters.labelsWithoutMonitor ?? 0,
    spilled: pipeline.spill!.spilledTotal,
    pendingInClickHouse: pipeline.spill!.pending,
    pendingInMemory: engine.join.predictions.size,
    peakMemory,
    seconds,
  }
  await ch.close()
  rmSync(dir, { recursive: true, force: true })
  return result
}

if (SECTIONS.has('labels-spill')) {
  const l = load1()
  const budget = 200_000
  const r = await labelJoinSpillShare(2000, 300, quick ? 600 : 1800, budget)
  const share = r.stats.joined / r.labels
  const lost =
    r.stats.expiredPredictions +
    r.stats.evictedPredictions +
    r.stats.expiredOutcomes +
    r.stats.evictedOutcomes +
    r.stats.lateOutcomes +
    r.stats.duplicateOutcomes +
    r.labelsWithoutMonitor
  console.log(
    `monitoring.labels_joined_share_at_2000rps: ${r.stats.joined} of ${r.labels} labels joined (${(100 * share).toFixed(2)} %) through the service pipeline with a ${budget}-prediction memory budget; ${r.spilled} predictions spilled to ClickHouse, ${r.pendingInClickHouse} still pending there and ${r.pendingInMemory} in memory (peak ${r.peakMemory}); lost by any reason ${lost}; ${(r.predictions / r.seconds).toFixed(0)} predictions/s (${r.seconds.toFixed(0)} s)`,
  )
  const res: BenchResult = {
    name: 'monitoring.labels_joined_share_at_2000rps',
    value: share,
    unit: 'share',
    config: {
      load1: l,
      rate: 2000,
      labelDelayS: 300,
      labelledShare: 0.5,
      eventTimeS: r.predictions / 2000,
      predictions: r.predictions,
      labels: r.labels,
      joined: r.stats.joined,
      memoryBudget: budget,
      spilledToClickHouse: r.spilled,
      pendingInClickHouse: r.pendingInClickHouse,
      pendingInMemory: r.pendingInMemory,
      peakPendingInMemory: r.peakMemory,
      expiredPredictions: r.stats.expiredPredictions,
      evictedPredictions: r.stats.evictedPredictions,
      expiredOutcomes: r.stats.expiredOutcomes,
      evictedOutcomes: r.stats.evictedOutcomes,
      lateOutcomes: r.stats.lateOutcomes,
      duplicateOutcomes: r.stats.duplicateOutcomes,
      labelsWithoutMonitor: r.labelsWithoutMonitor,
      seconds: Number(r.seconds.toFixed(1)),
      path: 'AnalyticsPipeline (engine, raw inserts, checkpoints) with the label spill, embedded chDB; no Kafka',
    },
  }
  emitResult(res)
  results.push(res)
}

if (values.write) {
  const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results')
  const file = path.join(dir, 'latest.json')
  const prev: ResultFile | null = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as ResultFile)
    : null
  const names = new Set(results.map((r) => r.name))
  const kept = (prev?.results ?? []).filter((r) => !names.has(r.name))
  const stamp = new Date().toISOString()
  const mine = results.map((r) => ({
    ...r,
    config: { bench: 'monitoring.bench.ts', quick, date: stamp, ...r.config },
  }))
  const merged = buildResultFile(prev?.machine ?? machineInfo(), prev ? new Date(prev.date) : new Date(), [
    ...kept,
    ...mine,
  ])
  if (prev?.failures) merged.failures = prev.failures
  writeResultFiles(dir, merged)
  console.log(`merged ${mine.length} monitoring results into ${path.relative(process.cwd(), file)}`)
}

/** A scored request of the label benches: model 'bench' v1, threshold 0.5, scored 5 ms later. */
function benchPrediction(
  requestId: string,
  patient: number,
  probability: number,
  eventTime: number,
  features: FeatureVector,
): PredictionEvent {
  return {
    requestId,
    patientId: `p${patient}`,
    modelName: 'bench',
    modelVersion: 1,
    probability,
    label: probability >= 0.5 ? 1 : 0,
    threshold: 0.5,
    eventTime,
    scoredAt: eventTime + 5,
    shadow: false,
    ...features,
  }
}
