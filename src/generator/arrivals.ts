/**
 * Message arrival times: exactly `n` times in increasing order between `start` and `end`, denser in
 * working hours and on weekdays. Stratified sampling of the daily-profile distribution: the k-th
 * arrival falls at quantile (k + u)/n, so arrivals stream out in order without being stored.
 */

import type { Rng } from './random.js';
import { HOUR } from './time.js';

/** Relative traffic per UTC hour on a weekday (a European university). */
const WEEKDAY = [
  0.2, 0.15, 0.12, 0.1, 0.1, 0.15, 0.35, 0.7, 1.0, 1.0, 0.95, 0.9, 0.8, 0.85, 0.95, 0.95, 0.9, 0.75, 0.55,
  0.45, 0.4, 0.35, 0.3, 0.25,
];
const WEEKEND_FACTOR = 0.35;

function weightAt(t: number): number {
  const d = new Date(Math.floor(t / 1000));
  const w = WEEKDAY[d.getUTCHours()] ?? 0.5;
  const day = d.getUTCDay();
  return day === 0 || day === 6 ? w * WEEKEND_FACTOR + 0.03 : w;
}

export class Arrivals {
  /** Segment boundaries (hour boundaries clipped to the window) and cumulative weight at each. */
  private readonly bounds: number[] = [];
  private readonly cumulative: number[] = [];
  private segment = 0;
  private k = 0;

  constructor(
    private readonly rng: Rng,
    start: number,
    end: number,
    private readonly n: number,
  ) {
    let t = start;
    let acc = 0;
    this.bounds.push(t);
    this.cumulative.push(0);
    while (t < end) {
      const next = Math.min(end, (Math.floor(t / HOUR) + 1) * HOUR);
      acc += weightAt(t) * (next - t);
      t = next;
      this.bounds.push(t);
      this.cumulative.push(acc);
    }
  }

  /** The next arrival time (µs), or null after the `n`-th. */
  next(): number | null {
    if (this.k >= this.n) return null;
    const total = this.cumulative[this.cumulative.length - 1] ?? 0;
    const target = ((this.k + this.rng.next()) / this.n) * total;
    this.k++;
    const cumulative = this.cumulative;
    while (this.segment < cumulative.length - 2 && (cumulative[this.segment + 1] ?? 0) < target)
      this.segment++;
    const c0 = cumulative[this.segment] ?? 0;
    const c1 = cumulative[this.segment + 1] ?? c0;
    const b0 = this.bounds[this.segment] ?? 0;
    const b1 = this.bounds[this.segment + 1] ?? b0;
    const frac = c1 > c0 ? (target - c0) / (c1 - c0) : 0;
    return Math.floor(b0 + frac * (b1 - b0));
  }
}
