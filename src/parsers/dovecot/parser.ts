/**
 * Dovecot: LDA/LMTP deliveries (with Pigeonhole Sieve actions), logins and authentication failures.
 *
 * A Dovecot line is `service(args)<pid><session>: [Level: ]message`, where everything but the service
 * name is optional (`imap-login: ...`, `lmtp(1234): ...`, `lmtp(alice)<1234><Ab3X...>: ...`, Dovecot 2.2's
 * `lmtp(1234, alice): SESSION: ...`). The level prefix is written in Dovecot's own `log_path` files and
 * sometimes in syslog; Dovecot 1.x put it before the service (`Info: imap-login: ...`).
 *
 * Deliveries are logged through `deliver_log_format` (default `msgid=%m: %$`, src/lib-lda/mail-deliver.c)
 * where `%$` is the status (`saved mail to INBOX`, `save failed to INBOX: Quota exceeded`, `rejected: ...`),
 * or by Sieve with a `sieve: ` prefix (`stored mail into mailbox 'INBOX'`, `forwarded to <bob@x>`, ...).
 */
import { normalizeAddress, normalizeMessageId } from '../../core/address.js';
import {
  bound,
  type InfoEvent,
  type LoginEvent,
  type MailboxDeliveryEvent,
  type MailEvent,
} from '../../core/events.js';
import type { Frame } from '../../core/frame.js';
import type { ProgramParser } from '../types.js';

type Outcome = MailboxDeliveryEvent['outcome'];

const MAX_SERVICE = 64;
const MAX_ARGS = 512;
const MAX_TOKEN = 256;
const MAX_ID = 998;
const MAX_MAILBOX = 512;

/** Levels Dovecot writes in front of a message; the value is the info label when nothing else matches. */
const LEVELS: readonly (readonly [string, string])[] = [
  ['Info: ', 'info'],
  ['Warning: ', 'warning'],
  ['Error: ', 'error'],
  ['Fatal: ', 'fatal'],
  ['Panic: ', 'panic'],
  ['Debug: ', 'debug'],
  ['Warn: ', 'warning'],
];

/** The service prefix of one line, read in place. Reused: the parser is synchronous and per line. */
interface Prefix {
  service: string;
  args: string;
  pid: string;
  session: string;
  /** Index of the message after `: `. */
  body: number;
}

// --- small scanners --------------------------------------------------------------------------------

function isServiceChar(c: number): boolean {
  return (
    (c >= 97 && c <= 122) || // a-z
    (c >= 65 && c <= 90) || // A-Z
    (c >= 48 && c <= 57) || // 0-9
    c === 45 || // -
    c === 95 || // _
    c === 46 // .
  );
}

/** Index in LEVELS of the level prefix at `at`, or -1. */
function levelAt(text: string, at: number): number {
  const c = text.charCodeAt(at);
  // Every level starts with an upper-case letter among I W E F P D.
  if (c !== 73 && c !== 87 && c !== 69 && c !== 70 && c !== 80 && c !== 68) return -1;
  for (let i = 0; i < LEVELS.length; i++) {
    if (text.startsWith(LEVELS[i]![0], at)) return i;
  }
  return -1;
}

/**
 * Reads `service(args)<a><b>: ` at `at`. Returns false when the text does not start with such a prefix.
 * The closing parenthesis is the first one followed by `<` or `:` (a user name may hold a `)`).
 */
function readPrefix(text: string, at: number, out: Prefix): boolean {
  let i = at;
  const end = Math.min(text.length, at + MAX_SERVICE);
  while (i < end && isServiceChar(text.charCodeAt(i))) i++;
  if (i === at) return false;
  out.service = text.slice(at, i);
  out.args = '';
  out.pid = '';
  out.session = '';
  if (text.charCodeAt(i) === 40 /* ( */) {
    let close = text.indexOf(')', i + 1);
    while (close >= 0 && close - i <= MAX_ARGS) {
      const next = text.charCodeAt(close + 1);
      if (next === 60 /* < */ || next === 58 /* : */) break;
      close = text.indexOf(')', close + 1);
    }
    if (close < 0 || close - i > MAX_ARGS) return false;
    out.args = text.slice(i + 1, close);
    i = close + 1;
  }
  for (let n = 0; n < 2 && text.charCodeAt(i) === 60 /* < */; n++) {
    const close = text.indexOf('>', i + 1);
    if (close < 0 || close - i > MAX_TOKEN) return false;
    const token = text.slice(i + 1, close);
    if (out.pid === '' && out.session === '' && isDigits(token)) out.pid = token;
    else out.session = token;
    i = close + 1;
  }
  if (text.charCodeAt(i) !== 58 /* : */ || text.charCodeAt(i + 1) !== 32) return false;
  out.body = i + 2;
  return true;
}

function isDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Dovecot 2.2's session id before the message: 22 base64 characters (a GUID), `:N` for the Nth recipient. */
const SESSION_ID = /[A-Za-z0-9+/]{22}(?::\d{1,6})?(?=: )/y;

function sessionIdLength(text: string, at: number): number {
  SESSION_ID.lastIndex = at;
  const m = SESSION_ID.exec(text);
  return m === null ? 0 : m[0].length;
}

/** Value of `key=` (searched from `from`) up to `,` or space, or undefined. */
function valueAfter(text: string, key: string, from: number): string | undefined {
  const at = text.indexOf(key, from);
  return at < 0 ? undefined : valueAt(text, at + key.length);
}

/** The value starting at `start`, up to `,` or space, or undefined when empty. */
function valueAt(text: string, start: number): string | undefined {
  let end = start;
  while (end < text.length && end - start < MAX_TOKEN) {
    const c = text.charCodeAt(end);
    if (c === 44 || c === 32) break;
    end++;
  }
  return end > start ? text.slice(start, end) : undefined;
}

/** Dovecot user names: addresses are normalised like addresses, plain names lower-cased. */
function normalizeUser(user: string): string {
  return user.includes('@') ? normalizeAddress(user) : bound(user.trim(), 512).toLowerCase();
}

function info(label: string): InfoEvent {
  return { kind: 'info', label };
}

function levelInfo(level: number): InfoEvent {
  return info(LEVELS[level]![1]);
}

// --- deliveries -------------------------------------------------------------------------------------

/**
 * How the text after a status phrase is read: `mailbox` as is (`saved mail to INBOX`), `quoted-mailbox`
 * (`stored mail into mailbox 'INBOX'`), `address` (forward, vacation and duplicate targets), `status`
 * (the whole status is the detail), `after` (the text after the phrase is the detail), `mailbox-error`
 * (`save failed to INBOX: Quota exceeded`), `quoted-mailbox-error` (`failed to store into mailbox
 * 'INBOX': ...`), `none` (`marked message to be discarded ...`).
 */
type Tail =
  | 'mailbox'
  | 'quoted-mailbox'
  | 'address'
  | 'status'
  | 'after'
  | 'mailbox-error'
  | 'quoted-mailbox-error'
  | 'none';

interface Phrase {
  /** The phrase without its first letter, which is compared case-insensitively. */
  rest: string;
  first: number;
  length: number;
  outcome: Outcome;
  tail: Tail;
}

function phrase(text: string, outcome: Outcome, tail: Tail): Phrase {
  return { rest: text.slice(1), first: text.charCodeAt(0) | 0x20, length: text.length, outcome, tail };
}

/**
 * Statuses written by mail_deliver_log() (lib-lda, lda, lmtp) and by Pigeonhole's actions
 * (sieve-actions.c, cmd-redirect.c, cmd-discard.c, ext-reject.c, cmd-vacation.c). Longer phrases
 * first where one starts another. Newer Pigeonhole capitalises some (`Marked message ...`).
 */
