/**
 * `riskstream report drift`: the report of one model version (default: production) built from
 * ClickHouse and the registry, as HTML (written to `out`) and/or JSON.
 */
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { RiskStreamError } from '../errors/index.ts'
import { createRegistry } from '../registry/index.ts'
import type { Deps } from '../runtime/index.ts'
import { buildDriftReport, type DriftReport } from './drift.ts'
import { renderDriftReport } from './drift-html.ts'

export interface DriftReportOptions {
  version?: number
  /** Newest predictions of the version to compare (default DRIFT_DETECTION_WINDOW). */
  window?: number
  /** Where the HTML goes; none = no HTML. */
  out?: string
}

export async function driftReport(
  deps: Deps,
  o: DriftReportOptions,
): Promise<{ report: DriftReport; file?: string }> {
  const model = deps.config.model.name
  const registry = createRegistry(deps)
  const row =
    o.version === undefined ? await registry.production(model) : await registry.getVersion(model, o.version)
  if (!row)
    throw new RiskStreamError(
      'MODEL_NOT_FOUND',
      o.version === undefined
        ? `${model} has no production version`
        : `${model} v${o.version} does not exist`,
    )
  const artifact = await registry.loadArtifact({
    modelName: model,
    version: row.version,
    artifact: null,
    artifactSha256: row.artifactSha256,
  })
  const report = await buildDriftReport(deps.clickhouse, artifact, {
    window: o.window ?? deps.config.drift.window,
  })
  if (!o.out) return { report }
  const file = path.resolve(o.out)
  writeFileSync(file, renderDriftReport(report))
  return { report, file }
}
