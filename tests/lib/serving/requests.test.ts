import { describe, expect, it } from 'vitest'
import type { PredictionRequestEvent as PredictionRequest } from '../../../lib/events/index.ts'
import { FEATURES } from '../../../lib/features/index.ts'
import {
  columnMap,
  FEATURE_SELECT,
  featuresOfRow,
  fillRow,
  loadModel,
  toMatrix,
  toPrediction,
  toRequestEvent,
  unscorableError,
  validateRequest,
} from '../../../lib/serving/index.ts'
import { constantArtifact, stumpArtifact, validRequest } from '../../processors/inference/fixtures.ts'

const req = (over: Record<string, unknown> = {}) =>
  ({ ...validRequest('r1'), ...over }) as unknown as PredictionRequest

describe('validateRequest', () => {
  it('accepts a request inside the bounds, with nulls for unmeasured features', () => {
    expect(validateRequest(req())).toBeNull()
    expect(validateRequest(req({ insulin: null, skinThickness: null }))).toBeNull()
  })

  it('rejects out-of-range and non-finite features, naming feature and rule but never the value', () => {
    const err = validateRequest(req({ glucose: 4321.5, bmi: Number.NaN }))
    expect(err?.code).toBe('VALIDATION_FAILED')
    expect(err?.retriable).toBe(false)
    expect(err?.message).toContain('glucose (range)')
    expect(err?.message).toContain('bmi (type)')
    expect(err?.message).not.toContain('4321')
    expect(err?.details.issues).toEqual([
      { feature: 'glucose', rule: 'range' },
      { feature: 'bmi', rule: 'type' },
    ])
  })

  it('rejects infinite values and an empty request id', () => {
    expect(validateRequest(req({ age: Number.POSITIVE_INFINITY }))?.details.issues).toEqual([
      { feature: 'age', rule: 'type' },
    ])
    expect(validateRequest(req({ requestId: '  ' }))?.details.issues).toEqual([
      { feature: 'requestId', rule: 'missing' },
    ])
  })

  it('accepts the exact bounds (inclusive)', () => {
    expect(validateRequest(req({ glucose: 20, bloodPressure: 200, pregnancies: 0 }))).toBeNull()
    expect(validateRequest(req({ glucose: 19.99 }))?.details.issues).toEqual([
      { feature: 'glucose', rule: 'range' },
    ])
  })
})

describe('row layout', () => {
  it('maps model columns to FEATURES and writes NaN for missing values', () => {
    const cols = columnMap(['glucose', 'age'])
    expect(Array.from(cols)).toEqual([1, 7])
    const rows = new Float64Array(4)
    fillRow(req({ glucose: null }), cols, rows, 1)
    expect(Number.isNaN(rows[2])).toBe(true)
    expect(rows[3]).toBe(40)
  })

  it('builds the same rows for a batch as row by row', () => {
    const cols = columnMap(['age', 'glucose'])
    expect(Array.from(toMatrix([req(), req({ glucose: null })], cols))).toEqual([40, 120, 40, Number.NaN])
  })

  it('selects the feature columns of predictions and reads them back by event field', () => {
    expect(FEATURE_SELECT).toBe(
      'pregnancies, glucose, blood_pressure, skin_thickness, insulin, bmi, diabetes_pedigree_function, age',
    )
    expect(featuresOfRow({ blood_pressure: 70, diabetes_pedigree_function: 0.5 })).toMatchObject({
      bloodPressure: 70,
      diabetesPedigreeFunction: 0.5,
      glucose: undefined,
    })
  })

  it('refuses a model expecting an unknown feature', () => {
    expect(() => columnMap(['glucose', 'cholesterol'])).toThrow(
      /ARTIFACT_CORRUPT|unknown feature cholesterol/,
    )
  })
})

describe('toRequestEvent', () => {
  it('gives the contract shape: notes and unset features are null', () => {
    const e = toRequestEvent(
      { requestId: 'r', patientId: 'p', eventTime: 1, sourceSystem: 's' },
      { glucose: 99 },
    )
    expect(e).toMatchObject({ requestId: 'r', notes: null, glucose: 99, insulin: null })
    expect(Object.keys(e)).toHaveLength(5 + FEATURES.length)
  })
})

describe('toPrediction', () => {
  it('labels at the threshold (>=) and copies the features', () => {
    const model = { modelName: 'm', version: 3, threshold: 0.5 }
    const p = toPrediction(req(), model, 0.5, 123, false)
    expect(p).toMatchObject({
      requestId: 'r1',
      patientId: 'p-r1',
      modelVersion: 3,
      probability: 0.5,
      label: 1,
      threshold: 0.5,
      scoredAt: 123,
      shadow: false,
    })
    expect(toPrediction(req(), model, 0.4999, 123, true)).toMatchObject({ label: 0, shadow: true })
    for (const f of FEATURES) expect(p[f]).toBe(req()[f])
  })
})

describe('loadModel', () => {
  const identity = (a: { family: string; threshold: number }, version: number) => ({
    modelName: 'm',
    version,
    family: a.family,
    threshold: a.threshold,
    eventId: null,
  })
  it('scores with the artifact: constant and stump models give the known probabilities', () => {
    const c = constantArtifact('m', 2, 0.3)
    const lc = loadModel(identity(c, 2), c)
    expect(lc.version).toBe(2)
    expect(lc.scorer.scoreOne(new Float64Array(8).fill(Number.NaN))).toBeCloseTo(0.3, 12)

    const s = stumpArtifact('m', 1)
    const ls = loadModel(identity(s, 1), s)
    const rows = new Float64Array(16)
    fillRow(req({ glucose: 100 }), ls.columns, rows, 0)
    fillRow(req({ glucose: 180 }), ls.columns, rows, 1)
    expect(Array.from(ls.scorer.scoreBatch(rows, 2))).toEqual([0.2, 0.8])
  })
})

describe('unscorableError', () => {
  it('names the missing features the model could not handle, not values', () => {
    const err = unscorableError(req({ insulin: null, glucose: null }), {
      version: 4,
      columns: columnMap([...FEATURES]),
    })
    expect(err.code).toBe('VALIDATION_FAILED')
    expect(err.message).toContain('model v4 cannot score request: glucose (missing), insulin (missing)')
  })
})
