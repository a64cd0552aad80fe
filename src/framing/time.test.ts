import { describe, expect, it } from 'vitest';
import { daysInMonth, isLeapYear, ZoneClock } from './time.js';

const REF = Date.UTC(2026, 11, 1);

describe('ZoneClock', () => {
  it('gives zone offsets at instants', () => {
    const madrid = new ZoneClock('Europe/Madrid', REF);
    expect(madrid.offsetAt(Date.UTC(2026, 6, 1))).toBe(2 * 3_600_000);
    expect(madrid.offsetAt(Date.UTC(2026, 0, 1))).toBe(3_600_000);
    expect(new ZoneClock('UTC', REF).offsetAt(Date.UTC(2026, 6, 1))).toBe(0);
    expect(new ZoneClock('Asia/Kolkata', REF).offsetAt(Date.UTC(2026, 6, 1))).toBe(5.5 * 3_600_000);
  });

  it('defaults to the process zone', () => {
    // vitest runs with TZ=UTC.
    expect(new ZoneClock(undefined, REF).zone).toBe('UTC');
  });

  it('cached conversion agrees with the exact one on every minute of transition days', () => {
    const cases: Array<[string, number, number, number]> = [
      ['Europe/Madrid', 2026, 3, 29],
      ['Europe/Madrid', 2026, 10, 25],
      ['America/New_York', 2026, 3, 8],
      ['America/New_York', 2026, 11, 1],
      ['Australia/Lord_Howe', 2026, 4, 5], // 30-minute shift
      ['Australia/Lord_Howe', 2026, 10, 4],
    ];
    for (const [zone, year, month, day] of cases) {
      const clock = new ZoneClock(zone, REF);
      for (let minuteOfDay = 0; minuteOfDay < 24 * 60; minuteOfDay++) {
        const hour = Math.floor(minuteOfDay / 60);
        const minute = minuteOfDay % 60;
        const wall = Date.UTC(year, month - 1, day, hour, minute);
        const exact = clock.resolve(wall, undefined);
        expect(clock.toUtc(year, month, day, hour, minute, 0, 0)).toBe(exact);
        // The result, shown in the zone, is the wall time (or, in a gap, the time pushed forward).
        const shown = exact + clock.offsetAt(exact);
        expect(shown >= wall).toBe(true);
        expect(shown - wall <= 3_600_000).toBe(true);
      }
    }
  });

  it('picks the year at or before the reference + 1 day', () => {
    const clock = new ZoneClock('UTC', Date.UTC(2026, 0, 1, 10));
    expect(new Date(clock.toUtcYearless(12, 31, 23, 0, 0, 0)).toISOString()).toBe('2025-12-31T23:00:00.000Z');
    expect(new Date(clock.toUtcYearless(1, 2, 10, 0, 0, 0)).toISOString()).toBe('2026-01-02T10:00:00.000Z');
    expect(new Date(clock.toUtcYearless(1, 2, 11, 0, 0, 0)).toISOString()).toBe('2025-01-02T11:00:00.000Z');
    expect(Number.isNaN(clock.toUtcYearless(2, 30, 0, 0, 0, 0))).toBe(true);
    expect(Number.isNaN(clock.toUtcYearless(13, 1, 0, 0, 0, 0))).toBe(true);
  });
});

describe('calendar helpers', () => {
  it('knows leap years and month lengths', () => {
    expect([1900, 2000, 2024, 2026].map(isLeapYear)).toEqual([false, true, true, false]);
    expect(daysInMonth(2024, 2)).toBe(29);
    expect(daysInMonth(2026, 2)).toBe(28);
    expect(daysInMonth(2026, 4)).toBe(30);
    expect(daysInMonth(2026, 13)).toBe(0);
  });
});
