/**
 * The reliability table: fault, events, lost, duplicated, DLQ'd, recovered in (s).
 * Each test file records its rows in results/rows/<file>.json (vitest runs files in separate
 * processes); every file's afterAll prints the table and rewrites results/latest.md from all
 * row files, so the last file to finish writes the complete table.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { REPO_ROOT } from '../../../lib/config/index.ts'
import { FULL_SUITE } from './sizes.ts'

export interface ResultRow {
  /** Test id (sort key) and the fault, in words. */
  id: string
  fault: string
  events: number
  lost: number
  duplicated: number
  dlq: number
  /** Seconds from the fault's end (restart / broker back / stall over) to full progress; null = n/a. */
  recoveredS: number | null
  pass: boolean
  note?: string
}

const RESULTS = path.join(REPO_ROOT, 'tests', 'reliability', 'results')
const ROWS = path.join(RESULTS, 'rows')

export function recordResult(file: string, row: ResultRow): void {
  mkdirSync(ROWS, { recursive: true })
  const f = path.join(ROWS, `${file}.json`)
  let rows: ResultRow[] = []
  try {
    rows = JSON.parse(readFileSync(f, 'utf8')) as ResultRow[]
  } catch {
    /* first row of this file */
  }
  rows = rows.filter((r) => r.id !== row.id)
  rows.push(row)
  writeFileSync(f, `${JSON.stringify(rows, null, 2)}\n`)
}

export function formatTable(rows: ResultRow[]): string {
  const head = "| fault | events | lost | duplicated | DLQ'd | recovered in (s) | result | note |"
  const sep = '|---|---:|---:|---:|---:|---:|---|---|'
  const body = rows
    .sort((a, b) => a.id.localeCompare(b.id))
    .map(
      (r) =>
        `| ${r.fault} | ${r.events} | ${r.lost} | ${r.duplicated} | ${r.dlq} | ${r.recoveredS === null ? 'n/a' : r.recoveredS.toFixed(1)} | ${r.pass ? 'pass' : 'FAIL'} | ${r.note ?? ''} |`,
    )
  return [head, sep, ...body].join('\n')
}

/** Prints the table of every recorded row and writes results/latest.md. */
export function publishTable(): string {
  let rows: ResultRow[] = []
  try {
    for (const f of readdirSync(ROWS).filter((n) => n.endsWith('.json')))
      rows.push(...(JSON.parse(readFileSync(path.join(ROWS, f), 'utf8')) as ResultRow[]))
  } catch {
    rows = []
  }
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU'
  const md = [
    '# Reliability results',
    '',
    `Run ${new Date().toISOString()} on ${os.hostname()} (${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}), ${FULL_SUITE ? 'full suite (npm run test:reliability)' : 'fast subset (npm test)'}.`,
    '',
    'lost = requests without a prediction in ClickHouse (FINAL); duplicated = rows beyond one per request_id',
    "(count() FINAL − uniqExact(request_id)); DLQ'd = dead-lettered records; recovered in = seconds from the",
    'restart / broker start / end of the stall until every expected row was in ClickHouse.',
    '',
    formatTable(rows),
    '',
  ].join('\n')
  mkdirSync(RESULTS, { recursive: true })
  writeFileSync(path.join(RESULTS, 'latest.md'), md)
  console.log(`\n${md}`)
  return md
}
