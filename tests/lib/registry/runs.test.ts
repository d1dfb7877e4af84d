/**
 * The shared training_runs mapping (lib/registry/runs.ts) that both the trainer and the API read
 * through: numbers coerced from ClickHouse's quoted 64-bit JSON, JSON columns parsed tolerantly,
 * the write row and the read mapping inverse to each other, and both in step with the table.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  parseJsonOr,
  RUN_COLUMNS,
  RUN_SUMMARY_COLUMNS,
  type RunRecord,
  type TrainingRun,
  toTrainingRun,
  trainingRunRow,
} from '../../../lib/registry/index.ts'

const T = Date.UTC(2025, 0, 2, 3, 4, 5, 67)

const record = (over: Partial<RunRecord> = {}): RunRecord => ({
  run_id: 'run-1',
  model_name: 'diabetes-risk',
  trigger: 'drift',
  trigger_event_id: 'drift:e1',
  status: 'succeeded',
  started_ms: T,
  finished_ms: T + 42_000,
  duration_ms: 42_000,
  params_json: '{"k":5}',
  candidates_json: '[{"family":"xgboost"}]',
  chosen_family: 'xgboost',
  gate_passed: 1,
  gate_reasons: [],
  version: 3,
  metrics_json: '{"roc_auc":0.83}',
  dataset_json: '{"rows":768}',
  error: '',
  updated_ms: T + 42_001,
  ...over,
})

/** The column names of `CREATE TABLE … training_runs (…)` in the migrations. */
function tableColumns(): string[] {
  const sql = readFileSync(new URL('../../../migrations/010_model_registry.sql', import.meta.url), 'utf8')
  const body = /CREATE TABLE IF NOT EXISTS training_runs \(([\s\S]*?)\n\) ENGINE/.exec(sql)?.[1]
  if (!body) throw new Error('training_runs not found in migrations/010_model_registry.sql')
  return body
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter(Boolean)
}

/** The `expression [AS name]` items of a SELECT list (commas inside calls do not split). */
const selectItems = (columns: string) => columns.split(/,(?![^(]*\))/).map((c) => c.trim())
/** What `SELECT ${columns}` names each result field. */
const selectedNames = (columns: string) => selectItems(columns).map((c) => c.split(/\s+AS\s+/i).pop()!)

describe('toTrainingRun', () => {
  it('maps every field, parsing the JSON columns', () => {
    expect(toTrainingRun(record())).toEqual({
      runId: 'run-1',
      modelName: 'diabetes-risk',
      trigger: 'drift',
      triggerEventId: 'drift:e1',
      status: 'succeeded',
      startedAt: T,
      finishedAt: T + 42_000,
      durationMs: 42_000,
      chosenFamily: 'xgboost',
      gatePassed: true,
      gateReasons: [],
      version: 3,
      metrics: { roc_auc: 0.83 },
      dataset: { rows: 768 },
      params: { k: 5 },
      candidates: [{ family: 'xgboost' }],
      error: '',
      updatedAt: T + 42_001,
    })
  })

  it('coerces numbers sent as strings (quoted 64-bit JSON) and keeps NULL finish and version', () => {
    const run = toTrainingRun(
      record({
        started_ms: String(T) as unknown as number,
        duration_ms: '0' as unknown as number,
        finished_ms: null,
        version: null,
        gate_passed: '1' as unknown as number,
        updated_ms: String(T) as unknown as number,
      }),
    )
    expect(run).toMatchObject({
      startedAt: T,
      durationMs: 0,
      finishedAt: null,
      version: null,
      gatePassed: true,
    })
    expect(run.updatedAt).toBe(T)
  })

  it('falls back to empty objects and lists for empty or broken JSON instead of failing', () => {
    const run = toTrainingRun(
      record({ params_json: '', candidates_json: '', metrics_json: '{"roc_auc":', dataset_json: 'nope' }),
    )
    expect(run).toMatchObject({ params: {}, candidates: [], metrics: {}, dataset: {} })
  })
})

describe('parseJsonOr', () => {
  it('parses valid JSON of any type and returns the fallback otherwise', () => {
    expect(parseJsonOr('[1,2]', [])).toEqual([1, 2])
    expect(parseJsonOr('{"a":{"b":null}}', {})).toEqual({ a: { b: null } })
    const fallback = { x: 1 }
    expect(parseJsonOr('', fallback)).toBe(fallback)
    expect(parseJsonOr('{', fallback)).toBe(fallback)
  })
})

describe('trainingRunRow', () => {
  it('writes every column of the table, and reading it back gives the same run', () => {
    const run: TrainingRun = toTrainingRun(record())
    const row = trainingRunRow(run)
    expect(Object.keys(row).sort()).toEqual(tableColumns().sort())
    // What ClickHouse does with the row: DateTime64 text back to epoch ms, objects kept as text.
    const ms = (text: unknown) => Date.parse(`${String(text).replace(' ', 'T')}Z`)
    const back: RunRecord = {
      ...(row as unknown as RunRecord),
      started_ms: ms(row.started_at),
      finished_ms: row.finished_at === null ? null : ms(row.finished_at),
      updated_ms: ms(row.updated_at),
    }
    expect(toTrainingRun(back)).toEqual(run)
  })

  it('writes a NULL finish for a running run and never a negative or fractional duration', () => {
    const row = trainingRunRow({ ...toTrainingRun(record()), finishedAt: null, durationMs: -3.7 })
    expect(row.finished_at).toBeNull()
    expect(row.duration_ms).toBe(0)
    expect(trainingRunRow({ ...toTrainingRun(record()), durationMs: 1234.6 }).duration_ms).toBe(1235)
  })
})

describe('RUN_COLUMNS', () => {
  it('selects exactly the fields of a RunRecord, from columns the table has', () => {
    expect(selectedNames(RUN_COLUMNS).sort()).toEqual(Object.keys(record()).sort())
    const table = new Set(tableColumns())
    for (const c of selectItems(RUN_COLUMNS)) {
      const source = /\(([a-z_]+)\)/.exec(c)?.[1] ?? c
      expect(table.has(source), source).toBe(true)
    }
  })

  it('RUN_SUMMARY_COLUMNS yields the same fields with params and candidates left empty', () => {
    expect(selectedNames(RUN_SUMMARY_COLUMNS)).toEqual(selectedNames(RUN_COLUMNS))
    const items = selectItems(RUN_SUMMARY_COLUMNS)
    expect(items).toContain(`'' AS params_json`)
    expect(items).toContain(`'' AS candidates_json`)
    expect(items.filter((c) => c.startsWith("''"))).toHaveLength(2)
    expect(toTrainingRun(record({ params_json: '', candidates_json: '' }))).toMatchObject({
      params: {},
      candidates: [],
    })
  })
})
