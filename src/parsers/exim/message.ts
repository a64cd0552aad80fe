/**
 * Exim main-log lines about one message: `ID <= ...` (arrival), `ID => / -> / >> / *> ...` (delivery,
 * additional address of the same delivery, cutthrough, suppressed by -N), `ID ** ...` (failed,
 * bounced), `ID == ...` (deferred), `ID Completed`, freezing and removal, and the lines Exim, its ACLs
 * and local_scan() log about the message (which join it as evidence).
 *
 * Delivery lines (deliver.c delivery_log/failure_log/deferral_log) begin with the address as
 * string_log_address() writes it:
 *
 *   final [(intermediate, ...)] [<original>]
 *
 * `final` is a full address, or for pipe, file and autoreply deliveries (and routers with
 * log_as_local) only the local part, the file or the `|command`; `<original>` is the address the
 * message was sent to when it differs (a redirection).
 */
import libmime from 'libmime';
import { normalizeAddress, normalizeMessageId } from '../../core/address.js';
import type {
  AttemptStatus,
  DeliveryEvent,
  InfoEvent,
  MailEvent,
  NotificationEvent,
  QueueAdminEvent,
  QueueInfoEvent,
} from '../../core/events.js';
import { bound } from '../../core/events.js';
import { parseReply, queuedAs } from '../postfix/shared.js';
import { angleEnd, type HostItem, isEximId, readFields, readHost, relayOf, unquote } from './fields.js';
import { refusalLine, sessionLine } from './smtp.js';

const SPACE = 32;
const COLON = 58;

/**
 * The notification a message Exim made itself is (`<= <> R=parent`): its subject tells a delay warning
 * (`Warning: message X delayed by 60 minutes`) from a bounce (`Mail delivery failed: ...`) when Exim
 * logs it (log_selector +subject); without it, only that it is a delivery status notification.
 */
function notificationKind(subject: string | undefined): string {
  if (subject === undefined) return 'delivery status';
  return subject.startsWith('"Warning: message ') ? 'delay' : 'non-delivery';
}

function info(label: string, queueId: string): InfoEvent {
  return { kind: 'info', label, queueId };
}

// --- arrival -----------------------------------------------------------------------------------------

/**
 * The subject of `T="..."`: Exim logs the raw header (at most 100 characters), escaped; RFC 2047 words
 * (`=?UTF-8?B?...?=`) are decoded.
 */
function decodeSubject(raw: string): string {
  // A folded header keeps its line breaks in the log (`\n\t`): unfold it as RFC 5322 says.
  const text = unquote(raw).replace(/\r?\n/g, '');
  if (!text.includes('=?')) return text;
  try {
    const decoded = libmime.decodeWords(text);
    return typeof decoded === 'string' ? bound(decoded) : text;
  } catch {
    return text;
  }
}

/**
 * `A=plain:user` (authenticator and id), `A=plain:user:sender` with log_selector +smtp_mailauth, or
 * `A=name` alone when the authenticator sets no id: the authenticated id.
 */
function authId(auth: string): string | undefined {
  const colon = auth.indexOf(':');
  if (colon < 0 || colon + 1 === auth.length) return undefined;
  const end = auth.indexOf(':', colon + 1);
  return auth.slice(colon + 1, end < 0 ? auth.length : end);
}

/**
 * `ID <= sender [R=parent] [U=user] [H=host] P=proto [A=auth] S=size [id=msgid] [T="subject"]
 * [from <s>] [for r1 r2]`. A bounce or warning message Exim made itself names its parent in `R=`: the
 * line is then a notification of the parent, which starts the new entry as a DSN (sender `<>`).
 */
function arrival(queueId: string, text: string, at: number): MailEvent {
  let senderEnd = text.indexOf(' ', at);
  if (senderEnd < 0) senderEnd = text.length;
  const fields = readFields(text, senderEnd);
  const from = normalizeAddress(text.slice(at, senderEnd));
  if (fields.r !== undefined && from === '' && isEximId(fields.r)) {
    const event: NotificationEvent = {
      kind: 'notification',
      queueId: fields.r,
      notificationQueueId: queueId,
      notification: notificationKind(fields.t),
    };
    return event;
  }
  const event: QueueInfoEvent = { kind: 'queue-info', queueId, starts: true, from };
  if (fields.size !== undefined) event.size = fields.size;
  if (fields.recipients !== undefined) event.nrcpt = fields.recipients.length;
  if (fields.id !== undefined) event.messageId = normalizeMessageId(fields.id);
  const host = fields.host;
  if (host !== undefined) {
    if (host.client.ip !== undefined || host.client.name !== undefined) event.client = host.client;
    if (host.helo !== undefined) event.helo = host.helo;
  }
  if (fields.auth !== undefined) {
    const user = authId(fields.auth);
    if (user !== undefined) event.saslUsername = user;
  }
  if (fields.p !== undefined) event.proto = fields.p;
  if (fields.t !== undefined) event.subject = decodeSubject(fields.t);
  return event;
}

