/**
 * Exim main-log lines about SMTP sessions rather than a queued message: connections and their end,
 * ACL refusals (smtp_in.c smtp_handle_acl_fail), authentication failures, DNS and TLS trouble, and the
 * daemon's own lines.
 *
 * A refusal reads (Exim 4.9x):
 *
 *   H=name (helo) [ip]:port [X=tls] [F=<sender>] [temporarily ]rejected WHAT[: log message]
 *
 * where WHAT is `RCPT <address>`, `MAIL <address>`, `DATA`, `after DATA`, `EHLO or HELO name`,
 * `connection in "connect" ACL`... (older releases wrote `F=sender` and `RCPT address` without
 * brackets). Refusals after DATA and local_scan() rejections carry the message id.
 *
 * Exim writes no pid into its main log unless asked (`log_selector = +pid`), and the daemon, not the
 * session's process, logs `SMTP connection from`: the lines of one session are tied by the client's
 * address and port instead (`session`).
 */
import { normalizeAddress } from '../../core/address.js';
import type {
  ClientRef,
  ConnectEvent,
  DisconnectEvent,
  InfoEvent,
  LoginEvent,
  MailEvent,
  RejectEvent,
} from '../../core/events.js';
import { bound } from '../../core/events.js';
import { angleEnd, type Fields, readFields, readHost } from './fields.js';

function info(label: string, client?: ClientRef, queueId?: string): InfoEvent {
  const event: InfoEvent = { kind: 'info', label };
  if (client !== undefined && (client.ip !== undefined || client.name !== undefined)) event.client = client;
  if (queueId !== undefined) event.queueId = queueId;
  return event;
}

/** The session a client's lines belong to: its address and port as Exim logs them. */
function sessionOf(client: ClientRef): string | undefined {
  if (client.ip === undefined) return undefined;
  return client.port === undefined ? client.ip : `${client.ip}:${client.port}`;
}

function connect(client: ClientRef): ConnectEvent {
  const event: ConnectEvent = { kind: 'connect', client };
  const session = sessionOf(client);
  if (session !== undefined) event.session = session;
  return event;
}

function disconnect(client: ClientRef, stats?: string): DisconnectEvent {
  const event: DisconnectEvent = { kind: 'disconnect', client };
  const session = sessionOf(client);
  if (session !== undefined) event.session = session;
  if (stats !== undefined) event.stats = stats;
  return event;
}

// --- refusals ------------------------------------------------------------------------------------------

const REJECTED = 'rejected ';
const TEMPORARILY = 'temporarily rejected ';
const REFUSAL_WORDS = [REJECTED, TEMPORARILY];

/** SMTP stages of Exim's ACL names, in Postfix's words (what the correlator reads). */
function stageOf(what: string): string | undefined {
  if (what.startsWith('RCPT')) return 'RCPT';
  if (what.startsWith('MAIL')) return 'MAIL';
  if (what.startsWith('DATA')) return 'DATA';
  if (what.startsWith('after DATA') || what.startsWith('during MIME') || what.startsWith('by ')) {
    return 'END-OF-MESSAGE';
  }
  if (what.startsWith('EHLO') || what.startsWith('HELO')) return 'HELO';
  if (what.startsWith('connection')) return 'CONNECT';
  return undefined;
}

/** `<address>` or a bare word after `RCPT `/`MAIL `; the index after it. */
function commandAddress(text: string, at: number): { address: string; end: number } {
  if (text.charCodeAt(at) === 60) {
    const end = angleEnd(text, at);
    if (end > 0) return { address: normalizeAddress(text.slice(at, end)), end };
  }
  let end = at;
  while (end < text.length && text.charCodeAt(end) !== 32) end++;
  if (text.charCodeAt(end - 1) === 58) end--;
  return { address: normalizeAddress(text.slice(at, end)), end };
}

/**
 * A refusal whose fields (before `rejected`) were read into `fields`; `at` is where `rejected` or
 * `temporarily rejected` begins. VRFY/EXPN/ETRN/AUTH refusals are about no message: info.
 */
