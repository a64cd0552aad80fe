import type { EventRecord, LooseLine, MessageRecord } from '../core/model.js';
import { allocateIds, type TableRows, type Tx } from './bulk.js';
import {
  boolWriter,
  EVENT_PAGE_COLUMNS,
  EVENT_SLOT_COLUMNS,
  HANDOFF_COLUMNS,
  handoffRows,
  LOOSE_KIND_COLUMNS,
  LOOSE_PAGE_COLUMNS,
  QUEUE_REF_COLUMNS,
  queueRefRows,
  RECIPIENT_KEYS,
  recipientKeys,
  SPAN_COLUMNS,
} from './codec.js';
import { place, SLOTS_PER_PAGE, spanRows, WrittenLines } from './lines.js';
import type { BatchNames } from './names.js';
import {
  EVENT_PAGE_CHARS,
  type EventSlot,
  encodeEventPage,
  encodeLoosePage,
  LOOSE_PAGE_CHARS,
  PAGE_MAX_LINES,
  pageBlobs,
  type RawPage,
  type StoredPage,
  storedPage,
} from './pages.js';
import { encodeRecord } from './record.js';

/**
 * The rows a batch writes: pages (pages.ts) and search rows. Pages are laid out first, so that the rows
 * referring to them can be written while they are encoded and compressed (compressor.ts); the pages
 * are written last.
 */

/** What one message writes in a batch: its record, its new lines and where they came from. */
export interface MessageWrite {
  id: number;
  record: MessageRecord;
  events: readonly EventRecord[];
  /** firstSeen of the piece each line came with, or one value for all. */
  pieceStarts: number | readonly number[];
}

/** A slot under construction, with the message it belongs to. */
interface SlotDraft extends EventSlot {
  owner: number;
  events: EventRecord[];
  pieceStarts: number[];
}

/**
 * Lines already laid out in this batch. A line shared by two groups is written once, with the first
 * group that brings it (the correlator gives a bounce's `sender non-delivery notification` line to both
 * the bounced message and the bounce).
 */
class BatchLines {
  private readonly bySource = new Map<string, Set<number>>();
  private source: string | null = null;
  private offsets = new Set<number>();

  /** Adds the line; false when it was there already. */
  add(source: string, offset: number): boolean {
    if (source !== this.source) {
      this.source = source;
      let offsets = this.bySource.get(source);
      if (!offsets) {
        offsets = new Set();
        this.bySource.set(source, offsets);
      }
      this.offsets = offsets;
    }
    if (this.offsets.has(offset)) return false;
    this.offsets.add(offset);
    return true;
  }
}

/**
 * The batch's event pages: one slot per message (its new lines and its record), a page closed once its
 * text passes EVENT_PAGE_CHARS. A message with more lines than a page holds continues in further slots
 * (lines only); its record is in its first slot.
 */
function layOutEventPages(messages: readonly MessageWrite[]): {
  pages: SlotDraft[][];
  placed: { page: number; slot: number }[];
  lines: number;
} {
  const once = new BatchLines();
  const pages: SlotDraft[][] = [];
  const placed: { page: number; slot: number }[] = [];
  let page: SlotDraft[] = [];
  let chars = 0;
  let lines = 0;
  const close = () => {
    pages.push(page);
    page = [];
    chars = 0;
  };
  for (const m of messages) {
    if (page.length >= SLOTS_PER_PAGE) close();
    let slot: SlotDraft = { record: encodeRecord(m.record), owner: m.id, events: [], pieceStarts: [] };
    placed.push({ page: pages.length, slot: page.length });
    page.push(slot);
    const starts = m.pieceStarts;
    for (let k = 0; k < m.events.length; k++) {
      const event = m.events[k]!;
      if (!once.add(event.source, event.offset)) continue;
      if ((chars >= EVENT_PAGE_CHARS && slot.events.length > 0) || page.length >= SLOTS_PER_PAGE) {
        close();
        slot = { record: null, owner: m.id, events: [], pieceStarts: [] };
        page.push(slot);
      }
      slot.events.push(event);
      slot.pieceStarts.push(typeof starts === 'number' ? starts : starts[k]!);
      chars += event.text.length;
      lines++;
    }
    if (chars >= EVENT_PAGE_CHARS) close();
  }
  if (page.length > 0) close();
  return { pages, placed, lines };
}

