/**
 * The pure row mappers of the raw sink (rows.ts) and the positional encoders the fast path
 * uses (encode.ts): exact column values for known events, and column-by-column agreement of
 * the two paths, so switching the insert format cannot change what lands in ClickHouse.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { chTime } from '../../../lib/clickhouse/index.ts'
import { FEATURE_COLUMNS as FEATURE_COLUMN_OF, FEATURES } from '../../../lib/features/index.ts'
import { DLQ_HEADERS } from '../../../lib/kafka/index.ts'
import {
  chSeconds,
  FEATURE_COLUMNS,
  OUTCOME_COLUMNS,
  outcomeValues,
  PREDICTION_COLUMNS,
  predictionValues,
} from '../../../processors/monitors/sink/encode.ts'
import {
  dlqRow,
  type OutcomeEvent,
  outcomeRow,
  type PredictionEvent,
  predictionRow,
  shadowPredictionRow,
} from '../../../processors/monitors/sink/rows.ts'

const T = Date.UTC(2025, 0, 2, 3, 4, 5, 67) // 2025-01-02 03:04:05.067 UTC

function prediction(overrides: Partial<PredictionEvent> = {}): PredictionEvent {
  return {
    requestId: 'req-"quoted"\\1',
    patientId: 'p42',
    modelName: 'diabetes-risk',
    modelVersion: 3,
    probability: 0.734,
    label: 1,
    threshold: 0.41,
    eventTime: T,
    scoredAt: T + 5,
    pregnancies: 2,
    glucose: 148,
    bloodPressure: null,
    skinThickness: 35,
    insulin: null,
    bmi: 33.6,
    diabetesPedigreeFunction: 0.627,
    age: 50,
    shadow: false,
    ...overrides,
  }
}

/** Seconds-with-fraction text back to epoch ms (what ClickHouse does with it). */
const secondsToMs = (s: string) => {
  const [whole, frac] = s.split('.')
  return Number(whole) * 1000 + Number(frac)
}
/** chTime text back to epoch ms. */
const chTimeToMs = (s: string) => Date.parse(`${s.replace(' ', 'T')}Z`)

/** The columns of a raw table that an insert must fill (all but those with a DEFAULT). */
function insertedColumns(table: string): string[] {
  const sql = readFileSync(new URL('../../../migrations/001_core_events.sql', import.meta.url), 'utf8')
  const body = new RegExp(`CREATE TABLE IF NOT EXISTS ${table} \\(([\\s\\S]*?)\\n\\) ENGINE`).exec(sql)?.[1]
  if (!body) throw new Error(`${table} not found in migrations/001_core_events.sql`)
  return body
    .split(/,(?![^(]*\))/)
    .map((c) => c.trim())
    .filter((c) => c && !/\bDEFAULT\b/.test(c))
    .map((c) => c.split(/\s+/)[0]!)
}

describe('predictionRow', () => {
  it('maps every column, times as DateTime64(3) text and missing features as null', () => {
    const row = predictionRow(prediction(), { partition: 4, offset: '12345678901' })
    expect(row).toEqual({
      request_id: 'req-"quoted"\\1',
      patient_id: 'p42',
      model_name: 'diabetes-risk',
      model_version: 3,
      probability: 0.734,
      label: 1,
      threshold: 0.41,
      event_time: '2025-01-02 03:04:05.067',
      scored_at: '2025-01-02 03:04:05.072',
      pregnancies: 2,
      glucose: 148,
      blood_pressure: null,
      skin_thickness: 35,
      insulin: null,
      bmi: 33.6,
      diabetes_pedigree_function: 0.627,
      age: 50,
      kafka_partition: 4,
      kafka_offset: '12345678901',
    })
  })

  it('writes null for a feature absent from the event (older writer schema)', () => {
    const p = prediction()
    delete (p as Partial<PredictionEvent>).age
    expect(predictionRow(p, { partition: 0, offset: '0' }).age).toBeNull()
  })
})

describe('shadowPredictionRow', () => {
  it('fills exactly the shadow table: the served row without patient id and features', () => {
    const p = prediction()
    const at = { partition: 1, offset: '77' }
    const shadow = shadowPredictionRow(p, at) as unknown as Record<string, unknown>
    expect(Object.keys(shadow).sort()).toEqual(insertedColumns('shadow_predictions').sort())
    const full = predictionRow(p, at) as unknown as Record<string, unknown>
    for (const [c, v] of Object.entries(shadow)) expect(v, c).toEqual(full[c])
    expect(JSON.stringify(shadow)).not.toMatch(/p42|148/)
  })
})

describe('outcomeRow', () => {
  it('maps every column', () => {
    const o: OutcomeEvent = { requestId: 'r1', outcome: 0, labelledAt: T, source: 'clinic' }
    expect(outcomeRow(o, { partition: 1, offset: '7' })).toEqual({
      request_id: 'r1',
      outcome: 0,
      labelled_at: '2025-01-02 03:04:05.067',
      source: 'clinic',
      kafka_partition: 1,
      kafka_offset: '7',
    })
  })
})

