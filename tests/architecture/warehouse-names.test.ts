/**
 * ClickHouse table and view names have one home, lib/warehouse: outside it and migrations/, a
 * source file names a table through TABLES/VIEWS, never as a string literal (SQL text in a
 * string or template, or a literal equal to a name). The names come from lib/warehouse itself,
 * and every table or view the migrations leave behind must be listed there, so neither drifts.
 * Tests may name tables and are not scanned.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import { MIGRATIONS_DIR, readMigrations, splitStatements } from '../../lib/clickhouse/index.ts'
import { REPO_ROOT } from '../../lib/config/index.ts'
import { WAREHOUSE_NAMES } from '../../lib/warehouse/index.ts'

const SOURCE_DIRS = [
  'api',
  'bench',
  'bin',
  'cli',
  'data',
  'lib',
  'processors',
  'producers',
  'stack',
  'trainer',
]
const EXEMPT_DIRS = ['lib/warehouse/']

/**
 * Literals that equal a table name but mean something else: Kafka topic keys (lib/kafka/topics.ts
 * and the benches that build records per topic: 'predictions', 'outcomes' name topics there).
 */
const NOT_A_TABLE: Record<string, string[]> = {
  'lib/kafka/topics.ts': ['predictions', 'outcomes'],
  'bench/monitors.bench.ts': ['predictions', 'outcomes'],
  'bench/monitoring.bench.ts': ['predictions', 'outcomes'],
  'bench/sizing.bench.ts': ['predictions', 'outcomes'],
}

/**
 * Files being rewritten in processors/monitors whose table literals are replaced with the
 * rewrite. Each entry must still hold the literal: once it is gone, delete the entry (the test
 * says so), so the list only ever shrinks.
 */
const PENDING: Record<string, string[]> = {}

function files(dir: string): string[] {
  const abs = path.join(REPO_ROOT, dir)
  return readdirSync(abs).flatMap((name) => {
    const p = path.join(abs, name)
    if (statSync(p).isDirectory()) return name === 'node_modules' ? [] : files(path.join(dir, name))
    return name.endsWith('.ts') ? [path.join(dir, name).split(path.sep).join('/')] : []
  })
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
const namePattern = WAREHOUSE_NAMES.map(escapeRegExp).join('|')
const SQL_REFERENCE = new RegExp(`\\b(?:FROM|JOIN|INTO|TABLE|EXISTS)\\s+(${namePattern})\\b`, 'gi')

/** Table names a string's text refers to: SQL references, or the whole text being a name. */
function namesInText(text: string): string[] {
  const found = [...text.matchAll(SQL_REFERENCE)].map((m) => m[1]!)
  if (WAREHOUSE_NAMES.includes(text)) found.push(text)
  return found
}

/** Every table name named by a string or template literal of `source` (comments are not literals). */
function namesInSource(file: string, source: string): string[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true)
  const found: string[] = []
  const visit = (node: ts.Node) => {
    if (
      ts.isStringLiteral(node) ||
      ts.isNoSubstitutionTemplateLiteral(node) ||
      ts.isTemplateHead(node) ||
      ts.isTemplateMiddle(node) ||
      ts.isTemplateTail(node)
    )
      found.push(...namesInText(node.text))
    node.forEachChild(visit)
  }
  visit(sf)
  return found
}

function literalsByFile(): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const dir of SOURCE_DIRS)
    for (const file of files(dir)) {
      if (EXEMPT_DIRS.some((d) => file.startsWith(d))) continue
      const names = namesInSource(file, readFileSync(path.join(REPO_ROOT, file), 'utf8'))
      if (names.length > 0) out.set(file, names)
    }
  return out
}

/** Tables and views the migrations create and do not drop again (a swap's scratch table is dropped). */
function migratedNames(): Set<string> {
  const live = new Set<string>()
  for (const m of readMigrations(MIGRATIONS_DIR))
    for (const statement of splitStatements(m.sql)) {
      const created = /^CREATE\s+(?:TABLE|(?:MATERIALIZED\s+)?VIEW)\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)/i.exec(
        statement,
      )
      if (created) live.add(created[1]!)
      const dropped = /^DROP\s+(?:TABLE|VIEW)\s+(?:IF\s+EXISTS\s+)?(\w+)/i.exec(statement)
      if (dropped) live.delete(dropped[1]!)
    }
  return live
}

describe('ClickHouse names live in lib/warehouse', () => {
  it('finds a table named in SQL text or as a whole literal, and not in other words', () => {
    expect(namesInText('SELECT count() FROM predictions FINAL')).toEqual(['predictions'])
    expect(namesInText('INSERT INTO dlq_records (reason) VALUES')).toEqual(['dlq_records'])
    expect(namesInText('monitor_windows')).toEqual(['monitor_windows'])
    expect(namesInText('predictions served by version')).toEqual([])
    expect(namesInSource('x.ts', "// FROM predictions\nconst t = { table: 'outcomes' }")).toEqual([
      'outcomes',
    ])
  })

  it('no source file outside lib/warehouse and migrations/ names a table as a literal', () => {
    const offending: string[] = []
    for (const [file, names] of literalsByFile()) {
      const allowed = new Set([...(NOT_A_TABLE[file] ?? []), ...(PENDING[file] ?? [])])
      for (const name of new Set(names)) if (!allowed.has(name)) offending.push(`${file}: '${name}'`)
    }
    expect(offending).toEqual([])
  })

  it('every pending entry still holds its literal (remove entries once replaced)', () => {
    const found = literalsByFile()
    const stale: string[] = []
    for (const [file, names] of Object.entries(PENDING))
      for (const name of names) if (!(found.get(file) ?? []).includes(name)) stale.push(`${file}: '${name}'`)
    expect(stale).toEqual([])
  })

  it('lists exactly the tables and views the migrations leave behind', () => {
    expect([...migratedNames()].sort()).toEqual([...WAREHOUSE_NAMES].sort())
  })
})
