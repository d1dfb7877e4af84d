/**
 * The import rule, checked over the real import graph (static imports and dynamic `import()`):
 * a role imports only lib/ (and its own folder); lib/ imports no role, no cli/ and no stack/;
 * nothing imports an entry file (bin/). cli/ composes everything and may import anything.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../../lib/config/index.ts'

const ROLES = ['producers', 'processors/inference', 'processors/monitors', 'trainer', 'api']
const SOURCE_DIRS = ['lib', 'cli', 'bin', 'stack', 'data', ...ROLES]

function files(dir: string): string[] {
  const abs = path.join(REPO_ROOT, dir)
  return readdirSync(abs).flatMap((name) => {
    const p = path.join(abs, name)
    if (statSync(p).isDirectory()) return files(path.join(dir, name))
    return /\.(ts|js|mjs)$/.test(name) ? [path.join(dir, name)] : []
  })
}

/** Relative specifiers of `import … from '…'`, `export … from '…'` and `import('…')`. */
function importsOf(source: string): string[] {
  const found: string[] = []
  const patterns = [
    /\bfrom\s+['"](\.[^'"]+)['"]/g,
    /\bimport\s*\(\s*['"](\.[^'"]+)['"]\s*\)/g,
    /^\s*import\s+['"](\.[^'"]+)['"]/gm,
  ]
  for (const re of patterns) for (const m of source.matchAll(re)) found.push(m[1]!)
  return found
}

/** The area a repo-relative path belongs to: a role, lib, cli, bin, stack, data or tests. */
function areaOf(rel: string): string {
  const norm = rel.split(path.sep).join('/')
  return ROLES.find((r) => norm.startsWith(`${r}/`)) ?? norm.split('/')[0]!
}

function allowed(from: string, to: string): boolean {
  if (from === to) return true
  if (to === 'bin') return false
  if (from === 'cli' || from === 'bin') return true
  if (from === 'lib') return to === 'lib'
  if (ROLES.includes(from)) return to === 'lib'
  if (from === 'stack') return to === 'lib' || to === 'stack'
  if (from === 'data') return to === 'lib'
  return true
}

function violations(): string[] {
  const out: string[] = []
  for (const dir of SOURCE_DIRS)
    for (const file of files(dir)) {
      const from = areaOf(file)
      for (const spec of importsOf(readFileSync(path.join(REPO_ROOT, file), 'utf8'))) {
        const target = path.relative(REPO_ROOT, path.resolve(path.dirname(path.join(REPO_ROOT, file)), spec))
        const to = areaOf(target)
        if (!allowed(from, to)) out.push(`${file} → ${target} (${from} → ${to})`)
      }
    }
  return out
}

describe('the import rule', () => {
  it('finds static, re-exported and dynamic imports', () => {
    const src = `import a from './a.ts'\nexport { b } from '../b.ts'\nconst c = await import('../../c.ts')\nimport './d.ts'`
    expect(importsOf(src).sort()).toEqual(['../../c.ts', '../b.ts', './a.ts', './d.ts'])
  })

  it('is kept by every source file', () => {
    expect(violations()).toEqual([])
  })

  it('would catch a role importing another role, lib importing a role, or anything importing bin/', () => {
    expect(allowed('api', 'processors/inference')).toBe(false)
    expect(allowed('lib', 'trainer')).toBe(false)
    expect(allowed('lib', 'cli')).toBe(false)
    expect(allowed('trainer', 'lib')).toBe(true)
    expect(allowed('cli', 'bin')).toBe(false)
    expect(allowed('cli', 'api')).toBe(true)
  })
})
