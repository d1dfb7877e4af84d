/**
 * ClickHouse side of the registry: model_versions / model_stage_events / model_artifacts
 * (migrations 010 + 011). Every read uses FINAL so a stage change (a newer row with a later
 * updated_at) is seen immediately, before background merges.
 */
import { type ClickHouseClient, chTime, queryRows } from '../clickhouse/index.ts'
import type { ModelStage } from '../model/types.ts'
import { TABLES } from '../warehouse/index.ts'
import type { ModelVersionRow, StageAction, StageEventRow } from './types.ts'

const parseJson = (text: string): Record<string, unknown> => {
  try {
    const v = JSON.parse(text || '{}')
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : {}
  } catch {
    return {}
  }
}

interface VersionRecord {
  model_name: string
  version: number
  stage: string
  family: string
  threshold: number
  artifact_sha256: string
  artifact_ref: string
  metrics_json: string
  dataset_json: string
  hyperparameters_json: string
  parent_version: number | null
  run_id: string
  reason: string
  code_version: string
  shadow: number
  created_at_ms: number
  updated_at_ms: number
}

const VERSION_COLUMNS = `model_name, version, stage, family, threshold, artifact_sha256, artifact_ref, metrics_json,
  dataset_json, hyperparameters_json, parent_version, run_id, reason, code_version, shadow,
  toUnixTimestamp64Milli(created_at) AS created_at_ms, toUnixTimestamp64Milli(updated_at) AS updated_at_ms`

/** The row as stored: the public row plus the JSON columns kept as text (re-inserted verbatim). */
export type StoredVersion = ModelVersionRow & {
  metricsJson: string
  datasetJson: string
  hyperparametersJson: string
}

function toRow(r: VersionRecord): StoredVersion {
  return {
    modelName: r.model_name,
    version: Number(r.version),
    stage: r.stage as ModelStage,
    family: r.family,
    threshold: Number(r.threshold),
    artifactSha256: r.artifact_sha256,
    artifactRef: r.artifact_ref,
    metrics: parseJson(r.metrics_json),
    metricsJson: r.metrics_json,
    dataset: parseJson(r.dataset_json),
    datasetJson: r.dataset_json,
    hyperparameters: parseJson(r.hyperparameters_json),
    hyperparametersJson: r.hyperparameters_json,
    parentVersion: r.parent_version === null ? null : Number(r.parent_version),
    runId: r.run_id,
    reason: r.reason,
    codeVersion: r.code_version,
    shadow: Number(r.shadow) === 1,
    createdAt: Number(r.created_at_ms),
    updatedAt: Number(r.updated_at_ms),
  }
}

export async function selectVersions(ch: ClickHouseClient, modelName: string): Promise<StoredVersion[]> {
  const rows = await queryRows<VersionRecord>(
    ch,
    `SELECT ${VERSION_COLUMNS} FROM ${TABLES.modelVersions} FINAL WHERE model_name = {model:String} ORDER BY version`,
    { model: modelName },
  )
  return rows.map(toRow)
}

export async function selectVersion(
  ch: ClickHouseClient,
  modelName: string,
  version: number,
): Promise<StoredVersion | null> {
  const rows = await queryRows<VersionRecord>(
    ch,
    `SELECT ${VERSION_COLUMNS} FROM ${TABLES.modelVersions} FINAL WHERE model_name = {model:String} AND version = {version:UInt32}`,
    { model: modelName, version },
  )
  return rows[0] ? toRow(rows[0]) : null
}

export async function selectProduction(
  ch: ClickHouseClient,
  modelName: string,
): Promise<StoredVersion | null> {
  const rows = await queryRows<VersionRecord>(
    ch,
    `SELECT ${VERSION_COLUMNS} FROM ${TABLES.modelVersions} FINAL
     WHERE model_name = {model:String} AND stage = 'production' ORDER BY updated_at DESC LIMIT 1`,
    { model: modelName },
  )
  return rows[0] ? toRow(rows[0]) : null
}

export async function maxVersion(ch: ClickHouseClient, modelName: string): Promise<number> {
  const rows = await queryRows<{ v: number | null }>(
    ch,
    `SELECT max(version) AS v FROM ${TABLES.modelVersions} WHERE model_name = {model:String}`,
    { model: modelName },
  )
  return Number(rows[0]?.v ?? 0)
}