/** Pages handed to the compression worker at a time: it starts on them while the next are encoded. */
const COMPRESS_GROUP = 8;

/**
 * Encodes pages and has them compressed (compressor.ts), a few at a time as they are encoded. A page
 * naming a host, program, kind or source that has no id yet (new in this batch: rare after the first)
 * is encoded again once the names have ids. `stored` gives the compressed pages, in order.
 */
async function encodePages<P>(
  tx: Tx,
  pages: P[][],
  names: BatchNames,
  encode: (page: P[], ids: (name: string) => number | undefined) => RawPage,
): Promise<{ raw: RawPage[]; stored: Promise<StoredPage[]> }> {
  const raw: RawPage[] = [];
  const jobs: Promise<void>[] = [];
  const stored: StoredPage[] = [];
  let group: number[] = [];
  const send = () => {
    const indexes = group;
    group = [];
    if (indexes.length === 0) return;
    const done = tx.compressor.compress(indexes.flatMap((p) => pageBlobs(raw[p]!))).then((blobs) => {
      indexes.forEach((p, k) => {
        stored[p] = storedPage(raw[p]!, blobs[2 * k]!, blobs[2 * k + 1]!);
      });
    });
    // Awaited later, after other work; a failure must not count as unhandled before that.
    done.catch(() => undefined);
    jobs.push(done);
  };
  const later: number[] = [];
  pages.forEach((page, p) => {
    const encoded = encode(page, names.id);
    raw.push(encoded);
    if (encoded.missing.size > 0) later.push(p);
    else group.push(p);
    if (group.length >= COMPRESS_GROUP) send();
  });
  send();
  if (later.length > 0) {
    await names.ensure(later.flatMap((p) => [...raw[p]!.missing]));
    for (const p of later) raw[p] = encode(pages[p]!, names.id);
    group = later;
    send();
  }
  return { raw, stored: Promise.all(jobs).then(() => stored) };
}

/** Origin id of each line of the slots, in order. */
function slotOrigins(slots: readonly SlotDraft[], names: BatchNames): number[] {
  const out: number[] = [];
  let source: string | null = null;
  let id = -1;
  for (const slot of slots) {
    for (const e of slot.events) {
      if (e.source !== source) {
        source = e.source;
        id = names.idOf(source);
      }
      out.push(id);
    }
  }
  return out;
}

/**
 * A batch's event pages, laid out and given ids: where each message's record is, the slot and span
 * rows, and the lines they hold. The pages themselves are encoded and compressed by `eventPageRows`.
 */
export interface EventPages {
  /** Page id and slot of each message's record, in the order given. */
  records: { pageId: number; slot: number }[];
  lines: number;
  written: WrittenLines;
  rows: TableRows[];
  /** Encodes the pages and starts their compression; `rows` gives the `event_pages` rows once done. */
  compress(): Promise<{ rows: Promise<TableRows> }>;
}

/** Lays out the messages' event pages (sources must have ids: `BatchNames.ensure`). */
export async function placeEventPages(
  tx: Tx,
  messages: readonly MessageWrite[],
  names: BatchNames,
): Promise<EventPages> {
  const layout = layOutEventPages(messages);
  const pageIds = await allocateIds(tx, 'event_pages', layout.pages.length);
  const written = new WrittenLines();
  const slotRows: unknown[][] = [];
  const spans: unknown[][] = [];
  layout.pages.forEach((slots, p) => {
    const pageId = pageIds[p]!;
    const origins = slotOrigins(slots, names);
    const offsets: number[] = [];
    slots.forEach((slot, s) => {
      slotRows.push([pageId, s, slot.owner, slot.events.length]);
      for (const e of slot.events) {
        written.add(origins[offsets.length]!, e.offset, place(pageId, s));
        offsets.push(e.offset);
      }
    });
    for (const row of spanRows(pageId, origins, offsets)) spans.push(row);
  });
  return {
    records: layout.placed.map((at) => ({ pageId: pageIds[at.page]!, slot: at.slot })),
    lines: layout.lines,
    written,
    rows: [
      { table: 'event_slots', columns: EVENT_SLOT_COLUMNS, rows: slotRows },
      { table: 'event_spans', columns: SPAN_COLUMNS, rows: spans },
    ],
    compress: async () => {
      const { stored } = await encodePages(tx, layout.pages, names, encodeEventPage);
      const rows = stored.then(
        (pages): TableRows => ({
          table: 'event_pages',
          columns: EVENT_PAGE_COLUMNS,
          rows: pages.map((page, p) => [pageIds[p]!, page.lines, page.meta, page.text]),
        }),
      );
      rows.catch(() => undefined);
      return { rows };
    },
  };
}

