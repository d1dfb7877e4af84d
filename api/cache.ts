/**
 * The API's read-through cache with single-flight, one per app: embedded chDB answers one query
 * at a time, so N identical dashboard reads must cost one query. Key = query text + JSON of its
 * parameters; a hit is never older than `ttlMs` from its load's start; failed loads are not
 * kept; at most `maxEntries` keys (LRU, a Map's insertion order); `ttlMs = 0` turns it off,
 * single-flight included (read-your-writes). Results are shared, hence frozen (shallowly).
 */
export interface ReadCacheOptions {
  /** How long a result is reused, from the start of its load; 0 = no cache, no single-flight. */
  ttlMs: number
  /** Bound on cached keys (default 500). */
  maxEntries?: number
  /** Monotonic clock in ms (default performance.now); tests pass a fake one. */
  now?: () => number
}

export interface ReadCacheStats {
  /** Answered from a settled result. */
  hits: number
  /** Started a load. */
  misses: number
  /** Joined a load already in flight. */
  shared: number
  /** Keys held now (in flight or settled). */
  size: number
}

export interface ReadCache {
  /** The result of `load()` for (text, params): cached, joined in flight, or loaded now. */
  read<T>(text: string, params: unknown, load: () => Promise<T>): Promise<T>
  /** Drops every entry (after a write); loads in flight finish for their waiters but are not kept. */
  clear(): void
  stats(): ReadCacheStats
}

interface Entry {
  value: Promise<unknown>
  startedAt: number
  settled: boolean
}

export const DEFAULT_MAX_ENTRIES = 500

function freeze<T>(value: T): T {
  return typeof value === 'object' && value !== null ? Object.freeze(value) : value
}

export function createReadCache(opts: ReadCacheOptions): ReadCache {
  const ttlMs = opts.ttlMs
  const maxEntries = Math.max(1, opts.maxEntries ?? DEFAULT_MAX_ENTRIES)
  const now = opts.now ?? (() => performance.now())
  const entries = new Map<string, Entry>()
  const counts = { hits: 0, misses: 0, shared: 0 }

  /** Re-inserting moves a key to the young end of the Map's order. */
  const touch = (key: string, e: Entry) => {
    entries.delete(key)
    entries.set(key, e)
  }

  const evict = () => {
    for (const key of entries.keys()) {
      if (entries.size <= maxEntries) break
      entries.delete(key)
    }
  }

  return {
    read<T>(text: string, params: unknown, load: () => Promise<T>): Promise<T> {
      if (ttlMs <= 0) {
        counts.misses++
        return load()
      }
      const key = `${text}\u0000${JSON.stringify(params)}`
      const t = now()
      const found = entries.get(key)
      if (found && (!found.settled || t - found.startedAt < ttlMs)) {
        if (found.settled) counts.hits++
        else counts.shared++
        touch(key, found)
        return found.value as Promise<T>
      }
      counts.misses++
      const entry: Entry = { value: Promise.resolve(), startedAt: t, settled: false }
      // new Promise(...) turns a synchronous throw of load() into a rejection like any other.
      const value = new Promise<T>((resolve) => resolve(load())).then(freeze)
      entry.value = value
      value.then(
        () => {
          entry.settled = true
        },
        () => {
          // Only this load's own entry: a newer one (after clear() or expiry) must stay.
          if (entries.get(key) === entry) entries.delete(key)
        },
      )
      touch(key, entry)
      evict()
      return value
    },
    clear() {
      entries.clear()
    },
    stats: () => ({ ...counts, size: entries.size }),
  }
}
