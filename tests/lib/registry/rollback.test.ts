import { describe, expect, it } from 'vitest'
import { rollbackTarget } from '../../../lib/registry/index.ts'

const prod = (version: number, action: 'register' | 'promote' | 'rollback' = 'promote') => ({
  version,
  stage: 'production' as const,
  action,
})
const other = (version: number) => ({ version, stage: 'archived' as const, action: 'archive' as const })

describe('rollbackTarget', () => {
  it('returns the production version before the current one', () => {
    expect(rollbackTarget([prod(1, 'register'), prod(2), other(1), prod(3), other(2)], 3)).toBe(2)
  })

  it('walks further back on consecutive rollbacks instead of flipping between two versions', () => {
    // v1 → v2 → v3, rollback to v2, then rollback again: v1, not v3.
    expect(rollbackTarget([prod(1), prod(2), prod(3), prod(2, 'rollback')], 2)).toBe(1)
  })

  it('has no target when only one version was ever in production', () => {
    expect(rollbackTarget([prod(1, 'register'), other(2)], 1)).toBeUndefined()
    expect(rollbackTarget([prod(1), prod(2), prod(1, 'rollback')], 1)).toBeUndefined()
  })

  it('ignores re-promotions of the version already on top', () => {
    expect(rollbackTarget([prod(1), prod(2), prod(2), prod(3)], 3)).toBe(2)
  })
})
