/**
 * `replay`: publishes the Pima data set as a live stream — rows resampled (with
 * replacement, seeded) to any count, pseudonymous ids, event times, a target rate, and
 * late labels for a share of the requests. `simulate` is the same with a drift scenario.
 */
import { randomUUID } from 'node:crypto'
import { loadPima } from '../lib/data/pima.ts'
import { RiskStreamError } from '../lib/errors/index.ts'
import type { Deps } from '../lib/runtime/index.ts'
import { type Progress, type PublishSummary, publishEvents } from './engine.ts'
import { generateEvents, poisonContentRng, type SourceData } from './generator.ts'
import type { Scenario } from './scenario.ts'

export interface ReplayOptions {
  /** Number of events (default 1000). */
  count?: number
  /** Requests per second; 0 = as fast as possible (default 100). */
  rate?: number
  /** Seeds rows, labels and drifts (default 42). */
  seed?: string | number
  /** Seeds ids with `seed`; random by default so re-runs never repeat request ids. */
  runId?: string
  /** Share of requests whose outcome is published later, 0..1 (default 0.8). */
  labelShare?: number
  /** Delay between a request's acknowledgement and its outcome (default 2000 ms). */
  labelDelayMs?: number
  /** sourceSystem written into every request (default "pima-replay"). */
  sourceSystem?: string
  /** Pima CSV path (default config.data.pimaCsvPath). */
  csvPath?: string
  /** In-memory data instead of the CSV (tests, other sources). */
  data?: SourceData
  /** eventTime of the first event (default now) and the spacing between events (default 1000/rate ms, 1 ms at rate 0). */
  startTime?: number
  eventIntervalMs?: number
  batchSize?: number
  lingerMs?: number
  onProgress?: (p: Progress) => void
  progressEveryMs?: number
  signal?: AbortSignal
}

export interface ReplaySummary extends PublishSummary {
  count: number
  seed: string
  runId: string
}

export interface ResolvedRun {
  count: number
  rate: number
  seed: string
  runId: string
  labelShare: number
  labelDelayMs: number
  sourceSystem: string
}

/** Applies defaults (options, then the scenario's suggestions, then ours) and checks ranges. */
export function resolveRunOptions(opts: ReplayOptions, scenario?: Scenario): ResolvedRun {
  const d = scenario?.defaults ?? {}
  const run: ResolvedRun = {
    count: opts.count ?? d.count ?? 1000,
    rate: opts.rate ?? d.rate ?? 100,
    seed: String(opts.seed ?? 42),
    runId: opts.runId ?? randomUUID(),
    labelShare: opts.labelShare ?? d.labelShare ?? 0.8,
    labelDelayMs: opts.labelDelayMs ?? d.labelDelayMs ?? 2000,
    sourceSystem: opts.sourceSystem ?? (scenario ? `simulator:${scenario.name}` : 'pima-replay'),
  }
  const bad = (m: string) => new RiskStreamError('BAD_REQUEST', m)
  if (!Number.isInteger(run.count) || run.count < 0) throw bad('count must be a non-negative integer')
  if (!Number.isFinite(run.rate) || run.rate < 0) throw bad('rate must be ≥ 0 (0 = as fast as possible)')
  if (!(run.labelShare >= 0 && run.labelShare <= 1)) throw bad('label share must be within 0..1')
  if (!Number.isInteger(run.labelDelayMs) || run.labelDelayMs < 0)
    throw bad('label delay must be a non-negative integer (ms)')
  return run
}

/** Shared by replay and simulate. */
export async function runStream(
  deps: Deps,
  opts: ReplayOptions,
  scenario?: Scenario,
): Promise<ReplaySummary> {
  const run = resolveRunOptions(opts, scenario)
  const data = opts.data ?? loadPima(opts.csvPath ?? deps.config.data.pimaCsvPath)
  const events = generateEvents({
    data,
    count: run.count,
    seed: run.seed,
    runId: run.runId,
    scenario,
    labelShare: run.labelShare,
    startTime: opts.startTime ?? Date.now(),
    eventIntervalMs: opts.eventIntervalMs ?? (run.rate > 0 ? 1000 / run.rate : 1),
    sourceSystem: run.sourceSystem,
  })
  const summary = await publishEvents(deps, events, {
    total: run.count,
    rate: run.rate,
    labelDelayMs: run.labelDelayMs,
    sourceSystem: run.sourceSystem,
    batchSize: opts.batchSize,
    lingerMs: opts.lingerMs,
    onProgress: opts.onProgress,
    progressEveryMs: opts.progressEveryMs,
    poisonRng: poisonContentRng(run.seed),
    signal: opts.signal,
  })
  deps.log.info(
    {
      sent: summary.sent,
      rejected: summary.rejected,
      failed: summary.failed,
      rate: summary.rate,
      scenario: scenario?.name,
    },
    'producer run finished',
  )
  return { ...summary, count: run.count, seed: run.seed, runId: run.runId }
}

export function replay(deps: Deps, opts: ReplayOptions = {}): Promise<ReplaySummary> {
  return runStream(deps, opts)
}