const PHRASES: readonly Phrase[] = [
  phrase('saved mail to ', 'saved', 'mailbox'),
  phrase('stored mail into mailbox ', 'saved', 'quoted-mailbox'),
  phrase('forwarded to ', 'forwarded', 'address'),
  phrase('delivered mail to ', 'forwarded', 'after'),
  phrase('sent vacation response to ', 'vacation', 'address'),
  phrase('marked message to be discarded', 'discarded', 'none'),
  phrase('discarded duplicate forward to ', 'duplicate', 'address'),
  phrase('rejected message from ', 'rejected', 'status'),
  phrase('not sending reject message', 'rejected', 'status'),
  phrase('rejected: ', 'rejected', 'after'),
  phrase('save failed to open mailbox ', 'failed', 'mailbox-error'),
  phrase('save failed to ', 'failed', 'mailbox-error'),
  phrase('failed to store into mailbox ', 'failed', 'quoted-mailbox-error'),
  phrase('store into mailbox ', 'failed', 'quoted-mailbox-error'),
];

function phraseAt(text: string, at: number): Phrase | undefined {
  const c = text.charCodeAt(at) | 0x20;
  for (const p of PHRASES) {
    if (p.first === c && text.startsWith(p.rest, at + 1)) return p;
  }
  return undefined;
}

/**
 * Finds the delivery status in `body` (from `from`): the last `: ` followed by a known phrase, or a
 * phrase at `from` itself (a `deliver_log_format` of just `%$`). The status comes last in the format
 * and the Message-ID before it is the sender's to choose, so the last match is the real one.
 */
function findStatus(body: string, from: number): number {
  let at = body.lastIndexOf(': ');
  while (at >= from) {
    if (phraseAt(body, at + 2) !== undefined) return at + 2;
    if (at === 0) break;
    at = body.lastIndexOf(': ', at - 1);
  }
  return phraseAt(body, from) !== undefined ? from : -1;
}

function unquote(s: string): string {
  return s.length >= 2 && s.startsWith("'") && s.endsWith("'") ? s.slice(1, -1) : s;
}

function agentOf(service: string): string | undefined {
  if (service === 'lmtp') return 'lmtp';
  if (service === 'lda' || service === 'deliver' || service === 'dovecot-lda') return 'lda';
  return undefined;
}

/** `alice`, `alice@example.org`, Dovecot 2.2's `1234, alice`; a bare pid has no user. */
function userOf(args: string): string | undefined {
  const comma = args.indexOf(', ');
  const user = comma >= 0 ? args.slice(comma + 2) : args;
  if (user === '' || isDigits(user)) return undefined;
  return normalizeUser(user);
}

/** `msgid=<id>` or `msgid=unspecified` or a bare id, read up to the status. */
function messageIdIn(body: string, from: number, statusAt: number): string | undefined {
  const at = body.indexOf('msgid=', from);
  if (at < 0 || at >= statusAt) return undefined;
  const start = at + 6;
  const end = Math.max(start, statusAt - 2);
  let value: string;
  if (body.charCodeAt(start) === 60 /* < */) {
    const close = body.indexOf('>', start);
    value = body.slice(start, close >= 0 && close < end ? close + 1 : end);
  } else {
    let stop = start;
    while (stop < end && body.charCodeAt(stop) !== 44 && body.charCodeAt(stop) !== 32) stop++;
    value = body.slice(start, stop);
  }
  if (value === '' || value === 'unspecified') return undefined;
  return normalizeMessageId(value);
}

function parseDelivery(
  text: string,
  from: number,
  agent: string,
  user: string,
  session: string,
): MailboxDeliveryEvent | null {
  const statusAt = findStatus(text, from);
  if (statusAt < 0) return null;
  const p = phraseAt(text, statusAt)!;
  const event: MailboxDeliveryEvent = { kind: 'mailbox-delivery', user, outcome: p.outcome, agent };
  const messageId = messageIdIn(text, from, statusAt);
  if (messageId !== undefined) event.messageId = messageId;
  if (session !== '') event.session = session;
  const tail = text.slice(statusAt + p.length).trim();
  switch (p.tail) {
    case 'mailbox':
      if (tail !== '') event.mailbox = bound(tail, MAX_MAILBOX);
      break;
    case 'quoted-mailbox':
      if (tail !== '') event.mailbox = bound(unquote(tail), MAX_MAILBOX);
      break;
    case 'address':
      if (tail !== '') event.detail = normalizeAddress(tail);
      break;
    case 'status':
      event.detail = bound(text.slice(statusAt).trim());
      break;
    case 'after':
      if (tail !== '') event.detail = bound(tail);
      break;
    case 'mailbox-error':
    case 'quoted-mailbox-error': {
      const quoted = p.tail === 'quoted-mailbox-error' && tail.startsWith("'");
      const sep = quoted ? tail.indexOf("'", 1) + 1 : tail.indexOf(': ');
      const name = sep > 0 ? tail.slice(0, sep) : tail;
      const mailbox = quoted ? unquote(name) : name;
      if (mailbox !== '') event.mailbox = bound(mailbox, MAX_MAILBOX);
      const rest = sep > 0 ? tail.slice(sep).replace(/^:? */, '') : '';
      if (rest !== '') event.detail = bound(rest);
      break;
    }
    case 'none':
      break;
  }
  return event;
}

