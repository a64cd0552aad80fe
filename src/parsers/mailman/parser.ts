/**
 * GNU Mailman's own log files, framed as program `mailman` (src/framing: `Nov 28 10:00:00 2026 (pid) text`).
 * Which file a line came from does not matter: the texts are distinct. What a post leaves behind:
 *
 * Mailman 2.1 (format strings of Mailman/Defaults.py.in, Handlers/SMTPDirect.py, Handlers/Hold.py,
 * Queue/IncomingRunner.py, ListAdmin.py, Bouncer.py, MailList.py; early 2.1 releases left out the list
 * and the message-id where noted):
 *   post          post to LIST from SENDER, size=N, message-id=<mid>, success      (SMTP_LOG_SUCCESS)
 *                 post to LIST from SENDER, size=N, message-id=<mid>, K failures   (SMTP_LOG_REFUSED)
 *                 post to LIST from SENDER, size=N, success                       (early 2.1)
 *   smtp          <mid> smtp to LIST for N recips, completed in X seconds          (SMTP_LOG_EVERY_MESSAGE)
 *                 <mid> smtp for N recips, completed in X seconds                  (early 2.1)
 *   smtp-failure  delivery to ADDR failed with code N: TEXT                         (SMTP_LOG_EACH_FAILURE)
 *                 All recipients refused: ERR, msgid: <mid>
 *                 SMTP session failure: CODE, TEXT, msgid: <mid>
 *                 Low level smtp error: ERR, msgid: <mid>
 *   vette         LIST post from SENDER held, message-id=<mid>: REASON
 *                 Message discarded, msgid: <mid>    (later 2.1: a stray `'`, then `list:`/`handler:` lines)
 *                 Message rejected, msgid: <mid>     (then `list:`/`handler:`/`reason:` lines)
 *                 LIST: Discarded posting:           (a moderator's decision; `From:`/`Subject:` lines follow)
 *                 LIST: Refused posting:
 *   bounce, subscribe  LIST: ADDR bounce score: N, LIST: new ADDR, via ...  (kept as information)
 *
 * Mailman 3 (mailman/config/schema.cfg `[logging.smtp]` templates, mailman/chains/*.py):
 *   smtp.log      <mid> smtp to LIST@DOMAIN for N recips, completed in X seconds
 *                 <mid> post to LIST@DOMAIN from SENDER, N bytes[, K failures]
 *                 <mid> delivery to ADDR failed with code N, TEXT
 *   mailman.log   ACCEPT: <mid>   HOLD: LIST@DOMAIN post from SENDER held, message-id=<mid>: REASON
 *                 REJECT: <mid>   DISCARD: <mid>
 *
 * A message without a Message-ID is logged as `n/a`. Lines that do not name the list (2.1 failures,
 * 3.x ACCEPT/REJECT/DISCARD) carry `list: ''`. Multi-line records (tracebacks, the `list:`/`handler:`
 * lines above) continue on lines without a stamp: the framing keeps those as invalid lines.
 */
import { normalizeAddress, normalizeMessageId } from '../../core/address.js';
import { bound, type InfoEvent, type ListPostEvent, type MailEvent } from '../../core/events.js';
import type { Frame } from '../../core/frame.js';
import type { ProgramParser } from '../types.js';

const MANAGER = 'mailman';
/** Mailman list names are short; anything longer than this is not one. */
const MAX_LIST = 256;
const MAX_REASON = 1000;
/** A leading `<message-id> ` longer than this is not Mailman's. */
const MAX_MESSAGE_ID = 1000;

function info(label: string): InfoEvent {
  return { kind: 'info', label };
}

function listPost(
  outcome: ListPostEvent['outcome'],
  list: string,
  messageId: string | undefined,
): ListPostEvent {
  const event: ListPostEvent = { kind: 'list-post', manager: MANAGER, list: normalizeAddress(list), outcome };
  if (messageId !== undefined) event.messageId = messageId;
  return event;
}

