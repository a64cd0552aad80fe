import { brotliDecompressSync, constants } from 'node:zlib';
import type { EventRecord, LooseLine } from '../core/model.js';
import { ByteReader, ByteWriter } from './bytes.js';
import type { CompressJob } from './compressor.js';

/**
 * Line pages: the raw log lines of events and loose lines are stored compressed, many lines to a row
 * (docs/schema.md "Pages"). A row per line cost about as much again as the line itself in row and index
 * overhead, and lines compress well only together: a page of ~64 KiB of lines compresses ~6×, a single
 * line barely at all.
 *
 * A page is two blobs, each compressed with Brotli:
 * - `meta`: a format byte, then the compressed varints: flags, then per line its time, host, program,
 *   kind and origin ids, offset, the firstSeen of the piece it came with (event pages) and its length;
 *   times and offsets are deltas from the previous line. On event pages the slots' message records
 *   (record.ts) follow, one JSON text after the other. Small: reading which lines a page holds, or a
 *   message's record, never decompresses the text.
 * - `text`: the lines one after the other as UTF-8 (then, on loose pages, the reasons).
 *
 * Lengths count UTF-16 code units. A text that is all ASCII (flagged; nearly every log) is cut straight
 * out of the bytes, only the lines asked for; any other is decoded as one string and cut.
 *
 * An event page is cut into slots, one per message written with the batch: its new lines and, in the
 * slot its `messages` row points to, its whole record.
 */

/** A message's share of an event page. */
export interface EventSlot {
  /** The message's record JSON, or null when this slot holds lines only. */
  record: string | null;
  events: readonly EventRecord[];
  /** firstSeen of the piece each line came with (orders lines logged in the same millisecond). */
  pieceStarts: readonly number[];
}

/** Ids of names (hosts, programs, kinds, sources); undefined for a name that has none yet. */
export type NameIds = (name: string) => number | undefined;

/** A page's blobs before compression (`pageBlobs`), and what the saver needs besides. */
export interface RawPage {
  /** The format byte (also first in `meta`, which compression may hand over). */
  format: number;
  lines: number;
  /** Format byte, then the varints (and records). */
  meta: Buffer;
  text: Buffer;
  /** Origin id of each line. */
  origins: number[];
  /** Loose pages: lines per kind id. */
  kinds: Map<number, number>;
  /** Names without an id: the page is to be encoded again once they have one. */
  missing: Set<string>;
}

export interface StoredPage {
  lines: number;
  meta: Buffer;
  text: Buffer;
}

/** Format bytes, first in `meta`: a later format gets a new number and old pages stay readable. */
const EVENT_FORMAT = 1;
const LOOSE_FORMAT = 2;

/**
 * Brotli, at a quality per blob. Measured on the benchmark's 32 KiB pages: text at quality 1 compresses
 * 5.5× at ~400 MB/s (zlib's fastest level: 5.3× at ~260 MB/s; Brotli quality 2: 5.8× at half the speed),
 * meta (varints and record JSON, denser) at quality 3 3.0× at ~90 MB/s (quality 1: 2.8×, 4: 3.2× at
 * ~60 MB/s). Pages compress on a worker thread (compressor.ts) while the saver writes its other rows;
 * with text at quality 2 the saver waited for it (the import ran ~8 % slower for a database ~4 %
 * smaller).
 */
function brotli(quality: number): Record<number, number> {
  return { [constants.BROTLI_PARAM_QUALITY]: quality, [constants.BROTLI_PARAM_LGWIN]: 18 };
}
const META_BROTLI = brotli(3);
const TEXT_BROTLI = brotli(1);

/**
 * Raw text per event page: large enough to compress well, small enough that a trace, which decompresses
 * a page per message it shows, stays fast. Measured on the benchmark's lines: 32 KiB pages compress
 * 5.5× (64 KiB: 6.0×) and decompress in half the time.
 */
export const EVENT_PAGE_CHARS = 32 * 1024;
/** Loose pages are read in bulk (listing), never one line at a time: larger pages compress better. */
export const LOOSE_PAGE_CHARS = 128 * 1024;
/** Lines per loose page at most. */
export const PAGE_MAX_LINES = 8192;

/** `meta` flags: the text, the records are all ASCII (byte offsets are character offsets). */
const TEXT_ASCII = 1;
const RECORDS_ASCII = 2;

const meta = new ByteWriter();

/** What of a page is compressed: meta past its format byte, and the text. */
export function pageBlobs(page: RawPage): CompressJob[] {
  return [
    { data: page.meta.subarray(1), params: META_BROTLI },
    { data: page.text, params: TEXT_BROTLI },
  ];
}

