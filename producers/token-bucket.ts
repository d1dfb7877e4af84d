/**
 * A token bucket: `rate` tokens per second, holding at most `burst`. `take()` resolves when
 * a token is available, so a loop calling it publishes at the target rate on average while
 * still allowing small bursts (which is what lets the producer batch at high rates).
 * rate 0 means "unlimited": take() resolves immediately.
 */
const MIN_SLEEP_MS = 4

export class TokenBucket {
  private tokens: number
  private last: number

  constructor(
    private readonly rate: number,
    private readonly burst = Math.max(1, Math.ceil(rate / 20)),
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = Math.min(1, this.burst)
    this.last = this.now()
  }

  /** Milliseconds to wait before a token is available (0 if one is available now); consumes it. */
  reserve(): number {
    if (this.rate <= 0) return 0
    const t = this.now()
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) * this.rate) / 1000)
    this.last = t
    this.tokens -= 1
    // A negative balance is a debt paid by waiting; it keeps the long-run rate exact.
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.rate
  }

  /**
   * Timers are coarse (≥ 1 ms, later under load), so sleeping for every token would undershoot
   * high rates. Small debts are let run up and paid in one sleep of at least MIN_SLEEP_MS;
   * the long-run rate stays exact because the debt is kept in the balance.
   */
  async take(): Promise<void> {
    const wait = this.reserve()
    if (wait >= MIN_SLEEP_MS) await new Promise((r) => setTimeout(r, wait))
    else if (wait > 0) await Promise.resolve()
  }
}