function refusal(text: string, at: number, fields: Fields, queueId: string | undefined): MailEvent {
  const temporary = text.startsWith(TEMPORARILY, at);
  const whatAt = at + (temporary ? TEMPORARILY.length : REJECTED.length);
  const stage = stageOf(text.slice(whatAt, whatAt + 12));
  const client = fields.host?.client;
  if (stage === undefined) return info('rejected-command', client, queueId);
  const event: RejectEvent = { kind: 'reject', action: 'reject', stage, reason: '' };
  if (queueId !== undefined) event.queueId = queueId;
  addSender(event, fields);
  let reasonAt = -1;
  if (stage === 'RCPT' || stage === 'MAIL') {
    const target = commandAddress(text, whatAt + 5);
    if (stage === 'RCPT') event.to = target.address;
    else event.from = target.address;
    reasonAt = target.end;
  } else {
    reasonAt = text.indexOf(': ', whatAt);
  }
  let reason = reasonAt >= 0 && text.startsWith(': ', reasonAt) ? text.slice(reasonAt + 2) : '';
  // The line itself says what was refused when no log message follows.
  if (reason === '') reason = text.slice(at);
  event.reason = bound(temporary ? `(temporary) ${reason}` : reason);
  return event;
}

/**
 * A line that may be a refusal: fields, then `rejected`/`temporarily rejected`. Returns null when the
 * line is not one (the caller tries other shapes).
 */
export function refusalLine(text: string, start: number, queueId?: string): MailEvent | null {
  const fields = readFields(text, start, REFUSAL_WORDS);
  if (fields.end >= text.length) return null;
  if (!text.startsWith(REJECTED, fields.end) && !text.startsWith(TEMPORARILY, fields.end)) return null;
  return refusal(text, fields.end, fields, queueId);
}

// --- host-first lines ----------------------------------------------------------------------------------

/** Words that end the fields of an `H=` line and say what it is. */
const HOST_LINE_WORDS = [
  REJECTED,
  TEMPORARILY,
  'sender verify ',
  'recipient verify ',
  'incomplete transaction',
  'Warning: ',
  'dropped',
  'RCPT ',
];

/**
 * `H=...` lines: refusals, a recipient discarded by the RCPT ACL (`RCPT <a>: discarded by RCPT ACL`),
 * a connection dropped by an ACL, sender/recipient verification, incomplete transactions, ACL warnings.
 */
function hostLine(text: string): MailEvent | null {
  const fields = readFields(text, 0, HOST_LINE_WORDS);
  const at = fields.end;
  if (at >= text.length) return null;
  if (text.startsWith(REJECTED, at) || text.startsWith(TEMPORARILY, at)) {
    return refusal(text, at, fields, undefined);
  }
  const client = fields.host?.client;
  if (text.startsWith('RCPT ', at)) {
    const target = commandAddress(text, at + 5);
    if (!text.startsWith(': discarded', target.end)) return null;
    const event: RejectEvent = {
      kind: 'reject',
      action: 'discard',
      stage: 'RCPT',
      to: target.address,
      reason: bound(text.slice(target.end + 2)),
    };
    addSender(event, fields);
    return event;
  }
  if (text.startsWith('dropped', at)) {
    // `H=[ip]:port dropped by 'connect' ACL: reason`: the connect ACL refused the connection.
    const event: RejectEvent = {
      kind: 'reject',
      action: 'reject',
      stage: 'CONNECT',
      reason: bound(text.slice(at)),
    };
    addSender(event, fields);
    return event;
  }
  if (text.startsWith('sender verify ', at) || text.startsWith('recipient verify ', at)) {
    return info('verify', client);
  }
  if (text.startsWith('incomplete transaction', at)) return info('incomplete-transaction', client);
  return info('warning', client);
}

/** Client, session, HELO and sender of a refusal, from the fields before it. */
function addSender(event: RejectEvent, fields: Fields): void {
  const client = fields.host?.client;
  if (client !== undefined && (client.ip !== undefined || client.name !== undefined)) {
    event.client = client;
    const session = sessionOf(client);
    if (session !== undefined) event.session = session;
  }
  if (fields.host?.helo !== undefined) event.helo = fields.host.helo;
  if (fields.from !== undefined) event.from = normalizeAddress(fields.from);
}