/** The stored page from its compressed blobs (`pageBlobs` order); the format byte goes back in front. */
export function storedPage(page: RawPage, meta: Uint8Array, text: Buffer): StoredPage {
  const packed = Buffer.allocUnsafe(meta.length + 1);
  packed[0] = page.format;
  packed.set(meta, 1);
  return { lines: page.lines, meta: packed, text };
}

/**
 * The page's meta blob (uncompressed): format byte, flags, the varints written, then `records`. `text`
 * is the page's text, encoded already (for its flag).
 */
function metaBytes(format: number, text: { bytes: Buffer; chars: number }, records = ''): Buffer {
  const tailBytes = Buffer.byteLength(records, 'utf8');
  const flags =
    (text.bytes.length === text.chars ? TEXT_ASCII : 0) | (tailBytes === records.length ? RECORDS_ASCII : 0);
  const out = Buffer.allocUnsafe(meta.length + 2 + tailBytes);
  out[0] = format;
  out[1] = flags;
  meta.view().copy(out, 2);
  if (tailBytes > 0) out.write(records, meta.length + 2, 'utf8');
  return out;
}

function utf8(text: string): { bytes: Buffer; chars: number } {
  return { bytes: Buffer.from(text, 'utf8'), chars: text.length };
}

/** The decompressed meta's reader (past the flags) and flags. */
function unpackMeta(format: number, blob: Uint8Array): { r: ByteReader; flags: number } {
  if (blob[0] !== format) throw new Error(`unknown page format ${blob[0]} (expected ${format})`);
  const bytes = brotliDecompressSync(blob.subarray(1));
  const r = new ByteReader(bytes);
  r.pos = 1;
  return { r, flags: bytes[0]! };
}

/**
 * Text cut by UTF-16 positions: straight from the bytes when they are ASCII, else from the string they
 * decode to (decoded once, when first needed).
 */
export class PageText {
  private decoded: string | null = null;

  constructor(
    private readonly bytes: Buffer,
    private readonly ascii: boolean,
  ) {}

  slice(start: number, length: number): string {
    if (this.ascii) return this.bytes.toString('latin1', start, start + length);
    this.decoded ??= this.bytes.toString('utf8');
    return this.decoded.substring(start, start + length);
  }
}

/** Writes lines' name ids, remembering the previous line's (consecutive lines mostly share them). */
class IdWriter {
  private host = '';
  private hostId = -1;
  private program = '';
  private programId = -1;
  private kind = '';
  /** The last line's kind id. */
  kindId = -1;
  private source = '';
  private sourceId = -1;
  readonly missing = new Set<string>();

  constructor(private readonly ids: NameIds) {}

  private id(name: string): number {
    const id = this.ids(name);
    if (id !== undefined) return id;
    this.missing.add(name);
    return 0;
  }

  /** Writes the line's ids; returns its origin id. */
  write(line: { host: string; program: string; kind: string; source: string }): number {
    // Consecutive lines mostly share host, program, kind and source: look each up only when it changes.
    if (this.hostId < 0 || line.host !== this.host) {
      this.host = line.host;
      this.hostId = this.id(line.host);
    }
    if (this.programId < 0 || line.program !== this.program) {
      this.program = line.program;
      this.programId = this.id(line.program);
    }
    if (this.kindId < 0 || line.kind !== this.kind) {
      this.kind = line.kind;
      this.kindId = this.id(line.kind);
    }
    if (this.sourceId < 0 || line.source !== this.source) {
      this.source = line.source;
      this.sourceId = this.id(line.source);
    }
    meta.uint(this.hostId);
    meta.uint(this.programId);
    meta.uint(this.kindId);
    meta.uint(this.sourceId);
    return this.sourceId;
  }
}

/** One line's time, ids, offset and length; its text goes to `texts`. */
function writeLine(
  line: {
    at: number;
    host: string;
    program: string;
    kind: string;
    source: string;
    offset: number;
    text: string;
  },
  prev: { at: number; offset: number } | undefined,
  ids: IdWriter,
  texts: string[],
  origins: number[],
): void {
  meta.delta(line.at, prev?.at ?? 0);
  origins.push(ids.write(line));
  meta.delta(line.offset, prev?.offset ?? 0);
  meta.uint(line.text.length);
  texts.push(line.text);
}

export function encodeEventPage(slots: readonly EventSlot[], ids: NameIds): RawPage {
  meta.reset();
  const names = new IdWriter(ids);
  const texts: string[] = [];
  const records: string[] = [];
  const origins: number[] = [];
  meta.uint(slots.length);
  for (const slot of slots) {
    meta.uint(slot.events.length);
    meta.uint(slot.record === null ? 0 : slot.record.length + 1);
    if (slot.record !== null) records.push(slot.record);
  }
  let prev: EventRecord | undefined;
  let prevPieceStart = 0;
  for (const slot of slots) {
    for (let i = 0; i < slot.events.length; i++) {
      const e = slot.events[i]!;
      writeLine(e, prev, names, texts, origins);
      const pieceStart = slot.pieceStarts[i]!;
      meta.delta(pieceStart, prevPieceStart);
      prev = e;
      prevPieceStart = pieceStart;
    }
  }
  const text = utf8(texts.join(''));
  return {
    format: EVENT_FORMAT,
    lines: texts.length,
    meta: metaBytes(EVENT_FORMAT, text, records.join('')),
    text: text.bytes,
    origins,
    kinds: new Map(),
    missing: names.missing,
  };
}

