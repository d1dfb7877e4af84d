/**
 * `npm run data:fetch`: downloads a public copy of the Pima Indians Diabetes data set (the
 * Kaggle "diabetes.csv" layout) and keeps it only if it passes the checks of lib/data/pima.ts
 * (header, 768 rows, every column mean). The file is git-ignored and never committed.
 *
 *   riskstream data fetch [--url URL] [--out data/pima-indians-diabetes.csv] [--force]
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parsePima } from '../lib/data/pima.ts'
import { RiskStreamError } from '../lib/errors/index.ts'

/** Well-known mirrors of Kaggle's diabetes.csv (same header and values); tried in order. */
export const DEFAULT_SOURCES = [
  'https://raw.githubusercontent.com/plotly/datasets/master/diabetes.csv',
  'https://raw.githubusercontent.com/npradaschnor/Pima-Indians-Diabetes-Dataset/master/diabetes.csv',
]

export const DEFAULT_OUT = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  'pima-indians-diabetes.csv',
)

/**
 * Normalises line endings (mirrors differ in CRLF vs LF; the checks and the published sha256
 * are for LF) and verifies the content. Returns the text to store; throws DATASET_INVALID.
 */
export function verifyPimaText(raw: string): { text: string; sha256: string } {
  const text = `${raw
    .replace(/^\uFEFF/, '')
    .replace(/\r\n?/g, '\n')
    .trimEnd()}\n`
  const { sha256 } = parsePima(text)
  return { text, sha256 }
}

/** Downloads from the first source that answers with a verified copy; writes it atomically. */
export async function fetchPima(
  options: { sources?: string[]; out?: string; force?: boolean; fetchImpl?: typeof fetch } = {},
): Promise<{ path: string; sha256: string; source: string }> {
  const out = options.out ?? DEFAULT_OUT
  if (existsSync(out) && !options.force) {
    const { sha256 } = verifyPimaText(readFileSync(out, 'utf8'))
    return { path: out, sha256, source: 'existing file' }
  }
  const doFetch = options.fetchImpl ?? fetch
  const failures: string[] = []
  for (const source of options.sources ?? DEFAULT_SOURCES) {
    try {
      const res = await doFetch(source, { signal: AbortSignal.timeout(30_000) })
      if (!res.ok) throw new Error(`HTTP ${res.status}`)
      const { text, sha256 } = verifyPimaText(await res.text())
      mkdirSync(path.dirname(out), { recursive: true })
      writeFileSync(`${out}.tmp`, text)
      renameSync(`${out}.tmp`, out)
      return { path: out, sha256, source }
    } catch (err) {
      failures.push(`${source}: ${(err as Error).message}`)
    }
  }
  throw new RiskStreamError('DATASET_INVALID', `no source gave a verified copy (${failures.join('; ')})`)
}
