import { mkdirSync } from 'node:fs'
import { type ClickHouseClient, createClient } from '@clickhouse/client'
import { createChdbConnection } from 'chdb/connection'
import type { Config } from '../config/index.ts'
import { RiskStreamError } from '../errors/index.ts'

export type { ClickHouseClient } from '@clickhouse/client'

interface Shared {
  client: ClickHouseClient
  refs: number
}

/**
 * chDB runs one engine per process and refuses a second data path, so every embedded client
 * in a process shares one connection; `close()` only closes it when the last user is done.
 */
let embedded: { path: string; shared: Shared } | undefined

export interface ClickHouseOptions {
  /** Use the API's read-only credentials (server mode; embedded chDB has no users). */
  readOnly?: boolean
}

/**
 * WHY every embedded request re-sends these: chdb/connection turns per-request
 * `clickhouse_settings` into `SET k = v;` statements on the ONE session all requests share,
 * and a SET outlives its request. An insert with `insert_deduplication_token: T` thus left T
 * on the session, and the next insert without a token (window rows, drift events,
 * checkpoints) reused it: ClickHouse took that insert for a duplicate of an earlier one with
 * token T and dropped it without an error. clickhouse-js merges these client defaults under
 * every request's own settings, so each request now starts from the defaults. Any setting
 * passed per request anywhere in the code must have its default listed here
 * (tests/lib/clickhouse/clickhouse.int.test.ts proves the token case).
 */
export const EMBEDDED_SESSION_DEFAULTS = Object.freeze({
  output_format_json_quote_64bit_integers: 0 as const,
  insert_deduplication_token: '',
})

/** The one ClickHouse client factory: a server when CLICKHOUSE_URL is set, else embedded chDB. */
export function createClickHouse(
  config: Pick<Config, 'clickhouse'>,
  options: ClickHouseOptions = {},
): ClickHouseClient {
  const ch = config.clickhouse
  const settings = {
    // Ask for the insert to be acknowledged only when written, so offsets are committed after it.
    wait_end_of_query: 1 as const,
    output_format_json_quote_64bit_integers: 0 as const,
  }
  if (ch.url) {
    // Fails closed: the API never falls back to the read-write user.
    if (options.readOnly && !ch.api.username)
      throw new RiskStreamError(
        'CONFIG_INVALID',
        'CLICKHOUSE_API_USER is required with CLICKHOUSE_URL (the API reads as a read-only user)',
      )
    const creds = options.readOnly ? ch.api : { username: ch.username, password: ch.password }
    return createClient({
      url: ch.url,
      database: ch.database,
      username: creds.username,
      password: creds.password,
      clickhouse_settings: settings,
      request_timeout: 60_000,
    })
  }
  if (embedded && embedded.path !== ch.path) {
    throw new Error(`chDB is already open at ${embedded.path}; one engine per process cannot open ${ch.path}`)
  }
  if (!embedded) {
    mkdirSync(ch.path, { recursive: true })
    const client = createClient({
      connection: createChdbConnection({ path: ch.path }),
      clickhouse_settings: EMBEDDED_SESSION_DEFAULTS,
    } as Parameters<typeof createClient>[0])
    embedded = { path: ch.path, shared: { client, refs: 0 } }
  }
  const shared = embedded.shared
  shared.refs++
  let closed = false
  // A per-user view of the shared client whose close() releases only this user's reference.
  return new Proxy(shared.client, {
    get(target, prop, receiver) {
      if (prop === 'close') {
        return async () => {
          if (closed) return
          closed = true
          shared.refs--
          if (shared.refs === 0 && embedded?.shared === shared) {
            embedded = undefined
            await target.close()
          }
        }
      }
      const value = Reflect.get(target, prop, receiver)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

/** DateTime64(3, 'UTC') text for inserts ('2024-05-01 12:00:00.123'). */
export const chTime = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace('Z', '')

/** Reads all rows of a query with server-side parameters. */
export async function queryRows<T>(
  client: ClickHouseClient,
  query: string,
  params: Record<string, unknown> = {},
): Promise<T[]> {
  const rs = await client.query({ query, query_params: params, format: 'JSONEachRow' })
  return rs.json<T>()
}
