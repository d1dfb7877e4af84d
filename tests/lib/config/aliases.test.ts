import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { childEnv, ENV_ALIASES, loadConfig, REPO_ROOT } from '../../../lib/config/index.ts'

/** The config error's one line, or '' when the environment loads. */
function problem(env: Record<string, string>): string {
  try {
    loadConfig(env)
    return ''
  } catch (e) {
    return (e as Error).message
  }
}

describe('ecosystem variable names as aliases', () => {
  it('KAFKA_BOOTSTRAP_SERVERS sets the brokers (spaces after commas allowed)', () => {
    expect(loadConfig({ KAFKA_BOOTSTRAP_SERVERS: 'k1:9092, k2:9092' }).kafka.brokers).toEqual([
      'k1:9092',
      'k2:9092',
    ])
  })

  it('CLICKHOUSE_HOST, CLICKHOUSE_PORT and CLICKHOUSE_SECURE make the HTTP URL', () => {
    expect(loadConfig({ CLICKHOUSE_HOST: 'ch.internal' }).clickhouse.url).toBe('http://ch.internal:8123')
    expect(loadConfig({ CLICKHOUSE_HOST: 'ch', CLICKHOUSE_SECURE: 'true' }).clickhouse.url).toBe(
      'https://ch:8443',
    )
    expect(
      loadConfig({ CLICKHOUSE_HOST: 'ch', CLICKHOUSE_PORT: '18123', CLICKHOUSE_SECURE: '0' }).clickhouse.url,
    ).toBe('http://ch:18123')
  })

  it('CLICKHOUSE_DB sets the database', () => {
    expect(loadConfig({ CLICKHOUSE_DB: 'riskstream' }).clickhouse.database).toBe('riskstream')
  })

  it('an alias and its RiskStream name may both be set when they agree', () => {
    expect(
      loadConfig({ KAFKA_BOOTSTRAP_SERVERS: 'a:1,b:2', KAFKA_BROKERS: 'a:1,b:2' }).kafka.brokers,
    ).toEqual(['a:1', 'b:2'])
    expect(loadConfig({ CLICKHOUSE_HOST: 'ch', CLICKHOUSE_URL: 'http://ch:8123/' }).clickhouse.url).toBe(
      'http://ch:8123/',
    )
  })

  it('refuses an alias and its RiskStream name set to different values, in one line naming both', () => {
    const brokers = problem({ KAFKA_BOOTSTRAP_SERVERS: 'a:1', KAFKA_BROKERS: 'b:2' })
    expect(brokers).toMatch(/KAFKA_BOOTSTRAP_SERVERS and KAFKA_BROKERS are both set, to different values/)
    expect(brokers).not.toContain('\n')
    expect(
      problem({ CLICKHOUSE_HOST: 'ch', CLICKHOUSE_PORT: '8124', CLICKHOUSE_URL: 'http://ch:8123' }),
    ).toMatch(/CLICKHOUSE_HOST \+ CLICKHOUSE_PORT and CLICKHOUSE_URL are both set, to different values/)
    expect(problem({ CLICKHOUSE_DB: 'a', CLICKHOUSE_DATABASE: 'b' })).toMatch(
      /CLICKHOUSE_DB and CLICKHOUSE_DATABASE are both set/,
    )
  })

  it('refuses what is ambiguous: native ports, URLs as hosts, companions without the host', () => {
    expect(problem({ CLICKHOUSE_HOST: 'ch', CLICKHOUSE_PORT: '9000' })).toMatch(
      /CLICKHOUSE_PORT=9000 is ClickHouse's native-protocol port/,
    )
    expect(problem({ CLICKHOUSE_HOST: 'http://ch:8123' })).toMatch(/CLICKHOUSE_HOST must be a host name/)
    expect(problem({ CLICKHOUSE_HOST: 'ch', CLICKHOUSE_SECURE: 'maybe' })).toMatch(
      /CLICKHOUSE_SECURE="maybe" \(allowed: true, false\)/,
    )
    expect(problem({ CLICKHOUSE_PORT: '8123' })).toMatch(/CLICKHOUSE_PORT is read only with CLICKHOUSE_HOST/)
  })

  it('a bad value given through an alias is reported under both names', () => {
    expect(problem({ KAFKA_BOOTSTRAP_SERVERS: 'no-port' })).toMatch(
      /KAFKA_BROKERS \(from KAFKA_BOOTSTRAP_SERVERS\)="no-port" must match/,
    )
  })

  it('other names in our families are still refused', () => {
    expect(problem({ KAFKA_BOOTSTRAP_SERVER: 'a:1' })).toMatch(
      /KAFKA_BOOTSTRAP_SERVER is not a RiskStream setting/,
    )
  })

  it("a child's explicit setting wins over an inherited alias", () => {
    const saved = process.env.KAFKA_BOOTSTRAP_SERVERS
    process.env.KAFKA_BOOTSTRAP_SERVERS = 'inherited:1'
    try {
      const env = childEnv({ KAFKA_BROKERS: 'explicit:2' })
      expect(env.KAFKA_BOOTSTRAP_SERVERS).toBeUndefined()
      expect(loadConfig(env).kafka.brokers).toEqual(['explicit:2'])
    } finally {
      if (saved === undefined) delete process.env.KAFKA_BOOTSTRAP_SERVERS
      else process.env.KAFKA_BOOTSTRAP_SERVERS = saved
    }
  })

  it('docs/configuration.md and .env.example name every alias', () => {
    const doc = readFileSync(path.join(REPO_ROOT, 'docs', 'configuration.md'), 'utf8')
    const example = readFileSync(path.join(REPO_ROOT, '.env.example'), 'utf8')
    for (const a of ENV_ALIASES) {
      for (const name of [a.alias, ...(a.with ?? [])]) {
        expect(doc, name).toContain(`\`${name}\``)
        expect(example, name).toContain(name)
      }
    }
  })
})