// --- deliveries ----------------------------------------------------------------------------------------

interface LoggedAddress {
  final: string;
  /** The first intermediate parent, when Exim shows them. */
  parent?: string;
  original?: string;
  /** Index after the address part. */
  end: number;
}

/** End of the first word of a delivery line: a `|command` may hold spaces up to its `<original>`. */
function finalEnd(text: string, at: number): number {
  let end = text.indexOf(' ', at);
  if (end < 0) return text.length;
  if (text.charCodeAt(at) === 124 /* | */) {
    const router = text.indexOf(' R=', at);
    const limit = router < 0 ? text.length : router;
    const parent = text.indexOf(' (', at);
    const original = text.indexOf(' <', at);
    if (parent > 0 && parent < limit) end = parent;
    else if (original > 0 && original < limit) end = original;
  }
  // `** user@x: reason`: the colon ends the address (`:blackhole:` and `:fail:` keep theirs).
  if (text.charCodeAt(end - 1) === COLON && text.charCodeAt(at) !== COLON) end--;
  return end;
}

function readLoggedAddress(text: string, at: number): LoggedAddress {
  let p = finalEnd(text, at);
  const result: LoggedAddress = { final: text.slice(at, p), end: p };
  if (text.startsWith(' (', p)) {
    const close = text.indexOf(')', p + 2);
    if (close > 0) {
      const comma = text.indexOf(',', p + 2);
      result.parent = text.slice(p + 2, comma > 0 && comma < close ? comma : close);
      p = close + 1;
    }
  }
  if (text.startsWith(' <', p)) {
    const end = angleEnd(text, p + 1);
    if (end > 0) {
      result.original = text.slice(p + 2, end - 1);
      p = end;
    }
  }
  result.end = p;
  return result;
}

function isFullAddress(word: string): boolean {
  const c = word.charCodeAt(0);
  return c !== 47 /* / */ && c !== 124 /* | */ && word.includes('@');
}

/**
 * The recipient, original recipient and mailbox of a logged address. A local part, file or pipe stands
 * for the address it was delivered for (the intermediate parent, else the original), and names the
 * mailbox when it says more than that address's local part.
 */
function recipientOf(address: LoggedAddress, event: DeliveryEvent): void {
  const { final, parent, original } = address;
  if (isFullAddress(final)) {
    event.to = normalizeAddress(final);
    if (original !== undefined) {
      const orig = normalizeAddress(original);
      if (orig !== event.to) event.origTo = orig;
    }
    return;
  }
  const target = parent ?? original ?? final;
  event.to = normalizeAddress(target);
  if (original !== undefined && parent !== undefined) {
    const orig = normalizeAddress(original);
    if (orig !== event.to) event.origTo = orig;
  }
  const at = event.to.lastIndexOf('@');
  const local = at < 0 ? event.to : event.to.slice(0, at);
  if (final !== ':blackhole:' && final.toLowerCase() !== local) event.mailbox = bound(final, 512);
}

/** Where the attempt went: `host[ip]:port` for SMTP/LMTP, else the transport. */
function relayFrom(host: HostItem | undefined, transport: string | undefined): string | undefined {
  const relay = host === undefined ? undefined : relayOf(host.client);
  if (relay !== undefined) return bound(relay, 512);
  return transport === undefined ? undefined : bound(transport, 256);
}

function deliveryBase(queueId: string, address: LoggedAddress, status: AttemptStatus): DeliveryEvent {
  const event: DeliveryEvent = { kind: 'delivery', queueId, to: '', status };
  recipientOf(address, event);
  return event;
}

/** `=>`, `->`, `>>`, `*>`: a successful (or -N suppressed) delivery of one address. */
function delivered(queueId: string, text: string, at: number): DeliveryEvent {
  const address = readLoggedAddress(text, at);
  const status: AttemptStatus = address.final === ':blackhole:' ? 'discarded' : 'sent';
  const event = deliveryBase(queueId, address, status);
  const fields = readFields(text, address.end);
  const relay = relayFrom(fields.host, fields.t);
  if (relay !== undefined) event.relay = relay;
  const reply = fields.confirmation;
  if (reply !== undefined) {
    event.reply = reply;
    const parsed = parseReply(reply);
    if (parsed.dsn !== undefined) event.dsn = parsed.dsn;
    const next = queuedAs(reply);
    if (next !== undefined) event.queuedAs = next;
  }
  return event;
}

