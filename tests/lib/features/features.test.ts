import { describe, expect, it } from 'vitest'
import { FEATURE_SPEC, FEATURES, fromCsvValue, toRow, validateFeatures } from '../../../lib/features/index.ts'

const ok = {
  pregnancies: 2,
  glucose: 120,
  bloodPressure: 70,
  skinThickness: 20,
  insulin: null,
  bmi: 30,
  diabetesPedigreeFunction: 0.5,
  age: 40,
}

describe('features', () => {
  it('accepts a valid vector with missing values', () => {
    expect(validateFeatures(ok)).toEqual([])
  })
  it('reports every bad field by name and rule, never the value', () => {
    const issues = validateFeatures({ ...ok, glucose: 9999, bmi: Number.NaN, age: '40' as unknown as number })
    expect(issues.map((i) => [i.feature, i.rule])).toEqual([
      ['glucose', 'range'],
      ['bmi', 'type'],
      ['age', 'type'],
    ])
    expect(issues.map((i) => i.message).join(' ')).not.toContain('9999')
  })
  it('turns the original "0 = not measured" into null only where it applies', () => {
    expect(fromCsvValue(FEATURE_SPEC.glucose, 0)).toBeNull()
    expect(fromCsvValue(FEATURE_SPEC.pregnancies, 0)).toBe(0)
    expect(toRow(ok)[FEATURES.indexOf('insulin')]).toBeNaN()
  })
})
