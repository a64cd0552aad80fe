import { sql } from 'kysely';
import { chunks, deleteIn, insert, type Tx } from './bulk.js';
import { SPAN_COLUMNS } from './codec.js';
import {
  decodeEventMeta,
  decodeLooseMeta,
  filterMayHold,
  offsetFilter,
  SPAN_MAX,
  spanRuns,
} from './pages.js';
import type { Db } from './schema.js';

/**
 * Which lines are stored already. Lines are unique by origin (source) and offset, within events and
 * within loose lines. Two sources of truth:
 *
 * - `RecentLines`, in memory: the lines this store wrote in its last few batches, and per origin a
 *   floor below which it does not know. Valid only while no other process wrote in between (checked
 *   with the `store_state` generation), which is the case of an import: it then needs no query at all
 *   for lines beyond the floor, which are nearly all.
 * - The `*_spans` tables: per origin, the offset runs of every page (pages.ts `spanRuns`). A line at or
 *   below the floor is stored when a page whose run covers its offset lists it in its `meta`.
 */

export type LineTable = 'event' | 'loose';

const SPANS = { event: 'event_spans', loose: 'loose_spans' } as const;
const PAGES = { event: 'event_pages', loose: 'loose_pages' } as const;

/** Slots per event page at most: a line's place (page and slot) is one number, `page * SLOTS + slot`. */
export const SLOTS_PER_PAGE = 4096;

/** Where a stored line is: `pageId * SLOTS_PER_PAGE + slot` (slot 0 on loose pages). */
export type Place = number;

export function place(pageId: number, slot: number): Place {
  return pageId * SLOTS_PER_PAGE + slot;
}

export function placePage(p: Place): number {
  return Math.floor(p / SLOTS_PER_PAGE);
}

export function placeSlot(p: Place): number {
  return p % SLOTS_PER_PAGE;
}

/** Lines one batch wrote for one origin: offsets sorted, and offsets with their places as written. */
interface Written {
  sorted: Float64Array;
  offsets: Float64Array;
  places: Float64Array;
}

/**
 * Lines written through this store, per origin: every stored line with an offset above the origin's
 * floor is in `batches`.
 */
export class RecentLines {
  /**
   * @param bound lines remembered at most (all batches together; 24 bytes each); the oldest batches
   * are forgotten first.
   */
  constructor(private readonly bound: number) {}

  private readonly floors = new Map<number, number>();
  /** Per origin, the highest offset in `batches`: above it nothing is stored. */
  private readonly tops = new Map<number, number>();
  private batches: { lines: number; byOrigin: Map<number, Written> }[] = [];
  private size = 0;

  /** The database generation (`store_state`) this memory is true for; null before the first save. */
  generation: number | null = null;

  reset(generation: number | null): void {
    this.generation = generation;
    this.floors.clear();
    this.tops.clear();
    this.batches = [];
    this.size = 0;
  }

  floor(originId: number): number | undefined {
    return this.floors.get(originId);
  }

  setFloor(originId: number, floor: number): void {
    this.floors.set(originId, floor);
  }

  /** The line's place, or undefined when it is not stored; only for offsets above the floor. */
  find(originId: number, offset: number): Place | undefined {
    const top = this.tops.get(originId);
    if (top === undefined || offset > top) return undefined;
    for (let b = this.batches.length - 1; b >= 0; b--) {
      const written = this.batches[b]!.byOrigin.get(originId);
      if (!written) continue;
      const { sorted } = written;
      if (offset > sorted[sorted.length - 1]! || offset < sorted[0]!) continue;
      const i = lowerBound(sorted, offset);
      // Found lines are rare (a message continued across batches): their place is looked up by scan.
      if (i < sorted.length && sorted[i] === offset) return written.places[written.offsets.indexOf(offset)];
    }
    return undefined;
  }

  /** Takes in a committed batch's lines. */
  add(lines: WrittenLines): void {
    const byOrigin = new Map<number, Written>();
    let count = 0;
    for (const [originId, { offsets, places }] of lines.byOrigin) {
      const sorted = lines.sorted(originId);
      byOrigin.set(originId, {
        sorted,
        offsets: Float64Array.from(offsets),
        places: Float64Array.from(places),
      });
      count += offsets.length;
      const top = sorted[sorted.length - 1];
      if (top !== undefined) this.tops.set(originId, Math.max(this.tops.get(originId) ?? top, top));
    }
    this.batches.push({ lines: count, byOrigin });
    this.size += count;
    while (this.size > this.bound && this.batches.length > 1) this.forgetOldest();
  }