/** The `NNN x.y.z text` reply inside a failure reason (`SMTP error ... after RCPT TO:<a>: 550 5.1.1 ...`). */
function remoteReplyDsn(reason: string): string | undefined {
  let i = reason.indexOf(': ');
  while (i >= 0) {
    const c = reason.charCodeAt(i + 2);
    if ((c === 52 || c === 53) && reason.charCodeAt(i + 5) === SPACE) {
      const dsn = parseReply(reason.slice(i + 2)).dsn;
      if (dsn !== undefined) return dsn;
    }
    i = reason.indexOf(': ', i + 2);
  }
  return undefined;
}

/**
 * Exim before 4.8x named the failing host inside the reason, not in `H=`: `SMTP error from remote mail
 * server after RCPT TO:<a>: host mx.example.org [192.0.2.1]: 550 ...`.
 */
function hostInReason(reason: string): HostItem | undefined {
  const at = reason.indexOf(': host ');
  if (at < 0) return undefined;
  const host = readHost(reason, at + 7);
  return host.client.ip === undefined ? undefined : host;
}

/** Text after the fields: the reason, without its leading `: ` (or ` : `). */
function reasonAt(text: string, at: number): string | undefined {
  let p = at;
  while (text.charCodeAt(p) === SPACE || text.charCodeAt(p) === COLON) p++;
  return p < text.length ? bound(text.slice(p)) : undefined;
}

/** `** address [R=router T=transport H=host [ip]] : reason`: a permanent failure. */
function failed(queueId: string, text: string, at: number): DeliveryEvent {
  const address = readLoggedAddress(text, at);
  const event = deliveryBase(queueId, address, 'bounced');
  const fields = readFields(text, address.end);
  const reason = reasonAt(text, fields.end);
  const relay = relayFrom(fields.host ?? (reason === undefined ? undefined : hostInReason(reason)), fields.t);
  if (relay !== undefined) event.relay = relay;
  if (reason !== undefined) {
    event.reply = reason;
    const dsn = remoteReplyDsn(reason);
    if (dsn !== undefined) event.dsn = dsn;
  }
  return event;
}

/**
 * `== address [R=router T=transport | routing] defer (errno)[: strerror] [H=host [ip]][: message]`.
 * `retry time not reached [for any host]` deferrals are no attempt: Exim logs one per queue run while it
 * waits (log_selector retry_defer, on by default), so they are kept as evidence only.
 */
function deferred(queueId: string, text: string, at: number): MailEvent {
  const address = readLoggedAddress(text, at);
  const fields = readFields(text, address.end, DEFER_WORDS);
  const defer = text.indexOf('defer (', fields.end);
  let host = fields.host;
  let reply: string | undefined;
  const close = defer < 0 ? -1 : text.indexOf(')', defer + 7);
  if (close > 0 && close - defer < 20) {
    const tail = deferTail(text, close + 1);
    if (tail.reply?.startsWith('retry time not reached')) return info('retry-time-not-reached', queueId);
    host = tail.host ?? host;
    reply = tail.reply;
  } else {
    reply = reasonAt(text, fields.end);
  }
  const event = deliveryBase(queueId, address, 'deferred');
  const relay = relayFrom(host, fields.t);
  if (relay !== undefined) event.relay = relay;
  if (reply !== undefined) {
    event.reply = reply;
    const dsn = remoteReplyDsn(reply);
    if (dsn !== undefined) event.dsn = dsn;
  }
  return event;
}

const DEFER_WORDS = ['defer (', 'routing defer', 'transport defer'];

/** How far after `defer (N): ` the host item may come (after a strerror() text). */
const MAX_STRERROR = 120;

/**
 * After `defer (N)`: `: strerror` and/or ` H=host [ip]` and/or `: message`. The reply is the
 * strerror and the message joined, the host is the relay.
 */
function deferTail(text: string, at: number): { host?: HostItem; reply?: string } {
  let hostAt = -1;
  if (text.startsWith(' H=', at)) hostAt = at + 1;
  else if (text.startsWith(': ', at)) {
    const h = text.indexOf(' H=', at + 2);
    if (h > 0 && h - at <= MAX_STRERROR) hostAt = h + 1;
  }
  if (hostAt < 0) return { reply: reasonAt(text, at) };
  const host = readHost(text, hostAt + 2);
  const before = hostAt > at + 2 ? text.slice(at + 2, hostAt - 1) : '';
  const message = reasonAt(text, host.end);
  if (before && message) return { host, reply: bound(`${before}: ${message}`) };
  const reply = before ? bound(before) : message;
  return reply === undefined ? { host } : { host, reply };
}

