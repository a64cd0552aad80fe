/**
 * Pieces every Postfix daemon's lines share: queue ids, `name[addr]:port` clients, the
 * `from=<..> to=<..> proto=.. helo=<..>` tail, SMTP reply codes, and the `warning:`/`fatal:` prefixes.
 *
 * Everything here works on string positions (indexOf/charCodeAt) rather than regular expressions:
 * these helpers run on every Postfix line.
 */
import { normalizeAddress } from '../../core/address.js';
import type { ClientRef, InfoEvent } from '../../core/events.js';
import { bound } from '../../core/events.js';

const COLON = 58;
const SPACE = 32;
const COMMA = 44;
const SEMICOLON = 59;

/** Longest queue id accepted: long ids are ~15-25 characters, short ones at most 5 + 16 hex digits. */
const MAX_QUEUE_ID = 32;
/** Long ids: 6+ characters of seconds and exactly 4 of microseconds before the 'z' separator. */
const LONG_ID_TIME_CHARS = 10;

/**
 * Character classes of Postfix queue ids (`src/global/mail_queue.h`):
 * - short ids (default): 5 upper-case hex digits of microseconds, then the inode number in upper-case hex;
 * - long ids (`enable_long_queue_ids`): base-52 seconds (6+) and microseconds (4) in the "safe" alphabet
 *   `0-9`, consonants `B-Z` and `b-z` (no vowels), the separator `z`, then the base-51 inode number
 *   (the same alphabet without `z`).
 */
const HEX = 1;
const SAFE = 2;
const CHAR_CLASS = buildCharClasses();

function buildCharClasses(): Uint8Array {
  const classes = new Uint8Array(128);
  const safe = '0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz';
  for (const c of safe) classes[c.charCodeAt(0)] = SAFE;
  for (const c of '0123456789ABCDEF') classes[c.charCodeAt(0)] = (classes[c.charCodeAt(0)] ?? 0) | HEX;
  return classes;
}

/** Whether `text` is a whole Postfix queue id (short or long form). */
export function isQueueId(text: string): boolean {
  return queueIdLength(text, 0, text.length) === text.length;
}

/**
 * Length of the queue id that spans `start`..`end` (exclusive), or -1 when it is not one.
 * Short ids: 6+ upper-case hex digits. Long ids: safe alphabet, the last 'z' (the time/inode
 * separator) at position 10 or later, at least one inode character after it.
 */
function queueIdLength(text: string, start: number, end: number): number {
  const len = end - start;
  if (len < 6 || len > MAX_QUEUE_ID) return -1;
  let hex = true;
  let safe = true;
  let lastZ = -1;
  for (let i = start; i < end; i++) {
    const code = text.charCodeAt(i);
    const cls = code < 128 ? (CHAR_CLASS[code] ?? 0) : 0;
    if ((cls & HEX) === 0) hex = false;
    if ((cls & SAFE) === 0) safe = false;
    if (!hex && !safe) return -1;
    if (code === 122) lastZ = i - start;
  }
  if (hex) return len;
  return safe && lastZ >= LONG_ID_TIME_CHARS && lastZ < len - 1 ? len : -1;
}

/**
 * When `text` starts with `QUEUEID: ` (or is `QUEUEID:` alone), the index of that colon; else -1.
 * This is how every per-message Postfix line begins.
 */
export function queueIdEnd(text: string): number {
  const limit = Math.min(text.length, MAX_QUEUE_ID + 1);
  let colon = -1;
  for (let i = 0; i < limit; i++) {
    const code = text.charCodeAt(i);
    if (code === COLON) {
      colon = i;
      break;
    }
    if (code >= 128 || (CHAR_CLASS[code] ?? 0) === 0) return -1;
  }
  if (colon < 0) return -1;
  if (colon + 1 < text.length && text.charCodeAt(colon + 1) !== SPACE) return -1;
  return queueIdLength(text, 0, colon) === colon ? colon : -1;
}

/** `NOQUEUE: ` prefix of smtpd/postscreen lines about mail that never got a queue id. */
export const NOQUEUE = 'NOQUEUE: ';

/** An optional queue id of the form `QUEUEID: ` or `NOQUEUE: ` at the start: id (or undefined) and rest. */
export interface QueuePrefix {
  queueId: string | undefined;
  rest: string;
}

