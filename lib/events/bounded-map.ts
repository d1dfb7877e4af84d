/**
 * A map that remembers at most `capacity` keys and forgets the oldest-inserted first, in O(1).
 *
 * Why not a plain Map trimmed with `map.delete(map.keys().next().value)`: V8 leaves a deleted
 * entry as a hole until the table is rehashed, and iteration walks past every hole, so finding
 * the oldest key costs O(deletions since the last rehash). At 100,000 keys that made each new
 * request cost tens of microseconds and stalled an inference process for seconds after its
 * first 100,000 requests (bench/e2e.bench.ts). The insertion order is kept in a ring of keys
 * instead; deleting by key is constant-time.
 */
export class BoundedMap<K, V> {
  private readonly map = new Map<K, V>()
  private readonly order: K[] = []
  /** The ring slot the next new key takes (the oldest key's slot once the ring is full). */
  private next = 0

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`capacity must be ≥ 1, not ${capacity}`)
  }

  get(key: K): V | undefined {
    return this.map.get(key)
  }

  /** A new key takes the place of the oldest once full; an existing key keeps its place. */
  set(key: K, value: V): void {
    if (this.map.has(key)) {
      this.map.set(key, value)
      return
    }
    if (this.order.length < this.capacity) this.order.push(key)
    else {
      this.map.delete(this.order[this.next]!)
      this.order[this.next] = key
    }
    this.next = (this.next + 1) % this.capacity
    this.map.set(key, value)
  }

  get size(): number {
    return this.map.size
  }
}
