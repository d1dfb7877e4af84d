/**
 * Adding a drift statistic is one file in lib/stats/statistics plus its registration: outside that
 * folder no source names a statistic other than the alarm one (PSI, whose bands, thresholds and
 * routes are PSI's by design), neither as a string literal nor as a property (`x.ks`); the
 * consumers loop over the registry. Tests may name statistics and are not scanned.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../../lib/config/index.ts'
import { ALARM_STATISTIC, DRIFT_STATISTICS } from '../../lib/stats/index.ts'

const SOURCE_DIRS = ['api', 'bin', 'cli', 'lib', 'processors', 'producers', 'stack', 'trainer']
const HOME = 'lib/stats/statistics/'

/**
 * Names kept on purpose: the drift route's `ks` field beside `statistics`, a response field
 * clients already read (its value and its schema).
 */
const KEPT: Record<string, string[]> = { 'api/drift.ts': ['ks'], 'api/responses.ts': ['ks'] }

const NAMES = Object.keys(DRIFT_STATISTICS).filter((n) => n !== ALARM_STATISTIC.name)

function files(dir: string): string[] {
  return readdirSync(path.join(REPO_ROOT, dir)).flatMap((name) => {
    const rel = `${dir}/${name}`
    if (statSync(path.join(REPO_ROOT, rel)).isDirectory()) return name === 'node_modules' ? [] : files(rel)
    return name.endsWith('.ts') ? [rel] : []
  })
}

/** Statistic names `source` spells out: string literals and property names equal to one. */
function namedIn(file: string, source: string): string[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true)
  const found: string[] = []
  const visit = (node: ts.Node) => {
    if ((ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) && NAMES.includes(node.text))
      found.push(node.text)
    if (ts.isPropertyAccessExpression(node) && NAMES.includes(node.name.text)) found.push(node.name.text)
    if (ts.isPropertyAssignment(node) && ts.isIdentifier(node.name) && NAMES.includes(node.name.text))
      found.push(node.name.text)
    ts.forEachChild(node, visit)
  }
  visit(sf)
  return found
}

describe('drift statistics are named only where they are defined', () => {
  it('finds literals, property reads and property keys', () => {
    expect(namedIn('a.ts', `const a = x.ks + y['wasserstein']; const b = { js: 1 }; // ks`)).toEqual([
      'ks',
      'wasserstein',
      'js',
    ])
    expect(namedIn('a.ts', `const a = s.name === ALARM.name; const k = 'kstest'`)).toEqual([])
  })

  it('no source outside lib/stats/statistics names a non-alarm statistic', () => {
    expect(NAMES.length).toBeGreaterThan(1)
    const offending: string[] = []
    for (const file of SOURCE_DIRS.flatMap(files)) {
      if (file.startsWith(HOME)) continue
      const kept = KEPT[file] ?? []
      for (const name of new Set(namedIn(file, readFileSync(path.join(REPO_ROOT, file), 'utf8'))))
        if (!kept.includes(name)) offending.push(`${file}: ${name}`)
    }
    expect(offending).toEqual([])
    // A kept name leaves the list once the file no longer spells it.
    for (const [file, names] of Object.entries(KEPT))
      expect(namedIn(file, readFileSync(path.join(REPO_ROOT, file), 'utf8'))).toEqual(
        expect.arrayContaining(names),
      )
  })
})
