/**
 * Time in the generator is an integer count of microseconds since the epoch (UTC), so that RFC 3339
 * high-precision stamps and Postfix queue ids (which embed the microseconds) come out exact.
 */

export const US = 1_000_000;
export const MINUTE = 60 * US;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Seconds (possibly fractional) to microseconds. */
export function us(seconds: number): number {
  return Math.round(seconds * US);
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** `Nov 28 10:00:00` / `Nov  8 10:00:00`: the RFC 3164 stamp, also used by Postfix anvil's `at ...`. */
export function classicStamp(t: number): string {
  const d = new Date(Math.floor(t / 1000));
  const day = d.getUTCDate();
  return `${MONTHS[d.getUTCMonth()]} ${day < 10 ? ` ${day}` : day} ${pad2(d.getUTCHours())}:${pad2(
    d.getUTCMinutes(),
  )}:${pad2(d.getUTCSeconds())}`;
}

/** `20261128T100000`: amavisd-new's temp folder stamp. */
export function compactStamp(t: number): string {
  const d = new Date(Math.floor(t / 1000));
  return `${d.getUTCFullYear()}${pad2(d.getUTCMonth() + 1)}${pad2(d.getUTCDate())}T${pad2(d.getUTCHours())}${pad2(
    d.getUTCMinutes(),
  )}${pad2(d.getUTCSeconds())}`;
}

/** `20261128100000`: the stamp in Postfix's DSN message-ids. */
export function dsnStamp(t: number): string {
  return compactStamp(t).replace('T', '');
}

export function isoMillis(t: number): string {
  return new Date(Math.floor(t / 1000)).toISOString();
}

/** Syslog header formatter; caches the per-second part because lines come in bursts. */
export interface HeaderFormat {
  /** The header up to and including the space after the host name. */
  header(t: number): string;
}

/** RFC 3164: `Nov 28 10:00:00 mx1 ` (second precision, no year, no zone). */
export class ClassicHeader implements HeaderFormat {
  private lastSecond = -1;
  private cached = '';
  constructor(private readonly host: string) {}

  header(t: number): string {
    const second = Math.floor(t / US);
    if (second !== this.lastSecond) {
      this.lastSecond = second;
      this.cached = `${classicStamp(t)} ${this.host} `;
    }
    return this.cached;
  }
}

/** RFC 3339 with microseconds, rsyslog's high-precision default: `2026-11-28T10:00:00.123456+00:00 mbox1 `. */
export class PreciseHeader implements HeaderFormat {
  private lastSecond = -1;
  private cached = '';
  private readonly tail: string;
  constructor(host: string) {
    this.tail = `+00:00 ${host} `;
  }

  header(t: number): string {
    const second = Math.floor(t / US);
    if (second !== this.lastSecond) {
      this.lastSecond = second;
      this.cached = `${new Date(second * 1000).toISOString().slice(0, 19)}.`;
    }
    // 1000000 + micros always has 7 digits: drop the leading 1 for a zero-padded field.
    return `${this.cached}${String(US + (t - second * US)).slice(1)}${this.tail}`;
  }
}

/**
 * Postfix's `delay=` / `delays=` numbers: whole seconds from 10 s up, else two significant digits at
 * 10 ms resolution, trailing zeros dropped (`0.38`, `1.9`, `2`, `0`, `2071`).
 */
export function postfixDelay(seconds: number): string {
  if (seconds >= 10) return String(Math.floor(seconds));
  if (seconds < 0.01) return '0';
  // Work in hundredths (below 1 s) or tenths, then drop trailing zeros.
  if (seconds < 1) {
    const h = Math.round(seconds * 100);
    if (h >= 100) return '1';
    if (h % 10 === 0) return `0.${h / 10}`;
    return h < 10 ? `0.0${h}` : `0.${h}`;
  }
  const d = Math.round(seconds * 10);
  return d % 10 === 0 ? String(d / 10) : `${Math.floor(d / 10)}.${d % 10}`;
}
