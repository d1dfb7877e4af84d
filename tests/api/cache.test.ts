/** The API's read cache (api/cache.ts) with a fake clock and counted loads. */
import { describe, expect, it } from 'vitest'
import { createReadCache } from '../../api/cache.ts'

/** A clock the test moves by hand. */
function fakeClock(start = 1_000) {
  const clock = { t: start, now: () => clock.t }
  return clock
}

/** A load that counts its calls and answers `value` (or throws when `fail` is set). */
function counted<T>(value: T) {
  const load = Object.assign(
    async () => {
      load.calls++
      if (load.fail) throw new Error('query failed')
      return value
    },
    { calls: 0, fail: false },
  )
  return load
}

/** A load that stays pending until the test resolves or rejects it. */
function deferred<T>() {
  let resolve!: (v: T) => void
  let reject!: (e: unknown) => void
  const load = Object.assign(
    () => {
      load.calls++
      return new Promise<T>((res, rej) => {
        resolve = res
        reject = rej
      })
    },
    { calls: 0 },
  )
  return { load, resolve: (v: T) => resolve(v), reject: (e: unknown) => reject(e) }
}

const SQL = 'SELECT count() FROM predictions WHERE model_name = {model:String}'

describe('read cache', () => {
  it('reuses a result within the TTL and loads again once it has passed', async () => {
    const clock = fakeClock()
    const cache = createReadCache({ ttlMs: 1000, now: clock.now })
    const load = counted([{ n: 1 }])
    const first = await cache.read(SQL, { model: 'm' }, load)
    clock.t += 999
    expect(await cache.read(SQL, { model: 'm' }, load)).toBe(first)
    expect(load.calls).toBe(1)
    clock.t += 1 // 1000 ms after the load started: expired
    await cache.read(SQL, { model: 'm' }, load)
    expect(load.calls).toBe(2)
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 2, shared: 0 })
  })

  it('keys on the text and the parameters', async () => {
    const cache = createReadCache({ ttlMs: 1000, now: fakeClock().now })
    const load = counted([])
    await cache.read(SQL, { model: 'a' }, load)
    await cache.read(SQL, { model: 'b' }, load)
    await cache.read(`${SQL} LIMIT 1`, { model: 'a' }, load)
    await cache.read(SQL, { model: 'a' }, load)
    expect(load.calls).toBe(3)
  })

  it('single-flight: concurrent identical reads share one load', async () => {
    const cache = createReadCache({ ttlMs: 1000, now: fakeClock().now })
    const d = deferred<string[]>()
    const readers = Array.from({ length: 5 }, () => cache.read(SQL, { model: 'm' }, d.load))
    expect(d.load.calls).toBe(1)
    d.resolve(['row'])
    const results = await Promise.all(readers)
    expect(new Set(results).size).toBe(1)
    expect(results[0]).toEqual(['row'])
    expect(cache.stats()).toMatchObject({ misses: 1, shared: 4, hits: 0 })
  })

  it('a load in flight is joined even when older than the TTL; its result then expires at once', async () => {
    const clock = fakeClock()
    const cache = createReadCache({ ttlMs: 1000, now: clock.now })
    const d = deferred<number>()
    const a = cache.read(SQL, {}, d.load)
    clock.t += 5000
    const b = cache.read(SQL, {}, d.load)
    d.resolve(7)
    expect([await a, await b]).toEqual([7, 7])
    expect(d.load.calls).toBe(1)
    const again = counted(8)
    expect(await cache.read(SQL, {}, again)).toBe(8)
  })

  it('errors are not cached: the waiters get the error, the next read loads again', async () => {
    const cache = createReadCache({ ttlMs: 1000, now: fakeClock().now })
    const d = deferred<number>()
    const a = cache.read(SQL, {}, d.load)
    const b = cache.read(SQL, {}, d.load)
    d.reject(new Error('ClickHouse down'))
    await expect(a).rejects.toThrow('ClickHouse down')
    await expect(b).rejects.toThrow('ClickHouse down')
    expect(d.load.calls).toBe(1)
    expect(cache.stats().size).toBe(0)
    const load = counted(1)
    expect(await cache.read(SQL, {}, load)).toBe(1)
    expect(load.calls).toBe(1)
  })

  it('a load that throws synchronously is a rejection, not a throw from read()', async () => {
    const cache = createReadCache({ ttlMs: 1000, now: fakeClock().now })
    const p = cache.read(SQL, {}, () => {
      throw new Error('bad')
    })
    await expect(p).rejects.toThrow('bad')
    expect(cache.stats().size).toBe(0)
  })

  it('holds at most maxEntries keys, evicting the least recently used', async () => {
    const cache = createReadCache({ ttlMs: 60_000, maxEntries: 3, now: fakeClock().now })
    const load = counted('x')
    for (const k of ['a', 'b', 'c']) await cache.read(SQL, { k }, load)
    await cache.read(SQL, { k: 'a' }, load) // a is now the most recently used
    await cache.read(SQL, { k: 'd' }, load) // evicts b
    expect(cache.stats().size).toBe(3)
    expect(load.calls).toBe(4)
    await cache.read(SQL, { k: 'a' }, load)
    await cache.read(SQL, { k: 'c' }, load)
    expect(load.calls).toBe(4)
    await cache.read(SQL, { k: 'b' }, load)
    expect(load.calls).toBe(5)
    for (let i = 0; i < 1000; i++) await cache.read(SQL, { i }, load)
    expect(cache.stats().size).toBe(3)
  })

  it('ttl 0 is off: no reuse and no single-flight', async () => {
    const cache = createReadCache({ ttlMs: 0, now: fakeClock().now })
    const load = counted(1)
    await Promise.all([cache.read(SQL, {}, load), cache.read(SQL, {}, load)])
    await cache.read(SQL, {}, load)
    expect(load.calls).toBe(3)
    expect(cache.stats().size).toBe(0)
  })

  it('clear() drops settled results; a load in flight still answers its waiters but is not kept', async () => {
    const cache = createReadCache({ ttlMs: 1000, now: fakeClock().now })
    const load = counted(1)
    await cache.read(SQL, { k: 1 }, load)
    const d = deferred<number>()
    const inFlight = cache.read(SQL, { k: 2 }, d.load)
    cache.clear()
    await cache.read(SQL, { k: 1 }, load)
    expect(load.calls).toBe(2)
    d.resolve(5)
    expect(await inFlight).toBe(5)
    const after = counted(6)
    expect(await cache.read(SQL, { k: 2 }, after)).toBe(6)
  })

  it('shared results are frozen so no caller can change another response', async () => {
    const cache = createReadCache({ ttlMs: 1000, now: fakeClock().now })
    const rows = await cache.read(SQL, {}, async () => [3, 1, 2])
    expect(Object.isFrozen(rows)).toBe(true)
    expect(() => rows.sort()).toThrow(TypeError)
  })

  it('caches are independent: two instances share nothing', async () => {
    const load = counted(1)
    const a = createReadCache({ ttlMs: 1000, now: fakeClock().now })
    const b = createReadCache({ ttlMs: 1000, now: fakeClock().now })
    await a.read(SQL, {}, load)
    await b.read(SQL, {}, load)
    expect(load.calls).toBe(2)
  })
})
