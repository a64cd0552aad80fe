/**
 * smtpd(8): the SMTP server. Connection life (`connect from`, `disconnect from`), the queue entry it
 * creates (`QID: client=...`), access decisions (`NOQUEUE: reject: ...`), SASL failures, TLS and the
 * session's ends (`lost connection after`, `timeout after`, `too many errors after`).
 */
import type {
  ClientRef,
  ConnectEvent,
  DisconnectEvent,
  LoginEvent,
  MailEvent,
  QueueClientEvent,
} from '../../core/events.js';
import { bound } from '../../core/events.js';
import { parseActionLine, parseProxyLine } from './reject.js';
import { clientAfterFrom, info, readClient, severityLine, splitQueuePrefix } from './shared.js';

export function parseSmtpd(text: string): MailEvent | null {
  if (text.startsWith('connect from ')) return connectLine(text);
  if (text.startsWith('disconnect from ')) return disconnectLine(text);
  const prefixed = splitQueuePrefix(text);
  if (prefixed !== null) {
    const { queueId, rest } = prefixed;
    if (rest.startsWith('client=')) return clientLine(rest, queueId);
    return parseActionLine(rest, queueId) ?? parseProxyLine(rest, queueId) ?? sessionLine(rest, queueId);
  }
  if (text.startsWith('warning: ')) return smtpdWarning(text);
  // Postfix before 2.3 wrote `reject: RCPT from ...` without the NOQUEUE prefix.
  return parseActionLine(text, undefined) ?? parseProxyLine(text, undefined) ?? sessionLine(text, undefined);
}

function connectLine(text: string): ConnectEvent | null {
  const at = readClient(text, 13);
  return at === null ? null : { kind: 'connect', client: at.client };
}

/** `disconnect from host[ip] ehlo=1 mail=1 rcpt=0/1 ... commands=3/4` (statistics since Postfix 3.0). */
function disconnectLine(text: string): DisconnectEvent | null {
  const at = readClient(text, 16);
  if (at === null) return null;
  const event: DisconnectEvent = { kind: 'disconnect', client: at.client };
  const stats = text.slice(at.end).trim();
  if (stats.length > 0) event.stats = bound(stats, 500);
  return event;
}

/**
 * `QID: client=host[ip][:port][, sasl_method=M, sasl_username=U[, sasl_sender=S]][, orig_queue_id=Q,
 * orig_client=host[ip]]` (smtpd.c). `NOQUEUE: client=` (before-queue proxy, no queue file yet) is info.
 */
function clientLine(rest: string, queueId: string | undefined): MailEvent | null {
  const at = readClient(rest, 7);
  if (at === null) return null;
  if (queueId === undefined) return info('client', undefined, at.client);
  const event: QueueClientEvent = { kind: 'queue-client', queueId, client: at.client };
  let p = at.end;
  while (rest.startsWith(', ', p)) {
    const eq = rest.indexOf('=', p + 2);
    if (eq < 0) break;
    const key = rest.slice(p + 2, eq);
    if (key === 'orig_client') {
      const orig = readClient(rest, eq + 1);
      if (orig === null) break;
      event.origClient = orig.client;
      p = orig.end;
      continue;
    }
    let end = rest.indexOf(', ', eq + 1);
    if (end < 0) end = rest.length;
    const value = bound(rest.slice(eq + 1, end), 512);
    if (key === 'sasl_method') event.saslMethod = value;
    else if (key === 'sasl_username') event.saslUsername = value;
    else if (key === 'orig_queue_id') event.origQueueId = value;
    p = end;
  }
  return event;
}

/**
 * smtpd warnings worth more than a label: SASL authentication failures become login events
 * (`warning: host[ip]: SASL LOGIN authentication failed: reason[, sasl_username=u]`), client-related
 * warnings keep the client.
 */