export function splitQueuePrefix(text: string): QueuePrefix | null {
  if (text.startsWith(NOQUEUE)) return { queueId: undefined, rest: text.slice(NOQUEUE.length) };
  const colon = queueIdEnd(text);
  if (colon < 0) return null;
  return { queueId: text.slice(0, colon), rest: text.slice(colon + 2) };
}

// ---------------------------------------------------------------------------------------------------
// Clients: `name[addr]`, `name[addr]:port`, `[addr]:port` (postscreen), `unknown[unknown]`.

export interface ClientAt {
  client: ClientRef;
  /** Index just after the client (after `]` or after the port digits). */
  end: number;
}

/** Longest host name or address accepted inside a client reference. */
const MAX_CLIENT_PART = 300;

/**
 * Reads `name[addr]` or `name[addr]:port` starting exactly at `start`. The name must not contain
 * spaces. `unknown` as name or address (Postfix's placeholder) is left out of the result.
 */
export function readClient(text: string, start: number): ClientAt | null {
  const open = text.indexOf('[', start);
  if (open < 0 || open - start > MAX_CLIENT_PART) return null;
  const close = text.indexOf(']', open + 1);
  if (close < 0 || close - open > MAX_CLIENT_PART) return null;
  for (let i = start; i < open; i++) {
    if (text.charCodeAt(i) === SPACE) return null;
  }
  const client: ClientRef = {};
  const name = text.slice(start, open);
  if (name.length > 0) client.name = name;
  const addr = text.slice(open + 1, close);
  if (addr.length > 0 && addr !== 'unknown') client.ip = addr;
  let end = close + 1;
  if (text.charCodeAt(end) === COLON) {
    let p = end + 1;
    let port = 0;
    while (p < text.length && p - end <= 5) {
      const d = text.charCodeAt(p) - 48;
      if (d < 0 || d > 9) break;
      port = port * 10 + d;
      p++;
    }
    if (p > end + 1 && port <= 65535) {
      client.port = port;
      end = p;
    }
  }
  return { client, end };
}

/** The client after the first ` from ` at or after `searchFrom` (`lost connection after DATA from host[ip]`). */
export function clientAfterFrom(text: string, searchFrom = 0): ClientRef | undefined {
  const i = text.indexOf(' from ', searchFrom);
  if (i < 0) return undefined;
  return readClient(text, i + 6)?.client;
}

// ---------------------------------------------------------------------------------------------------
// The `from=<a> to=<b> proto=ESMTP helo=<h>` tail of smtpd/cleanup lines (postscreen separates with `, `).

export interface Envelope {
  from?: string;
  to?: string;
  proto?: string;
  helo?: string;
  /** Index where the tail stopped: the end of text, or the `: ` before cleanup's optional text. */
  end: number;
}

/**
 * Index of the `>` closing a `<...>` value that opened before `from`: the first `>` followed by the
 * end, a space, `,`, `:` or `;`. Addresses and HELO names may themselves contain `>`, which a plain
 * indexOf would stop at.
 */
export function closeAngle(text: string, from: number): number {
  let i = text.indexOf('>', from);
  while (i >= 0) {
    const next = text.charCodeAt(i + 1);
    if (i + 1 === text.length || next === SPACE || next === COMMA || next === COLON || next === SEMICOLON) {
      return i;
    }
    i = text.indexOf('>', i + 1);
  }
  return -1;
}

/**
 * Parses the envelope tail starting at `start` (just after `; `). Stops at the first thing that is not
 * one of the four fields, which is where cleanup appends `: optional text`.
 */
export function parseEnvelope(text: string, start: number): Envelope {
  const env: Envelope = { end: text.length };
  let p = start;
  while (p < text.length) {
    while (text.charCodeAt(p) === SPACE || text.charCodeAt(p) === COMMA) p++;
    if (text.startsWith('from=<', p) || text.startsWith('to=<', p) || text.startsWith('helo=<', p)) {
      const open = text.indexOf('<', p);
      const close = closeAngle(text, open + 1);
      if (close < 0) {
        // A truncated line: take what is there.
        setEnvelopeField(env, text.slice(p, open - 1), text.slice(open + 1));
        p = text.length;
        break;
      }
      setEnvelopeField(env, text.slice(p, open - 1), text.slice(open + 1, close));
      p = close + 1;
    } else if (text.startsWith('proto=', p)) {
      let q = p + 6;
      while (q < text.length) {
        const c = text.charCodeAt(q);
        if (c === SPACE || c === COMMA || c === COLON || c === SEMICOLON) break;
        q++;
      }
      env.proto = text.slice(p + 6, q);
      p = q;
    } else {
      break;
    }
  }
  env.end = Math.min(p, text.length);
  return env;
}

