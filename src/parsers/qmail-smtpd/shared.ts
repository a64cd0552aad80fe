/** Pieces the writers of a qmail-smtpd log share: info events, SMTP reply codes, addresses. */
import { normalizeAddress } from '../../core/address.js';
import { bound, type ClientRef, type InfoEvent, type RejectEvent } from '../../core/events.js';
import { parseReply } from '../postfix/shared.js';
import { qmailDsn } from '../qmail-send/reply.js';
import { isDigit } from '../qmail-send/scan.js';

/** Most recipients kept from one line (simscan keeps 255, qmail-scanner names them all). */
export const MAX_RECIPIENTS = 1000;
const MAX_REASON = 1000;

export function info(label: string, client?: ClientRef): InfoEvent {
  const event: InfoEvent = { kind: 'info', label };
  if (client !== undefined) event.client = client;
  return event;
}

/** The 4xx/5xx SMTP reply code that starts `text` (`451 ...`, `553-...`, `421`), or undefined. */
export function replyCode(text: string, start = 0): number | undefined {
  const c = text.charCodeAt(start);
  if ((c !== 52 && c !== 53) || !isDigit(text.charCodeAt(start + 1)) || !isDigit(text.charCodeAt(start + 2)))
    return undefined;
  const next = text.charCodeAt(start + 3);
  if (start + 3 < text.length && next !== 32 && next !== 45) return undefined;
  return Number(text.slice(start, start + 3));
}

/**
 * A refusal before queueing. A reply (`451 text`, `553 5.7.1 text`) gives its code and enhanced code,
 * and the reason is the text after them, as for the other MTAs; qmail writes its enhanced code in the
 * text instead: `... (#5.7.1)`.
 */
export function refusal(reply: string, stage: string | undefined, session?: string): RejectEvent {
  const text = bound(reply, MAX_REASON);
  const event: RejectEvent = { kind: 'reject', action: 'reject', reason: text };
  if (stage !== undefined) event.stage = stage;
  if (session !== undefined) event.session = session;
  const code = replyCode(text);
  if (code !== undefined) {
    event.code = code;
    const parsed = parseReply(text);
    if (parsed.dsn !== undefined) event.dsn = parsed.dsn;
    event.reason = parsed.text;
  }
  const dsn = event.dsn ?? qmailDsn(text);
  if (dsn !== undefined) event.dsn = dsn;
  return event;
}

/** Comma-separated recipients (simscan, qmail-scanner), normalised, empty ones left out, bounded. */
export function recipientList(text: string): string[] {
  const list: string[] = [];
  let start = 0;
  while (start <= text.length && list.length < MAX_RECIPIENTS) {
    let end = text.indexOf(',', start);
    if (end < 0) end = text.length;
    const address = normalizeAddress(text.slice(start, end));
    if (address !== '') list.push(address);
    start = end + 1;
  }
  return list;
}

/** Puts the first recipient in `to` and the others in `alsoTo`. */
export function setRecipients(event: RejectEvent, recipients: readonly string[]): void {
  const [first, ...others] = recipients;
  if (first !== undefined) event.to = first;
  if (others.length > 0) event.alsoTo = others;
}

/** An IP address as a log writes it; `unknown` and `(null)` (an unset TCPREMOTEIP) are no address. */
export function ipOrUndefined(text: string): string | undefined {
  const ip = text.trim();
  if (ip === '' || ip === 'unknown' || ip === '(null)' || ip.length > 64) return undefined;
  return ip;
}