function smtpdWarning(text: string): MailEvent | null {
  const rest = text.slice(9);
  const at = readClient(rest, 0);
  if (at !== null && rest.startsWith(': ', at.end)) {
    const message = rest.slice(at.end + 2);
    if (message.startsWith('SASL ')) {
      const failed = message.indexOf(' authentication failed');
      if (failed > 5) return saslFailure(message, failed, at.client.ip);
    }
    return info('warning', undefined, at.client);
  }
  if (rest.startsWith('non-SMTP command from '))
    return info('non-smtp-command', undefined, clientAfterFrom(rest));
  if (rest.startsWith('SASL')) return info('sasl');
  const dns = reverseDnsClient(rest);
  if (dns !== null) return info('dns', undefined, dns);
  const withClient = rest.includes(' from ') ? clientAfterFrom(rest) : undefined;
  if (withClient !== undefined) return info('warning', undefined, withClient);
  return severityLine(text);
}

/**
 * Forward-confirmed reverse DNS failures name the client address: `hostname X does not resolve to
 * address 192.0.2.1[: reason]` and `192.0.2.1: address not listed for hostname X`.
 */
function reverseDnsClient(rest: string): ClientRef | null {
  if (rest.startsWith('hostname ')) {
    const at = rest.indexOf(' does not resolve to address ');
    if (at < 0) return null;
    const start = at + 29;
    // IPv6 addresses contain colons: the address ends at `: ` or the end of the line.
    let end = rest.indexOf(': ', start);
    if (end < 0) end = rest.length;
    return { ip: rest.slice(start, end) };
  }
  const at = rest.indexOf(': address not listed for hostname ');
  return at > 0 && at <= 64 ? { ip: rest.slice(0, at) } : null;
}

function saslFailure(message: string, failed: number, ip: string | undefined): LoginEvent {
  const event: LoginEvent = {
    kind: 'login',
    service: 'smtpd',
    success: false,
    method: message.slice(5, failed),
  };
  if (ip !== undefined) event.remoteIp = ip;
  let reason = message.slice(failed + 22);
  if (reason.startsWith(': ')) reason = reason.slice(2);
  const user = reason.lastIndexOf(', sasl_username=');
  if (user >= 0) {
    event.user = bound(reason.slice(user + 16), 512);
    reason = reason.slice(0, user);
  }
  if (reason.length > 0) event.reason = bound(reason, 500);
  return event;
}

/** `<what> after <STAGE> from host[ip]` lines that end an SMTP session, with their labels. */
const SESSION_ENDS: readonly (readonly [string, string])[] = [
  ['lost connection after ', 'lost-connection'],
  ['timeout after ', 'timeout'],
  ['too many errors after ', 'too-many-errors'],
  ['improper command pipelining after ', 'pipelining'],
  ['bare <LF> received after ', 'bare-lf'],
];

/** TLS handshake lines of the server side. */
const SERVER_TLS_PREFIXES = [
  'Anonymous TLS connection established from ',
  'Untrusted TLS connection established from ',
  'Trusted TLS connection established from ',
  'Verified TLS connection established from ',
  'TLS connection established from ',
  'setting up TLS connection from ',
  'SSL_accept error from ',
  'TLS handshake failed for ',
  'cannot load ',
];

/** Session lines, with or without a queue id before them. */
export function sessionLine(text: string, queueId: string | undefined): MailEvent | null {
  for (const [prefix, label] of SESSION_ENDS) {
    if (text.startsWith(prefix)) return info(label, queueId, clientAfterFrom(text, prefix.length - 1));
  }
  for (const prefix of SERVER_TLS_PREFIXES) {
    if (text.startsWith(prefix)) {
      const client = prefix.endsWith('for ') ? tlsPeer(text) : readClient(text, prefix.length)?.client;
      return info('tls', queueId, client);
    }
  }
  if (text.startsWith('discarding EHLO keywords: ')) return info('ehlo-keywords', queueId);
  // `host[ip]: TLS cipher list ...`, `host[ip]: Trusted: subject_CN=...`: TLS details per client.
  const at = readClient(text, 0);
  if (at !== null && text.startsWith(': ', at.end)) return info('tls', queueId, at.client);
  return null;
}

/** tlsproxy's `TLS handshake failed for service=smtpd peer=[ip]:port`. */
function tlsPeer(text: string): ClientRef | undefined {
  const i = text.indexOf('peer=');
  return i < 0 ? undefined : readClient(text, i + 5)?.client;
}
