import type {
  DeliveryRecord,
  DeliveryStatus,
  Handoff,
  MessageRecord,
  QueueRef,
  SpamVerdict,
} from '../core/model.js';

/**
 * A message record as stored in its event page (pages.ts): JSON of positional arrays, without what the
 * `messages` row holds (message-id, sender, times, subject, client IP) and without events (stored as
 * lines). Times are relative to the message's firstSeen. JSON keeps every string exactly (NUL, lone
 * surrogates); numbers JSON cannot hold (NaN, ±Infinity, -0) are written as strings.
 *
 * Version 1:
 * `[1, kind, size, clientName, helo, saslUser, spam, virus, partial, complete, links, bounceOf,
 *   deliveries, queueIds, handoffs]`
 * - kind: 0 message, 1 refused; partial, complete: 0/1
 * - spam: `[score, required, isSpam 0/1]` or null; bounceOf: `[host, queueId]` or null
 * - delivery: `[recipient, origRecipient, status, at, host, relay, mailbox, dsn, reason, attempts,
 *   queueId, handoff]`
 * - queue entry: `[host, queueId, firstSeen, lastSeen, closed 0/1]`; hand-off: `[queueId, at, relay]`
 */
const VERSION = 1;

/** What the `messages` row gives back (record.ts stores the rest). */
export interface MessageColumns {
  messageId: string | null;
  sender: string | null;
  firstSeen: number;
  lastSeen: number;
  subject: string | null;
  clientIp: string | null;
}

type Num = number | string;

function num(value: number): Num {
  if (Object.is(value, -0)) return '-0';
  return Number.isFinite(value) ? value : String(value);
}

function unnum(value: unknown): number {
  return typeof value === 'number' ? value : Number(value);
}

/** A time relative to `base`, exact: plain subtraction only where both are safe integers. */
function rel(value: number, base: number): Num {
  return Number.isSafeInteger(value) && Number.isSafeInteger(base) ? value - base : String(value);
}

function unrel(value: unknown, base: number): number {
  return typeof value === 'number' ? value + base : Number(value);
}

function bit(value: boolean): 0 | 1 {
  return value ? 1 : 0;
}

export function encodeRecord(m: MessageRecord): string {
  const base = m.firstSeen;
  const spam = m.spam
    ? [num(m.spam.score), m.spam.required === null ? null : num(m.spam.required), bit(m.spam.isSpam)]
    : null;
  return JSON.stringify([
    VERSION,
    m.kind === 'refused' ? 1 : 0,
    m.size === null ? null : num(m.size),
    m.clientName,
    m.helo,
    m.saslUser,
    spam,
    m.virus,
    bit(m.partial),
    bit(m.complete),
    m.links,
    m.bounceOf ? [m.bounceOf.host, m.bounceOf.queueId] : null,
    m.deliveries.map((d) => [
      d.recipient,
      d.origRecipient,
      d.status,
      rel(d.at, base),
      d.host,
      d.relay,
      d.mailbox,
      d.dsn,
      d.reason,
      num(d.attempts),
      d.queueId,
      d.handoff,
    ]),
    m.queueIds.map((q) => [q.host, q.queueId, rel(q.firstSeen, base), rel(q.lastSeen, base), bit(q.closed)]),
    m.handoffs.map((h) => [h.queueId, rel(h.at, base), h.relay]),
  ]);
}

type Row = unknown[];

function str(value: unknown): string {
  return typeof value === 'string' ? value : String(value ?? '');
}

function strOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : str(value);
}

function rows(value: unknown): Row[] {
  return Array.isArray(value) ? value.filter((x): x is Row => Array.isArray(x)) : [];
}

function spamOf(value: unknown): SpamVerdict | null {
  if (!Array.isArray(value)) return null;
  const [score, required, isSpam] = value;
  return { score: unnum(score), required: required === null ? null : unnum(required), isSpam: isSpam === 1 };
}

function deliveryOf(d: Row, base: number): DeliveryRecord {
  return {
    recipient: str(d[0]),
    origRecipient: strOrNull(d[1]),
    status: str(d[2]) as DeliveryStatus,
    at: unrel(d[3], base),
    host: str(d[4]),
    relay: strOrNull(d[5]),
    mailbox: strOrNull(d[6]),
    dsn: strOrNull(d[7]),
    reason: strOrNull(d[8]),
    attempts: unnum(d[9]),
    queueId: strOrNull(d[10]),
    handoff: strOrNull(d[11]),
  };
}

function queueRefOf(q: Row, base: number): QueueRef {
  return {
    host: str(q[0]),
    queueId: str(q[1]),
    firstSeen: unrel(q[2], base),
    lastSeen: unrel(q[3], base),
    closed: q[4] === 1,
  };
}

function handoffOf(h: Row, base: number): Handoff {
  return { queueId: str(h[0]), at: unrel(h[1], base), relay: strOrNull(h[2]) };
}

/** The record from its row's columns and stored JSON; events empty (the reader adds them). */
export function decodeRecord(json: string, c: MessageColumns): MessageRecord {
  const r: unknown = JSON.parse(json);
  if (!Array.isArray(r) || r[0] !== VERSION)
    throw new Error(`unknown message record version ${String(Array.isArray(r) ? r[0] : r)}`);
  const base = c.firstSeen;
  const bounce = r[11];
  return {
    kind: r[1] === 1 ? 'refused' : 'message',
    messageId: c.messageId,
    sender: c.sender,
    firstSeen: c.firstSeen,
    lastSeen: c.lastSeen,
    subject: c.subject,
    size: r[2] === null ? null : unnum(r[2]),
    clientIp: c.clientIp,
    clientName: strOrNull(r[3]),
    helo: strOrNull(r[4]),
    saslUser: strOrNull(r[5]),
    spam: spamOf(r[6]),
    virus: strOrNull(r[7]),
    partial: r[8] === 1,
    complete: r[9] === 1,
    queueIds: rows(r[13]).map((q) => queueRefOf(q, base)),
    deliveries: rows(r[12]).map((d) => deliveryOf(d, base)),
    events: [],
    links: Array.isArray(r[10]) ? r[10].map(str) : [],
    bounceOf: Array.isArray(bounce) ? { host: str(bounce[0]), queueId: str(bounce[1]) } : null,
    handoffs: rows(r[14]).map((h) => handoffOf(h, base)),
  };
}
