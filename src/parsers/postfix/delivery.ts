/**
 * Delivery agents: smtp, lmtp, local, virtual, pipe, error, retry, discard, and any custom master.cf
 * service built on them. Their per-recipient line (log_adhoc.c):
 *
 *   QID: to=<b>, orig_to=<c>, relay=R, conn_use=N, delay=D, delays=a/b/c/d, tls=..., dsn=X.Y.Z, status=S (reply)
 *
 * Fields other than `to` and `status` are optional (Postfix < 2.3 has no delays/dsn; `orig_to` only when
 * an alias rewrote the address; `conn_use` only on a reused connection; `tls=` in Postfix 3.10+).
 */
import { normalizeAddress } from '../../core/address.js';
import type { AttemptStatus, DeliveryEvent, MailEvent } from '../../core/events.js';
import { bound } from '../../core/events.js';
import { closeAngle, info, queuedAs, queueIdEnd } from './shared.js';

/**
 * Postfix status words. `deliverable` (address verification probe accepted by the next hop) maps to
 * `sent`: the probe reached the next hop, which is what `sent` says; `undeliverable-but-not-cached` is
 * verify's uncached `undeliverable`. `SOFTBOUNCE` is a bounce turned into a deferral by `soft_bounce`.
 */
const STATUSES = new Map<string, AttemptStatus>([
  ['sent', 'sent'],
  ['deliverable', 'sent'],
  ['deferred', 'deferred'],
  ['SOFTBOUNCE', 'deferred'],
  ['bounced', 'bounced'],
  ['expired', 'expired'],
  ['undeliverable', 'undeliverable'],
  ['undeliverable-but-not-cached', 'undeliverable'],
]);

/** Longest `key` of a `key=value` field; longer means the text is not a delivery line. */
const MAX_KEY = 16;

