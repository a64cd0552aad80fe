import { brotliCompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { EventRecord, LooseLine } from '../core/model.js';
import { ByteReader, ByteWriter } from './bytes.js';
import {
  decodeEventMeta,
  decodeLooseMeta,
  decompressText,
  type EventSlot,
  encodeEventPage,
  encodeLoosePage,
  filterMayHold,
  lineText,
  looseReason,
  offsetFilter,
  pageBlobs,
  type RawPage,
  SPAN_GAP,
  SPAN_MAX,
  slotRecord,
  spanRuns,
  storedPage,
} from './pages.js';

// Real lines from /work/shared/corpus/postfix/Anantg21-Python-Dashboard-for-Postfix-Logs-maillog (the
// codec keeps them verbatim; their content is not parsed).
const LINES = [
  'May 18 22:31:10 lhansible postfix/cleanup[30623]: 0EA5228A: message-id=<20200519033110.0EA5228A@ansible.com>',
  'May 18 22:31:12 lhansible postfix/smtp[30629]: 0EA5228A: to=<sri-ganesh.thota@gemini.com>, relay=ansible.com:25, delay=2.4, delays=0.08/0.02/0.86/1.4, dsn=2.0.0, status=sent (250 ok:  Message 496275087 accepted)',
  'May 18 22:31:12 lhansible postfix/qmgr[30620]: 0EA5228A: removed',
];

const NAMES = [
  'mx1',
  'postfix/smtp',
  'delivery',
  'import\u0000/var/log/mail.log',
  'mx2',
  'unknown',
  'src\u0000b',
];
const ids = (name: string) => {
  const i = NAMES.indexOf(name);
  return i < 0 ? undefined : i + 1;
};
const nameOf = (id: number) => NAMES[id - 1];

function event(text: string, offset: number, over: Partial<EventRecord> = {}): EventRecord {
  return {
    at: 1_795_737_600_000 + offset,
    host: 'mx1',
    program: 'postfix/smtp',
    kind: 'delivery',
    text,
    source: 'import\u0000/var/log/mail.log',
    offset,
    ...over,
  };
}

/** Compresses as the store does (on the main thread here) and returns the stored blobs. */
function store(raw: RawPage) {
  const [meta, text] = pageBlobs(raw).map((j) => brotliCompressSync(j.data, { params: j.params }));
  return storedPage(raw, meta!, text!);
}

describe('event pages', () => {
  const slots: EventSlot[] = [
    {
      record: '[1,"first"]',
      events: LINES.map((text, i) => event(text, 1000 + i * 150)),
      pieceStarts: [5, 5, 7],
    },
    { record: null, events: [], pieceStarts: [] },
    {
      record: '[1,"Ünïcödé \\u0000"]',
      events: [event('line with NUL \u0000, ESC \uffff and é', 17, { host: 'mx2', at: Number.NaN })],
      pieceStarts: [-3.5],
    },
  ];

  it('round-trips every line, slot and record exactly', () => {
    const raw = encodeEventPage(slots, ids);
    expect(raw.lines).toBe(4);
    expect(raw.missing.size).toBe(0);
    expect(raw.origins).toEqual([4, 4, 4, 4]);
    const page = store(raw);
    const c = decodeEventMeta(page.meta);
    const text = decompressText(page.text, c);
    expect(c.count).toBe(4);
    expect(c.asciiText).toBe(false);
    expect(c.slots.map((s) => [s.firstLine, s.lines])).toEqual([
      [0, 3],
      [3, 0],
      [3, 1],
    ]);
    expect([0, 1, 2].map((s) => slotRecord(c, s))).toEqual(['[1,"first"]', null, '[1,"Ünïcödé \\u0000"]']);
    const lines = slots.flatMap((s) => s.events);
    lines.forEach((e, i) => {
      expect(lineText(text, c, i)).toBe(e.text);
      expect(c.at[i]).toEqual(e.at);
      expect(c.offset[i]).toBe(e.offset);
      expect(nameOf(c.hostId[i]!)).toBe(e.host);
      expect(nameOf(c.programId[i]!)).toBe(e.program);
      expect(nameOf(c.kindId[i]!)).toBe(e.kind);
      expect(nameOf(c.originId[i]!)).toBe(e.source);
    });
    expect([...c.pieceStart]).toEqual([5, 5, 7, -3.5]);
    expect([...c.slot]).toEqual([0, 0, 0, 2]);
  });

  it('cuts an all-ASCII page straight from its bytes', () => {
    const ascii = encodeEventPage([slots[0]!], ids);
    const page = store(ascii);
    const c = decodeEventMeta(page.meta);
    expect(c.asciiText).toBe(true);
    const text = decompressText(page.text, c);
    expect(LINES.map((_, i) => lineText(text, c, i))).toEqual(LINES);
  });

  it('names the names that have no id yet (the saver encodes such a page again)', () => {
    const raw = encodeEventPage(
      [{ record: null, events: [event('x', 1, { program: 'new/one' })], pieceStarts: [0] }],
      ids,
    );
    expect([...raw.missing]).toEqual(['new/one']);
  });

  it('refuses a blob of another format', () => {
    const loose = store(encodeLoosePage([], ids));
    expect(() => decodeEventMeta(loose.meta)).toThrow(/page format/);
  });
});

describe('loose pages', () => {
  it('round-trips lines with and without reasons, and counts kinds', () => {
    const lines: LooseLine[] = [
      {
        at: 10,
        host: 'mx1',
        program: 'postfix/smtp',
        kind: 'unknown',
        text: LINES[0]!,
        source: 'src\u0000b',
        offset: 5,
      },
      {
        at: 9,
        host: '',
        program: '',
        kind: 'unknown',
        text: '\u0000garbage<>',
        source: 'src\u0000b',
        offset: 2 ** 40,
        reason: 'no timestamp',
      },
      {
        at: 11,
        host: 'mx2',
        program: 'postfix/smtp',
        kind: 'delivery',
        text: '',
        source: 'src\u0000b',
        offset: 0,
      },
    ];
    const names = (name: string) => (name === '' ? 99 : ids(name));
    const raw = encodeLoosePage(lines, names);
    expect(raw.kinds).toEqual(
      new Map([
        [6, 2],
        [3, 1],
      ]),
    );
    const page = store(raw);
    const c = decodeLooseMeta(page.meta);
    const text = decompressText(page.text, c);
    expect(c.count).toBe(3);
    lines.forEach((l, i) => {
      expect(lineText(text, c, i)).toBe(l.text);
      expect(looseReason(text, c, i)).toBe(l.reason);
      expect(c.at[i]).toBe(l.at);
      expect(c.offset[i]).toBe(l.offset);
    });
  });
});

describe('varints', () => {
  it('round-trips unsigned values up to 2^53 and any number as a delta', () => {
    const w = new ByteWriter(4);
    const uints = [0, 1, 127, 128, 300, 2 ** 31, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER];
    for (const v of uints) w.uint(v);
    const deltas: [number, number][] = [
      [5, 3],
      [3, 5],
      [2 ** 50, 0],
      [2 ** 51, 0],
      [1.5, 1],
      [Number.NaN, 0],
      [Number.POSITIVE_INFINITY, 7],
      [-(2 ** 52), 2 ** 52],
    ];
    for (const [value, base] of deltas) w.delta(value, base);
    const r = new ByteReader(Buffer.from(w.view()));
    expect(uints.map(() => r.uint())).toEqual(uints);
    expect(deltas.map(([, base]) => r.delta(base))).toEqual(deltas.map(([value]) => value));
    expect(r.rest().length).toBe(0);
  });

  it('refuses a truncated varint', () => {
    expect(() => new ByteReader(Buffer.from([0x80])).uint()).toThrow(/truncated/);
  });
});

describe('offset filters', () => {
  it('hold every offset put in and few others', () => {
    const offsets = Array.from({ length: 300 }, (_, i) => 1_000_000 + i * 173);
    const filter = offsetFilter(offsets, offsets.length);
    expect(filter.length).toBe(375);
    expect(offsets.every((o) => filterMayHold(filter, o))).toBe(true);
    const others = Array.from({ length: 10_000 }, (_, i) => 2 ** 40 + i * 7);
    const false_ = others.filter((o) => filterMayHold(filter, o)).length;
    expect(false_).toBeLessThan(300);
    expect(filterMayHold(offsetFilter([], 0), 5)).toBe(false);
  });
});

describe('span runs', () => {
  it('cuts sorted offsets at gaps above SPAN_GAP and runs longer than SPAN_MAX', () => {
    expect(spanRuns(Float64Array.from([30, 10, 20]))).toEqual([[10, 30]]);
    expect(spanRuns(Float64Array.from([0, SPAN_GAP, 2 * SPAN_GAP + 1]))).toEqual([
      [0, SPAN_GAP],
      [2 * SPAN_GAP + 1, 2 * SPAN_GAP + 1],
    ]);
    const dense = Array.from({ length: 40 }, (_, i) => i * (SPAN_GAP / 2));
    const runs = spanRuns(Float64Array.from(dense));
    expect(runs.every(([min, max]) => max - min <= SPAN_MAX)).toBe(true);
    expect(runs.flatMap(([min, max]) => dense.filter((o) => o >= min && o <= max))).toEqual(dense);
    expect(spanRuns(new Float64Array(0))).toEqual([]);
  });
});