export function encodeLoosePage(lines: readonly LooseLine[], ids: NameIds): RawPage {
  meta.reset();
  const names = new IdWriter(ids);
  const texts: string[] = [];
  const reasons: string[] = [];
  const origins: number[] = [];
  const kinds = new Map<number, number>();
  meta.uint(lines.length);
  let prev: LooseLine | undefined;
  for (const line of lines) {
    writeLine(line, prev, names, texts, origins);
    kinds.set(names.kindId, (kinds.get(names.kindId) ?? 0) + 1);
    const reason = line.reason;
    meta.uint(reason === undefined ? 0 : reason.length + 1);
    if (reason !== undefined) reasons.push(reason);
    prev = line;
  }
  const text = utf8(texts.join('') + reasons.join(''));
  return {
    format: LOOSE_FORMAT,
    lines: lines.length,
    meta: metaBytes(LOOSE_FORMAT, text),
    text: text.bytes,
    origins,
    kinds,
    missing: names.missing,
  };
}

/**
 * What a page's `meta` says, one typed array per field (no object per line). Text positions are
 * UTF-16 offsets into the page's text.
 */
export interface LineColumns {
  count: number;
  /** Whether the page's text is all ASCII (`decompressText` takes it). */
  asciiText: boolean;
  at: Float64Array;
  hostId: Float64Array;
  programId: Float64Array;
  kindId: Float64Array;
  originId: Float64Array;
  offset: Float64Array;
  textStart: Float64Array;
  textLength: Float64Array;
}

export interface SlotIndex {
  firstLine: number;
  lines: number;
  /** Range of the record JSON in `records`; recordStart -1 when the slot has none. */
  recordStart: number;
  recordLength: number;
}

export interface EventColumns extends LineColumns {
  pieceStart: Float64Array;
  slot: Float64Array;
  slots: SlotIndex[];
  /** The slots' records, one JSON text after the other (`slotRecord` cuts them). */
  records: PageText;
}

export interface LooseColumns extends LineColumns {
  /** -1 when the line has no reason. */
  reasonStart: Float64Array;
  reasonLength: Float64Array;
}

function lineColumns(count: number, flags: number): LineColumns {
  const column = () => new Float64Array(count);
  return {
    count,
    asciiText: (flags & TEXT_ASCII) !== 0,
    at: column(),
    hostId: column(),
    programId: column(),
    kindId: column(),
    originId: column(),
    offset: column(),
    textStart: column(),
    textLength: column(),
  };
}

/** Reads line `i`; returns where its text ends (its text starts at `pos`). */
function readLine(r: ByteReader, c: LineColumns, i: number, pos: number): number {
  c.at[i] = r.delta(i === 0 ? 0 : c.at[i - 1]!);
  c.hostId[i] = r.uint();
  c.programId[i] = r.uint();
  c.kindId[i] = r.uint();
  c.originId[i] = r.uint();
  c.offset[i] = r.delta(i === 0 ? 0 : c.offset[i - 1]!);
  const length = r.uint();
  c.textStart[i] = pos;
  c.textLength[i] = length;
  return pos + length;
}

export function decodeEventMeta(blob: Uint8Array): EventColumns {
  const { r, flags } = unpackMeta(EVENT_FORMAT, blob);
  const slots: SlotIndex[] = [];
  const slotCount = r.uint();
  let firstLine = 0;
  let recordPos = 0;
  for (let s = 0; s < slotCount; s++) {
    const lines = r.uint();
    const record = r.uint();
    slots.push({
      firstLine,
      lines,
      recordStart: record === 0 ? -1 : recordPos,
      recordLength: record === 0 ? 0 : record - 1,
    });
    firstLine += lines;
    if (record > 0) recordPos += record - 1;
  }
  const c = lineColumns(firstLine, flags) as EventColumns;
  c.pieceStart = new Float64Array(firstLine);
  c.slot = new Float64Array(firstLine);
  c.slots = slots;
  let i = 0;
  let pos = 0;
  for (let s = 0; s < slots.length; s++) {
    for (let n = 0; n < slots[s]!.lines; n++, i++) {
      pos = readLine(r, c, i, pos);
      c.pieceStart[i] = r.delta(i === 0 ? 0 : c.pieceStart[i - 1]!);
      c.slot[i] = s;
    }
  }
  c.records = new PageText(r.rest(), (flags & RECORDS_ASCII) !== 0);
  return c;
}