// --- connections ---------------------------------------------------------------------------------------

/**
 * `SMTP connection from X (TCP/IP connection count = N)` (the daemon, at accept), `... lost[ D=2s]`,
 * `... closed by QUIT|DROP in ACL|EOF`, `... D=0s closed by QUIT`, `Ci=123 from X ...` (4.97+).
 */
function smtpConnection(text: string): MailEvent | null {
  const from = text.indexOf('from ', 16);
  if (from < 0 || from > 40) return null;
  const host = readHost(text, from + 5);
  const rest = text.slice(host.end);
  if (host.client.ip === undefined && host.client.name === undefined) return null;
  if (rest.includes('(TCP/IP connection count')) return connect(host.client);
  if (rest.includes(' lost') || rest.includes(' closed by ') || rest.includes('D=')) {
    return disconnect(host.client, statsOf(rest));
  }
  if (rest.length === 0) return connect(host.client);
  return info('connection', host.client);
}

/** `D=2s` (the session's duration) and `C=EHLO,QUIT` (its commands), as Postfix keeps its statistics. */
function statsOf(rest: string): string | undefined {
  const d = rest.indexOf('D=');
  if (d < 0) return undefined;
  const end = rest.indexOf(' ', d);
  return bound(rest.slice(d, end < 0 ? rest.length : end), 100);
}

/** Session ends that name the client after the prefix (the session's process logs them as it exits). */
const SESSION_ENDS: readonly string[] = [
  'unexpected disconnection while reading SMTP command from ',
  'SMTP command timeout on connection from ',
  'SMTP command timeout on TLS connection from ',
  'SMTP data timeout (message abandoned) on connection from ',
  'SMTP data timeout (message abandoned) on TLS connection from ',
  'no MAIL in SMTP connection from ',
  'SMTP call from ',
];

/** Lines naming a client after a fixed prefix, with their info labels. */
const CLIENT_INFO: readonly (readonly [string, string])[] = [
  ['TLS error on connection from ', 'tls'],
  ['TLS error on TLS connection from ', 'tls'],
  ['TLS session: ', 'tls'],
  ['SMTP protocol error in ', 'protocol-error'],
  ['SMTP syntax error in ', 'protocol-error'],
  ['SMTP protocol synchronization error ', 'synchronization-error'],
];

/** Daemon and queue-runner lines, with their info labels. */
const DAEMON_INFO: readonly (readonly [string, string])[] = [
  ['Start queue run: ', 'queue-run'],
  ['Start ODMR queue run: ', 'queue-run'],
  ['End ODMR queue run: ', 'queue-run'],
  ['sender verify ', 'verify'],
  ['recipient verify ', 'verify'],
  ['ignoring AUTH=', 'auth'],
  ['ETRN ', 'etrn'],
  ['ATRN ', 'etrn'],
  ['too many recipients', 'warning'],
  ['Exim configuration error', 'warning'],
  ['End queue run: ', 'queue-run'],
  ['exim ', 'daemon'],
  ['pid ', 'daemon'],
  ['daemon ', 'daemon'],
  ['cwd=', 'arguments'],
  ['Warning: ', 'warning'],
  ['spool directory space ', 'warning'],
  ['log directory space ', 'warning'],
  ['Configuration file ', 'warning'],
  ['LOG: MAIN', 'warning'],
  ['host in ', 'acl'],
];

/**
 * `X authenticator failed for host [ip]:port [I=..]: 535 Incorrect authentication data (set_id=u)`:
 * a failed SMTP AUTH (smtp_in.c).
 */
function authFailure(text: string, marker: number): LoginEvent {
  const event: LoginEvent = { kind: 'login', service: 'smtp', success: false, method: text.slice(0, marker) };
  const host = readHost(text, marker + 26);
  if (host.client.ip !== undefined) event.remoteIp = host.client.ip;
  const colon = text.indexOf(': ', host.end);
  let reason = colon < 0 ? '' : text.slice(colon + 2);
  const setId = reason.lastIndexOf(' (set_id=');
  if (setId >= 0 && reason.endsWith(')')) {
    event.user = bound(reason.slice(setId + 9, -1), 512);
    reason = reason.slice(0, setId);
  }
  if (reason.length > 0) event.reason = bound(reason, 500);
  return event;
}

