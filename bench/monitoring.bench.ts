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
 *   npx tsx bench/monitoring.bench.ts [--quick] [--events N] [--write]
 *
 * `--write` merges the monitoring.* results into bench/results/latest.json and latest.md,
 * keeping every other result (the runner, `npm run bench -- --only monitoring`, rewrites the
 * whole file instead).
 */
import { existsSync, readFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import seedrandom from 'seedrandom'
import { configWith } from '../lib/config/index.ts'
import { FEATURES, type FeatureVector } from '../lib/features/index.ts'
import { buildReference } from '../lib/stats/reference.ts'
import type { MonitoredArtifact } from '../processors/monitors/drift/columns.ts'
import type { DriftEventRecord, WindowRow } from '../processors/monitors/engine/types.ts'
import { type DriftSettings, VersionMonitor } from '../processors/monitors/engine/version.ts'
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
  },
})
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
  `monitoring bench: ${EVENTS.toLocaleString('en-US')} events per setting, a deployment every ${PER_DEPLOYMENT.toLocaleString('en-US')}, ${DELAY_RUNS} delay runs per shift${quick ? ' (quick)' : ''}`,
)
for (const s of SETTINGS) {
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

for (const shift of SHIFTS) {
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

if (values.write) {
  const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results')
  const file = path.join(dir, 'latest.json')
  const prev: ResultFile | null = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as ResultFile)
    : null
  const kept = (prev?.results ?? []).filter((r) => !r.name.startsWith('monitoring.'))
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
