/**
 * `riskstream runs export --mlflow URI`: back-fills an MLflow server with every training run,
 * model version and the champion/challenger aliases (lib/registry/mlflow.ts). Idempotent: runs
 * already there (tagged with their RiskStream run id) are left as they are. Needs ClickHouse
 * only, not Kafka.
 */

import { createClickHouse } from '../lib/clickhouse/index.ts'
import type { Config } from '../lib/config/index.ts'
import { getLogger } from '../lib/log/index.ts'
import { createMlflowMirror, type ModelSync, type RunSync } from '../lib/registry/index.ts'

export interface ExportSummary {
  server: string
  experiment: string
  model: string
  runs: { created: number; completed: number; present: number; running: number }
  versions: { created: number[]; withoutRun: number[] }
  aliases: ModelSync['aliases']
  detail: RunSync[]
}

export async function exportRunsToMlflow(
  config: Readonly<Config>,
  opts: { trackingUri: string; experiment?: string },
): Promise<ExportSummary> {
  const clickhouse = createClickHouse(config)
  try {
    const mlflow = { ...config.mlflow, experimentName: opts.experiment ?? config.mlflow.experimentName }
    const mirror = createMlflowMirror({
      clickhouse,
      config: { mlflow },
      log: getLogger('mlflow'),
      trackingUri: opts.trackingUri,
    })
    const { runs, model } = await mirror.exportAll(config.model.name)
    const count = (a: RunSync['action']) => runs.filter((r) => r.action === a).length
    return {
      server: mirror.client.trackingUri,
      experiment: mlflow.experimentName,
      model: config.model.name,
      runs: {
        created: count('created'),
        completed: count('completed'),
        present: count('present'),
        running: count('running'),
      },
      versions: { created: model.created, withoutRun: model.withoutRun },
      aliases: model.aliases,
      detail: runs,
    }
  } finally {
    await clickhouse.close()
  }
}

const v = (n: number | null) => (n === null ? '-' : `v${n}`)

export function formatExport(s: ExportSummary): string {
  return [
    `exported ${s.model} to ${s.server} (experiment ${s.experiment}):`,
    `  runs: ${s.runs.created} created, ${s.runs.completed} completed, ${s.runs.present} already there, ${s.runs.running} still running (skipped)`,
    `  model versions created: ${s.versions.created.map((n) => v(n)).join(', ') || 'none'}`,
    `  aliases: champion=${v(s.aliases.champion)} challenger=${v(s.aliases.challenger)}`,
  ].join('\n')
}
