/**
 * `npm run demo`: the whole loop on one machine. Brings the stack up, prepares topics,
 * contracts and tables, trains the initial model if there is none, starts every role in this
 * process, and plays the scripted scenario (stable → glucose shift → concept drift) while
 * printing a live summary — until drift is detected, a retrained model is promoted and
 * inference serves it. The end-to-end test runs the same function.
 */
import type { Config } from '../lib/config/index.ts'
import { createRegistry } from '../lib/registry/index.ts'
import { closeDeps, createDeps, type Deps, prepare, type Service } from '../lib/runtime/index.ts'
import type { Progress } from '../producers/engine.ts'
import { loadScenario } from '../producers/scenario.ts'
import { type SimulateSummary, simulate } from '../producers/simulate.ts'
import { stackOptionsFrom } from '../stack/config.ts'
import { stackUp } from '../stack/index.ts'
import { trainOnce } from '../trainer/index.ts'
import { formatStatus, type LoopStatus, loopClosed, loopStatus } from './loop-status.ts'
import { type Role, startRoles } from './roles.ts'

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
  /** Skip the stack start (the caller already runs it). */
  skipStack?: boolean
  roles?: Role[]
  say?: (msg: string) => void
  /** Resolves when the caller wants the demo to stop (e.g. SIGINT), in the dashboard-up phase. */
  untilStopped?: Promise<void>
}

export interface DemoReport {
  closed: boolean
  initialVersion: number
  status: LoopStatus
  simulation: SimulateSummary
  dashboardUrl: string | null
  durationMs: number
}

export async function runDemo(options: DemoOptions): Promise<DemoReport> {
  const say = options.say ?? ((m: string) => console.log(m))
  const { config } = options
  const t0 = Date.now()
  if (!options.skipStack) await stackUp(stackOptionsFrom(config, (m) => say(`[stack] ${m}`)))
  const deps = await createDeps(config)
  const services: Service[] = []
  const stopTraffic = new AbortController()
  let ticker: NodeJS.Timeout | undefined
  try {
    await prepare(deps, (m) => say(`[setup] ${m}`))
    const initialVersion = await ensureInitialModel(deps, options, say)

    services.push(
      ...(await startRoles(deps, options.roles ?? ['monitors', 'trainer', 'inference', 'api'], {
        say: (m) => say(`[roles] ${m}`),
        trainer: {
          train: { budget: options.train?.budget, folds: options.train?.folds, includeStreamed: true },
        },
      })),
    )
    const api = services.find((s) => s.name === 'api') as
      | (Service & { address?: () => string | null })
      | undefined
    const dashboardUrl = api?.address?.() ? `${api.address()}/dashboard` : null
    if (dashboardUrl) say(`dashboard: ${dashboardUrl}`)

    const scenario = loadScenario(options.scenario ?? 'demo')
    let progress: Progress | undefined
    let lastCount = 0
    let lastAt = Date.now()
    let status: LoopStatus = await loopStatus(deps.clickhouse, config.model.name, initialVersion)
    ticker = setInterval(() => {
      void loopStatus(deps.clickhouse, config.model.name, initialVersion)
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
    const simulation = await simulate(deps, {
      scenario,
      count: options.count ?? scenario.defaults.count,
      rate: options.rate ?? scenario.defaults.rate,
      onProgress: (p) => {
        progress = p
      },
      progressEveryMs: 1000,
      signal: stopTraffic.signal,
    })
    say(
      `scenario finished: sent ${simulation.sent}, rejected ${simulation.rejected}, failed ${simulation.failed}`,
    )

    // Traffic has stopped; wait for the retrain (if still running) to be promoted and served.
    const deadline = t0 + (options.timeoutMs ?? 600_000)
    for (;;) {
      status = await loopStatus(deps.clickhouse, config.model.name, initialVersion)
      if (loopClosed(status, initialVersion)) break
      if (Date.now() > deadline) break
      // Traffic goes on as it ended (the shifts persist) while the retrain finishes, so the
      // promoted version has live requests to serve once inference has hot-reloaded it.
      if (status.productionVersion !== null && status.productionVersion > initialVersion) {
        const tail = await simulate(deps, {
          scenario: {
            ...scenario,
            name: `${scenario.name}-tail`,
            drifts: scenario.drifts.map((d) => ({ ...d, at: 0 })),
          },
          count: 250,
          rate: options.rate ?? scenario.defaults.rate,
          runId: `tail-${Date.now()}`,
        })
        simulation.sent += tail.sent
        continue
      }
      await new Promise((r) => setTimeout(r, 2000))
    }
    clearInterval(ticker)
    ticker = undefined
    const closed = loopClosed(status, initialVersion)
    say(report(status, initialVersion, closed, Date.now() - t0))
    if (!options.once && options.untilStopped) {
      say(
        dashboardUrl ? `dashboard stays up at ${dashboardUrl} — Ctrl-C to stop` : 'running — Ctrl-C to stop',
      )
      await options.untilStopped
    }
    return { closed, initialVersion, status, simulation, dashboardUrl, durationMs: Date.now() - t0 }
  } finally {
    if (ticker) clearInterval(ticker)
    stopTraffic.abort()
    for (const s of [...services].reverse())
      await s.stop().catch((err) => say(`stop ${s.name}: ${String(err)}`))
    await closeDeps(deps)
  }
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
  say(`initial model: v${result.version} (${result.family}) in production`)
  return result.version
}

function report(s: LoopStatus, initialVersion: number, closed: boolean, ms: number): string {
  const lines = [
    '',
    '== RiskStream demo report',
    `  predictions: ${s.predictions} (labelled ${s.labelled}, DLQ ${s.dlq}) by version: ${s.versionsServed.map((v) => `v${v.version}=${v.predictions}`).join(', ')}`,
    `  alerts: ${s.alerts.map((a) => `${a.kind}=${a.count}`).join(', ') || 'none'}`,
    `  training runs: ${s.runs.map((r) => `${r.trigger}→${r.status}${r.version ? ` v${r.version}` : ''}`).join(', ')}`,
    `  production: v${initialVersion} → v${s.productionVersion}`,
    closed
      ? '  the loop closed: glucose drift detected → retrain → promotion → inference hot-reloaded the new version'
      : '  the loop did NOT close within the time limit (see the alerts and runs above)',
    `  took ${(ms / 1000).toFixed(0)} s`,
  ]
  return lines.join('\n')
}
