// The pace of evictions (the node lifecycle controller's eviction rate limiter): a token bucket so a
// burst of node failures drains Containers gradually instead of rescheduling everything at once.
export class EvictionLimiter {
  private tokens: number;
  private last: number | undefined;

  /** perSecond tokens regained per second; burst is how many may go at once. */
  constructor(
    private readonly perSecond: number,
    private readonly burst = 1,
  ) {
    this.tokens = burst;
  }

  /** Evictions allowed now (whole tokens). */
  available(nowMs: number): number {
    if (this.last !== undefined) this.tokens = Math.min(this.burst, this.tokens + ((nowMs - this.last) / 1000) * this.perSecond);
    this.last = nowMs;
    return Math.floor(this.tokens);
  }

  /** Spends n tokens after n evictions were made. */
  spend(n: number): void {
    this.tokens = Math.max(0, this.tokens - n);
  }
}