/** `<id>` (Mailman logs the header as it is), or `n/a` / nothing when the message had none. */
function messageIdOf(value: string): string | undefined {
  let v = value.trim();
  // Mailman 2.1.x IncomingRunner: `"""Message discarded, msgid: %s'` (a stray quote in the format).
  if (v.endsWith("'")) v = v.slice(0, -1);
  if (v === '' || v === 'n/a' || v === 'None') return undefined;
  const id = normalizeMessageId(v);
  return id === '' ? undefined : id;
}

/** Index after the digits at `i` (at most 12: sizes and counts). */
function digitsEnd(text: string, i: number): number {
  let k = i;
  while (k < text.length && k - i < 12) {
    const d = text.charCodeAt(k) - 48;
    if (d < 0 || d > 9) break;
    k++;
  }
  return k;
}

/** The digits from `i` to `end` as a number, or -1 when there are none. */
function numberBetween(text: string, i: number, end: number): number {
  return end > i ? Number(text.slice(i, end)) : -1;
}

/** Whether `value` is a plausible list name or list address (no blanks, bounded). */
function isListName(value: string): boolean {
  return value.length > 0 && value.length <= MAX_LIST && !value.includes(' ');
}

/**
 * `post to LIST from SENDER, FIELD, FIELD...` at `start` (2.1 `post`, 3.x `smtp.log` success/refused):
 * posted. Fields: `size=N`, `message-id=<mid>`, `success`, `K failures`, `N bytes`.
 */
function parsePost(text: string, start: number, messageId: string | undefined): ListPostEvent | null {
  const listStart = start + 8;
  const fromAt = text.indexOf(' from ', listStart);
  if (fromAt < 0) return null;
  const list = text.slice(listStart, fromAt);
  const senderEnd = text.indexOf(', ', fromAt + 6);
  if (!isListName(list) || senderEnd < 0) return null;
  const event = listPost('posted', list, messageId);
  event.from = normalizeAddress(text.slice(fromAt + 6, senderEnd));
  let known = false;
  let k = senderEnd + 2;
  while (k < text.length) {
    let end = text.indexOf(', ', k);
    if (end < 0) end = text.length;
    known = readPostField(event, text, k, end) || known;
    k = end + 2;
  }
  return known ? event : null;
}

/** One field of a `post to` line into `event`; false when it is none of Mailman's. */
function readPostField(event: ListPostEvent, text: string, start: number, end: number): boolean {
  if (text.startsWith('size=', start)) {
    const size = numberBetween(text, start + 5, digitsEnd(text, start + 5));
    if (size >= 0) event.size = size;
    return size >= 0;
  }
  if (text.startsWith('message-id=', start)) {
    const id = messageIdOf(text.slice(start + 11, end));
    if (id !== undefined) event.messageId = id;
    return true;
  }
  if (end - start === 7 && text.startsWith('success', start)) return true;
  const digits = digitsEnd(text, start);
  const n = numberBetween(text, start, digits);
  if (n < 0 || text.charCodeAt(digits) !== 32) return false;
  const unit = text.slice(digits + 1, end);
  if (unit === 'bytes') event.size = n;
  else if (unit === 'failures') event.reason = `${n} failures`;
  else return false;
  return true;
}

/** `smtp to LIST for N recips, completed in X seconds` (or early 2.1's `smtp for N recips, ...`): sent. */
function parseSmtp(text: string, start: number, messageId: string | undefined): ListPostEvent | null {
  let list = '';
  let countAt: number;
  if (text.startsWith('smtp to ', start)) {
    const forAt = text.indexOf(' for ', start + 8);
    if (forAt < 0) return null;
    list = text.slice(start + 8, forAt);
    if (!isListName(list)) return null;
    countAt = forAt + 5;
  } else {
    countAt = start + 9; // `smtp for `
  }
  const countEnd = digitsEnd(text, countAt);
  const recipients = numberBetween(text, countAt, countEnd);
  if (recipients < 0 || !text.startsWith(' recips', countEnd)) return null;
  const event = listPost('sent', list, messageId);
  event.recipients = recipients;
  return event;
}