/** `address <original>: error ignored`: a bounce that failed too, and was dropped (errors_to <>). */
function errorIgnored(queueId: string, text: string, at: number): DeliveryEvent | null {
  const address = readLoggedAddress(text, at);
  if (!text.startsWith(': error ignored', address.end)) return null;
  const event = deliveryBase(queueId, address, 'bounced');
  event.reply = 'error ignored';
  return event;
}

// --- queue events ---------------------------------------------------------------------------------------

function admin(queueId: string, action: QueueAdminEvent['action']): QueueAdminEvent {
  return { kind: 'queue-admin', queueId, action };
}

/** The line's first word after the id, for the fixed texts. */
function queueLine(queueId: string, rest: string): MailEvent | null {
  if (rest === 'Completed' || rest.startsWith('Completed ')) return { kind: 'queue-removed', queueId };
  // `Frozen`, `Frozen (delivery error message)`, `frozen by ACL|local_scan()|system filter...`
  if (rest.startsWith('Frozen') || rest.startsWith('frozen by ')) return admin(queueId, 'held');
  if (rest.startsWith('Unfrozen by ')) return admin(queueId, 'released');
  if (rest === 'removed' || rest.startsWith('removed by ')) return admin(queueId, 'deleted');
  if (rest.startsWith('Message is frozen')) return info('frozen', queueId);
  if (rest.startsWith('no immediate delivery')) return info('queued', queueId);
  if (rest.startsWith('DKIM: ') || rest.startsWith('DKIM ')) return info('dkim', queueId);
  if (rest.startsWith('SA: ')) return info('spamassassin', queueId);
  return null;
}

/**
 * The smtp transport's per-host failure before the `==`/`**` line that settles the address:
 * `mx.example.org [192.0.2.1] Connection timed out`, `H=mx [ip]: SMTP error from remote ...`.
 */
function isHostFailure(rest: string): boolean {
  const start = rest.startsWith('H=') ? 2 : 0;
  const host = readHost(rest, start);
  return host.client.ip !== undefined && (start === 2 || host.client.name !== undefined);
}

/**
 * One line about the message `queueId`; `rest` is the text after the id and its space. Anything
 * Exim, an ACL (`logwrite`, `log_message`) or local_scan() logs with the id is about that message: a
 * line not recognised otherwise is kept with it as `message-log` evidence.
 */
export function messageLine(queueId: string, rest: string): MailEvent {
  const c0 = rest.charCodeAt(0);
  if (rest.charCodeAt(2) === SPACE) {
    const c1 = rest.charCodeAt(1);
    if (c0 === 60 && c1 === 61) return arrival(queueId, rest, 3); // <=
    if (c0 === 40 && c1 === 61) return arrival(queueId, rest, 3); // (= accepted, told it was refused
    let event: MailEvent | null = null;
    if (c1 === 62 && (c0 === 61 || c0 === 45 || c0 === 62 || c0 === 42))
      event = delivered(queueId, rest, 3); // => -> >> *>
    else if (c0 === 42 && c1 === 42)
      event = failed(queueId, rest, 3); // **
    else if (c0 === 61 && c1 === 61) event = deferred(queueId, rest, 3); // ==
    // A delivery line names an address; one that does not is kept as evidence only.
    if (event !== null)
      return event.kind !== 'delivery' || event.to !== '' ? event : info('message-log', queueId);
  }
  const fixed = queueLine(queueId, rest);
  if (fixed !== null) return fixed;
  if (rest.startsWith('SMTP connection ')) {
    // `ID SMTP connection from X closed by DROP in ACL`: the session ends while its message is open.
    const end = sessionLine(rest);
    if (end !== null) return end;
  }
  if (rest.includes(' rejected ')) {
    // `ID H=... F=<s> rejected after DATA: ...`, `ID F=<s> H=... P=esmtp rejected by local_scan(): ...`
    const refused = refusalLine(rest, 0, queueId);
    if (refused !== null) return refused;
  }
  if (isHostFailure(rest)) return info('remote-error', queueId);
  if (rest.includes(': error ignored')) {
    const ignored = errorIgnored(queueId, rest, 0);
    if (ignored !== null) return ignored;
  }
  return info('message-log', queueId);
}
