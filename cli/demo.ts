/**
 * `npm run demo`: the whole loop on one machine. Checks the prerequisites, brings the stack up,
 * prepares topics, contracts and tables, trains the initial model if there is none, starts every
 * role in this process and plays the scripted scenario (stable → glucose shift → concept drift)
 * with a live summary, until drift is detected, a retrained model is promoted by the gate and
 * inference serves it. The first SIGINT/SIGTERM stops it in any phase.
 */
import type { Config } from '../lib/config/index.ts'
import { createRegistry } from '../lib/registry/index.ts'
import { closeDeps, createDeps, type Deps, prepare, type Service } from '../lib/runtime/index.ts'
import type { Progress } from '../producers/engine.ts'
import { loadScenario } from '../producers/scenario.ts'
import { type SimulateSummary, simulate } from '../producers/simulate.ts'
import { stackOptionsFrom } from '../stack/config.ts'
import { isKafkaUp, isRegistryUp, stackStatus, stackUp, withStackEndpoints } from '../stack/index.ts'
import { trainOnce } from '../trainer/index.ts'
import { formatTrainResult } from './format.ts'
import {
  formatStatus,
  type LiveAccuracy,
  type LoopStatus,
  liveAccuracyAfterShift,
  loopClosed,
  loopStatus,
} from './loop-status.ts'
import { checkPrereqs, formatMissing } from './prereqs.ts'
import { type Role, startRoles } from './roles.ts'
import { Interrupted, pause, type Shutdown, stopServices, unlessAborted, untilAborted } from './shutdown.ts'

export interface DemoOptions {
  config: Readonly<Config>
  /** Exit when the loop has closed and the scenario ended, instead of leaving the dashboard up. */
  once: boolean
  /** Scenario name or path (default "demo"), and overrides of its count and rate. */
  scenario?: string
  count?: number
  rate?: number
  /** Give up waiting for the loop to close after this long (default 10 minutes). */
  timeoutMs?: number
  /** How often the live summary is printed (default 5 s). */
  summaryEveryMs?: number
  /** Training settings for the initial model and retrains (smaller = faster demo). */
  train?: { budget?: number; folds?: number }
  /** Skip the stack start (the caller already runs it, and `config` already names its services). */
  skipStack?: boolean
  roles?: Role[]
  say?: (msg: string) => void
  /** Aborted by the first SIGINT/SIGTERM: the demo stops in whatever phase it is. */
  signal?: AbortSignal
  track?: Shutdown['track']
}

export interface DemoReport {
  closed: boolean
  /** Stopped by the signal before it finished. */
  interrupted: boolean
  initialVersion: number
  status: LoopStatus | null
  liveAccuracy: LiveAccuracy[] | null
  simulation: SimulateSummary | null
  dashboardUrl: string | null
  durationMs: number
}

/** A prerequisite is missing: one line each, printed by the CLI as they are. */
export class MissingPrerequisites extends Error {
  override name = 'MissingPrerequisites'
}

