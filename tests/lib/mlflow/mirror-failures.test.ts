/**
 * A mirror that cannot reach MLflow: mirrorSafely returns instead of throwing, logs one warning
 * naming the code, and riskstream_mlflow_mirror_failures_total counts it on /metrics. Without
 * MLFLOW_TRACKING_URI nothing is attempted.
 */
import { createServer } from 'node:net'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../../lib/config/index.ts'
import { createRoleMetrics, METRIC } from '../../../lib/metrics/index.ts'
import { mirrorSafely, type TrainingRun } from '../../../lib/registry/index.ts'

const run: TrainingRun = {
  runId: 'run-unit',
  modelName: 'diabetes-risk',
  trigger: 'test',
  triggerEventId: '',
  status: 'succeeded',
  startedAt: 1,
  finishedAt: 2,
  durationMs: 1,
  chosenFamily: 'logistic_regression',
  gatePassed: true,
  gateReasons: [],
  version: null,
  metrics: {},
  dataset: {},
  params: {},
  candidates: [],
  error: '',
  updatedAt: 2,
}

async function closedPort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const { port } = s.address() as { port: number }
  await new Promise((resolve) => s.close(resolve))
  return port
}

function recordingLog() {
  const warnings: { obj: Record<string, unknown>; msg: string }[] = []
  return {
    warnings,
    log: { warn: (obj: Record<string, unknown>, msg: string) => warnings.push({ obj, msg }) } as never,
  }
}

async function failureCount(operation: string): Promise<number> {
  const registry = new Registry()
  const deps = { config: loadConfig({}), kafka: {} as never, log: { debug() {} } as never }
  createRoleMetrics(deps, ['trainer'], registry)
  const metric = await registry.getSingleMetric(METRIC.mlflowMirrorFailures)!.get()
  return metric.values.find((v) => v.labels.operation === operation)?.value ?? 0
}

describe('the MLflow mirror when MLflow fails', () => {
  it('warns and counts instead of throwing', async () => {
    const before = await failureCount('run')
    const { warnings, log } = recordingLog()
    const config = loadConfig({ MLFLOW_TRACKING_URI: `http://127.0.0.1:${await closedPort()}` })
    const result = await mirrorSafely({ clickhouse: {} as never, config, log }, 'run', (m) => m.syncRun(run))
    expect(result).toBeUndefined()
    expect(warnings).toHaveLength(1)
    expect(warnings[0]!.msg).toMatch(/MLflow mirror failed/)
    expect(warnings[0]!.obj).toMatchObject({ code: 'MLFLOW_UNAVAILABLE', retriable: true, operation: 'run' })
    expect(await failureCount('run')).toBe(before + 1)
  })

  it('does nothing without MLFLOW_TRACKING_URI', async () => {
    const { warnings, log } = recordingLog()
    let called = false
    const result = await mirrorSafely(
      { clickhouse: {} as never, config: loadConfig({}), log },
      'registry',
      async () => {
        called = true
      },
    )
    expect([result, called, warnings.length]).toEqual([undefined, false, 0])
  })
})
