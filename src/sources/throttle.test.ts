import { describe, expect, it } from 'vitest';
import { type Clock, TokenBucket } from './throttle.js';

/** A clock that advances only when someone sleeps: the bucket's waits are computed, not timed. */
class VirtualClock implements Clock {
  time = 0;
  readonly sleeps: number[] = [];
  now(): number {
    return this.time;
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.time += ms;
  }
}

describe('TokenBucket', () => {
  it('should let a burst through at once, then pace reads at the rate', async () => {
    const clock = new VirtualClock();
    const bucket = new TokenBucket(1000, 500, clock);
    await bucket.take(500);
    expect(clock.time).toBe(0);
    await bucket.take(250);
    expect(clock.time).toBe(250);
    await bucket.take(500);
    expect(clock.time).toBe(750);
    expect(clock.sleeps).toEqual([250, 500]);
  });

  it('should refill with the time that passed, up to the burst', async () => {
    const clock = new VirtualClock();
    const bucket = new TokenBucket(100, 100, clock);
    await bucket.take(100);
    clock.time += 10_000;
    await bucket.take(100);
    expect(clock.sleeps).toEqual([]);
    await bucket.take(50);
    expect(clock.sleeps).toEqual([500]);
  });

  it('should serve takers in turn and never give more than the rate allows', async () => {
    const clock = new VirtualClock();
    const bucket = new TokenBucket(2000, 1000, clock);
    await Promise.all([bucket.take(1000), bucket.take(1000), bucket.take(1000), bucket.take(1000)]);
    // 4000 bytes: 1000 of burst, then 3000 at 2000 bytes/s.
    expect(clock.time).toBe(1500);
  });

  it('should cap a request at the burst and reject a non-positive rate', async () => {
    const clock = new VirtualClock();
    const bucket = new TokenBucket(10, 10, clock);
    await bucket.take(1_000_000);
    expect(clock.time).toBe(0);
    expect(() => new TokenBucket(0)).toThrow(RangeError);
  });
});
