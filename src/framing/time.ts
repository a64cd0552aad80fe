/**
 * Wall-clock time in an IANA zone → UTC, cheaply enough to run on every log line.
 *
 * Offsets come from `Intl.DateTimeFormat` (slow, ~µs) and are cached per local hour, so a line costs a
 * Map lookup and a few additions. Hours that contain a DST transition are resolved line by line:
 * - a time in a spring-forward gap (02:30 when clocks jump 02:00 → 03:00) takes the offset in force
 *   before the gap, so it lands where the clock would have shown it had it not jumped (03:30);
 * - a time in a fall-back overlap (02:30 seen twice) takes the first occurrence, unless that puts it
 *   before the previous line of the stream (by more than 10 minutes of slack for writers slightly out
 *   of order): the log has moved on to the second pass (logs are written in order).
 */

const HOUR = 3_600_000;
/** Lines of a log may be a little out of order (several writers); this much is not a "jump back". */
const OVERLAP_SLACK = 10 * 60_000;

/**
 * In a fall-back overlap: the first occurrence, unless it lies before the previous line (beyond a
 * small slack), which means the log is already in the second pass.
 */
function pickInOverlap(earlier: number, later: number, hint: number | undefined): number {
  if (hint === undefined) return earlier;
  const slack = Math.min(OVERLAP_SLACK, (later - earlier) / 2);
  return earlier < hint - slack ? later : earlier;
}
const DAY = 86_400_000;

/** The system's zone, as Node resolves it (honours `TZ`). */
export function systemTimeZone(): string {
  return new Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'UTC';
}

/** Validates an IANA zone name; throws a readable error for a configuration mistake. */
export function checkTimeZone(zone: string): string {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    throw new Error(`unknown time zone: ${zone}`);
  }
}

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days in a month, `month` 1-12. */
export function daysInMonth(year: number, month: number): number {
  return month === 2 && isLeapYear(year) ? 29 : (MONTH_DAYS[month - 1] ?? 0);
}

/**
 * How one local hour maps to UTC: one offset for the whole hour (`regular`), or, around a transition,
 * the offsets before and after it and the transition instant, so each line resolves by arithmetic.
 */
interface HourEntry {
  /** UTC ms of the hour's local `hh:00:00`, when regular. */
  base: number;
  regular: boolean;
  year: number;
  offsetBefore: number;
  offsetAfter: number;
  /** First UTC instant (ms) with `offsetAfter`. */
  transition: number;
}

const MAX_CACHE = 20_000;

export class ZoneClock {
  readonly zone: string;
  private readonly utc: boolean;
  private readonly format: Intl.DateTimeFormat | null;
  private readonly hours = new Map<number, HourEntry>();
  /** For headers without a year: hour cache keyed by month/day/hour, the year chosen per key. */
  private readonly yearless = new Map<number, HourEntry>();
  private referenceLimit: number;

  constructor(zone: string | undefined, referenceTime: number) {
    this.zone = checkTimeZone(zone ?? systemTimeZone());
    this.utc = this.zone === 'UTC' || this.zone === 'Etc/UTC' || this.zone === 'Etc/GMT';
    this.format = this.utc
      ? null
      : new Intl.DateTimeFormat('en-US', {
          timeZone: this.zone,
          hourCycle: 'h23',
          year: 'numeric',
          month: 'numeric',
          day: 'numeric',
          hour: 'numeric',
          minute: 'numeric',
          second: 'numeric',
        });
    this.referenceLimit = referenceTime + DAY;
  }

  /**
   * Headers without a year are placed in the latest year that puts them at or before
   * `referenceTime` + 1 day. Changing it (a follower moving on in time) drops the cached choices.
   */
  setReferenceTime(referenceTime: number): void {
    this.referenceLimit = referenceTime + DAY;
    this.yearless.clear();
  }

  /** Zone offset (local − UTC, ms) in force at a UTC instant. */
  offsetAt(instant: number): number {
    if (this.format === null) return 0;
    let y = 0;
    let mo = 0;
    let d = 0;
    let h = 0;
    let mi = 0;
    let s = 0;
    for (const part of this.format.formatToParts(instant)) {
      switch (part.type) {
        case 'year':
          y = Number(part.value);
          break;
        case 'month':
          mo = Number(part.value);
          break;
        case 'day':
          d = Number(part.value);
          break;
        case 'hour':
          h = Number(part.value);
          break;
        case 'minute':
          mi = Number(part.value);
          break;
        case 'second':
          s = Number(part.value);
          break;
      }
    }
    const floored = instant - (((instant % 1000) + 1000) % 1000);
    return Date.UTC(y, mo - 1, d, h, mi, s) - floored;
  }