  /** Forgets the oldest batch: the floor of each of its origins rises to the batch's highest offset. */
  private forgetOldest(): void {
    const oldest = this.batches.shift()!;
    this.size -= oldest.lines;
    for (const [originId, written] of oldest.byOrigin) {
      const top = written.sorted[written.sorted.length - 1];
      if (top !== undefined) this.floors.set(originId, Math.max(this.floors.get(originId) ?? top, top));
    }
  }
}

function lowerBound(sorted: Float64Array, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The stored lines among `wanted` (origin id -> offsets): origin id -> offset -> place. Offsets above
 * the origin's floor are answered from `recent`; the others from the database. An origin `recent`
 * knows nothing of gets its floor from one probe for its highest stored offset.
 */
export async function findStoredLines(
  db: Db,
  table: LineTable,
  wanted: Map<number, number[]>,
  recent: RecentLines,
): Promise<Map<number, Map<number, Place>>> {
  const found = new Map<number, Map<number, Place>>();
  const remember = (originId: number, offset: number, at: Place) => {
    let byOffset = found.get(originId);
    if (!byOffset) {
      byOffset = new Map();
      found.set(originId, byOffset);
    }
    byOffset.set(offset, at);
  };
  const candidates = new Map<number, Set<number>>();
  const pages = new Set<number>();
  for (const [originId, offsets] of wanted) {
    let floor = recent.floor(originId);
    if (floor === undefined) {
      floor = (await highestOffset(db, table, originId)) ?? Number.NEGATIVE_INFINITY;
      recent.setFloor(originId, floor);
    }
    const below: number[] = [];
    for (const offset of offsets) {
      if (offset <= floor) below.push(offset);
      else {
        const at = recent.find(originId, offset);
        if (at !== undefined) remember(originId, offset, at);
      }
    }
    if (below.length === 0) continue;
    const sorted = [...new Set(below)].sort((a, b) => a - b);
    candidates.set(originId, new Set(sorted));
    for (const pageId of await pagesCovering(db, table, originId, sorted)) pages.add(pageId);
  }
  for (const chunk of chunks([...pages])) {
    const rows = await db.selectFrom(PAGES[table]).select(['id', 'meta']).where('id', 'in', chunk).execute();
    for (const row of rows) {
      const c = table === 'event' ? decodeEventMeta(row.meta) : decodeLooseMeta(row.meta);
      const slots = 'slot' in c ? c.slot : null;
      for (let i = 0; i < c.count; i++) {
        const originId = c.originId[i]!;
        const offset = c.offset[i]!;
        if (candidates.get(originId)?.has(offset))
          remember(originId, offset, place(Number(row.id), slots ? slots[i]! : 0));
      }
    }
  }
  return found;
}

/**
 * Every run of a page is at most SPAN_MAX long, so the run with the highest end starts within SPAN_MAX
 * of the highest start: two seeks on the primary key, whatever the table's size.
 */
async function highestOffset(db: Db, table: LineTable, originId: number): Promise<number | null> {
  const spans = sql.table(SPANS[table]);
  const { rows } = await sql<{ top: number | null }>`
    select max(max_offset) as top from ${spans}
    where origin_id = ${originId}
      and min_offset >= (select max(min_offset) from ${spans} where origin_id = ${originId}) - ${SPAN_MAX}
  `.execute(db);
  const top = rows[0]?.top;
  return top === null || top === undefined ? null : Number(top);
}

/** Pages with a run covering one of `offsets` (sorted): one range scan per cluster of offsets. */
async function pagesCovering(
  db: Db,
  table: LineTable,
  originId: number,
  offsets: number[],
): Promise<Set<number>> {
  const pages = new Set<number>();
  for (const [lo, hi] of clusters(offsets)) {
    const rows = await db
      .selectFrom(SPANS[table])
      .select(['page_id', 'min_offset', 'max_offset', 'filter'])
      .where('origin_id', '=', originId)
      .where('min_offset', '>=', lo - SPAN_MAX)
      .where('min_offset', '<=', hi)
      .execute();
    for (const row of rows) {
      if (mayHoldOne(offsets, Number(row.min_offset), Number(row.max_offset), row.filter)) {
        pages.add(Number(row.page_id));
      }
    }
  }
  return pages;
}

/** Sorted offsets cut where neighbours are more than SPAN_MAX apart: [first, last] of each cluster. */
function clusters(offsets: number[]): [number, number][] {
  const out: [number, number][] = [];
  for (const offset of offsets) {
    const last = out[out.length - 1];
    if (last && offset - last[1] <= SPAN_MAX) last[1] = offset;
    else out.push([offset, offset]);
  }
  return out;
}

/** Whether the run [min, max] with its filter may hold one of the sorted `offsets`. */
function mayHoldOne(offsets: number[], min: number, max: number, filter: Uint8Array): boolean {
  let lo = 0;
  let hi = offsets.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (offsets[mid]! < min) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < offsets.length && offsets[i]! <= max; i++) {
    if (filterMayHold(filter, offsets[i]!)) return true;
  }
  return false;
}