function parseNumber(value: string): number | undefined {
  if (value.length === 0 || value.length > 20) return undefined;
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** Text in the parentheses that start at `open`, up to the line's final `)` (replies nest parentheses). */
function parenthesised(text: string, open: number): string {
  const end = text.charCodeAt(text.length - 1) === 41 ? text.length - 1 : text.length;
  return bound(text.slice(open + 1, Math.max(open + 1, end)));
}

/** local(8)/virtual(8) say where they wrote: `delivered to mailbox`, `maildir`, `file: /path`, `command: x`. */
function mailboxOf(reply: string): string | undefined {
  if (!reply.startsWith('delivered to ')) return undefined;
  const target = reply.startsWith('file: ', 13) ? reply.slice(19) : reply.slice(13);
  return target.length > 0 ? bound(target, 512) : undefined;
}

/**
 * Parses the text after `QID: ` when it starts with `to=`. `daemon` matters for discard(8), whose
 * `status=sent` means the mail was dropped.
 */
export function parseDelivery(queueId: string, rest: string, daemon: string): DeliveryEvent | null {
  let to: string | undefined;
  let statusWord: string | undefined;
  let reply: string | undefined;
  const event: Partial<DeliveryEvent> = {};
  let p = 0;
  while (p < rest.length) {
    const eq = rest.indexOf('=', p);
    if (eq < 0 || eq - p > MAX_KEY) return null;
    const key = rest.slice(p, eq);
    if (key === 'status') {
      let end = rest.indexOf(' ', eq + 1);
      if (end < 0) end = rest.length;
      statusWord = rest.slice(eq + 1, end);
      if (rest.startsWith(' (', end)) reply = parenthesised(rest, end + 1);
      break;
    }
    let value: string;
    let valueEnd: number;
    if (rest.charCodeAt(eq + 1) === 60) {
      const close = closeAngle(rest, eq + 2);
      if (close < 0) return null;
      value = rest.slice(eq + 2, close);
      valueEnd = close + 1;
    } else {
      valueEnd = rest.indexOf(', ', eq + 1);
      if (valueEnd < 0) valueEnd = rest.length;
      value = rest.slice(eq + 1, valueEnd);
    }
    applyField(event, key, value);
    if (key === 'to') to = normalizeAddress(value);
    if (!rest.startsWith(', ', valueEnd)) break;
    p = valueEnd + 2;
  }
  if (to === undefined || statusWord === undefined) return null;
  let status = STATUSES.get(statusWord);
  if (status === undefined) return null;
  if (status === 'sent' && daemon === 'discard') status = 'discarded';

  const result: DeliveryEvent = { kind: 'delivery', queueId, to, status };
  if (event.origTo !== undefined) result.origTo = event.origTo;
  if (event.relay !== undefined) result.relay = event.relay;
  if (event.connUse !== undefined) result.connUse = event.connUse;
  if (event.delay !== undefined) result.delay = event.delay;
  if (event.delays !== undefined) result.delays = event.delays;
  if (event.dsn !== undefined) result.dsn = event.dsn;
  if (reply !== undefined) {
    result.reply = reply;
    // Only a successful hand-off names the next queue entry or the mailbox written.
    if (status === 'sent') {
      const next = queuedAs(reply);
      if (next !== undefined) result.queuedAs = next;
      const mailbox = mailboxOf(reply);
      if (mailbox !== undefined) result.mailbox = mailbox;
    }
  }
  return result;
}

function applyField(event: Partial<DeliveryEvent>, key: string, value: string): void {
  switch (key) {
    case 'orig_to':
      event.origTo = normalizeAddress(value);
      break;
    case 'relay':
      event.relay = bound(value, 512);
      break;
    case 'conn_use': {
      const n = parseNumber(value);
      if (n !== undefined) event.connUse = Math.trunc(n);
      break;
    }
    case 'delay':
      event.delay = parseNumber(value);
      break;
    case 'delays':
      event.delays = bound(value, 100);
      break;
    case 'dsn':
      event.dsn = bound(value, 20);
      break;
    default:
      // to (handled by the caller), tls=... (Postfix 3.10) and future fields carry nothing we keep.
      break;
  }
}

/** `QID: to=...` for any daemon (qmgr and error also write delivery lines), else null. */
export function deliveryLine(text: string, daemon: string): DeliveryEvent | null {
  const colon = queueIdEnd(text);
  if (colon < 0 || !text.startsWith('to=', colon + 2)) return null;
  return parseDelivery(text.slice(0, colon), text.slice(colon + 2), daemon);
}

/**
 * local, virtual, pipe, error, retry, discard and custom delivery services: delivery lines only (their
 * warnings are handled by the common fallbacks).
 */
export function parseDeliveryAgent(text: string, daemon: string): MailEvent | null {
  return deliveryLine(text, daemon);
}

/**
 * What smtp(8)/lmtp(8) log about an attempt besides the delivery line itself, all with the queue id:
 * the remote's reply (`host X said: ...`), `lost connection with X while ...`, `conversation with X
 * timed out while ...`, `host X refused to talk to me: ...`, PIX workarounds, SASL and TLS trouble.
 * smtp_trouble.c logs any non-final failure this way, so every such line is an attempt diagnostic.
 */
function attemptLabel(rest: string): string {
  if (rest.startsWith('host ')) return rest.includes(' refused to talk to me') ? 'refused' : 'remote-reply';
  if (rest.startsWith('lost connection with ')) return 'lost-connection';
  if (rest.startsWith('conversation with ')) return 'timeout';
  if (rest.startsWith('enabling PIX workarounds')) return 'pix-workaround';
  if (rest.startsWith('SASL ')) return 'sasl';
  if (rest.includes('TLS') || rest.includes('certificate')) return 'tls';
  return 'attempt';
}

/** TLS session lines of the smtp client (no queue id): handshake results and peer certificate details. */
const CLIENT_TLS_PREFIXES = [
  'Anonymous TLS connection established to ',
  'Untrusted TLS connection established to ',
  'Trusted TLS connection established to ',
  'Verified TLS connection established to ',
  'TLS connection established to ',
  'certificate verification failed for ',
  'server certificate verification failed for ',
  'SSL_connect error to ',
  'Host offered STARTTLS: ',
  'setting up TLS connection to ',
  'initializing the client-side TLS engine',
  'cannot load ',
];

/** smtp(8) and lmtp(8). */
export function parseSmtpClient(text: string, daemon: string): MailEvent | null {
  const colon = queueIdEnd(text);
  if (colon > 0) {
    const rest = text.slice(colon + 2);
    const queueId = text.slice(0, colon);
    if (rest.startsWith('to=')) return parseDelivery(queueId, rest, daemon);
    return rest.length > 0 ? info(attemptLabel(rest), queueId) : null;
  }
  if (text.startsWith('connect to ') && !text.startsWith('connect to subsystem '))
    return info('connect-failed');
  if (text.startsWith('discarding EHLO keywords: ')) return info('ehlo-keywords');
  for (const prefix of CLIENT_TLS_PREFIXES) {
    if (text.startsWith(prefix)) return info('tls');
  }
  // `host[addr]:port: subject_CN=...`, `...: Matched subjectAltName`, `...: re-using session ...`:
  // the TLS layer's per-peer details.
  const bracket = text.indexOf(']:');
  if (bracket > 0 && bracket < 300 && text.indexOf(': ', bracket + 2) > 0 && text.indexOf(' ') > bracket) {
    return info('tls');
  }
  return null;
}
