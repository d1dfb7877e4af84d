/**
 * Commits consumer offsets in the background, off the batch path: kafkajs fetches the next batch
 * only after the current one returns, and an awaited commit is one more broker round trip per
 * batch. Offered offsets are already safe (the batch's outputs are durable), so a commit may
 * trail: a crash before it lands means a longer redelivery, which idempotency downstream absorbs.
 */
export interface TopicPartitionOffset {
  topic: string
  partition: number
  /** Next offset to read (last processed + 1). */
  offset: string
}

export interface CommitterOptions {
  commit: (offsets: TopicPartitionOffset[]) => Promise<void>
  onError?: (err: unknown) => void
  /** Called after each successful commit with what it covered. */
  onCommitted?: (offsets: TopicPartitionOffset[]) => void
  /** Delay before a failed commit is tried again when nothing new is offered (default 1 s). */
  retryMs?: number
}

/**
 * At most one commit in flight (commits reach the coordinator in order); each carries the newest
 * offset offered per partition; a failed commit leaves its offsets pending for the next one (a
 * commit fenced after a rebalance is superseded or redelivered: at-least-once either way);
 * `flush()` waits until everything offered so far is committed or has failed once.
 */
export class BackgroundCommitter {
  /** Newest offset offered per `topic\0partition`, not yet committed. */
  private readonly pending = new Map<string, TopicPartitionOffset>()
  private inflight: Promise<void> | null = null

  constructor(private readonly o: CommitterOptions) {}

  /** Offsets below `offset` are safe to commit; starts a commit unless one is running. */
  offer(topic: string, partition: number, offset: string): void {
    this.pending.set(`${topic}\0${partition}`, { topic, partition, offset })
    this.kick()
  }

  /** True when nothing offered is waiting to be committed. */
  get idle(): boolean {
    return this.pending.size === 0 && this.inflight === null
  }

  /** Resolves once every offset offered before the call was committed or failed to. */
  async flush(): Promise<void> {
    // One pass for what is in flight, one for what was offered meanwhile (coalesced into one commit).
    for (let i = 0; i < 2 && !this.idle; i++) {
      this.kick()
      await this.inflight
    }
  }

  private kick(): void {
    if (this.inflight || this.pending.size === 0) return
    const batch = [...this.pending.values()]
    this.pending.clear()
    let failed = false
    this.inflight = this.o
      .commit(batch)
      .then(
        () => this.o.onCommitted?.(batch),
        (err: unknown) => {
          failed = true
          // Keep them for the next attempt unless a newer offset was offered meanwhile.
          for (const b of batch) {
            const k = `${b.topic}\0${b.partition}`
            if (!this.pending.has(k)) this.pending.set(k, b)
          }
          this.o.onError?.(err)
          // An idle consumer offers nothing new: retry on a timer so its lag still reaches 0.
          setTimeout(() => this.kick(), this.o.retryMs ?? 1000).unref()
        },
      )
      .finally(() => {
        this.inflight = null
        // What was offered while this commit flew goes now (a failure waits for its retry timer).
        if (!failed) this.kick()
      })
  }

  /** After a rebalance: forgets pending offsets of partitions this member no longer owns. */
  retain(assigned: Record<string, number[]>): void {
    for (const [k, b] of this.pending) if (!assigned[b.topic]?.includes(b.partition)) this.pending.delete(k)
  }
}