export async function runDemo(options: DemoOptions): Promise<DemoReport> {
  const say = options.say ?? ((m: string) => console.log(m))
  const { config, signal } = options
  const t0 = Date.now()
  const stackOpts = stackOptionsFrom(config, (m) => say(`[stack] ${m}`))
  const result: DemoReport = {
    closed: false,
    interrupted: false,
    initialVersion: 0,
    status: null,
    liveAccuracy: null,
    simulation: null,
    dashboardUrl: null,
    durationMs: 0,
  }
  let deps: Deps | undefined
  let roleConfig = config
  const services: Service[] = []
  let ticker: NodeJS.Timeout | undefined
  try {
    if (!options.skipStack) {
      const running = (await isKafkaUp(stackOpts)) && (await isRegistryUp(stackOpts))
      const prereqs = await checkPrereqs(config, running ? ['pima'] : ['java', 'maven', 'pima'])
      for (const note of prereqs.notes) say(`[setup] ${note}`)
      if (prereqs.missing.length > 0) throw new MissingPrerequisites(formatMissing(prereqs.missing))
      const up = await unlessAborted(stackUp(stackOpts), signal, 'starting the stack')
      // The roles use what the stack started (its ClickHouse server in docker mode).
      roleConfig = withStackEndpoints(config, up.endpoints)
    }
    deps = await createDeps(roleConfig)
    const d = deps
    await unlessAborted(
      prepare(d, (m) => say(`[setup] ${m}`)),
      signal,
      'preparing topics, contracts and tables',
    )
    result.initialVersion = await unlessAborted(
      ensureInitialModel(d, options, say),
      signal,
      'training the initial model',
    )
    const initialVersion = result.initialVersion

    services.push(
      ...(await unlessAborted(
        startRoles(d, options.roles ?? ['monitors', 'trainer', 'inference', 'api'], {
          say: (m) => say(`[roles] ${m}`),
          trainer: {
            train: { budget: options.train?.budget, folds: options.train?.folds, includeStreamed: true },
          },
        }),
        signal,
        'starting the roles',
      )),
    )
    const api = services.find((s) => s.name === 'api') as
      | (Service & { address?: () => string | null })
      | undefined
    result.dashboardUrl = api?.address?.() ? `${api.address()}/dashboard` : null
    if (result.dashboardUrl) say(`dashboard: ${result.dashboardUrl}`)

    const scenario = loadScenario(options.scenario ?? 'demo')
    let progress: Progress | undefined
    let lastCount = 0
    let lastAt = Date.now()
    let status = await loopStatus(d.clickhouse, config.model.name, initialVersion)
    ticker = setInterval(() => {
      void loopStatus(d.clickhouse, config.model.name, initialVersion)
        .then((s) => {
          const now = Date.now()
          const rate = ((s.predictions - lastCount) * 1000) / Math.max(1, now - lastAt)
          lastCount = s.predictions
          lastAt = now
          status = s
          const produced = progress
            ? `produced ${progress.done}/${progress.total} (${progress.rate.toFixed(0)}/s) | `
            : ''
          say(`${produced}${formatStatus(s, rate)}`)
        })
        .catch((err) => say(`summary unavailable: ${(err as Error).message}`))
    }, options.summaryEveryMs ?? 5000)

    say(`scenario "${scenario.name}": ${scenario.description}`)
    const simulation = await simulate(d, {
      scenario,
      count: options.count ?? scenario.defaults.count,
      rate: options.rate ?? scenario.defaults.rate,
      onProgress: (p) => {
        progress = p
      },
      progressEveryMs: 1000,
      signal,
    })
    result.simulation = simulation
    if (signal?.aborted) throw new Interrupted(`playing the scenario (${simulation.sent} events sent)`)
    say(
      `scenario finished: sent ${simulation.sent}, rejected ${simulation.rejected}, failed ${simulation.failed}`,
    )

    // Traffic has stopped; wait for the retrain (if still running) to be promoted and served.
    const deadline = t0 + (options.timeoutMs ?? 600_000)
    for (;;) {
      status = await loopStatus(d.clickhouse, config.model.name, initialVersion)
      if (loopClosed(status, initialVersion)) break
      if (Date.now() > deadline || signal?.aborted) break
      if (retrainRejected(status, initialVersion)) break
      // Traffic goes on as it ended (the shifts persist) while the retrain finishes, so the
      // promoted version has live requests to serve once inference has hot-reloaded it.
      if (status.productionVersion !== null && status.productionVersion > initialVersion) {
        const tail = await simulate(d, {
          scenario: {
            ...scenario,
            name: `${scenario.name}-tail`,
            drifts: scenario.drifts.map((dr) => ({ ...dr, at: 0 })),
          },
          count: 250,
          rate: options.rate ?? scenario.defaults.rate,
          runId: `tail-${Date.now()}`,
          signal,
        })
        simulation.sent += tail.sent
        continue
      }
      await pause(2000, signal)
    }
    if (signal?.aborted) throw new Interrupted('waiting for the retrained model')
    clearInterval(ticker)
    ticker = undefined
    result.status = status
    result.closed = loopClosed(status, initialVersion)
    result.liveAccuracy = await liveAccuracyAfterShift(
      d.clickhouse,
      createRegistry(d),
      config.model.name,
      status.productionVersion === null ? [initialVersion] : [initialVersion, status.productionVersion],
    )
    say(report(status, result.liveAccuracy, initialVersion, result.closed, Date.now() - t0))
    if (!options.once && signal) {
      say(
        result.dashboardUrl
          ? `dashboard stays up at ${result.dashboardUrl}: Ctrl-C to stop`
          : 'running: Ctrl-C to stop',
      )
      await untilAborted(signal)
    }
    return result
  } catch (err) {
    if (!(err instanceof Interrupted)) throw err
    say(`stopping: ${err.message}`)
    result.interrupted = true
    return result
  } finally {
    if (ticker) clearInterval(ticker)
    result.durationMs = Date.now() - t0
    await stopServices(services, { budgetMs: 8_000, say, track: options.track })
    if (deps) {
      const done = options.track?.('closing the Kafka producer and ClickHouse')
      await closeDeps(deps)
      done?.()
    }
    if (!options.skipStack) await sayWhatIsLeft(stackOpts, say)
  }
}