/**
 * Lines a batch writes, per origin, with their places: what `RecentLines.add` takes in once the batch
 * commits.
 */
export class WrittenLines {
  readonly byOrigin = new Map<number, { offsets: number[]; places: number[] }>();
  private readonly sortedByOrigin = new Map<number, Float64Array>();
  private originId = -1;
  private current: { offsets: number[]; places: number[] } = { offsets: [], places: [] };

  /** The origin's offsets, sorted (computed once). */
  sorted(originId: number): Float64Array {
    let sorted = this.sortedByOrigin.get(originId);
    if (!sorted) {
      sorted = Float64Array.from(this.byOrigin.get(originId)?.offsets ?? []).sort();
      this.sortedByOrigin.set(originId, sorted);
    }
    return sorted;
  }

  add(originId: number, offset: number, at: Place): void {
    if (originId !== this.originId) {
      this.originId = originId;
      let list = this.byOrigin.get(originId);
      if (!list) {
        list = { offsets: [], places: [] };
        this.byOrigin.set(originId, list);
      }
      this.current = list;
    }
    this.current.offsets.push(offset);
    this.current.places.push(at);
  }
}

/** The span rows of a page: its lines' offset runs per origin (lines as parallel origin and offset arrays). */
export function spanRows(
  pageId: number,
  origins: readonly number[],
  offsets: readonly number[],
): unknown[][] {
  const byOrigin = new Map<number, number[]>();
  for (let i = 0; i < origins.length; i++) {
    const originId = origins[i]!;
    const list = byOrigin.get(originId);
    if (list) list.push(offsets[i]!);
    else byOrigin.set(originId, [offsets[i]!]);
  }
  const rows: unknown[][] = [];
  for (const [originId, list] of byOrigin) {
    const sorted = Float64Array.from(list);
    let i = 0;
    for (const [min, max] of spanRuns(sorted)) {
      const from = i;
      while (i < sorted.length && sorted[i]! <= max) i++;
      rows.push([originId, min, pageId, max, offsetFilter(sorted.subarray(from, i), i - from)]);
    }
  }
  return rows;
}

export async function insertSpans(tx: Tx, table: LineTable, rows: readonly unknown[][]): Promise<void> {
  await insert(tx, SPANS[table], SPAN_COLUMNS, rows);
}

export async function deleteSpans(db: Db, table: LineTable, pageIds: readonly number[]): Promise<void> {
  await deleteIn(db, SPANS[table], 'page_id', pageIds);
}

/**
 * The store's write generation: every transaction that changes lines or messages raises it. A store
 * whose last write left generation N and finds N again knows nobody else wrote since (RecentLines).
 */
export async function readGeneration(db: Db): Promise<number | null> {
  const row = await db.selectFrom('store_state').select('generation').where('id', '=', 1).executeTakeFirst();
  return row === undefined ? null : Number(row.generation);
}

export async function raiseGeneration(db: Db): Promise<number> {
  const { rows } = await sql<{ generation: number }>`
    insert into store_state (id, generation) values (1, 1)
    on conflict (id) do update set generation = store_state.generation + 1
    returning generation
  `.execute(db);
  return Number(rows[0]!.generation);
}
