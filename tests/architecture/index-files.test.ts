/**
 * The index.ts rule: a folder's index.ts is its short public face, import and export statements
 * and comments only; the implementation lives in a named file beside it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../../lib/config/index.ts'

const DIRS = [
  'lib',
  'cli',
  'bin',
  'stack',
  'data',
  'producers',
  'processors',
  'trainer',
  'api',
  'bench',
  'tests',
]

function indexFiles(dir: string): string[] {
  const abs = path.join(REPO_ROOT, dir)
  return readdirSync(abs).flatMap((name) => {
    if (name === 'node_modules') return []
    const rel = path.join(dir, name)
    if (statSync(path.join(abs, name)).isDirectory()) return indexFiles(rel)
    return name === 'index.ts' ? [rel] : []
  })
}

/** Index files whose implementation is being moved out by the folder's owner (monitors and stats refactor). */
const PENDING: string[] = []

const STATEMENTS = [
  // import … from '…' / export … from '…' (named, default, namespace, type-only, multi-line)
  /^(?:import|export)\b[^;'"]*?\bfrom\s*(['"])[^'"]+\1\s*;?/,
  // side-effect import '…'
  /^import\s*(['"])[^'"]+\1\s*;?/,
  // export { a, type B as C } of names imported above
  /^export\s+(?:type\s+)?\{[^}]*\}\s*;?/,
]

/** What is left of a source once comments and import/export statements are taken away. */
function implementationIn(source: string): string {
  let rest = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '')
  for (;;) {
    rest = rest.trimStart()
    const m = STATEMENTS.map((re) => re.exec(rest)).find((x) => x !== null)
    if (!m) return rest
    rest = rest.slice(m[0].length)
  }
}

describe('index.ts files', () => {
  it('tells a public face from an implementation', () => {
    const face = `/** The face. */\nimport { a } from './a.ts'\nexport {\n  a,\n  type B as C,\n} from './b.ts'\nexport * from './c.ts'\nexport { a }\n// done\n`
    expect(implementationIn(face)).toBe('')
    expect(implementationIn(`export { a } from './a.ts'\nexport const b = 1\n`)).toBe('export const b = 1\n')
    expect(implementationIn(`export function f() {}\n`)).not.toBe('')
    expect(implementationIn(`export type T = { a: 1 }\n`)).not.toBe('')
  })

  it('hold only import and export statements and comments, in every folder', () => {
    const files = DIRS.flatMap(indexFiles)
    expect(files.length).toBeGreaterThan(20)
    const offenders = files.filter(
      (f) => implementationIn(readFileSync(path.join(REPO_ROOT, f), 'utf8')) !== '',
    )
    expect(offenders.filter((f) => !PENDING.includes(f))).toEqual([])
    // A pending file leaves this list as soon as it is fixed.
    expect(PENDING.filter((f) => !offenders.includes(f))).toEqual([])
  })
})