// --- logins -----------------------------------------------------------------------------------------

/** Where the `user=<...>, method=..., rip=...` list starts: after the login service's own message. */
function paramsStart(body: string, from: number): number {
  for (const key of [': user=<', ': method=', ': rip=']) {
    const at = body.indexOf(key, from);
    if (at >= 0) return at;
  }
  return -1;
}

/** Messages of a `*-login` process that mean an authentication attempt failed or was refused. */
function isLoginFailure(message: string): boolean {
  return (
    message.includes('auth failed') ||
    message.includes('(auth_failed)') ||
    message.includes('plaintext auth') ||
    message.includes('Maximum number of connections') ||
    // Dovecot 1.x: `Aborted login (1 authentication attempts)`.
    (message.includes('authentication attempt') && !message.includes('no authentication attempt'))
  );
}

/**
 * The user of a login line. The user is the client's to choose, so it ends at the last `>` before the
 * real `method=`/`rip=` keys, which are found from the right.
 */
function loginUser(body: string, params: number, methodAt: number, ripAt: number): string | undefined {
  const at = body.indexOf('user=<', params);
  if (at < 0) return undefined;
  let limit = ripAt;
  if (methodAt > at && (limit < 0 || methodAt < limit)) limit = methodAt;
  const close = limit > at ? body.lastIndexOf('>', limit) : body.indexOf('>', at + 6);
  if (close < at + 6) return undefined;
  const user = body.slice(at + 6, close);
  return user === '' ? undefined : normalizeUser(user);
}

function parseLogin(service: string, body: string, from: number): MailEvent | null {
  const name = service.slice(0, -6); // `imap-login` → `imap`
  const params = paramsStart(body, from);
  const message = params >= 0 ? body.slice(from, params) : body.slice(from);
  const success = message === 'Login';
  if (!success && !isLoginFailure(message)) {
    if (
      message.startsWith('Disconnected') ||
      message.startsWith('Aborted login') ||
      message.startsWith('Login aborted') ||
      message.startsWith('Connection closed')
    ) {
      return info('disconnect');
    }
    return message.startsWith('proxy(') ? info('proxy') : null;
  }
  const event: LoginEvent = { kind: 'login', service: name, success };
  if (params >= 0) {
    // The keys are found from the right: the user name before them is the client's to choose.
    const ripAt = body.lastIndexOf(', rip=');
    const methodAt = body.lastIndexOf(', method=');
    const user = loginUser(body, params, methodAt, ripAt);
    if (user !== undefined) event.user = user;
    const method = methodAt > params ? valueAt(body, methodAt + 9) : valueAfter(body, 'method=', params);
    if (method !== undefined) event.method = method;
    const ipFrom = Math.max(ripAt, params);
    const rip = valueAfter(body, 'rip=', ipFrom);
    if (rip !== undefined) event.remoteIp = rip;
    const lip = valueAfter(body, 'lip=', ipFrom);
    if (lip !== undefined) event.localIp = lip;
  }
  if (!success) event.reason = bound(message);
  return event;
}

// --- authentication ---------------------------------------------------------------------------------

const AUTH_FAILURES: readonly string[] = [
  'unknown user',
  'password mismatch',
  'pam_authenticate() failed',
  'invalid credentials',
  'user not found',
  'authentication failure',
  'user not known',
];

