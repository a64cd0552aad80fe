import type {
  DeliveryRecord,
  DeliveryStatus,
  EventRecord,
  Handoff,
  MessageRecord,
  QueueRef,
} from '../core/model.js';
import type {
  Bool,
  DeliveriesTable,
  Dialect,
  HandoffsTable,
  MessagesTable,
  QueueRefsTable,
} from './schema.js';

/**
 * Text encoding. PostgreSQL text cannot hold NUL, and SQLite's string functions stop at the first NUL
 * (`length('a\0b')` is 1), yet log lines are attacker-controlled and `EventRecord.source` joins its two
 * parts with NUL by contract. So every stored string goes through `enc`: NUL becomes ESC '0' and ESC
 * itself becomes ESC ESC, ESC being U+FFFF (a Unicode noncharacter, absent from real text). Strings
 * with neither, that is nearly all, are stored unchanged, so equality and substring search work on the
 * stored value once the searched value is encoded the same way.
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
  ['kind', 'text'],
  ['message_id', 'text'],
  ['sender', 'text'],
  ['first_seen', 'int8'],
  ['last_seen', 'int8'],
  ['subject', 'text'],
  ['subject_fold', 'text'],
  ['size', 'int8'],
  ['client_ip', 'text'],
  ['client_name', 'text'],
  ['helo', 'text'],
  ['sasl_user', 'text'],
  ['spam_score', 'float8'],
  ['spam_required', 'float8'],
  ['is_spam', 'bool'],
  ['virus', 'text'],
  ['partial', 'bool'],
  ['complete', 'bool'],
  ['links', 'text'],
  ['bounce_of_host', 'text'],
  ['bounce_of_queue_id', 'text'],
] as const;

export const DELIVERY_COLUMNS = [
  ['message_id', 'int8'],
  ['seq', 'int4'],
  ['recipient', 'text'],
  ['orig_recipient', 'text'],
  ['status', 'text'],
  ['at', 'int8'],
  ['host', 'text'],
  ['relay', 'text'],
  ['mailbox', 'text'],
  ['dsn', 'text'],
  ['reason', 'text'],
  ['attempts', 'int4'],
  ['queue_id', 'text'],
  ['handoff', 'text'],
] as const;

export const QUEUE_REF_COLUMNS = [
  ['message_id', 'int8'],
  ['seq', 'int4'],
  ['host', 'text'],
  ['queue_id', 'text'],
  ['first_seen', 'int8'],
  ['last_seen', 'int8'],
  ['closed', 'bool'],
] as const;

export const HANDOFF_COLUMNS = [
  ['message_id', 'int8'],
  ['seq', 'int4'],
  ['queue_id', 'text'],
  ['at', 'int8'],
  ['relay', 'text'],
] as const;

export const EVENT_COLUMNS = [
  ['message_id', 'int8'],
  ['at', 'int8'],
  ['host_id', 'int4'],
  ['program_id', 'int4'],
  ['kind_id', 'int4'],
  ['origin_id', 'int4'],
  ['line_offset', 'int8'],
  ['piece_start', 'int8'],
  ['text', 'text'],
] as const;

export const LOOSE_LINE_COLUMNS = [
  ['at', 'int8'],
  ['host_id', 'int4'],
  ['program_id', 'int4'],
  ['kind_id', 'int4'],
  ['origin_id', 'int4'],
  ['line_offset', 'int8'],
  ['text', 'text'],
  ['reason', 'text'],
] as const;

export function messageValues(id: number, m: MessageRecord, bool: (b: boolean) => Bool): unknown[] {
  const fold = m.subject === null ? null : foldSubject(m.subject);
  return [
    id,
    m.kind,
    encOrNull(m.messageId),
    encOrNull(m.sender),
    m.firstSeen,
    m.lastSeen,
    encOrNull(m.subject),
    fold === null || fold === m.subject ? null : enc(fold),
    m.size,
    encOrNull(m.clientIp),
    encOrNull(m.clientName),
    encOrNull(m.helo),
    encOrNull(m.saslUser),
    m.spam ? m.spam.score : null,
    m.spam ? m.spam.required : null,
    m.spam ? bool(m.spam.isSpam) : null,
    encOrNull(m.virus),
    bool(m.partial),
    bool(m.complete),
    JSON.stringify(m.links),
    encOrNull(m.bounceOf?.host),
    encOrNull(m.bounceOf?.queueId),
  ];
}

export function deliveryValues(messageId: number, seq: number, d: DeliveryRecord): unknown[] {
  return [
    messageId,
    seq,
    enc(d.recipient),
    encOrNull(d.origRecipient),
    d.status,
    d.at,
    enc(d.host),
    encOrNull(d.relay),
    encOrNull(d.mailbox),
    encOrNull(d.dsn),
    encOrNull(d.reason),
    d.attempts,
    encOrNull(d.queueId),
    encOrNull(d.handoff),
  ];
}

export function queueRefValues(
  messageId: number,
  seq: number,
  q: QueueRef,
  bool: (b: boolean) => Bool,
): unknown[] {
  return [messageId, seq, enc(q.host), enc(q.queueId), q.firstSeen, q.lastSeen, bool(q.closed)];
}

export function handoffValues(messageId: number, seq: number, h: Handoff): unknown[] {
  return [messageId, seq, enc(h.queueId), h.at, encOrNull(h.relay)];
}

/** A message row back to a record, children empty (the reader fills them). */
export function messageFromRow(row: MessagesTable): MessageRecord {
  const bounceHost = decOrNull(row.bounce_of_host);
  const bounceQueue = decOrNull(row.bounce_of_queue_id);
  return {
    kind: row.kind === 'refused' ? 'refused' : 'message',
    messageId: decOrNull(row.message_id),
    sender: decOrNull(row.sender),
    firstSeen: row.first_seen,
    lastSeen: row.last_seen,
    subject: decOrNull(row.subject),
    size: row.size,
    clientIp: decOrNull(row.client_ip),
    clientName: decOrNull(row.client_name),
    helo: decOrNull(row.helo),
    saslUser: decOrNull(row.sasl_user),
    spam:
      row.spam_score === null
        ? null
        : { score: row.spam_score, required: row.spam_required, isSpam: toBool(row.is_spam) },
    virus: decOrNull(row.virus),
    partial: toBool(row.partial),
    complete: toBool(row.complete),
    queueIds: [],
    deliveries: [],
    events: [],
    links: parseLinks(row.links),
    bounceOf: bounceHost !== null && bounceQueue !== null ? { host: bounceHost, queueId: bounceQueue } : null,
    handoffs: [],
  };
}