export async function maxSeq(ch: ClickHouseClient, modelName: string): Promise<number> {
  const rows = await queryRows<{ s: number | null }>(
    ch,
    `SELECT max(seq) AS s FROM ${TABLES.modelStageEvents} WHERE model_name = {model:String}`,
    { model: modelName },
  )
  return Number(rows[0]?.s ?? 0)
}

/** The public view of a stored row (without the raw JSON text). */
export function publicRow(v: StoredVersion): ModelVersionRow {
  const { metricsJson: _m, datasetJson: _d, hyperparametersJson: _h, ...row } = v
  return row
}

/** Inserts (or replaces, by newer updated_at) one model_versions row. */
export async function insertVersion(ch: ClickHouseClient, v: StoredVersion): Promise<void> {
  await ch.insert({
    table: TABLES.modelVersions,
    format: 'JSONEachRow',
    values: [
      {
        model_name: v.modelName,
        version: v.version,
        stage: v.stage,
        family: v.family,
        threshold: v.threshold,
        artifact_sha256: v.artifactSha256,
        artifact_ref: v.artifactRef,
        metrics_json: v.metricsJson,
        dataset_json: v.datasetJson,
        hyperparameters_json: v.hyperparametersJson,
        parent_version: v.parentVersion,
        run_id: v.runId,
        reason: v.reason,
        code_version: v.codeVersion,
        shadow: v.shadow ? 1 : 0,
        created_at: chTime(v.createdAt),
        updated_at: chTime(v.updatedAt),
      },
    ],
  })
}

export interface StageEventInsert {
  eventId: string
  modelName: string
  version: number
  stage: ModelStage
  previousVersion: number | null
  action: StageAction
  seq: number
  reason: string
  at: number
}

export async function insertStageEvents(ch: ClickHouseClient, events: StageEventInsert[]): Promise<void> {
  if (events.length === 0) return
  await ch.insert({
    table: TABLES.modelStageEvents,
    format: 'JSONEachRow',
    values: events.map((e) => ({
      event_id: e.eventId,
      model_name: e.modelName,
      version: e.version,
      stage: e.stage,
      previous_version: e.previousVersion,
      action: e.action,
      seq: e.seq,
      reason: e.reason,
      at: chTime(e.at),
    })),
  })
}

export async function selectStageEvents(ch: ClickHouseClient, modelName: string): Promise<StageEventRow[]> {
  const rows = await queryRows<{
    event_id: string
    model_name: string
    version: number
    stage: string
    previous_version: number | null
    action: string
    seq: number
    reason: string
    at_ms: number
  }>(
    ch,
    `SELECT event_id, model_name, version, stage, previous_version, action, seq, reason, toUnixTimestamp64Milli(at) AS at_ms
     FROM ${TABLES.modelStageEvents} FINAL WHERE model_name = {model:String} ORDER BY seq, at, event_id`,
    { model: modelName },
  )
  return rows.map((r) => ({
    eventId: r.event_id,
    modelName: r.model_name,
    version: Number(r.version),
    stage: r.stage as ModelStage,
    previousVersion: r.previous_version === null ? null : Number(r.previous_version),
    action: r.action as StageEventRow['action'],
    seq: Number(r.seq),
    reason: r.reason,
    at: Number(r.at_ms),
  }))
}

export async function insertArtifact(
  ch: ClickHouseClient,
  modelName: string,
  version: number,
  sha256: string,
  bytes: Buffer,
  at: number,
): Promise<void> {
  await ch.insert({
    table: TABLES.modelArtifacts,
    format: 'JSONEachRow',
    values: [
      {
        model_name: modelName,
        version,
        sha256,
        artifact_base64: bytes.toString('base64'),
        created_at: chTime(at),
      },
    ],
  })
}

export async function selectArtifact(
  ch: ClickHouseClient,
  modelName: string,
  version: number,
): Promise<{ sha256: string; bytes: Buffer } | null> {
  const rows = await queryRows<{ sha256: string; artifact_base64: string }>(
    ch,
    `SELECT sha256, artifact_base64 FROM ${TABLES.modelArtifacts} FINAL WHERE model_name = {model:String} AND version = {version:UInt32}`,
    { model: modelName, version },
  )
  const r = rows[0]
  return r ? { sha256: r.sha256, bytes: Buffer.from(r.artifact_base64, 'base64') } : null
}