  /**
   * UTC of a local wall time (ms since epoch treating the wall time as if it were UTC).
   * `hint`: the previous line's UTC time, used only inside a fall-back overlap.
   */
  resolve(wall: number, hint: number | undefined): number {
    if (this.format === null) return wall;
    const before = this.offsetAt(wall - DAY);
    const after = this.offsetAt(wall + DAY);
    const tBefore = wall - before;
    if (before === after) return tBefore;
    const tAfter = wall - after;
    const beforeValid = this.offsetAt(tBefore) === before;
    const afterValid = this.offsetAt(tAfter) === after;
    if (beforeValid && afterValid) {
      const earlier = Math.min(tBefore, tAfter);
      const later = Math.max(tBefore, tAfter);
      return pickInOverlap(earlier, later, hint);
    }
    if (afterValid) return tAfter;
    // Valid with the earlier offset only, or in a gap: the offset before the transition.
    return tBefore;
  }

  private hourEntry(year: number, month: number, day: number, hour: number): HourEntry {
    const start = Date.UTC(year, month - 1, day, hour);
    const entry: HourEntry = {
      base: start,
      regular: true,
      year,
      offsetBefore: 0,
      offsetAfter: 0,
      transition: 0,
    };
    if (this.format === null) return entry;
    const a = this.resolve(start, undefined);
    const offset = start - a;
    entry.base = a;
    // Regular when the offset holds from an hour before to an hour after: no gap and no second
    // reading of any wall time in the hour (transitions shift by at most an hour in practice).
    if (this.offsetAt(a - HOUR) === offset && this.offsetAt(a + HOUR) === offset) return entry;
    entry.regular = false;
    entry.offsetBefore = this.offsetAt(start - DAY);
    entry.offsetAfter = this.offsetAt(start + DAY);
    entry.transition = this.findTransition(start - DAY, start + DAY, entry.offsetBefore);
    return entry;
  }

  /** First instant in (lo, hi] whose offset differs from `offsetBefore`, to the second (binary search). */
  private findTransition(lo: number, hi: number, offsetBefore: number): number {
    let low = lo;
    let high = hi;
    while (high - low > 1000) {
      const mid = low + Math.floor((high - low) / 2000) * 1000;
      if (this.offsetAt(mid) === offsetBefore) low = mid;
      else high = mid;
    }
    return high;
  }

  /** `resolve` for a wall time inside an irregular hour, by arithmetic on the entry. */
  private resolveIn(entry: HourEntry, wall: number, hint: number | undefined): number {
    const tBefore = wall - entry.offsetBefore;
    const tAfter = wall - entry.offsetAfter;
    const beforeValid = tBefore < entry.transition;
    const afterValid = tAfter >= entry.transition;
    if (beforeValid && afterValid) {
      const earlier = Math.min(tBefore, tAfter);
      const later = Math.max(tBefore, tAfter);
      return pickInOverlap(earlier, later, hint);
    }
    if (afterValid) return tAfter;
    return tBefore;
  }

  /**
   * UTC ms of a full local date-time (`month` 1-12). Fields are trusted to be in range (the caller
   * validated them).
   */
  toUtc(
    year: number,
    month: number,
    day: number,
    hour: number,
    minute: number,
    second: number,
    ms: number,
    hint?: number,
  ): number {
    const key = ((year * 13 + month) * 32 + day) * 24 + hour;
    let entry = this.hours.get(key);
    if (entry === undefined) {
      if (this.hours.size >= MAX_CACHE) this.hours.clear();
      entry = this.hourEntry(year, month, day, hour);
      this.hours.set(key, entry);
    }
    const within = minute * 60_000 + second * 1000 + ms;
    if (entry.regular) return entry.base + within;
    return this.resolveIn(entry, Date.UTC(year, month - 1, day, hour) + within, hint);
  }

  /**
   * UTC ms of a local time without a year (RFC 3164, Dovecot), or NaN when the day does not exist in
   * any candidate year (Feb 30). The year is chosen once per month/day/hour: the latest year that puts
   * the hour's start at or before the reference limit. Feb 29 goes back to the latest leap year.
   */
  toUtcYearless(
    month: number,
    day: number,
    hour: number,
    minute: number,
    second: number,
    ms: number,
    hint?: number,
  ): number {
    const key = (month * 32 + day) * 24 + hour;
    let entry = this.yearless.get(key);
    if (entry === undefined) {
      const year = this.chooseYear(month, day, hour);
      if (Number.isNaN(year)) return Number.NaN;
      const full = this.hourEntry(year, month, day, hour);
      entry = full;
      this.yearless.set(key, entry);
    }
    const within = minute * 60_000 + second * 1000 + ms;
    if (entry.regular) return entry.base + within;
    return this.resolveIn(entry, Date.UTC(entry.year, month - 1, day, hour) + within, hint);
  }

  private chooseYear(month: number, day: number, hour: number): number {
    if (month < 1 || month > 12 || day < 1 || day > 31) return Number.NaN;
    // Start one year above the reference's UTC year: the zone may already be in the next year.
    let year = new Date(this.referenceLimit).getUTCFullYear() + 1;
    for (let tries = 0; tries < 12; tries++, year--) {
      if (day > daysInMonth(year, month)) continue;
      const start = this.hourEntry(year, month, day, hour).base;
      if (start <= this.referenceLimit) return year;
    }
    return Number.NaN;
  }
}