/** The messages' search rows: recipients, queue entries, hand-offs. */
export function searchRows(tx: Tx, messages: readonly MessageWrite[], names: BatchNames): TableRows[] {
  const hostId = (host: string) => names.idOf(host);
  const bool = boolWriter(tx.dialect);
  const recipients: unknown[][] = [];
  const refs: unknown[][] = [];
  const handoffs: unknown[][] = [];
  for (const m of messages) {
    for (const row of recipientKeys(m.id, m.record)) recipients.push(row);
    for (const row of queueRefRows(m.id, m.record, hostId, bool)) refs.push(row);
    for (const row of handoffRows(m.id, m.record)) handoffs.push(row);
  }
  return [
    { table: 'recipients', columns: RECIPIENT_KEYS, rows: recipients },
    { table: 'queue_refs', columns: QUEUE_REF_COLUMNS, rows: refs },
    { table: 'handoffs', columns: HANDOFF_COLUMNS, rows: handoffs },
  ];
}

/** Cuts the lines into pages of at most LOOSE_PAGE_CHARS of text or PAGE_MAX_LINES lines. */
function layOutLoosePages(lines: readonly LooseLine[]): LooseLine[][] {
  const once = new BatchLines();
  const pages: LooseLine[][] = [];
  let page: LooseLine[] = [];
  let chars = 0;
  for (const line of lines) {
    if (!once.add(line.source, line.offset)) continue;
    page.push(line);
    chars += line.text.length;
    if (chars >= LOOSE_PAGE_CHARS || page.length >= PAGE_MAX_LINES) {
      pages.push(page);
      page = [];
      chars = 0;
    }
  }
  if (page.length > 0) pages.push(page);
  return pages;
}

/** Loose pages encoded and compressing. */
export interface LoosePages {
  lines: number;
  written: WrittenLines;
  /** The `loose_pages`, `loose_kinds` and `loose_spans` rows, once compressed. */
  rows: Promise<TableRows[]>;
}

/**
 * Lays out and encodes loose lines in pages and starts their compression. `pageIds` reuses ids (a page
 * the purge rewrites). A line given twice is written once.
 */
export async function startLoosePages(
  tx: Tx,
  lines: readonly LooseLine[],
  names: BatchNames,
  pageIds?: readonly number[],
): Promise<LoosePages> {
  const pages = layOutLoosePages(lines);
  const given = pageIds ?? [];
  const ids = [...given, ...(await allocateIds(tx, 'loose_pages', Math.max(0, pages.length - given.length)))];
  const { raw, stored } = await encodePages(tx, pages, names, encodeLoosePage);
  const written = new WrittenLines();
  const kindRows: unknown[][] = [];
  const spans: unknown[][] = [];
  let count = 0;
  pages.forEach((page, p) => {
    const pageId = ids[p]!;
    const { origins, kinds } = raw[p]!;
    const offsets = page.map((l) => l.offset);
    offsets.forEach((offset, i) => {
      written.add(origins[i]!, offset, place(pageId, 0));
    });
    for (const row of spanRows(pageId, origins, offsets)) spans.push(row);
    for (const [kindId, n] of kinds) kindRows.push([kindId, pageId, n]);
    count += page.length;
  });
  const rows = stored.then((compressed): TableRows[] => [
    {
      table: 'loose_pages',
      columns: LOOSE_PAGE_COLUMNS,
      rows: compressed.map((page, p) => [ids[p]!, ...timeSpan(pages[p]!), page.lines, page.meta, page.text]),
    },
    { table: 'loose_kinds', columns: LOOSE_KIND_COLUMNS, rows: kindRows },
    { table: 'loose_spans', columns: SPAN_COLUMNS, rows: spans },
  ]);
  rows.catch(() => undefined);
  return { lines: count, written, rows };
}

/** Earliest and latest time of the lines. */
function timeSpan(lines: readonly { at: number }[]): [number, number] {
  let first = lines[0]!.at;
  let last = first;
  for (const line of lines) {
    if (line.at < first) first = line.at;
    if (line.at > last) last = line.at;
  }
  return [first, last];
}