function setEnvelopeField(env: Envelope, key: string, value: string): void {
  if (key === 'from') env.from = normalizeAddress(value);
  else if (key === 'to') env.to = normalizeAddress(value);
  else env.helo = bound(value, 512);
}

/** Markers that open the envelope tail, in the order Postfix writes the fields. */
const TAIL_MARKERS = ['; from=<', '; to=<', '; proto=', '; helo=<'];

/**
 * Index of the `;` that opens the envelope tail after `start`, or -1. The reply text before it may
 * itself contain `; ` (DNSBL replies do), so the tail is the first `; field=` in field order.
 */
export function findTail(text: string, start: number): number {
  for (const marker of TAIL_MARKERS) {
    const i = text.indexOf(marker, start);
    if (i >= 0) return i;
  }
  return -1;
}

// ---------------------------------------------------------------------------------------------------
// SMTP replies: `554 5.7.1 text`, `5.7.1 text` (cleanup), `text`.

export interface Reply {
  code?: number;
  dsn?: string;
  text: string;
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** Length of an enhanced status code (`5.7.1`, `4.7.25`, `5.12.345`) at `start`, or 0. */
function dsnLength(text: string, start: number): number {
  const c = text.charCodeAt(start);
  if (c < 50 || c > 53 || text.charCodeAt(start + 1) !== 46) return 0;
  let p = start + 2;
  const subjectStart = p;
  while (p < text.length && isDigit(text.charCodeAt(p)) && p - subjectStart < 3) p++;
  if (p === subjectStart || text.charCodeAt(p) !== 46) return 0;
  p++;
  const detailStart = p;
  while (p < text.length && isDigit(text.charCodeAt(p)) && p - detailStart < 3) p++;
  if (p === detailStart) return 0;
  const next = text.charCodeAt(p);
  if (p < text.length && next !== SPACE && next !== COMMA && next !== SEMICOLON && next !== 41) return 0;
  return p - start;
}

/** Splits an SMTP reply into code, enhanced status code and text. */
export function parseReply(reply: string): Reply {
  let p = 0;
  const result: Reply = { text: '' };
  if (
    reply.length >= 3 &&
    isDigit(reply.charCodeAt(0)) &&
    isDigit(reply.charCodeAt(1)) &&
    isDigit(reply.charCodeAt(2)) &&
    (reply.length === 3 || reply.charCodeAt(3) === SPACE || reply.charCodeAt(3) === 45)
  ) {
    const code = Number(reply.slice(0, 3));
    if (code >= 200 && code < 600) {
      result.code = code;
      p = reply.length === 3 ? 3 : 4;
    }
  }
  const dsn = dsnLength(reply, p);
  if (dsn > 0) {
    result.dsn = reply.slice(p, p + dsn);
    p += dsn;
    if (reply.charCodeAt(p) === SPACE) p++;
  }
  result.text = bound(reply.slice(p));
  return result;
}

// ---------------------------------------------------------------------------------------------------
// Info events and the generic prefixes.

export function info(label: string, queueId?: string, client?: ClientRef): InfoEvent {
  const event: InfoEvent = { kind: 'info', label };
  if (queueId !== undefined) event.queueId = queueId;
  if (client !== undefined) event.client = client;
  return event;
}

/** Severity prefixes of Postfix's msg_warn/msg_error/msg_fatal/msg_panic, mapped to info labels. */
const SEVERITIES = ['warning: ', 'fatal: ', 'error: ', 'panic: '] as const;

/**
 * `warning: ...`, `fatal: ...`, `error: ...`, `panic: ...`: an info event labelled with the severity,
 * with the queue id when the text names one right after the prefix (`warning: QID: ...`).
 */
export function severityLine(text: string): InfoEvent | null {
  for (const prefix of SEVERITIES) {
    if (text.startsWith(prefix)) {
      const rest = text.slice(prefix.length);
      const colon = queueIdEnd(rest);
      return info(prefix.slice(0, -2), colon > 0 ? rest.slice(0, colon) : undefined);
    }
  }
  return null;
}

/**
 * Free-form messages that only Postfix's verbose logging (`-v` in master.cf, `debug_peer_list`) writes:
 * queue scans, address resolution steps, the envelope records cleanup reads, DNS lookups of smtp.
 */
const VERBOSE_PREFIXES = [
  'send attr ',
  'input attribute ',
  'connect to subsystem ',
  '>>> ',
  'done incoming queue scan',
  'done deferred queue scan',
  'request: ',
  'request ignored',
  'start sorted recipient list',
  'end sorted recipient list',
  'wakeup ',
  'start move queue ',
  'end move queue ',
  'mynetworks: ',
  'fsspace: ',
  'cleanup flags = ',
  'initial envelope ',
  'extracted envelope ',
  'open incoming/',
  'host name lookup methods: ',
  'connecting to ',
  'lookup ',
  'begin ',
  'end ',
  'pref ',
  'recipient limit ',
];

/**
 * Postfix's verbose logging writes internal traces: `function_name: ...`, `send attr x = y`,
 * `parameter_name = value`, `> host[ip]: 250 ...` / `< host[ip]: MAIL FROM:...` (SMTP session
 * transcripts), `private/rewrite socket: wanted attribute: x`, and the free-form messages above. They
 * carry nothing for correlation; recognising them keeps them out of the unknown count.
 */
export function isVerboseTrace(text: string): boolean {
  const first = text.charCodeAt(0);
  if ((first === 60 || first === 62) && text.charCodeAt(1) === SPACE) return true; // '< ', '> ' transcripts
  for (const prefix of VERBOSE_PREFIXES) {
    if (text.startsWith(prefix)) return true;
  }
  if (text.endsWith(' stream disconnect')) return true;
  // `name_with_underscores: ...`, `name_with_underscores = ...`, `before name_with_underscores: ...`
  const colon = text.indexOf(': ');
  if (colon > 0 && colon <= 60) {
    if (text.startsWith(' socket', colon - 7) || text.startsWith('wanted attribute', colon + 2)) return true;
    if (isTraceName(text, text.lastIndexOf(' ', colon - 1) + 1, colon)) return true;
  }
  const equals = text.indexOf(' = ');
  return equals > 0 && equals <= 60 && isTraceName(text, 0, equals);
}

/** A C identifier in lower case with at least one underscore (`qmgr_scan_start`, `name_mask`). */
function isTraceName(text: string, start: number, end: number): boolean {
  let underscore = false;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 95) underscore = true;
    else if (!((c >= 97 && c <= 122) || isDigit(c))) return false;
  }
  return underscore;
}

