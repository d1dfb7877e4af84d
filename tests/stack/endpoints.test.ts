/**
 * The stack's hand-off to the roles (stack/endpoints.ts). No Docker engine runs here, so the
 * docker path is checked through what `stack up` would start and hand over, against
 * docker-compose.yml and stack/clickhouse/users.d as the server would read them: the roles must
 * reach the server the stack starts, with the users it defines, and the native path hands over
 * nothing (chDB stays embedded).
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { createClickHouse } from '../../lib/clickhouse/index.ts'
import { type Config, loadConfig, REPO_ROOT } from '../../lib/config/index.ts'
import { stackOptionsFrom } from '../../stack/config.ts'
import { composeEnv, dockerServicesToStart } from '../../stack/docker.ts'
import { stackEndpoints, withStackEndpoints } from '../../stack/endpoints.ts'
import { runningStackEndpoints } from '../../stack/index.ts'
import type { StackOptions } from '../../stack/options.ts'

interface Service {
  ports?: string[]
  environment?: Record<string, string | number>
  volumes?: string[]
}
const compose = parse(readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>
}
const clickhouse = compose.services.clickhouse!
const usersXml = readFileSync(path.join(REPO_ROOT, 'stack/clickhouse/users.d/api-readonly.xml'), 'utf8')

/** Compose's `${VAR:-default}` / `${VAR}` substitution with the given environment. */
function substitute(value: string | number, env: Record<string, string>): string {
  return String(value).replace(/\$\{(\w+)(?::-([^}]*))?\}/g, (_, name: string, dflt?: string) =>
    env[name] ? env[name] : (dflt ?? ''),
  )
}

/** The ClickHouse server docker-compose.yml starts with this environment, as a client reaches it. */
function serverFromCompose(env: Record<string, string>) {
  const e = (k: string) => substitute(clickhouse.environment![k]!, env)
  const mapping = clickhouse.ports!.map((p) => substitute(p, env)).find((p) => p.endsWith(':8123'))!
  const [host, hostPort] = mapping.split(':')
  // The read-only user is the one users.d defines, its password read from the container env.
  const apiUser = /<users>\s*<(\w+)>/.exec(usersXml)![1]!
  const apiPasswordVar = /<password from_env="(\w+)"/.exec(usersXml)![1]!
  expect(clickhouse.volumes?.some((v) => v.includes('stack/clickhouse/users.d/api-readonly.xml'))).toBe(true)
  return {
    url: `http://${host}:${hostPort}`,
    database: e('CLICKHOUSE_DB'),
    username: e('CLICKHOUSE_USER'),
    password: e('CLICKHOUSE_PASSWORD'),
    api: { username: apiUser, password: e(apiPasswordVar) },
  }
}

/** The validated config as it is without any CLICKHOUSE_* setting of this shell. */
function baseConfig(extra: Record<string, string> = {}): Readonly<Config> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('CLICKHOUSE_') && k !== 'STACK_MODE'),
  )
  return loadConfig({ ...env, ...extra })
}

const options = (config: Readonly<Config>): StackOptions => stackOptionsFrom(config, () => {})

