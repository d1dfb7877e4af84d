/**
 * `simulate`: replay with a drift scenario (producers/scenarios/*.yaml, or any file) so
 * monitors, retraining and dead-lettering can be exercised and demonstrated on demand.
 */
import type { Deps } from '../lib/runtime/index.ts'
import { plannedMalformed } from './generator.ts'
import { type ReplayOptions, type ReplaySummary, resolveRunOptions, runStream } from './replay.ts'
import { loadScenario, type Scenario } from './scenario.ts'

export interface SimulateOptions extends ReplayOptions {
  /** A shipped scenario's name, a path to a scenario file, or a parsed scenario. */
  scenario: string | Scenario
}

export interface SimulateSummary extends ReplaySummary {
  scenario: string
  /** Malformed records the scenario planned, by kind (published ones are in `malformed`). */
  plannedMalformed: Record<string, number>
}

export async function simulate(deps: Deps, opts: SimulateOptions): Promise<SimulateSummary> {
  const scenario = typeof opts.scenario === 'string' ? loadScenario(opts.scenario) : opts.scenario
  const run = resolveRunOptions(opts, scenario)
  const summary = await runStream(
    deps,
    { ...opts, seed: run.seed, runId: run.runId, count: run.count },
    scenario,
  )
  return {
    ...summary,
    scenario: scenario.name,
    plannedMalformed: plannedMalformed({ count: run.count, seed: run.seed, scenario }),
  }
}
