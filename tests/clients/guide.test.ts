/** docs/clients.md quotes the example files; each quoted block must still be in its file. */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../../lib/config/index.ts'

const read = (...p: string[]) => readFileSync(path.join(REPO_ROOT, ...p), 'utf8')
const doc = read('docs', 'clients.md')
const blocks = (lang: string) =>
  [...doc.matchAll(new RegExp(`^\`\`\`${lang}\\n([\\s\\S]*?)^\`\`\`$`, 'gm'))].map((m) => m[1]!)

describe('docs/clients.md', () => {
  it('quotes docs/clients/produce.py as it is', () => {
    const source = read('docs', 'clients', 'produce.py')
    expect(blocks('python').length).toBeGreaterThan(0)
    for (const b of blocks('python')) expect(source).toContain(b)
  })

  it('quotes the Java example and its dependency as they are', () => {
    const source = read(
      'docs',
      'clients',
      'java',
      'src',
      'main',
      'java',
      'io',
      'riskstream',
      'examples',
      'ProduceRequests.java',
    )
    const pom = read('docs', 'clients', 'java', 'pom.xml').replace(/\s+/g, '')
    expect(blocks('java').length).toBeGreaterThan(0)
    for (const b of blocks('java')) expect(source).toContain(b)
    for (const b of blocks('xml')) expect(pom).toContain(b.replace(/\s+/g, ''))
  })
})