/** The first host item after `H=` or after a `from ` marker, for lines that name the client late. */
function clientAfter(text: string, marker: string, from = 0): ClientRef | undefined {
  const i = text.indexOf(marker, from);
  if (i < 0) return undefined;
  const host = readHost(text, i + marker.length);
  return host.client.ip !== undefined || host.client.name !== undefined ? host.client : undefined;
}

/** `no host name found for IP address 192.0.2.1`, `no IP address found for host x (during ...)`. */
function dnsLine(text: string): InfoEvent | null {
  if (text.startsWith('no host name found for IP address '))
    return info('dns', { ip: bound(text.slice(34), 64) });
  if (text.startsWith('no IP address found for host ')) {
    return info('dns', clientAfter(text, 'connection from '));
  }
  return null;
}

/** A line of Exim's main log that names no message. */
export function sessionLine(text: string): MailEvent | null {
  if (text.startsWith('H=')) return hostLine(text);
  if (text.startsWith('SMTP connection ')) return smtpConnection(text);
  const auth = text.indexOf(' authenticator failed for ');
  if (auth > 0 && auth < 64 && text.indexOf(' ') === auth) {
    return authFailure(text, auth);
  }
  for (const prefix of SESSION_ENDS) {
    if (!text.startsWith(prefix)) continue;
    const host = readHost(text, prefix.length);
    if (host.client.ip === undefined && host.client.name === undefined) return info('session-end');
    return disconnect(host.client, statsOf(text.slice(host.end)));
  }
  for (const [prefix, label] of CLIENT_INFO) {
    if (text.startsWith(prefix)) return info(label, clientAfter(text, 'H=') ?? clientAfter(text, 'from '));
  }
  const dns = dnsLine(text);
  if (dns !== null) return dns;
  if (text.startsWith('Connection from ')) return connectionRefused(text, 16);
  if (text.startsWith('rejected ')) return rejectedCommand(text);
  // Local SMTP (`exim -bs`) and non-SMTP refusals name the user and sender instead of a host.
  if (text.startsWith('U=') || text.startsWith('F=')) return hostLine(text);
  if (text.startsWith('refused connection from ')) return connectionRefused(text, 24);
  for (const [prefix, label] of DAEMON_INFO) {
    if (text.startsWith(prefix)) return info(label);
  }
  return null;
}

/**
 * `Connection from [ip] refused: too many connections` (smtp_accept_max_per_host and friends),
 * `refused connection from [ip] (host_reject_connection)`.
 */
function connectionRefused(text: string, at: number): MailEvent | null {
  const host = readHost(text, at);
  if (host.client.ip === undefined) return null;
  const refused = at === 16 ? text.indexOf(' refused', host.end) : -1;
  if (at === 16 && refused < 0) return info('connection', host.client);
  const event: RejectEvent = {
    kind: 'reject',
    action: 'reject',
    stage: 'CONNECT',
    client: host.client,
    reason: bound(refused < 0 ? text : text.slice(refused + 1)),
  };
  const session = sessionOf(host.client);
  if (session !== undefined) event.session = session;
  return event;
}

/** `rejected EHLO from X: syntactically invalid argument(s): ...` and other command syntax refusals. */
function rejectedCommand(text: string): MailEvent {
  const client = clientAfter(text, ' from ');
  const isHelo = text.startsWith('rejected EHLO ') || text.startsWith('rejected HELO ');
  if (!isHelo || client === undefined) return info('rejected-command', client);
  const colon = text.indexOf(': ', 9);
  const event: RejectEvent = {
    kind: 'reject',
    action: 'reject',
    stage: 'HELO',
    client,
    reason: bound(colon < 0 ? text : text.slice(colon + 2)),
  };
  const session = sessionOf(client);
  if (session !== undefined) event.session = session;
  return event;
}
