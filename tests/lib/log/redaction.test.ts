import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { createRootLogger } from '../../../lib/log/index.ts'

describe('log redaction', () => {
  it('never writes patient ids or feature values', () => {
    const lines: string[] = []
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk))
        cb()
      },
    })
    const log = createRootLogger({ level: 'info', destination: sink }).child({ module: 'test' })
    const request = {
      requestId: 'r-1',
      patientId: 'MRN-CANARY-0042',
      glucose: 187.25,
      bmi: 44.4,
      notes: 'John Canary, DOB 1961-02-03',
    }
    log.info({ request }, 'scored')
    log.info({ patientId: 'MRN-CANARY-0042', features: { glucose: 187.25 } }, 'top level')
    log.warn({ batch: { records: { request } } }, 'nested')
    const text = lines.join('')
    expect(lines).toHaveLength(3)
    for (const canary of ['MRN-CANARY-0042', '187.25', '44.4', 'John Canary', '1961-02-03'])
      expect(text).not.toContain(canary)
    expect(text).toContain('r-1')
    expect(text).toContain('[redacted]')
  })
})
