/**
 * Canary patient data planted in the inputs of the reliability runs. None of these strings may
 * appear in any log line of any child process, nor in any DLQ header: a hit means a code path
 * logs (or dead-letters into a header) something it read from a patient record.
 *
 * The feature canary is a value no generator produces (three decimals), so finding "187.123"
 * anywhere in a log can only come from a request's feature vector.
 */
import { ALL_OUTPUT } from './procs.ts'
import { recordResult } from './results.ts'
export const CANARY = {
  /** Looks like a medical record number, where a pseudonymous id is expected. */
  mrn: 'MRN-CANARY-99173344',
  name: 'Zebulon Quixote-Canary',
  dateOfBirth: '1961-07-23',
  glucose: 187.123,
  bmi: 41.777,
} as const

/** The strings searched for (the numbers as they would print). */
export const CANARY_STRINGS: string[] = [
  CANARY.mrn,
  CANARY.name,
  CANARY.dateOfBirth,
  String(CANARY.glucose),
  String(CANARY.bmi),
  // A name could be logged in part.
  'Zebulon',
  'Quixote',
]

/** Free text a clinician might type, carrying the name and date of birth. */
export const CANARY_NOTES = `Pt ${CANARY.name}, DOB ${CANARY.dateOfBirth}, MRN ${CANARY.mrn}; fasting sample`

/** Every canary occurrence in `texts`, as "canary in <where>" findings. */
export function findCanaries(texts: { where: string; text: string }[]): string[] {
  const hits: string[] = []
  for (const { where, text } of texts) {
    for (const c of CANARY_STRINGS) if (text.includes(c)) hits.push(`${c} in ${where}`)
  }
  return hits
}

/**
 * Promise 8 for one test file: searches every line every child of this file wrote, records the
 * row `id` of the table and returns the hits (the caller asserts there are none).
 */
export function checkLogCanaries(file: string, id: string, runs: string): string[] {
  const hits = findCanaries(ALL_OUTPUT)
  recordResult(file, {
    id,
    fault: `canary patient data in logs (${runs})`,
    events: ALL_OUTPUT.length,
    lost: 0,
    duplicated: 0,
    dlq: 0,
    recoveredS: null,
    pass: ALL_OUTPUT.length > 0 && hits.length === 0,
    note: `${ALL_OUTPUT.length} log lines searched, ${hits.length} hits`,
  })
  return hits
}
