import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { RiskStreamError } from '../errors/index.ts'
import { FEATURE_SPECS, type FeatureVector, fromCsvValue } from '../features/index.ts'

/** The published column means that identify the exact copy of the data set (see data/README.md). */
export const PIMA_CHECKS = {
  rows: 768,
  header: 'Pregnancies,Glucose,BloodPressure,SkinThickness,Insulin,BMI,DiabetesPedigreeFunction,Age,Outcome',
  means: {
    Pregnancies: 3.845052,
    Glucose: 120.894531,
    BloodPressure: 69.105469,
    SkinThickness: 20.536458,
    Insulin: 79.799479,
    BMI: 31.992578,
    DiabetesPedigreeFunction: 0.471876,
    Age: 33.240885,
    Outcome: 0.348958,
  } as Record<string, number>,
}

export interface PimaDataset {
  /** Feature vectors with "not measured" zeros already turned into null. */
  rows: FeatureVector[]
  labels: number[]
  sha256: string
}

/** Parses and verifies the CSV text; throws DATASET_INVALID naming the first failed check. */
export function parsePima(text: string): PimaDataset {
  const lines = text.split('\n').filter((l) => l.trim() !== '')
  const header = lines[0]?.trim()
  if (header !== PIMA_CHECKS.header) {
    throw new RiskStreamError('DATASET_INVALID', `unexpected header "${header?.slice(0, 120)}"`)
  }
  const columns = header.split(',')
  const sums = new Array<number>(columns.length).fill(0)
  const rows: FeatureVector[] = []
  const labels: number[] = []
  for (let i = 1; i < lines.length; i++) {
    const cells = lines[i]!.split(',').map(Number)
    if (cells.length !== columns.length || cells.some((c) => !Number.isFinite(c))) {
      throw new RiskStreamError('DATASET_INVALID', `line ${i + 1}: expected ${columns.length} numbers`)
    }
    cells.forEach((c, j) => {
      sums[j]! += c
    })
    const v = {} as FeatureVector
    FEATURE_SPECS.forEach((spec, j) => {
      v[spec.name] = fromCsvValue(spec, cells[j]!)
    })
    rows.push(v)
    const outcome = cells[columns.length - 1]!
    if (outcome !== 0 && outcome !== 1)
      throw new RiskStreamError('DATASET_INVALID', `line ${i + 1}: Outcome must be 0 or 1`)
    labels.push(outcome)
  }
  if (rows.length !== PIMA_CHECKS.rows) {
    throw new RiskStreamError('DATASET_INVALID', `expected ${PIMA_CHECKS.rows} rows, found ${rows.length}`)
  }
  columns.forEach((col, j) => {
    const mean = sums[j]! / rows.length
    if (Math.abs(mean - PIMA_CHECKS.means[col]!) > 1e-5) {
      throw new RiskStreamError(
        'DATASET_INVALID',
        `mean of ${col} is ${mean.toFixed(6)}, expected ${PIMA_CHECKS.means[col]}`,
      )
    }
  })
  return { rows, labels, sha256: createHash('sha256').update(text).digest('hex') }
}

/** Reads the Pima CSV from its configured path (config.data.pimaCsvPath). */
export function loadPima(path: string): PimaDataset {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new RiskStreamError(
      'DATASET_INVALID',
      `cannot read ${path}; run "npm run data:fetch" or set PIMA_CSV_PATH`,
      {
        cause: err,
      },
    )
  }
  return parsePima(text)
}
