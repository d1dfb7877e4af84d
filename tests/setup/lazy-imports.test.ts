/**
 * The integration setup must load on a machine where testcontainers cannot be imported (Node 20
 * without Docker: its undici needs a zstd binding Node 20 lacks). It imports testcontainers only
 * after a Docker engine answers; this loads the setup in a child process in which resolving
 * testcontainers throws.
 */
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../../lib/config/index.ts'

const hook = pathToFileURL(path.join(REPO_ROOT, 'tests/setup/forbid-testcontainers.mjs')).href
const register = `data:text/javascript,import{register}from'node:module';register(${JSON.stringify(hook)})`

function load(script: string) {
  return spawnSync(
    process.execPath,
    ['--import', 'tsx', '--import', register, '--input-type=module', '-e', script],
    {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    },
  )
}

describe('the test setup', () => {
  it('loads without importing testcontainers', () => {
    const r = load(
      "const m = await import('./tests/setup/stack.ts'); if (typeof m.setup !== 'function') process.exit(3)",
    )
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
  })

  it('would notice an eager import (the hook works)', () => {
    const r = load("await import('testcontainers')")
    expect(r.status).not.toBe(0)
    expect(r.stderr).toContain('testcontainers was imported while loading the test setup')
  })
})
