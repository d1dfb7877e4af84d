import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { fetchPima, verifyPimaText } from '../../data/fetch.ts'
import { loadConfig } from '../../lib/config/index.ts'

const good = readFileSync(loadConfig().data.pimaCsvPath, 'utf8')

const fakeFetch = (bodies: Record<string, string | number>) =>
  (async (url: string) => {
    const b = bodies[url]
    if (typeof b === 'number' || b === undefined)
      return new Response('nope', { status: typeof b === 'number' ? b : 404 })
    return new Response(b)
  }) as unknown as typeof fetch

describe('data set verification (no network)', () => {
  it('accepts the genuine copy, also with CRLF line endings and a BOM', () => {
    const a = verifyPimaText(good)
    const b = verifyPimaText(`\uFEFF${good.replace(/\n/g, '\r\n')}`)
    expect(a.text).toBe(b.text)
    expect(a.sha256).toBe(b.sha256)
  })

  it('refuses a tampered copy: one changed value, a missing row, another header', () => {
    const lines = good.trimEnd().split('\n')
    const changed = [...lines]
    changed[5] = changed[5]!.replace(/^(\d+),(\d+)/, (_m, p, g) => `${p},${Number(g) + 1}`)
    expect(() => verifyPimaText(changed.join('\n'))).toThrow(/mean of Glucose/)
    expect(() => verifyPimaText(lines.slice(0, -1).join('\n'))).toThrow(/expected 768 rows/)
    expect(() =>
      verifyPimaText(['preg,plas,pres,skin,insu,mass,pedi,age,class', ...lines.slice(1)].join('\n')),
    ).toThrow(/unexpected header/)
  })

  it('fetchPima skips a failing mirror, keeps the verified copy, and never writes a bad one', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pima-'))
    const out = path.join(dir, 'pima.csv')
    const r = await fetchPima({
      sources: ['http://a/', 'http://b/'],
      out,
      fetchImpl: fakeFetch({ 'http://a/': 500, 'http://b/': good }),
    })
    expect(r.source).toBe('http://b/')
    expect(readFileSync(out, 'utf8')).toBe(verifyPimaText(good).text)

    const out2 = path.join(dir, 'bad.csv')
    await expect(
      fetchPima({
        sources: ['http://c/'],
        out: out2,
        fetchImpl: fakeFetch({ 'http://c/': good.replace('148', '149') }),
      }),
    ).rejects.toMatchObject({ code: 'DATASET_INVALID' })
    expect(() => readFileSync(out2)).toThrow()
  })
})
