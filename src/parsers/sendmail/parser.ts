/**
 * Sendmail 8.x through syslog: `sendmail[pid]:`, `sm-mta[pid]:` (Debian's MTA daemon), `sm-msp-queue`
 * (the submission queue runner), and the process titles some systems log under
 * (`sm-acceptingconnections`).
 *
 * Per-message lines begin with the queue id (`u3P05kaI000640: `):
 * - `from=<s>, size=N, class=0, nrcpts=N, msgid=<id>, bodytype=8BITMIME, proto=ESMTP, daemon=MTA,
 *   relay=host [ip]` (srvrsmtp.c/envelope.c logsender(): the envelope was accepted);
 * - `to=<a>,<b>, [ctladdr=u (uid/gid),] delay=HH:MM:SS, xdelay=HH:MM:SS, mailer=esmtp, pri=N,
 *   relay=host. [ip], dsn=2.0.0, stat=Sent (reply)` (deliver.c logdelivery(): one attempt for every
 *   address of the list; a long list goes on in `to=... [more]` lines);
 * - `QID2: DSN: reason`, `QID2: return to sender: reason`, `QID2: sender notify: ...`,
 *   `QID2: postmaster notify: ...`: the notification QID2 was created (savemail.c);
 * - `ruleset=check_rcpt, arg1=<a>, relay=host [ip], reject=550 5.7.1 <a>... Relaying denied`
 *   (parseaddr.c rscheck(); with or without a queue id);
 * - `Milter: to=<a>, reject=...`, `Milter: data, reject=...`, `Milter: from=<a>, discard` (milter.c);
 * - `AUTH=server, relay=..., authid=user, mech=PLAIN, bits=0`, `STARTTLS=server, relay=..., ...`;
 * - `done; delay=..., ntries=N` (dropenvelope(), LogLevel > 9: the queue files were removed).
 * Default Sendmail logs no end of a queue entry: its entries end with the idle timeout or the input.
 */
import { normalizeAddress, normalizeMessageId } from '../../core/address.js';
import type {
  AttemptStatus,
  ClientRef,
  DeliveryEvent,
  InfoEvent,
  LoginEvent,
  MailEvent,
  NotificationEvent,
  QueueInfoEvent,
  RejectEvent,
} from '../../core/events.js';
import { bound } from '../../core/events.js';
import type { Frame } from '../../core/frame.js';
import { parseReply, queuedAs } from '../postfix/shared.js';
import type { ProgramParser } from '../types.js';
import {
  addressList,
  delaySeconds,
  type FieldList,
  fieldList,
  queueIdEnd,
  relayClient,
  relayText,
} from './fields.js';

function info(label: string, queueId?: string, client?: ClientRef): InfoEvent {
  const event: InfoEvent = { kind: 'info', label };
  if (queueId !== undefined) event.queueId = queueId;
  if (client !== undefined && (client.ip !== undefined || client.name !== undefined)) event.client = client;
  return event;
}

function clientOf(relay: string | undefined): ClientRef | undefined {
  return relay === undefined ? undefined : relayClient(relay);
}