/**
 * `delivery to ADDR failed with code N: TEXT` (2.1) / `..., TEXT` (3.x): the MTA refused a member.
 * Like SMTPDirect, only a code of 500 and above (552 excepted, RFC 5321 §4.5.3.1.10) is permanent:
 * Mailman retries the others, so they name no failed recipient.
 */
function parseDeliveryFailure(
  text: string,
  start: number,
  messageId: string | undefined,
): ListPostEvent | null {
  const addrStart = start + 12;
  const failedAt = text.indexOf(' failed with code ', addrStart);
  if (failedAt < 0 || failedAt - addrStart > MAX_LIST) return null;
  const address = normalizeAddress(text.slice(addrStart, failedAt));
  let k = failedAt + 18;
  const negative = text.charCodeAt(k) === 45; /* - */
  if (negative) k++;
  const codeEnd = digitsEnd(text, k);
  const magnitude = numberBetween(text, k, codeEnd);
  if (magnitude < 0) return null;
  const code = negative ? -magnitude : magnitude;
  k = codeEnd;
  const detail = text.startsWith(': ', k) || text.startsWith(', ', k) ? text.slice(k + 2) : text.slice(k);
  const event = listPost('failed', '', messageId);
  if (code >= 500 && code !== 552) {
    event.recipient = address;
    event.reason = bound(`${code} ${detail}`, MAX_REASON);
  } else {
    event.reason = bound(`temporary failure for ${address}: ${code} ${detail}`, MAX_REASON);
  }
  return event;
}

/** `TEXT, msgid: <mid>` after one of SMTPDirect's whole-chunk failure prefixes: failed, no member named. */
function parseChunkFailure(text: string, start: number): ListPostEvent {
  const label = text.slice(0, start - 2);
  const msgidAt = text.lastIndexOf(', msgid: ');
  const detail = msgidAt >= start ? text.slice(start, msgidAt) : text.slice(start);
  const event = listPost('failed', '', msgidAt >= start ? messageIdOf(text.slice(msgidAt + 9)) : undefined);
  event.reason = bound(`${label}: ${detail}`, MAX_REASON);
  return event;
}

/** `LIST post from SENDER held, message-id=<mid>: REASON` at `start` (2.1 Hold.py, 3.x `HOLD: ...`). */
function parseHeld(text: string, start: number): ListPostEvent | null {
  const postAt = text.indexOf(' post from ', start);
  if (postAt < 0) return null;
  const heldAt = text.indexOf(' held, message-id=', postAt + 11);
  const list = text.slice(start, postAt);
  if (heldAt < 0 || !isListName(list)) return null;
  const idStart = heldAt + 18;
  const colon = text.indexOf(': ', idStart);
  const event = listPost('held', list, messageIdOf(text.slice(idStart, colon < 0 ? text.length : colon)));
  event.from = normalizeAddress(text.slice(postAt + 11, heldAt));
  if (colon >= 0) event.reason = bound(text.slice(colon + 2), MAX_REASON);
  return event;
}

/** Lines that stand for the whole message, with the message-id after a fixed prefix. */
const MESSAGE_PREFIXES: readonly (readonly [string, ListPostEvent['outcome'], string | undefined])[] = [
  ['ACCEPT: ', 'posted', undefined],
  ['REJECT: ', 'rejected', undefined],
  ['DISCARD: ', 'discarded', undefined],
  ['Message discarded, msgid: ', 'discarded', undefined],
  ['Message rejected, msgid: ', 'rejected', undefined],
  // Launchpad's Mailman 2.1 fork (Handlers/LPSize.py).
  ['Discarding message w/size > hard limit: ', 'discarded', 'larger than the hard size limit'],
];

/** SMTPDirect's failures of a whole chunk of recipients (`smtp-failure`). */
const CHUNK_FAILURE_PREFIXES: readonly string[] = [
  'All recipients refused: ',
  'SMTP session failure: ',
  'Low level smtp error: ',
];