describe('dlqRow', () => {
  it('takes provenance from the DLQ headers and truncates the message to 500 characters', () => {
    const row = dlqRow(
      {
        key: Buffer.from('k1'),
        headers: {
          [DLQ_HEADERS.sourceTopic]: 'x.predictions',
          [DLQ_HEADERS.sourcePartition]: '2',
          [DLQ_HEADERS.sourceOffset]: '99',
          [DLQ_HEADERS.reason]: 'DECODE_BAD_MAGIC',
          [DLQ_HEADERS.message]: Buffer.from('m'.repeat(600)),
          [DLQ_HEADERS.schemaId]: '17',
          [DLQ_HEADERS.failedAt]: String(T),
        },
        partition: 0,
        offset: '5',
        timestamp: '1',
      },
      'x.predictions.dlq',
    )
    expect(row).toEqual({
      source_topic: 'x.predictions',
      source_partition: 2,
      source_offset: '99',
      reason: 'DECODE_BAD_MAGIC',
      message: 'm'.repeat(500),
      schema_id: '17',
      failed_at: '2025-01-02 03:04:05.067',
      record_key: 'k1',
      kafka_partition: 0,
      kafka_offset: '5',
    })
  })

  it('falls back to the DLQ position, topic name and broker timestamp without headers', () => {
    const row = dlqRow({ key: null, partition: 3, offset: '11', timestamp: String(T) }, 'x.outcomes.dlq')
    expect(row).toEqual({
      source_topic: 'x.outcomes',
      source_partition: 3,
      source_offset: '11',
      reason: 'UNKNOWN',
      message: '',
      schema_id: '',
      failed_at: '2025-01-02 03:04:05.067',
      record_key: '',
      kafka_partition: 3,
      kafka_offset: '11',
    })
  })

  it('keeps the DLQ partition when the source-partition header is not a number', () => {
    const row = dlqRow(
      { key: 'k', headers: { [DLQ_HEADERS.sourcePartition]: 'abc' }, partition: 6, offset: '1' },
      't.dlq',
    )
    expect(row.source_partition).toBe(6)
    expect(row.failed_at).toBe('1970-01-01 00:00:00.000')
  })
})

describe('column lists', () => {
  it('name every column an insert fills, for predictions and outcomes', () => {
    expect([...PREDICTION_COLUMNS].sort()).toEqual(insertedColumns('predictions').sort())
    expect([...OUTCOME_COLUMNS].sort()).toEqual(insertedColumns('outcomes').sort())
    const at = { partition: 0, offset: '1' }
    expect(Object.keys(predictionRow(prediction(), at))).toEqual([...PREDICTION_COLUMNS])
    // The writer's typed feature columns are the readers' mapping (lib/features), in FEATURES order.
    expect([...FEATURE_COLUMNS]).toEqual(FEATURES.map((f) => FEATURE_COLUMN_OF[f]))
  })
})

describe('positional encoders agree with the row mappers', () => {
  it('chSeconds is exact to the millisecond, with the fraction zero-padded', () => {
    expect(chSeconds(T)).toBe('1735787045.067')
    expect(chSeconds(Date.UTC(2025, 0, 1))).toBe('1735689600.000')
    expect(chSeconds(Date.UTC(2025, 0, 1) + 5)).toBe('1735689600.005')
    expect(chSeconds(Date.UTC(2025, 0, 1) + 999)).toBe('1735689600.999')
  })

  it('predictionValues gives predictionRow’s value for every column', () => {
    for (const p of [
      prediction(),
      prediction({ glucose: null, probability: 1e-9, eventTime: 0, scoredAt: 1 }),
    ]) {
      const at = { partition: 2, offset: '314' }
      const row = predictionRow(p, at) as unknown as Record<string, unknown>
      const values = predictionValues(p, at)
      expect(values).toHaveLength(PREDICTION_COLUMNS.length)
      PREDICTION_COLUMNS.forEach((c, i) => {
        if (c === 'event_time' || c === 'scored_at')
          expect(secondsToMs(values[i] as string)).toBe(chTimeToMs(row[c] as string))
        else expect(values[i]).toEqual(row[c])
      })
    }
  })

  it('outcomeValues gives outcomeRow’s value for every column', () => {
    const o: OutcomeEvent = { requestId: 'r\n2', outcome: 1, labelledAt: T, source: 'lab' }
    const at = { partition: 0, offset: '9' }
    const row = outcomeRow(o, at) as unknown as Record<string, unknown>
    const values = outcomeValues(o, at)
    OUTCOME_COLUMNS.forEach((c, i) => {
      if (c === 'labelled_at') expect(secondsToMs(values[i] as string)).toBe(chTimeToMs(row[c] as string))
      else expect(values[i]).toEqual(row[c])
    })
    expect(chTime(T)).toBe('2025-01-02 03:04:05.067')
  })
})
