/**
 * What the stack hands to the roles started beside it. In docker mode the stack starts a
 * ClickHouse server (docker-compose.yml, service `clickhouse`), and the roles must write to that
 * server, not to embedded chDB files: the hand-off carries its URL, the read-write user and the
 * read-only API user (stack/clickhouse/users.d/api-readonly.xml). The native stack starts no
 * ClickHouse, so it hands over nothing and chDB stays embedded. Pure: no I/O here.
 */
import type { Config } from '../lib/config/index.ts'
import type { StackOptions } from './options.ts'

/**
 * The docker-mode ClickHouse server: host port, database and users as docker-compose.yml and
 * users.d define them (tests/stack/endpoints.test.ts reads both files and checks these).
 */
export const DOCKER_CLICKHOUSE = {
  httpPort: 8123,
  database: 'riskstream',
  username: 'riskstream',
  password: 'riskstream',
  apiUsername: 'api_readonly',
  apiPassword: 'riskstream-api',
} as const

export interface ClickHouseEndpoint {
  url: string
  database: string
  username: string
  password: string
  /** The read-only user the API reads with. */
  api: { username: string; password: string }
}

/** Services the stack started that the roles must use instead of their defaults. */
export interface StackEndpoints {
  /** Set when the stack runs a ClickHouse server the roles must use; unset: the config decides. */
  clickhouse?: ClickHouseEndpoint
}

export type ClickHouseCredentials = Pick<StackOptions, 'clickhousePassword' | 'clickhouseApiPassword'>

/** Passwords of the docker-mode server: the configured ones, else the compose file's defaults. */
export function dockerClickHousePasswords(opts: ClickHouseCredentials): { password: string; api: string } {
  return {
    password: opts.clickhousePassword || DOCKER_CLICKHOUSE.password,
    api: opts.clickhouseApiPassword || DOCKER_CLICKHOUSE.apiPassword,
  }
}

/**
 * Whether the stack runs its own ClickHouse server: in docker mode, unless CLICKHOUSE_URL already
 * names a server (then the roles use that one and the stack starts none).
 */
export function stackRunsClickHouse(
  opts: Pick<StackOptions, 'clickhouseUrl'>,
  mode: 'native' | 'docker',
): boolean {
  return mode === 'docker' && !opts.clickhouseUrl
}

/** What a stack in `mode` with these options hands to the roles. */
export function stackEndpoints(
  opts: Pick<StackOptions, 'clickhouseUrl'> & ClickHouseCredentials,
  mode: 'native' | 'docker',
): StackEndpoints {
  if (!stackRunsClickHouse(opts, mode)) return {}
  const pw = dockerClickHousePasswords(opts)
  return {
    clickhouse: {
      url: `http://127.0.0.1:${DOCKER_CLICKHOUSE.httpPort}`,
      database: DOCKER_CLICKHOUSE.database,
      username: DOCKER_CLICKHOUSE.username,
      password: pw.password,
      api: { username: DOCKER_CLICKHOUSE.apiUsername, password: pw.api },
    },
  }
}

/**
 * The roles' config: the validated base config with the stack's hand-off applied. Without a
 * ClickHouse hand-off the config is returned as it is (embedded chDB, or CLICKHOUSE_URL's server).
 */
export function withStackEndpoints(config: Readonly<Config>, endpoints: StackEndpoints): Readonly<Config> {
  const ch = endpoints.clickhouse
  if (!ch) return config
  return {
    ...config,
    clickhouse: {
      ...config.clickhouse,
      url: ch.url,
      database: ch.database,
      username: ch.username,
      password: ch.password,
      api: { ...ch.api },
    },
  }
}
