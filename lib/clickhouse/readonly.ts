/**
 * The API's reader on embedded chDB, which has no users: every query runs with the
 * query-level setting `readonly = 1` (a write is refused by ClickHouse itself with READONLY),
 * and the writing methods (insert, command, exec) are refused before they reach it. Query-level,
 * not a session SET: the chDB session is shared with the roles in the same process, and a
 * session-wide readonly could not be taken back.
 */
import type { ClickHouseClient } from '@clickhouse/client'
import { RiskStreamError } from '../errors/index.ts'

const refused = (method: string) => async () => {
  throw new RiskStreamError('FORBIDDEN', `the read-only ClickHouse client refuses ${method}`)
}

/** `query` + ` SETTINGS readonly = 1`; one statement only, and no SETTINGS clause of its own. */
export function readOnlyQuery(query: string): string {
  const q = query.trim().replace(/;+$/, '')
  if (q.includes(';')) throw new RiskStreamError('FORBIDDEN', 'one statement per read-only query')
  if (/\bSETTINGS\b/i.test(q))
    throw new RiskStreamError('FORBIDDEN', 'a read-only query may not carry its own SETTINGS')
  return `${q}\nSETTINGS readonly = 1`
}

export function readOnlyClickHouse(client: ClickHouseClient): ClickHouseClient {
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === 'insert' || prop === 'command' || prop === 'exec') return refused(String(prop))
      if (prop === 'close') return async () => {}
      if (prop === 'query') {
        return async (params: Parameters<ClickHouseClient['query']>[0]) =>
          target.query({ ...params, query: readOnlyQuery(params.query) } as typeof params)
      }
      const value = Reflect.get(target, prop, receiver)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}
