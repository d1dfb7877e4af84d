import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { EnvSchema, loadConfig, REPO_ROOT, testMode } from '../../../lib/config/index.ts'
import { RiskStreamError } from '../../../lib/errors/index.ts'

describe('config', () => {
  it('applies the original project defaults and freezes the result', () => {
    const c = loadConfig({})
    expect(c.training).toMatchObject({ minAccuracy: 0.75, minRocAuc: 0.8, minF1: 0.65 })
    expect(c.drift).toMatchObject({
      window: 1000,
      threshold: 0,
      falseAlarmsPerMillion: 1,
      timeWindowsMs: [300_000, 3_600_000],
    })
    expect(c.retrain).toMatchObject({ autoEnabled: true, minNewData: 100 })
    expect(c.api.port).toBe(8080)
    expect(Object.isFrozen(c)).toBe(true)
    expect(Object.isFrozen(c.drift)).toBe(true)
    expect(() => {
      ;(c.drift as { threshold: number }).threshold = 1
    }).toThrow(TypeError)
  })

  it('coerces values from strings', () => {
    const c = loadConfig({
      DRIFT_THRESHOLD: '0.2',
      AUTO_RETRAIN_ENABLED: 'false',
      KAFKA_BROKERS: 'a:1,b:2',
      API_KEYS: 'k1, k2',
    })
    expect(c.drift.threshold).toBe(0.2)
    expect(c.retrain.autoEnabled).toBe(false)
    expect(c.kafka.brokers).toEqual(['a:1', 'b:2'])
    expect(c.api.keys).toEqual(['k1', 'k2'])
  })

  it('rejects a bad value with one line naming the variable and the allowed range', () => {
    let err: unknown
    try {
      loadConfig({ MIN_MODEL_ACCURACY: '1.5' })
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(RiskStreamError)
    const e = err as RiskStreamError
    expect(e.code).toBe('CONFIG_INVALID')
    expect(e.message).toContain('MIN_MODEL_ACCURACY="1.5"')
    expect(e.message).toContain('0 to 1')
    expect(e.message).not.toContain('\n')
  })

  it('rejects non-numbers, unknown enum values and typos of owned variables', () => {
    expect(() => loadConfig({ API_PORT: 'eighty' })).toThrow(/API_PORT="eighty" must be integer/)
    expect(() => loadConfig({ LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL.*allowed: fatal, error/)
    expect(() => loadConfig({ DRIFT_TRESHOLD: '0.1' })).toThrow(/DRIFT_TRESHOLD is not a RiskStream setting/)
    expect(() => loadConfig({ KAFKA_SASL_MECHANISM: 'plain' })).toThrow(/KAFKA_SASL_USERNAME/)
    expect(() => loadConfig({ DRIFT_CLEAR_THRESHOLD: '0.3' })).toThrow(/must not exceed DRIFT_THRESHOLD/)
  })

  it('ignores variables that belong to other software', () => {
    expect(() => loadConfig({ PATH: '/bin', HOME: '/root', KAFKA_HEAP_OPTS: '-Xmx1g' })).not.toThrow()
  })

  it('.env.example documents exactly the variables of the schema', () => {
    const text = readFileSync(path.join(REPO_ROOT, '.env.example'), 'utf8')
    const documented = [...text.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]).sort()
    expect(documented).toEqual(Object.keys(EnvSchema.properties).sort())
  })

  it('test mode must be one of the known modes', () => {
    expect(testMode({ RISKSTREAM_TEST_MODE: 'unit' })).toBe('unit')
    expect(testMode({})).toBe('all')
    expect(() => testMode({ RISKSTREAM_TEST_MODE: 'fast' })).toThrow(
      /allowed: unit, integration, reliability, all/,
    )
  })
})