function isAuthFailure(message: string): boolean {
  const lower = message.toLowerCase();
  for (const f of AUTH_FAILURES) if (lower.includes(f)) return true;
  return false;
}

/** `auth_verbose_passwords` appends the password (or its hash) to the reason: never keep it. */
function withoutPassword(reason: string): string {
  const at = reason.search(/ \((?:[A-Za-z0-9-]+ of )?given password: /);
  return at >= 0 ? reason.slice(0, at) : reason;
}

function authFailure(user: string | undefined, ip: string | undefined, reason: string): LoginEvent {
  const event: LoginEvent = { kind: 'login', service: 'auth', success: false };
  if (user !== undefined && user !== '') event.user = normalizeUser(user);
  if (ip !== undefined && ip !== '') event.remoteIp = ip;
  event.reason = bound(withoutPassword(reason.trim()));
  return event;
}

/**
 * auth and auth-worker lines: `pam(user,ip[,<session>]): message`, optionally behind
 * `conn unix:auth-worker (pid=..,uid=..): auth-worker<N>: `; Dovecot 2.4 puts user and ip in the
 * service prefix (`auth(user,ip,sasl:plain)<session>: sql: message`).
 */
function parseAuth(prefixArgs: string, body: string, from: number, level: number): MailEvent | null {
  let at = from;
  if (body.startsWith('conn ', at)) {
    const close = body.indexOf('>: ', at);
    if (close >= 0) at = close + 3;
  }
  if (body.startsWith('pam_unix(', at)) return pamUnix(body);
  const open = body.indexOf('(', at);
  const colon = body.indexOf(': ', at);
  if (open > at && (colon < 0 || open < colon)) {
    // `driver(user,ip[,<session>]): message`
    const close = body.indexOf('): ', open);
    if (close > 0 && close - open <= MAX_ARGS && isServiceName(body, at, open)) {
      const message = body.slice(close + 3);
      if (isAuthFailure(message)) {
        const args = body.slice(open + 1, close).split(',');
        return authFailure(args[0], args[1], message);
      }
      return level > 0 ? levelInfo(level) : info('auth');
    }
  } else if (colon > at && prefixArgs.includes(',') && isServiceName(body, at, colon)) {
    // Dovecot 2.4: `auth(user,ip,sasl:plain)<session>: driver: message`
    const message = body.slice(colon + 2);
    if (isAuthFailure(message)) {
      const args = prefixArgs.split(',');
      return authFailure(args[0], args[1], message);
    }
    return level > 0 ? levelInfo(level) : info('auth');
  }
  return level > 0 ? levelInfo(level) : null;
}

function isServiceName(text: string, start: number, end: number): boolean {
  if (end <= start || end - start > MAX_SERVICE) return false;
  for (let i = start; i < end; i++) if (!isServiceChar(text.charCodeAt(i))) return false;
  return true;
}

/** `pam_unix(dovecot:auth): authentication failure; logname= uid=0 ... ruser= rhost=1.2.3.4  user=x` */
function pamUnix(body: string): MailEvent | null {
  if (!body.includes('authentication failure')) return info('auth');
  let user: string | undefined;
  let limit = body.length;
  const userAt = body.lastIndexOf('  user=');
  if (userAt >= 0) {
    user = body.slice(userAt + 7).trim();
    limit = userAt;
  }
  const hostAt = body.lastIndexOf(' rhost=', limit);
  const host = hostAt >= 0 ? body.slice(hostAt + 7, limit).trim() : undefined;
  return authFailure(user, host, 'authentication failure');
}

// --- the rest ---------------------------------------------------------------------------------------

const MAIL_SERVICES = new Set(['imap', 'pop3', 'managesieve', 'submission', 'IMAP', 'POP3', 'lmtp']);

function parseSessionEnd(body: string, from: number): InfoEvent | null {
  if (body.startsWith('Logged out', from) || body.startsWith('Disconnected: Logged out', from)) {
    return info('logout');
  }
  if (
    body.startsWith('Disconnected', from) ||
    body.startsWith('Connection closed', from) ||
    body.startsWith('Server shutting down', from)
  ) {
    return info('disconnect');
  }
  return null;
}

function parseMaster(body: string, from: number): InfoEvent | null {
  if (body.startsWith('Dovecot v', from) && body.includes(' starting up', from)) return info('startup');
  if (body.startsWith('Killed with signal', from)) return info('shutdown');
  if (body.startsWith('SIGHUP received', from)) return info('reload');
  return null;
}

const prefix: Prefix = { service: '', args: '', pid: '', session: '', body: 0 };

function parseText(text: string): MailEvent | null {
  let at = 0;
  let level = levelAt(text, at);
  if (level >= 0) at += LEVELS[level]![0].length;
  if (text.startsWith('message repeated ', at) || text.startsWith('last message repeated ', at)) {
    return info('repeated');
  }
  if (!readPrefix(text, at, prefix)) {
    // Dovecot 1.x master lines have no service: `Dovecot v1.2.rc3 starting up (core dumps disabled)`.
    return parseMaster(text, at) ?? (level > 0 ? levelInfo(level) : null);
  }
  // A nested `dovecot: ` (syslog ident repeated by some setups) carries the real prefix.
  if (prefix.service === 'dovecot' && prefix.args === '' && !readPrefix(text, prefix.body, prefix)) {
    return null;
  }
  const service = prefix.service;
  let body = prefix.body;
  const innerLevel = levelAt(text, body);
  if (innerLevel >= 0) {
    body += LEVELS[innerLevel]![0].length;
    level = innerLevel;
  }

  const agent = agentOf(service);
  if (agent !== undefined) {
    if (text.startsWith('Connect from ', body)) return info('connect');
    if (text.startsWith('Disconnect from ', body)) return info('disconnect');
    let session = prefix.session;
    const sessionLength = session === '' ? sessionIdLength(text, body) : 0;
    if (sessionLength > 0) {
      session = text.slice(body, body + sessionLength);
      body += sessionLength + 2;
    }
    const user = userOf(prefix.args);
    if (user !== undefined) {
      const delivery = parseDelivery(text, body, agent, user, bound(session, MAX_ID));
      if (delivery !== null) return delivery;
    }
    if (text.startsWith('sieve: ', body)) return info('sieve');
  }
  if (service.endsWith('-login') && service.length > 6) {
    const login = parseLogin(service, text, body);
    if (login !== null) return login;
  } else if (service === 'auth' || service === 'auth-worker' || service === 'dovecot-auth') {
    return parseAuth(prefix.args, text, body, level);
  } else if (service === 'pam_unix') {
    return pamUnix(text);
  } else if (MAIL_SERVICES.has(service)) {
    const end = parseSessionEnd(text, body);
    if (end !== null) return end;
  } else if (service === 'master') {
    const master = parseMaster(text, body);
    if (master !== null) return master;
  } else if (service === 'ssl-params') {
    return info('ssl');
  }
  // Warnings, errors and debug output of any Dovecot process carry nothing for correlation.
  return level > 0 ? levelInfo(level) : null;
}

/** `dovecot/imap-login` style tags and Dovecot 1.x's `deliver(user)` tag carry the service prefix. */
function textWithTagPrefix(frame: Frame): string {
  const program = frame.program;
  if (program.startsWith('dovecot/')) return `${program.slice(8)}: ${frame.text}`;
  if (program.startsWith('deliver(')) return `${program}: ${frame.text}`;
  return frame.text;
}

export const dovecotParser: ProgramParser = {
  name: 'dovecot',
  handles(program: string): boolean {
    return (
      program === 'dovecot' ||
      program === 'dovecot-auth' ||
      program === 'dovecot-lda' ||
      program === 'deliver' ||
      program.startsWith('dovecot/') ||
      program.startsWith('deliver(')
    );
  },
  parse(frame: Frame): MailEvent | null {
    const program = frame.program;
    if (program === 'dovecot' || program === 'deliver') return parseText(frame.text);
    if (program === 'dovecot-auth' || program === 'dovecot-lda') {
      // Dovecot 1.x idents: the text may or may not repeat the service.
      return parseText(frame.text) ?? parseText(`${program.slice(8)}: ${frame.text}`);
    }
    return parseText(textWithTagPrefix(frame));
  },
};
