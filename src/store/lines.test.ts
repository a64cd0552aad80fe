import { describe, expect, it } from 'vitest';
import { place, placePage, placeSlot, RecentLines, WrittenLines } from './lines.js';

function batch(origin: number, offsets: number[], pageId: number): WrittenLines {
  const w = new WrittenLines();
  offsets.forEach((offset, i) => {
    w.add(origin, offset, place(pageId, i));
  });
  return w;
}

describe('line places', () => {
  it('pack a page and a slot into one number', () => {
    const at = place(123_456_789, 4095);
    expect([placePage(at), placeSlot(at)]).toEqual([123_456_789, 4095]);
  });
});

describe('recent lines', () => {
  it('finds the lines it took in, in any order, and knows the others are not stored', () => {
    const recent = new RecentLines(100_000);
    recent.setFloor(1, 100);
    recent.add(batch(1, [500, 200, 300], 7));
    recent.add(batch(1, [250], 8));
    expect(recent.floor(1)).toBe(100);
    expect(recent.find(1, 300)).toBe(place(7, 2));
    expect(recent.find(1, 250)).toBe(place(8, 0));
    expect(recent.find(1, 260)).toBeUndefined();
    expect(recent.find(1, 900)).toBeUndefined();
    expect(recent.find(2, 300)).toBeUndefined();
  });

  it('forgets its oldest batches past its bound, raising their origins’ floors', () => {
    const recent = new RecentLines(100_000);
    recent.setFloor(1, -1);
    const big = Array.from({ length: 60_000 }, (_, i) => i);
    recent.add(batch(1, big, 1));
    recent.add(
      batch(
        1,
        big.map((o) => o + 100_000),
        2,
      ),
    );
    // Over 100 000 lines: the first batch goes, the floor rises to its highest offset.
    expect(recent.floor(1)).toBe(59_999);
    expect(recent.find(1, 100_005)).toBe(place(2, 5));
  });

  it('starts over on reset', () => {
    const recent = new RecentLines(100_000);
    recent.setFloor(1, 0);
    recent.add(batch(1, [5], 1));
    recent.reset(42);
    expect(recent.generation).toBe(42);
    expect(recent.floor(1)).toBeUndefined();
    expect(recent.find(1, 5)).toBeUndefined();
  });
});