describe('what `stack up` hands to the roles in docker mode', () => {
  it('starts the ClickHouse server and hands over its URL, database and users as the compose file defines them', () => {
    const opts = options(baseConfig())
    expect(dockerServicesToStart(opts)).toEqual(['kafka', 'registry', 'clickhouse'])
    const handed = stackEndpoints(opts, 'docker').clickhouse
    expect(handed).toEqual(serverFromCompose(composeEnv(opts)))
    // The compose file's own defaults, with nothing configured: the server is the stock one.
    expect(handed).toEqual(serverFromCompose({}))
    expect(handed!.api.username).toBe('api_readonly')
    expect(handed!.api.username).not.toBe(handed!.username)
  })

  it('configured passwords reach both the server (compose env) and the roles', () => {
    const opts = options(
      baseConfig({ CLICKHOUSE_PASSWORD: 'rw-secret-1', CLICKHOUSE_API_PASSWORD: 'ro-secret-2' }),
    )
    const handed = stackEndpoints(opts, 'docker').clickhouse!
    expect(handed.password).toBe('rw-secret-1')
    expect(handed.api.password).toBe('ro-secret-2')
    expect(handed).toEqual(serverFromCompose(composeEnv(opts)))
  })

  it('the shell environment cannot make the server and the hand-off disagree', () => {
    const opts = options(baseConfig())
    // composeEnv is laid over the process env when docker compose runs (childEnv).
    const shell = {
      CLICKHOUSE_PASSWORD: 'other',
      CLICKHOUSE_API_PASSWORD: 'other',
      CLICKHOUSE_HTTP_PORT: '9999',
    }
    expect(serverFromCompose({ ...shell, ...composeEnv(opts) })).toEqual(
      stackEndpoints(opts, 'docker').clickhouse,
    )
  })

  it('starts no ClickHouse server and hands over none when CLICKHOUSE_URL names a server', () => {
    const config = baseConfig({
      CLICKHOUSE_URL: 'http://ch.example:8123',
      CLICKHOUSE_USER: 'writer',
      CLICKHOUSE_API_USER: 'reader',
    })
    const opts = options(config)
    expect(dockerServicesToStart(opts)).toEqual(['kafka', 'registry'])
    expect(stackEndpoints(opts, 'docker')).toEqual({})
    expect(withStackEndpoints(config, {})).toBe(config)
  })
})

describe('withStackEndpoints', () => {
  it('points every role at the handed server; the API reads as the read-only user', async () => {
    const base = baseConfig()
    const before = structuredClone(base.clickhouse)
    const endpoints = stackEndpoints(options(base), 'docker')
    const config = withStackEndpoints(base, endpoints)
    expect(config.clickhouse).toEqual({ ...base.clickhouse, ...endpoints.clickhouse })
    expect(config.clickhouse.url).toBe(serverFromCompose({}).url)
    expect(config.clickhouse.api).toEqual({ username: 'api_readonly', password: 'riskstream-api' })
    // Everything else is the validated base config, which is left as it was.
    expect({ ...config, clickhouse: base.clickhouse }).toEqual(base)
    expect(base.clickhouse).toEqual(before)
    // The one client factory picks the server (not chDB) and, for the API, the read-only user:
    // without an API user it refuses rather than read as the read-write user.
    const reader = createClickHouse(config, { readOnly: true })
    await reader.close()
    expect(() =>
      createClickHouse(
        withStackEndpoints(base, {
          clickhouse: { ...endpoints.clickhouse!, api: { username: '', password: '' } },
        }),
        { readOnly: true },
      ),
    ).toThrow(/CLICKHOUSE_API_USER/)
  })
})

describe('the native stack', () => {
  it('hands over nothing: ClickHouse stays embedded chDB', async () => {
    const base = baseConfig()
    const opts = options(base)
    expect(stackEndpoints(opts, 'native')).toEqual({})
    expect(await runningStackEndpoints({ ...opts, mode: 'native' })).toEqual({})
    const config = withStackEndpoints(base, stackEndpoints(opts, 'native'))
    expect(config).toBe(base)
    expect(config.clickhouse.url).toBeUndefined()
    expect(config.clickhouse.path).toBe(path.join(base.data.dir, 'chdb'))
  })

  it('a configured CLICKHOUSE_URL is kept as it is, without asking Docker', async () => {
    const config = baseConfig({ CLICKHOUSE_URL: 'http://ch.example:8123', CLICKHOUSE_API_USER: 'reader' })
    // mode docker would throw here (no engine answers) if the URL did not short-circuit.
    expect(await runningStackEndpoints({ ...options(config), mode: 'docker' })).toEqual({})
  })
})