/** Lines about no post in particular, by prefix. */
const INFO_PREFIXES: readonly (readonly [string, string])[] = [
  ['Uncaught runner exception: ', 'error'],
  ['Traceback (most recent call last):', 'error'],
  ['SHUNTING: ', 'shunt'],
  ['approved held message enqueued: ', 'vette'],
  ['No command, message discarded, msgid: ', 'vette'],
  ['Precedence: ', 'vette'],
  ['hold autoresponse limit hit: ', 'vette'],
  ['Automatic response limit discard: ', 'vette'],
  ['Skipping VERP delivery to unqual recip: ', 'smtp'],
  ['Cannot connect to SMTP server ', 'smtp'],
  ['sending ', 'bounce'],
];

const SUBSCRIBE_WORDS = ['new ', 'deleted ', 'pending ', 'changed '];

/**
 * `LIST: text`: a moderator's decision on a held post, or a bounce or membership note (Bouncer.py,
 * MailList.py, ListAdmin.py all start with the list's internal name).
 */
function parseListLine(text: string, colon: number): MailEvent {
  const list = text.slice(0, colon);
  const rest = colon + 2;
  if (text.startsWith('Discarded posting:', rest)) return listPost('discarded', list, undefined);
  if (text.startsWith('Refused posting:', rest)) return listPost('rejected', list, undefined);
  if (text.startsWith('DMARC ', rest)) return info('dmarc');
  if (text.includes('bounce', rest) || text.includes('probe', rest)) return info('bounce');
  if (SUBSCRIBE_WORDS.some((w) => text.startsWith(w, rest)) || text.includes('subscri', rest)) {
    return info('subscribe');
  }
  return info('list');
}

/** Index after a leading `<message-id> ` or `n/a ` (Mailman 3's `$msgid ...` templates, 2.1's smtp), else 0. */
function afterLeadingMessageId(text: string): number {
  if (text.startsWith('n/a ')) return 4;
  if (text.charCodeAt(0) !== 60 /* < */) return 0;
  const end = text.indexOf('> ', 1);
  return end > 0 && end < MAX_MESSAGE_ID ? end + 2 : 0;
}

function parseText(text: string): MailEvent | null {
  const rest = afterLeadingMessageId(text);
  const messageId = rest > 0 ? messageIdOf(text.slice(0, rest - 1)) : undefined;
  if (text.startsWith('post to ', rest)) return parsePost(text, rest, messageId);
  if (text.startsWith('smtp to ', rest) || text.startsWith('smtp for ', rest)) {
    return parseSmtp(text, rest, messageId);
  }
  if (text.startsWith('delivery to ', rest)) return parseDeliveryFailure(text, rest, messageId);
  if (rest > 0) return null;
  if (text.startsWith('HOLD: ')) return parseHeld(text, 6);
  for (const [prefix, outcome, reason] of MESSAGE_PREFIXES) {
    if (!text.startsWith(prefix)) continue;
    const event = listPost(outcome, '', messageIdOf(text.slice(prefix.length)));
    if (reason !== undefined) event.reason = reason;
    return event;
  }
  for (const prefix of CHUNK_FAILURE_PREFIXES) {
    if (text.startsWith(prefix)) return parseChunkFailure(text, prefix.length);
  }
  for (const [prefix, label] of INFO_PREFIXES) {
    if (text.startsWith(prefix)) return info(label);
  }
  const held = text.includes(' held, message-id=') ? parseHeld(text, 0) : null;
  if (held !== null) return held;
  const colon = text.indexOf(': ');
  if (colon > 0 && colon <= MAX_LIST && isListName(text.slice(0, colon))) return parseListLine(text, colon);
  return null;
}

export const mailmanParser: ProgramParser = {
  name: 'mailman',
  handles(program: string): boolean {
    return program === 'mailman' || program === 'mailman3';
  },
  parse(frame: Frame): MailEvent | null {
    return parseText(frame.text);
  },
};