function parseLinks(json: string): string[] {
  const value: unknown = JSON.parse(json);
  return Array.isArray(value) ? value.filter((x): x is string => typeof x === 'string') : [];
}

export function deliveryFromRow(row: DeliveriesTable): DeliveryRecord {
  return {
    recipient: dec(row.recipient),
    origRecipient: decOrNull(row.orig_recipient),
    status: row.status as DeliveryStatus,
    at: row.at,
    host: dec(row.host),
    relay: decOrNull(row.relay),
    mailbox: decOrNull(row.mailbox),
    dsn: decOrNull(row.dsn),
    reason: decOrNull(row.reason),
    attempts: row.attempts,
    queueId: decOrNull(row.queue_id),
    handoff: decOrNull(row.handoff),
  };
}

export function queueRefFromRow(row: QueueRefsTable): QueueRef {
  return {
    host: dec(row.host),
    queueId: dec(row.queue_id),
    firstSeen: row.first_seen,
    lastSeen: row.last_seen,
    closed: toBool(row.closed),
  };
}

export function handoffFromRow(row: HandoffsTable): Handoff {
  return { queueId: dec(row.queue_id), at: row.at, relay: decOrNull(row.relay) };
}

/** Key of a line's origin, the same as `mergeEvents` uses. */
export function lineKey(source: string, offset: number): string {
  return `${source}\u0000${offset}`;
}

export function eventKey(e: EventRecord): string {
  return lineKey(e.source, e.offset);
}