export function decodeLooseMeta(blob: Uint8Array): LooseColumns {
  const { r, flags } = unpackMeta(LOOSE_FORMAT, blob);
  const count = r.uint();
  const c = lineColumns(count, flags) as LooseColumns;
  c.reasonStart = new Float64Array(count);
  c.reasonLength = new Float64Array(count);
  let pos = 0;
  for (let i = 0; i < count; i++) {
    pos = readLine(r, c, i, pos);
    const reason = r.uint();
    c.reasonStart[i] = reason === 0 ? -1 : 0;
    c.reasonLength[i] = reason === 0 ? 0 : reason - 1;
  }
  // The reasons follow the lines' text.
  for (let i = 0; i < count; i++) {
    if (c.reasonStart[i]! < 0) continue;
    c.reasonStart[i] = pos;
    pos += c.reasonLength[i]!;
  }
  return c;
}

/** A page's `text`, to cut with the positions of its meta. */
export function decompressText(blob: Uint8Array, c: LineColumns): PageText {
  return new PageText(brotliDecompressSync(blob), c.asciiText);
}

export function lineText(text: PageText, c: LineColumns, i: number): string {
  return text.slice(c.textStart[i]!, c.textLength[i]!);
}

export function looseReason(text: PageText, c: LooseColumns, i: number): string | undefined {
  const start = c.reasonStart[i]!;
  return start < 0 ? undefined : text.slice(start, c.reasonLength[i]!);
}

export function slotRecord(c: EventColumns, slot: number): string | null {
  const s = c.slots[slot];
  return !s || s.recordStart < 0 ? null : c.records.slice(s.recordStart, s.recordLength);
}

/**
 * The offset runs of one origin's lines in a page, for the stored-line lookup (`*_spans` tables): sorted
 * offsets cut where two neighbours are more than SPAN_GAP apart or a run would exceed SPAN_MAX. A page
 * holding a message that lasted hours (its lines far apart in the file) so gets several short runs
 * rather than one long one that every later lookup would have to open.
 */
export const SPAN_GAP = 1 << 20;
export const SPAN_MAX = 16 << 20;

export function spanRuns(offsets: Float64Array): [number, number][] {
  const sorted = offsets.sort();
  const runs: [number, number][] = [];
  let run: [number, number] | null = null;
  for (const offset of sorted) {
    if (run !== null && offset - run[1] <= SPAN_GAP && offset - run[0] <= SPAN_MAX) run[1] = offset;
    else {
      run = [offset, offset];
      runs.push(run);
    }
  }
  return runs;
}

/**
 * A Bloom filter of a run's offsets, stored with the run: a lookup opens a page only when the filter
 * may hold the offset. A run covers the lines of many messages (all those of the page over its stretch
 * of the file), so without it a line older than the saver remembers opened every page of its time.
 * 10 bits a line and 7 probes: about one false positive in a hundred.
 */
const FILTER_BITS_PER_LINE = 10;
const FILTER_PROBES = 7;

/** Two 32-bit hashes of an offset (any safe integer), for double hashing. */
function offsetHashes(offset: number): [number, number] {
  const lo = offset >>> 0;
  const hi = Math.floor(offset / 2 ** 32) >>> 0;
  const h1 = fmix32(lo ^ fmix32(hi ^ 0x9e3779b9));
  return [h1, fmix32(h1 ^ 0x85ebca6b) | 1];
}

/** MurmurHash3's finaliser: every input bit moves every output bit. */
function fmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function offsetFilter(offsets: Iterable<number>, count: number): Buffer {
  const filter = Buffer.alloc(Math.max(8, Math.ceil((count * FILTER_BITS_PER_LINE) / 8)));
  const bits = filter.length * 8;
  for (const offset of offsets) {
    const [h1, h2] = offsetHashes(offset);
    for (let i = 0; i < FILTER_PROBES; i++) {
      const bit = (h1 + Math.imul(i, h2)) >>> 0;
      const at = (bit % bits) >>> 3;
      filter[at] = (filter[at] ?? 0) | (1 << ((bit % bits) & 7));
    }
  }
  return filter;
}

export function filterMayHold(filter: Uint8Array, offset: number): boolean {
  const bits = filter.length * 8;
  if (bits === 0) return true;
  const [h1, h2] = offsetHashes(offset);
  for (let i = 0; i < FILTER_PROBES; i++) {
    const bit = (h1 + Math.imul(i, h2)) >>> 0;
    if ((filter[(bit % bits) >>> 3]! & (1 << ((bit % bits) & 7))) === 0) return false;
  }
  return true;
}
