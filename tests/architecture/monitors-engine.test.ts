/**
 * The monitors' engine (processors/monitors/engine, drift) is pure: it imports no client and no
 * I/O package, and following its imports through processors/monitors never reaches the monitors'
 * I/O folders (sink/, checkpoint/) or their service and pipeline. (lib/ modules are checked as
 * imported, not followed: lib/'s barrels carry I/O helpers the engine does not use.)
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { expect, it } from 'vitest'
import { REPO_ROOT } from '../../lib/config/index.ts'

const PURE_DIRS = ['processors/monitors/engine', 'processors/monitors/drift']
const FORBIDDEN = [
  /^processors\/monitors\/(sink|checkpoint)\//,
  /^processors\/monitors\/(service|pipeline)\.ts$/,
  /^lib\/(clickhouse|kafka|registry)\//,
]
const FORBIDDEN_PACKAGES = /^(kafkajs|@clickhouse\/|chdb|node:fs|node:net|node:http)/

function files(dir: string): string[] {
  return readdirSync(path.join(REPO_ROOT, dir)).flatMap((name) => {
    const rel = path.join(dir, name)
    if (statSync(path.join(REPO_ROOT, rel)).isDirectory()) return files(rel)
    return name.endsWith('.ts') ? [rel.split(path.sep).join('/')] : []
  })
}

function specifiers(file: string): string[] {
  const src = readFileSync(path.join(REPO_ROOT, file), 'utf8')
  return [...src.matchAll(/\bfrom\s+['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g)].map(
    (m) => (m[1] ?? m[2])!,
  )
}

it('the engine reaches no I/O module, directly or through the monitors’ modules it imports', () => {
  const offending: string[] = []
  const seen = new Set<string>()
  const visit = (file: string, via: string) => {
    if (seen.has(file)) return
    seen.add(file)
    for (const spec of specifiers(file)) {
      if (!spec.startsWith('.')) {
        if (FORBIDDEN_PACKAGES.test(spec)) offending.push(`${via} → ${file} → ${spec}`)
        continue
      }
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec))
      if (FORBIDDEN.some((re) => re.test(target))) offending.push(`${via} → ${file} → ${target}`)
      else if (target.startsWith('processors/monitors/')) visit(target, via)
    }
  }
  const roots = PURE_DIRS.flatMap(files)
  expect(roots.length).toBeGreaterThan(5)
  for (const f of roots) visit(f, f)
  expect(offending).toEqual([])
})