// ---------------------------------------------------------------------------------------------------
// Hand-off ids in replies.

function isIdChar(c: number): boolean {
  return (
    (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 95 || c === 46
  );
}

/** The id-like token at `start` (letters, digits, `-`, `_`, `.`), without a trailing dot, bounded. */
function tokenAt(text: string, start: number): string | undefined {
  let end = start;
  while (end < text.length && end - start < 64 && isIdChar(text.charCodeAt(end))) end++;
  while (end > start && text.charCodeAt(end - 1) === 46) end--;
  return end > start ? text.slice(start, end) : undefined;
}

/**
 * The id the next MTA gave the message, from the reply to DATA: Postfix and most MTAs say
 * `queued as X` (also inside amavis's `250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued
 * as X`), local(8) says `forwarded as X`, Exim `OK id=1abcD-000aB-Cd`, Sendmail `250 2.0.0 X Message
 * accepted for delivery`. Dovecot LMTP's `<user> sessionid Saved` names a session, not a queue entry.
 */
export function queuedAs(reply: string): string | undefined {
  let i = reply.lastIndexOf('queued as ');
  if (i >= 0) return tokenAt(reply, i + 10);
  if (reply.startsWith('forwarded as ')) return tokenAt(reply, 13);
  i = reply.indexOf(' id=');
  if (i >= 0 && reply.startsWith('OK', i - 2)) return tokenAt(reply, i + 4);
  i = reply.indexOf(' Message accepted for delivery');
  if (i > 0) {
    const start = reply.lastIndexOf(' ', i - 1) + 1;
    const token = tokenAt(reply, start);
    if (
      token !== undefined &&
      token.length >= 8 &&
      start + token.length === i &&
      dsnLength(reply, start) === 0
    ) {
      return token;
    }
  }
  return undefined;
}