function numberOf(value: string | undefined): number | undefined {
  if (value === undefined || value.length === 0 || value.length > 15) return undefined;
  const n = Number(value);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

// --- from= ------------------------------------------------------------------------------------------

function senderLine(queueId: string, fields: FieldList): QueueInfoEvent {
  const event: QueueInfoEvent = { kind: 'queue-info', queueId, starts: true };
  const from = fields.get('from');
  if (from !== undefined) event.from = normalizeAddress(from);
  const size = numberOf(fields.get('size'));
  if (size !== undefined) event.size = size;
  const nrcpt = numberOf(fields.get('nrcpts'));
  if (nrcpt !== undefined) event.nrcpt = nrcpt;
  const msgid = fields.get('msgid');
  if (msgid !== undefined) event.messageId = normalizeMessageId(msgid);
  const proto = fields.get('proto');
  if (proto !== undefined) event.proto = bound(proto, 32);
  const relay = fields.get('relay');
  if (relay !== undefined) {
    const client = relayClient(relay);
    if (client.ip !== undefined || client.name !== undefined) event.client = client;
  }
  return event;
}

// --- to= -----------------------------------------------------------------------------------------------

/**
 * `stat=` words: `Sent (reply)`, `Deferred: reason`, `queued` (accepted for a later queue run), and
 * for failures the error text itself (`User unknown`, `Service unavailable`, `Host unknown (...)`,
 * `Cannot send message for 5 days`). The dsn class settles a failure text: 4.x.x is temporary.
 */
function statusOf(stat: string | undefined, dsn: string | undefined): AttemptStatus | null {
  if (stat !== undefined) {
    if (stat.startsWith('Sent')) return 'sent';
    if (stat.startsWith('Deferred') || stat === 'queued' || stat.startsWith('queued ')) return 'deferred';
    if (dsn?.startsWith('4')) return 'deferred';
    return stat.length > 0 ? 'bounced' : null;
  }
  if (dsn === undefined) return null;
  if (dsn.startsWith('2')) return 'sent';
  if (dsn.startsWith('4')) return 'deferred';
  return dsn.startsWith('5') ? 'bounced' : null;
}

/** The text of `stat=`: the reply inside `Sent (...)`, the reason after `Deferred: `, else all of it. */
function replyOf(stat: string): string | undefined {
  if (stat.startsWith('Sent (')) return bound(stat.slice(6, stat.endsWith(')') ? -1 : undefined));
  if (stat === 'Sent') return undefined;
  if (stat.startsWith('Deferred: ')) return bound(stat.slice(10));
  return bound(stat);
}

function deliveryLine(queueId: string, fields: FieldList): DeliveryEvent | null {
  const list = fields.get('to');
  if (list === undefined) return null;
  const recipients = addressList(list);
  const first = recipients[0];
  // stat= runs to the end of the line, which may keep a CR of a CRLF file.
  const stat = fields.get('stat')?.trimEnd();
  const dsn = fields.get('dsn');
  const status = statusOf(stat, dsn);
  if (first === undefined || status === null) return null;
  const event: DeliveryEvent = { kind: 'delivery', queueId, to: first, status };
  if (recipients.length > 1) event.alsoTo = recipients.slice(1);
  const relay = fields.get('relay');
  const client = relay === undefined ? undefined : relayClient(relay);
  const relayName = client === undefined ? undefined : relayText(client);
  const mailer = fields.get('mailer');
  if (relayName !== undefined) event.relay = bound(relayName, 512);
  else if (mailer !== undefined) event.relay = bound(mailer, 64);
  const delayText = fields.get('delay');
  const delay = delayText === undefined ? undefined : delaySeconds(delayText);
  if (delay !== undefined) event.delay = delay;
  if (dsn !== undefined) event.dsn = bound(dsn, 20);
  const reply = stat === undefined ? undefined : replyOf(stat);
  if (reply !== undefined) {
    event.reply = reply;
    if (status === 'sent') {
      const next = queuedAs(reply);
      if (next !== undefined) event.queuedAs = next;
    }
    if (event.dsn === undefined) {
      const parsed = parseReply(reply);
      if (parsed.dsn !== undefined) event.dsn = parsed.dsn;
    }
  }
  return event;
}

// --- notifications -------------------------------------------------------------------------------------

/** What savemail.c says it sent, after `QID: QID2: `, and the notification it is. */
const NOTIFICATIONS: readonly (readonly [string, string])[] = [
  ['DSN: ', 'non-delivery'],
  ['return to sender: ', 'non-delivery'],
  ['sender notify: ', 'non-delivery'],
  ['postmaster notify: ', 'postmaster non-delivery'],
];

function notificationLine(queueId: string, dsnId: string, rest: string): MailEvent | null {
  for (const [prefix, kind] of NOTIFICATIONS) {
    if (!rest.startsWith(prefix)) continue;
    const reason = rest.slice(prefix.length);
    let notification = kind;
    if (reason.startsWith('Warning: ')) notification = kind.replace('non-delivery', 'delay');
    else if (reason.startsWith('Return receipt')) notification = 'delivery';
    const event: NotificationEvent = {
      kind: 'notification',
      queueId,
      notificationQueueId: dsnId,
      notification,
    };
    // The queue lifetime ran out (`Cannot send message for 5 days`): every address still waiting fails.
    if (reason.startsWith('Cannot send message for ')) event.settlesDeferred = true;
    return event;
  }
  // `clone: owner=owner-list`: the addresses of a list with an owner- alias go on as their own envelope.
  if (rest.startsWith('clone: ') || rest.startsWith('split: ')) return info('clone', queueId);
  return null;
}

// --- refusals ------------------------------------------------------------------------------------------

/** SMTP stages of Sendmail's check rulesets, in Postfix's words (what the correlator reads). */
const RULESET_STAGES = new Map<string, string>([
  ['check_relay', 'CONNECT'],
  ['check_helo', 'HELO'],
  ['check_mail', 'MAIL'],
  ['check_rcpt', 'RCPT'],
  ['check_data', 'DATA'],
  ['check_eoh', 'END-OF-MESSAGE'],
  ['check_eom', 'END-OF-MESSAGE'],
]);

function withClient(event: RejectEvent, relay: string | undefined): void {
  if (relay === undefined) return;
  const client = relayClient(relay);
  if (client.ip !== undefined || client.name !== undefined) event.client = client;
}

function withReply(event: RejectEvent, reply: string): void {
  const parsed = parseReply(reply);
  if (parsed.code !== undefined) event.code = parsed.code;
  if (parsed.dsn !== undefined) event.dsn = parsed.dsn;
  event.reason = parsed.text;
}

/**
 * `ruleset=check_rcpt, arg1=<a>, [arg2=..., ]relay=host [ip], reject=550 5.7.1 <a>... text` (also
 * `, discard` and `, quarantine=reason`). Rulesets that are no SMTP stage (check_compat at delivery,
 * check_vrfy, tls_client...) are kept as info.
 */
function rulesetLine(queueId: string | undefined, fields: FieldList): MailEvent {
  const ruleset = fields.get('ruleset') ?? '';
  const stage = RULESET_STAGES.get(ruleset);
  const reject = fields.get('reject');
  const quarantine = fields.get('quarantine');
  const discard = fields.get('discard') !== undefined;
  if (stage === undefined || (reject === undefined && quarantine === undefined && !discard)) {
    return info('ruleset', queueId, clientOf(fields.get('relay')));
  }
  const action = reject !== undefined ? 'reject' : quarantine !== undefined ? 'hold' : 'discard';
  const event: RejectEvent = { kind: 'reject', action, stage, reason: '' };
  if (queueId !== undefined) event.queueId = queueId;
  withClient(event, fields.get('relay'));
  const arg1 = fields.get('arg1');
  if (arg1 !== undefined && stage === 'RCPT') event.to = normalizeAddress(arg1);
  if (arg1 !== undefined && stage === 'MAIL') event.from = normalizeAddress(arg1);
  if (reject !== undefined) withReply(event, reject);
  else event.reason = bound(quarantine ?? 'discarded by ruleset');
  return event;
}

/** `Milter: to=<a>, reject=550 ...`, `Milter: data, reject=...`, `Milter: from=<a>, discard` (milter.c). */
function milterLine(queueId: string | undefined, text: string): MailEvent {
  const fields = fieldList(text, 8, 'reject');
  const reject = fields?.get('reject');
  const discard = text.endsWith(', discard');
  if (fields === null && text.startsWith('Milter: data, ')) {
    return milterAction(queueId, 'END-OF-MESSAGE', undefined, text, discard);
  }
  if (fields === null || (reject === undefined && !discard)) return info('milter', queueId);
  const stage =
    fields.get('to') !== undefined
      ? 'RCPT'
      : fields.get('from') !== undefined
        ? 'MAIL'
        : fields.get('helo')
          ? 'HELO'
          : 'CONNECT';
  return milterAction(queueId, stage, fields, text, discard);
}

function milterAction(
  queueId: string | undefined,
  stage: string,
  fields: FieldList | undefined,
  text: string,
  discard: boolean,
): RejectEvent {
  const event: RejectEvent = {
    kind: 'reject',
    action: discard ? 'discard' : 'milter-reject',
    stage,
    reason: 'discarded by milter',
  };
  if (queueId !== undefined) event.queueId = queueId;
  const to = fields?.get('to');
  const from = fields?.get('from');
  if (to !== undefined) event.to = normalizeAddress(to);
  if (from !== undefined) event.from = normalizeAddress(from);
  const reject = text.indexOf('reject=');
  if (!discard && reject >= 0) withReply(event, text.slice(reject + 7));
  return event;
}

// --- AUTH and TLS -------------------------------------------------------------------------------------

/**
 * `AUTH=server, relay=host [ip], authid=user, mech=PLAIN, bits=0`: who authenticated, for the envelope
 * whose from= line follows. `AUTH=client, ...` (this host authenticating to a relay) is info.
 */
function authLine(queueId: string | undefined, text: string): MailEvent {
  const fields = fieldList(text, 0, '');
  if (fields === null || queueId === undefined || !text.startsWith('AUTH=server')) {
    return info('auth', queueId, clientOf(fields?.get('relay')));
  }
  const event: QueueInfoEvent = { kind: 'queue-info', queueId, starts: false };
  const authid = fields.get('authid');
  if (authid !== undefined) event.saslUsername = bound(authid, 512);
  const relay = fields.get('relay');
  if (relay !== undefined) {
    const client = relayClient(relay);
    if (client.ip !== undefined || client.name !== undefined) event.client = client;
  }
  return event;
}

/**
 * `AUTH failure (LOGIN): authentication failure (-13) SASL(-13): ..., user=u, relay=host [ip]`. The
 * user name is the client's text and may hold `, relay=`: the relay is the last one (Sendmail's own).
 */
function authFailure(text: string): LoginEvent {
  const close = text.indexOf('): ', 14);
  const event: LoginEvent = {
    kind: 'login',
    service: 'smtp',
    success: false,
    method: close > 14 && close < 64 ? text.slice(14, close) : 'unknown',
  };
  const relayAt = text.lastIndexOf(', relay=');
  if (relayAt >= 0) {
    const ip = relayClient(text.slice(relayAt + 8)).ip;
    if (ip !== undefined) event.remoteIp = ip;
  }
  const end = relayAt >= 0 ? relayAt : text.length;
  const userAt = text.lastIndexOf(', user=', end);
  if (userAt >= 0) {
    const userEnd = text.indexOf(', relay=', userAt);
    event.user = bound(text.slice(userAt + 7, userEnd < 0 ? end : userEnd), 512);
  }
  const reasonEnd = userAt >= 0 ? userAt : end;
  if (close > 0 && close + 3 < reasonEnd) event.reason = bound(text.slice(close + 3, reasonEnd), 500);
  return event;
}

// --- session chatter ---------------------------------------------------------------------------------

/** The client named before a marker: `host [ip] (may be forged) did not issue ...`, `[ip]: possible ...`. */
function clientBefore(text: string, marker: number): ClientRef {
  let end = marker;
  if (text.charCodeAt(end - 1) === 58 /* : */) end--;
  return relayClient(text.slice(0, end));
}

/** The client after `from `: `lost input channel from host [ip] to MTA after rcpt`. */
function clientAfterFrom(text: string, from: number, stop: string): ClientRef {
  let end = text.indexOf(stop, from);
  if (end < 0) end = text.length;
  return relayClient(text.slice(from, end));
}

/** Lines of an SMTP session or of a queue entry that carry nothing for correlation, with their labels. */
function sessionLine(queueId: string | undefined, text: string): MailEvent | null {
  const notIssued = text.indexOf(' did not issue MAIL/EXPN/VRFY/ETRN');
  if (notIssued > 0) return info('no-mail', queueId, clientBefore(text, notIssued));
  if (text.startsWith('lost input channel from ')) {
    return info('lost-connection', queueId, clientAfterFrom(text, 24, ' to '));
  }
  if (text.startsWith('timeout waiting for input from ')) {
    return info('timeout', queueId, clientAfterFrom(text, 31, ' during '));
  }
  if (text.startsWith('rejecting commands from ')) {
    return info('pregreet', queueId, clientAfterFrom(text, 24, ' due to '));
  }
  const attack = text.indexOf(': possible SMTP attack: ');
  if (attack > 0) return info('smtp-attack', queueId, clientBefore(text, attack));
  if (text.endsWith(' [rejected]')) return info('vrfy', queueId);
  const etrn = text.indexOf(': ETRN ');
  if (etrn > 0) return info('etrn', queueId, clientBefore(text, etrn + 1));
  // `mx.example.: SMTP DATA-2 protocol error: 571 ...`: what the next hop answered during a delivery.
  if (text.includes(' protocol error: ')) return info('remote-error', queueId);
  if (text.startsWith('<')) {
    // `<addr>... User unknown`: Sendmail's usrerr() text about an address, logged for SMTP refusals and
    // for delivery failures alike (a delivery's to= line says the same): evidence only.
    return info('address-error', queueId);
  }
  for (const [prefix, label] of SESSION_PREFIXES) {
    if (text.startsWith(prefix)) return info(label, queueId);
  }
  return null;
}

const SESSION_PREFIXES: readonly (readonly [string, string])[] = [
  ['STARTTLS', 'tls'],
  ['TLS', 'tls'],
  ['SYSERR', 'syserr'],
  ['collect: ', 'collect'],
  ['message size ', 'size'],
  ['Syntax error in mailbox address', 'syntax-error'],
  ['Fixed MIME ', 'mime'],
  ['Authentication-Warning: ', 'warning'],
  ['SMTP outgoing connect ', 'connect'],
  ['connect from ', 'connect'],
  ['discarded', 'discarded'],
  ['headers too large', 'size'],
  ['Losing ', 'syserr'],
  ['low on space', 'warning'],
  ['makeconnection', 'connect'],
  ['Quarantine', 'quarantine'],
  ['setsender: ', 'warning'],
  ['sender=', 'warning'],
  ['putbody', 'syserr'],
];

/** Lines without a queue id: the daemon and its queue runners. */
const DAEMON_PREFIXES: readonly (readonly [string, string])[] = [
  ['starting daemon ', 'daemon'],
  ['stopping daemon', 'daemon'],
  ['restarting ', 'daemon'],
  ['accepting connections', 'daemon'],
  ['rejecting connections', 'daemon'],
  ['runqueue', 'queue-run'],
  ['grew WorkList ', 'queue-run'],
  ['File descriptors missing', 'warning'],
  ['gethostbyaddr(', 'dns'],
  ['alias database ', 'aliases'],
  ['/etc/', 'aliases'],
  ['/etc/mail/', 'aliases'],
];

// --- dispatch ---------------------------------------------------------------------------------------

/** What follows `QID: ` (or `NOQUEUE: `, or nothing): `queueId` is undefined for the latter two. */
function body(queueId: string | undefined, text: string): MailEvent | null {
  const c = text.charCodeAt(0);
  if (queueId !== undefined) {
    if (c === 102 /* f */ && text.startsWith('from=')) {
      const fields = fieldList(text, 0, 'relay');
      return fields === null ? null : senderLine(queueId, fields);
    }
    if (c === 116 /* t */ && text.startsWith('to=')) {
      const fields = fieldList(text, 0, 'stat');
      return fields === null ? null : deliveryLine(queueId, fields);
    }
    if (text.startsWith('done; ')) return { kind: 'queue-removed', queueId };
    const second = queueIdEnd(text, 0);
    if (second > 0) return notificationLine(queueId, text.slice(0, second), text.slice(second + 2));
  }
  if (text.startsWith('ruleset=')) {
    const fields = fieldList(text, 0, 'reject');
    return fields === null ? null : rulesetLine(queueId, fields);
  }
  if (text.startsWith('Milter') || text.startsWith('milter')) return milterLine(queueId, text);
  if (text.startsWith('AUTH failure (')) return authFailure(text);
  if (text.startsWith('AUTH')) return authLine(queueId, text);
  const session = sessionLine(queueId, text);
  if (session !== null || queueId !== undefined) return session;
  for (const [prefix, label] of DAEMON_PREFIXES) {
    if (text.startsWith(prefix)) return info(label);
  }
  return null;
}

export function parseSendmailText(text: string): MailEvent | null {
  if (text.startsWith('NOQUEUE: ')) return body(undefined, text.slice(9));
  const colon = queueIdEnd(text, 0);
  if (colon > 0) return body(text.slice(0, colon), text.slice(colon + 2));
  return body(undefined, text);
}

export const sendmailParser: ProgramParser = {
  name: 'sendmail',
  handles(program: string): boolean {
    return program === 'sendmail' || program.startsWith('sm-');
  },
  parse(frame: Frame): MailEvent | null {
    return parseSendmailText(frame.text);
  },
};
