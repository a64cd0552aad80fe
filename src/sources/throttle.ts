/**
 * A token bucket: at most `rate` bytes per second on average, bursts of at most `burst` bytes. Used to
 * cap what the SSH reader takes from a mail server's link.
 */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export class TokenBucket {
  private tokens: number;
  private last: number;
  /** Takers wait in turn, so that a large request is not starved by small ones. */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly rate: number,
    readonly burst: number = rate,
    private readonly clock: Clock = realClock,
  ) {
    if (!(rate > 0) || !(burst > 0)) throw new RangeError('rate and burst must be positive');
    this.tokens = burst;
    this.last = clock.now();
  }

  /** Waits until `bytes` (at most `burst`) may be used, and uses them. */
  take(bytes: number): Promise<void> {
    const n = Math.min(Math.max(0, bytes), this.burst);
    const turn = this.queue.then(() => this.takeNow(n));
    this.queue = turn.catch(() => {});
    return turn;
  }

  private refill(): void {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.rate) / 1000);
    this.last = now;
  }

  private async takeNow(n: number): Promise<void> {
    this.refill();
    while (this.tokens < n) {
      await this.clock.sleep(Math.ceil(((n - this.tokens) * 1000) / this.rate));
      this.refill();
    }
    this.tokens -= n;
  }
}