/** The stack is left running on purpose (the next run starts in seconds): say so, and how to stop it. */
async function sayWhatIsLeft(
  stackOpts: ReturnType<typeof stackOptionsFrom>,
  say: (m: string) => void,
): Promise<void> {
  const status = await stackStatus({ ...stackOpts, log: () => {} }).catch(() => null)
  const left = (status?.services ?? []).filter((s) => s.pid !== undefined && s.state === 'up')
  if (left.length === 0) return
  say(
    `left running: ${left.map((s) => `${s.name} (${typeof s.pid === 'number' ? `pid ${s.pid}` : s.pid})`).join(', ')}; stop with: npm run stack:down`,
  )
}

/** A drift-triggered retrain finished without promotion: the loop cannot close with this traffic. */
function retrainRejected(s: LoopStatus, initialVersion: number): boolean {
  const retrains = s.runs.filter((r) => r.trigger !== 'initial')
  return (
    s.productionVersion === initialVersion &&
    retrains.length > 0 &&
    retrains.every((r) => r.status !== 'running' && !r.gatePassed)
  )
}

async function ensureInitialModel(
  deps: Deps,
  options: DemoOptions,
  say: (m: string) => void,
): Promise<number> {
  const registry = createRegistry(deps)
  const current = await registry.production(deps.config.model.name)
  if (current) {
    say(`production model: v${current.version} (${current.family})`)
    return current.version
  }
  say('no production model yet: training the initial model on the Pima data')
  const result = await trainOnce(deps, {
    trigger: 'initial',
    reason: 'demo: initial model',
    budget: options.train?.budget,
    folds: options.train?.folds,
    report: (text) => say(text),
  })
  if (result.stage !== 'production') {
    throw new Error(`the initial model failed the promotion gate: ${result.gate.reasons.join('; ')}`)
  }
  say(formatTrainResult(result))
  if (result.belowGate)
    say(
      `initial model: v${result.version} serves BELOW THE GATE (nothing else is available): ${result.promotion.reason}`,
    )
  else say(`initial model: v${result.version} (${result.family}) in production`)
  return result.version
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)} %`
}

/** Whether the promoted version is better on the drifted traffic, by the two intervals. */
export function verdict(
  live: LiveAccuracy[] | null,
  initialVersion: number,
  newVersion: number | null,
): string {
  const before = live?.find((l) => l.version === initialVersion)
  const after = live?.find((l) => l.version === newVersion)
  if (!before || !after || newVersion === initialVersion)
    return '  live accuracy after the shift: not enough labelled requests for both versions'
  const line = (l: LiveAccuracy) => `v${l.version} ${pct(l.accuracy)} [${pct(l.low)}, ${pct(l.high)}]`
  const better =
    after.low > before.high
      ? `v${after.version} is better on the drifted traffic (the 95 % intervals do not overlap)`
      : after.high < before.low
        ? `v${after.version} is WORSE on the drifted traffic (the 95 % intervals do not overlap)`
        : after.accuracy > before.accuracy
          ? `v${after.version} scores higher, but the 95 % intervals overlap: not yet a clear improvement`
          : `v${after.version} does not score higher on the drifted traffic`
  return `  live accuracy on the ${after.labelled} labelled requests after the shift (both versions on the same rows): ${line(before)}, ${line(after)}\n  ${better}`
}

function report(
  s: LoopStatus,
  live: LiveAccuracy[] | null,
  initialVersion: number,
  closed: boolean,
  ms: number,
): string {
  const retrains = s.runs.filter((r) => r.trigger !== 'initial')
  const lines = [
    '',
    '== RiskStream demo report',
    `  predictions: ${s.predictions} (labelled ${s.labelled}, DLQ ${s.dlq}) by version: ${s.versionsServed.map((v) => `v${v.version}=${v.predictions}`).join(', ')}`,
    `  alerts: ${s.alerts.map((a) => `${a.kind}=${a.count}`).join(', ') || 'none'}`,
    `  training runs: ${s.runs.map((r) => `${r.trigger}→${r.status}${r.version ? ` v${r.version}` : ''}${r.status === 'succeeded' && !r.gatePassed ? ' (not promoted)' : ''}`).join(', ')}`,
    `  production: v${initialVersion} → v${s.productionVersion}`,
    ...s.decisions.map((d) => `  gate on v${d.version ?? '?'}: ${d.decision}: ${d.reason}`),
    verdict(live, initialVersion, s.productionVersion),
  ]
  if (closed)
    lines.push(
      '  the loop closed: glucose drift detected → retrain → promoted by the gate → inference hot-reloaded the new version',
    )
  else {
    lines.push('  the loop did NOT close (see the alerts and runs above)')
    if (s.decisions.length === 0)
      for (const r of retrains.filter((x) => x.status === 'succeeded' && !x.gatePassed))
        for (const reason of r.gateReasons) lines.push(`    retrain not promoted: ${reason}`)
  }
  lines.push(`  took ${(ms / 1000).toFixed(0)} s`)
  return lines.join('\n')
}
