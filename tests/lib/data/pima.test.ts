import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../../lib/config/index.ts'
import { loadPima, parsePima } from '../../../lib/data/pima.ts'

describe('Pima data set', () => {
  const path = loadConfig({}).data.pimaCsvPath
  it('loads and verifies the configured copy', () => {
    const d = loadPima(path)
    expect(d.rows).toHaveLength(768)
    expect(d.labels.filter((l) => l === 1)).toHaveLength(268)
    expect(d.rows[0]!.insulin).toBeNull()
    expect(d.rows[0]!.glucose).toBe(148)
  })
  it('refuses a tampered copy with the failed check named', () => {
    const text = readFileSync(path, 'utf8')
    expect(() => parsePima(text.replace('6,148,72', '6,248,72'))).toThrow(/mean of Glucose/)
    expect(() => parsePima(text.split('\n').slice(0, 700).join('\n'))).toThrow(/expected 768 rows/)
    expect(() => parsePima(`x${text}`)).toThrow(/unexpected header/)
  })
  it('names the way out when the file is missing', () => {
    expect(() => loadPima('/nonexistent/pima.csv')).toThrow(/data:fetch/)
  })
})
