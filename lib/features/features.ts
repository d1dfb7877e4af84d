/**
 * The eight Pima features: their names in the CSV, in events, and the physiological bounds
 * a value must respect. One table serves producers (reject before sending), inference
 * (validate before scoring) and monitors (out-of-range counts).
 */

export const FEATURES = [
  'pregnancies',
  'glucose',
  'bloodPressure',
  'skinThickness',
  'insulin',
  'bmi',
  'diabetesPedigreeFunction',
  'age',
] as const

export type FeatureName = (typeof FEATURES)[number]

/** A feature vector as events carry it: `null` means "not measured". */
export type FeatureVector = Record<FeatureName, number | null>

export interface FeatureSpec {
  name: FeatureName
  /** Column header in the Pima CSV. */
  csvColumn: string
  /** In the original data a 0 here means "not measured". */
  zeroMeansMissing: boolean
  /** May an event leave it unset? */
  nullable: boolean
  /** Inclusive physiological bounds; values outside are rejected as invalid input. */
  min: number
  max: number
  unit: string
}

/**
 * Bounds are deliberately wide (they catch unit mix-ups and garbage, not rare patients):
 * e.g. plasma glucose 2 h after OGTT 20–600 mg/dL, diastolic pressure 10–200 mmHg,
 * BMI 10–90 kg/m². They are documented in the README's table.
 */
export const FEATURE_SPECS: readonly FeatureSpec[] = [
  {
    name: 'pregnancies',
    csvColumn: 'Pregnancies',
    zeroMeansMissing: false,
    nullable: true,
    min: 0,
    max: 25,
    unit: 'count',
  },
  {
    name: 'glucose',
    csvColumn: 'Glucose',
    zeroMeansMissing: true,
    nullable: true,
    min: 20,
    max: 600,
    unit: 'mg/dL',
  },
  {
    name: 'bloodPressure',
    csvColumn: 'BloodPressure',
    zeroMeansMissing: true,
    nullable: true,
    min: 10,
    max: 200,
    unit: 'mmHg',
  },
  {
    name: 'skinThickness',
    csvColumn: 'SkinThickness',
    zeroMeansMissing: true,
    nullable: true,
    min: 1,
    max: 120,
    unit: 'mm',
  },
  {
    name: 'insulin',
    csvColumn: 'Insulin',
    zeroMeansMissing: true,
    nullable: true,
    min: 1,
    max: 1500,
    unit: 'µU/mL',
  },
  { name: 'bmi', csvColumn: 'BMI', zeroMeansMissing: true, nullable: true, min: 10, max: 90, unit: 'kg/m²' },
  {
    name: 'diabetesPedigreeFunction',
    csvColumn: 'DiabetesPedigreeFunction',
    zeroMeansMissing: false,
    nullable: true,
    min: 0,
    max: 5,
    unit: 'score',
  },
  { name: 'age', csvColumn: 'Age', zeroMeansMissing: false, nullable: true, min: 1, max: 120, unit: 'years' },
]

export const FEATURE_SPEC: Readonly<Record<FeatureName, FeatureSpec>> = Object.fromEntries(
  FEATURE_SPECS.map((s) => [s.name, s]),
) as Record<FeatureName, FeatureSpec>

export interface FeatureIssue {
  feature: FeatureName | string
  rule: 'type' | 'range' | 'missing' | 'unknown'
  message: string
}

/**
 * Checks a vector against the bounds table. Returns every problem, not only the first,
 * so a producer can tell a clinician everything wrong with a row at once.
 * Messages name the feature and the rule, never the value (values are patient data).
 */
export function validateFeatures(v: Record<string, unknown>): FeatureIssue[] {
  const issues: FeatureIssue[] = []
  for (const spec of FEATURE_SPECS) {
    const x = v[spec.name]
    if (x === null || x === undefined) {
      if (!spec.nullable)
        issues.push({ feature: spec.name, rule: 'missing', message: `${spec.name} is required` })
      continue
    }
    if (typeof x !== 'number' || !Number.isFinite(x)) {
      issues.push({ feature: spec.name, rule: 'type', message: `${spec.name} must be a finite number` })
      continue
    }
    if (x < spec.min || x > spec.max) {
      issues.push({
        feature: spec.name,
        rule: 'range',
        message: `${spec.name} outside physiological bounds [${spec.min}, ${spec.max}] ${spec.unit}`,
      })
    }
  }
  return issues
}

/** Maps a raw CSV value to an event value: the original's "0 = not measured" becomes null. */
export function fromCsvValue(spec: FeatureSpec, raw: number): number | null {
  return spec.zeroMeansMissing && raw === 0 ? null : raw
}

/** Ordered numeric row for models; NaN marks missing (learners and scorers map it as they need). */
export function toRow(v: FeatureVector): number[] {
  return FEATURES.map((f) => (v[f] === null || v[f] === undefined ? Number.NaN : (v[f] as number)))
}

/** The ClickHouse column of each feature in `predictions` (snake_case of the event field). */
export const FEATURE_COLUMNS: Readonly<Record<FeatureName, string>> = Object.fromEntries(
  FEATURES.map((f) => [f, f.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)]),
) as Record<FeatureName, string>
