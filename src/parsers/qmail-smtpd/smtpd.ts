/**
 * qmail-smtpd itself logs nothing; its logging patches do, after `qmail-smtpd: `:
 *
 * - SPAMCONTROL, s/qmail and aQmail (smtpdlog.c): `Action::Type::Condition` then the session's facts,
 *   `qmail-smtpd: pid 4711 Reject::RCPT::Failed_Rcptto P:ESMTP S:192.0.2.1:client.example H:helo F:a@x.org T:b@y.org`
 *   (older SPAMCONTROL: no pid, a `:` after the condition, no `P:`), sometimes ending in ` 'detail'`;
 * - reply-logging patches: the SMTP reply given, `qmail-smtpd: 421 badiprbl: ip 192.0.2.1 rbl: example.com`
 *   or `qmail-smtpd: 553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)`.
 *
 * Type is SMTP, SNDR (the client), ORIG (MAIL FROM), RCPT, DATA, AUTH, TLS or RBL; Action is Reject
 * or Accept.
 */
import { normalizeAddress } from '../../core/address.js';
import { bound, type ClientRef, type MailEvent, type RejectEvent } from '../../core/events.js';
import { digitsEnd } from '../qmail-send/scan.js';
import { info, ipOrUndefined, refusal, replyCode } from './shared.js';

/** The SMTP stage of each SPAMCONTROL type. */
const STAGES = new Map<string, string>([
  ['SMTP', 'CONNECT'],
  ['SNDR', 'HELO'],
  ['ORIG', 'MAIL'],
  ['RCPT', 'RCPT'],
  ['RBL', 'RCPT'],
  ['DATA', 'DATA'],
  ['AUTH', 'AUTH'],
  ['TLS', 'STARTTLS'],
]);

/** Field markers smtpdlog.c writes, in order. */
const MARKERS = [' P:', ' S:', ' H:', ' F:', ' T:', " '"] as const;

interface SessionFacts {
  proto?: string;
  client?: ClientRef;
  helo?: string;
  from?: string;
  to?: string;
  detail?: string;
}

/** `S:ip:host` — the host follows the last colon (an IPv6 address holds colons). */
function hostField(value: string): ClientRef {
  const colon = value.lastIndexOf(':');
  const client: ClientRef = {};
  const ip = ipOrUndefined(colon < 0 ? value : value.slice(0, colon));
  if (ip !== undefined) client.ip = ip;
  const name = colon < 0 ? '' : value.slice(colon + 1);
  if (name !== '' && name !== 'unknown') client.name = bound(name, 255);
  return client;
}

function factsOf(text: string, start: number): SessionFacts {
  const facts: SessionFacts = {};
  // Each field runs to the next marker: a HELO argument may hold spaces.
  const found: { marker: string; at: number }[] = [];
  let from = start;
  for (const marker of MARKERS) {
    const at = text.indexOf(marker, from);
    if (at < 0) continue;
    found.push({ marker, at });
    from = at + marker.length;
  }
  for (let i = 0; i < found.length; i++) {
    const { marker, at } = found[i]!;
    const value = text.slice(at + marker.length, found[i + 1]?.at ?? text.length);
    switch (marker) {
      case ' P:':
        facts.proto = bound(value, 32);
        break;
      case ' S:':
        facts.client = hostField(value);
        break;
      case ' H:':
        if (value !== '') facts.helo = bound(value, 512);
        break;
      case ' F:':
        facts.from = normalizeAddress(value);
        break;
      case ' T:':
        if (value !== '') facts.to = normalizeAddress(value);
        break;
      default:
        facts.detail = bound(value.endsWith("'") ? value.slice(0, -1) : value, 512);
    }
  }
  return facts;
}

/** `Reject::RCPT::Failed_Rcptto ...` at `start`; Accept lines are info. */
function parseAction(text: string, start: number, session: string | undefined): MailEvent | null {
  const typeEnd = text.indexOf('::', start + 8);
  if (typeEnd < 0 || typeEnd - start > 24) return null;
  const type = text.slice(start + 8, typeEnd);
  let conditionEnd = text.indexOf(' ', typeEnd + 2);
  if (conditionEnd < 0) conditionEnd = text.length;
  let condition = text.slice(typeEnd + 2, Math.min(conditionEnd, typeEnd + 66));
  if (condition.endsWith(':')) condition = condition.slice(0, -1);
  const facts = factsOf(text, conditionEnd);
  if (!text.startsWith('Reject', start)) return info('qmail-smtpd-accept', facts.client);
  let stage = STAGES.get(type);
  // An invalid relay attempt is refused at RCPT, though SPAMCONTROL files it under the client.
  if (type === 'SNDR' && facts.to !== undefined) stage = 'RCPT';
  const event: RejectEvent = refusal(
    facts.detail === undefined ? condition : `${condition}: ${facts.detail}`,
    stage,
    session,
  );
  if (facts.client !== undefined) event.client = facts.client;
  if (facts.helo !== undefined) event.helo = facts.helo;
  if (facts.from !== undefined) event.from = facts.from;
  if (facts.to !== undefined) event.to = facts.to;
  if (facts.proto !== undefined) event.proto = facts.proto;
  return event;
}

/** ` ip 192.0.2.1` in a reply-logging line (badiprbl). */
function ipInText(text: string): ClientRef | undefined {
  const at = text.indexOf(' ip ');
  if (at < 0) return undefined;
  const end = text.indexOf(' ', at + 4);
  const ip = ipOrUndefined(text.slice(at + 4, end < 0 ? text.length : end));
  return ip === undefined ? undefined : { ip };
}

/** A qmail-smtpd line after `qmail-smtpd: ` (at `start`). */
export function parseQmailSmtpd(text: string, start: number): MailEvent | null {
  let at = start;
  let session: string | undefined;
  if (text.startsWith('pid ', at)) {
    const end = digitsEnd(text, at + 4);
    if (end > 0 && text.charCodeAt(end) === 32) {
      session = text.slice(at + 4, end);
      at = end + 1;
    }
  }
  if (text.startsWith('Reject::', at) || text.startsWith('Accept::', at))
    return parseAction(text, at, session);
  if (replyCode(text, at) !== undefined) {
    const event = refusal(text.slice(at), undefined, session);
    const client = ipInText(text);
    if (client !== undefined) event.client = client;
    return event;
  }
  return info('qmail-smtpd');
}
