import type { MessageRecord } from '../core/model.js';
import type { Columns } from './bulk.js';
import type { Bool, Dialect } from './schema.js';

/**
 * Text encoding of text columns. PostgreSQL text cannot hold NUL, and SQLite's string functions stop at
 * the first NUL (`length('a\0b')` is 1), yet log lines are attacker-controlled and `EventRecord.source`
 * joins its two parts with NUL by contract. So every string stored in a text column goes through `enc`:
 * NUL becomes ESC '0' and ESC itself becomes ESC ESC, ESC being U+FFFF (a Unicode noncharacter, absent
 * from real text). Strings with neither, that is nearly all, are stored unchanged, so equality and
 * substring search work on the stored value once the searched value is encoded the same way. (Line
 * text and records are stored in binary pages, pages.ts, and need no such encoding.)
 */
const ESC = '\uffff';
const ENCODE = /[\0\uffff]/g;
const DECODE = /\uffff([\s\S])/g;

export function enc(value: string): string {
  // indexOf is a vectorised scan; nearly every string has neither character.
  if (value.indexOf('\0') < 0 && value.indexOf(ESC) < 0) return value;
  return value.replace(ENCODE, (c) => (c === ESC ? ESC + ESC : `${ESC}0`));
}

export function dec(value: string): string {
  return value.indexOf(ESC) < 0 ? value : value.replace(DECODE, (_, c: string) => (c === '0' ? '\0' : ESC));
}

export function encOrNull(value: string | null | undefined): string | null {
  return value == null ? null : enc(value);
}

export function decOrNull(value: string | null): string | null {
  return value === null ? null : dec(value);
}

/** The folded form the subject search compares against (JavaScript's folding, the same on both dialects). */
export function foldSubject(subject: string): string {
  return subject.toLowerCase();
}

export function toBool(value: Bool | null): boolean {
  return value === true || value === 1;
}

/** SQLite binds no booleans: 0/1 there, real booleans on PostgreSQL. */
export function boolWriter(dialect: Dialect): (value: boolean) => Bool {
  return dialect === 'sqlite' ? (value) => (value ? 1 : 0) : (value) => value;
}

/** Column order of every table the store writes in bulk; rows are arrays in this order. */
export const MESSAGE_COLUMNS = [
  ['id', 'int8'],
  ['message_id', 'text'],
  ['sender', 'text'],
  ['first_seen', 'int8'],
  ['last_seen', 'int8'],
  ['subject', 'text'],
  ['subject_fold', 'text'],
  ['client_ip', 'text'],
  ['delivery_count', 'int4'],
  ['page_id', 'int8'],
  ['slot', 'int4'],
] as const satisfies Columns;

export const RECIPIENT_KEYS = [
  ['address', 'text'],
  ['message_id', 'int8'],
] as const satisfies Columns;

export const QUEUE_REF_KEYS = [
  ['queue_id', 'text'],
  ['message_id', 'int8'],
  ['seq', 'int4'],
] as const satisfies Columns;

export const QUEUE_REF_COLUMNS = [
  ...QUEUE_REF_KEYS,
  ['host_id', 'int4'],
  ['first_seen', 'int8'],
  ['last_seen', 'int8'],
  ['closed', 'bool'],
] as const satisfies Columns;

export const HANDOFF_KEYS = QUEUE_REF_KEYS;

export const HANDOFF_COLUMNS = [...HANDOFF_KEYS, ['at', 'int8']] as const satisfies Columns;

export const EVENT_PAGE_COLUMNS = [
  ['id', 'int8'],
  ['lines', 'int4'],
  ['meta', 'bytea'],
  ['text', 'bytea'],
] as const satisfies Columns;

export const EVENT_SLOT_COLUMNS = [
  ['page_id', 'int8'],
  ['slot', 'int4'],
  ['message_id', 'int8'],
  ['lines', 'int4'],
] as const satisfies Columns;

export const SPAN_COLUMNS = [
  ['origin_id', 'int4'],
  ['min_offset', 'int8'],
  ['page_id', 'int8'],
  ['max_offset', 'int8'],
  ['filter', 'bytea'],
] as const satisfies Columns;

export const LOOSE_PAGE_COLUMNS = [
  ['id', 'int8'],
  ['first_at', 'int8'],
  ['last_at', 'int8'],
  ['lines', 'int4'],
  ['meta', 'bytea'],
  ['text', 'bytea'],
] as const satisfies Columns;

export const LOOSE_KIND_COLUMNS = [
  ['kind_id', 'int4'],
  ['page_id', 'int8'],
  ['lines', 'int4'],
] as const satisfies Columns;

/** The `messages` row of a record whose rest is stored in slot `slot` of event page `pageId`. */
export function messageValues(id: number, m: MessageRecord, pageId: number, slot: number): unknown[] {
  const fold = m.subject === null ? null : foldSubject(m.subject);
  return [
    id,
    encOrNull(m.messageId),
    encOrNull(m.sender),
    m.firstSeen,
    m.lastSeen,
    encOrNull(m.subject),
    fold === null || fold === m.subject ? null : enc(fold),
    encOrNull(m.clientIp),
    m.deliveries.length,
    pageId,
    slot,
  ];
}

/** Keys of a record's `recipients` rows: each recipient and original recipient once. */
export function recipientKeys(id: number, m: MessageRecord): unknown[][] {
  const addresses = new Set<string>();
  for (const d of m.deliveries) {
    addresses.add(d.recipient);
    if (d.origRecipient !== null) addresses.add(d.origRecipient);
  }
  return [...addresses].map((a) => [enc(a), id]);
}

export function queueRefKeys(id: number, m: MessageRecord): unknown[][] {
  return m.queueIds.map((q, seq) => [enc(q.queueId), id, seq]);
}

export function queueRefRows(
  id: number,
  m: MessageRecord,
  hostId: (host: string) => number,
  bool: (b: boolean) => Bool,
): unknown[][] {
  return m.queueIds.map((q, seq) => [
    enc(q.queueId),
    id,
    seq,
    hostId(q.host),
    q.firstSeen,
    q.lastSeen,
    bool(q.closed),
  ]);
}

export function handoffKeys(id: number, m: MessageRecord): unknown[][] {
  return m.handoffs.map((h, seq) => [enc(h.queueId), id, seq]);
}

export function handoffRows(id: number, m: MessageRecord): unknown[][] {
  return m.handoffs.map((h, seq) => [enc(h.queueId), id, seq, h.at]);
}
