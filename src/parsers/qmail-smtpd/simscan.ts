/**
 * simscan (simscan.c `log_message()`, 1.3-1.4.x) runs as qmail-smtpd's QMAILQUEUE and writes one line
 * per message to qmail-smtpd's log:
 *
 *   simscan:[PPID]:STATE (hits/required[/domain-required]):TIME s:SUBJECT:TCPREMOTEIP:FROM:TO[,TO...]
 *   simscan:[PPID]:STATE:TIME s:NAME:TCPREMOTEIP:FROM:TO[,TO...]
 *
 * The first form comes from the spam check (CLEAN, SPAM PASS, PASSTHRU, SPAM REJECT, SPAM DROPPED;
 * the subject with its `:` turned into `_`), the second names a virus (VIRUS, VIRUS DROPPED), a
 * blocked attachment (ATTACH), a matching regex (REGEX `#n`) or `-` (RELAYCLIENT: spam check skipped).
 * PPID is `getppid()`: qmail-smtpd's pid, which is the tcpserver child of the session. It is not the
 * `qp` qmail-send logs: simscan forks the real qmail-queue itself. Debug output is
 * `simscan:[PPID]: text` (a space after the colon).
 */
import { normalizeAddress } from '../../core/address.js';
import type { FilterVerdictEvent, MailEvent, RejectEvent } from '../../core/events.js';
import { bound } from '../../core/events.js';
import { decodeValue } from '../postfix/cleanup.js';
import { digitsEnd } from '../qmail-send/scan.js';
import { info, ipOrUndefined, recipientList, refusal, setRecipients } from './shared.js';

const FILTER = 'simscan';
const MAX_STATE = 64;

interface Fields {
  state: string;
  /** Spam hits, required hits (simscan with SpamAssassin; DSPAM: probability, confidence). */
  numbers: number[];
  /** The same, as logged (`15.30/5.00`). */
  scores: string;
  subject: string;
  ip?: string;
  from: string;
  to: string[];
  session: string;
}

function numbersOf(text: string): number[] {
  const numbers: number[] = [];
  for (const part of text.split('/', 4)) {
    const n = Number(part);
    if (part.trim() !== '' && Number.isFinite(n)) numbers.push(n);
  }
  return numbers;
}

/** Splits the line after `simscan:`; null when it is not a verdict line. */
function fieldsOf(text: string, start: number): Fields | null {
  const pidEnd = digitsEnd(text, start + 1);
  if (text.charCodeAt(start) !== 91 /* [ */ || pidEnd < 0 || !text.startsWith(']:', pidEnd)) return null;
  const stateStart = pidEnd + 2;
  const stateEnd = text.indexOf(':', stateStart);
  if (stateEnd < 0 || stateEnd - stateStart > MAX_STATE) return null;
  const timeEnd = text.indexOf(':', stateEnd + 1);
  const subjectEnd = timeEnd < 0 ? -1 : text.indexOf(':', timeEnd + 1);
  if (subjectEnd < 0 || !text.endsWith('s', timeEnd)) return null;
  let state = text.slice(stateStart, stateEnd);
  let scores = '';
  const open = state.indexOf(' (');
  if (open > 0 && state.endsWith(')')) {
    scores = state.slice(open + 2, -1);
    state = state.slice(0, open);
  }
  // The tail is `IP:FROM:TO,...`; an IPv6 address holds colons, addresses do not: read from the end.
  const toStart = text.lastIndexOf(':') + 1;
  const fromStart = toStart - 1 > subjectEnd ? text.lastIndexOf(':', toStart - 2) + 1 : toStart;
  const fields: Fields = {
    state,
    numbers: scores === '' ? [] : numbersOf(scores),
    scores,
    subject: text.slice(timeEnd + 1, subjectEnd),
    from: fromStart > subjectEnd + 1 ? normalizeAddress(text.slice(fromStart, toStart - 1)) : '',
    to: toStart > subjectEnd + 1 ? recipientList(text.slice(toStart)) : [],
    session: text.slice(start + 1, pidEnd),
  };
  const ip =
    fromStart > subjectEnd + 1 ? ipOrUndefined(text.slice(subjectEnd + 1, fromStart - 1)) : undefined;
  if (ip !== undefined) fields.ip = ip;
  return fields;
}

function verdict(fields: Fields, category: string, passed: boolean): FilterVerdictEvent {
  const event: FilterVerdictEvent = {
    kind: 'filter-verdict',
    filter: FILTER,
    action: fields.state,
    category,
    passed,
    from: fields.from,
    to: fields.to,
    queuedAs: [],
    session: fields.session,
  };
  const [score] = fields.numbers;
  if (score !== undefined) event.score = score;
  if (fields.ip !== undefined) event.clientIp = fields.ip;
  if (fields.subject !== '') event.subject = decodeValue(fields.subject);
  return event;
}

/** A message simscan refused (5xx to DATA) or dropped (250 to DATA, never queued). */
function refused(fields: Fields, what: string, drop: boolean): RejectEvent {
  const event = refusal(`${fields.state} ${bound(what, 512)}`, 'DATA', fields.session);
  if (drop) event.action = 'discard';
  event.from = fields.from;
  setRecipients(event, fields.to);
  if (fields.ip !== undefined) event.client = { ip: fields.ip };
  return event;
}

/** A simscan line after `simscan:` (at `start`). */
export function parseSimscan(text: string, start: number): MailEvent | null {
  // Debug output: `simscan:[PPID]: text`, or without the pid (`simscan: calling spamc`).
  if (text.charCodeAt(start) === 32) return info(FILTER);
  const close = text.indexOf(']:', start);
  if (close > 0 && text.charCodeAt(close + 2) === 32) return info(FILTER);
  const fields = fieldsOf(text, start);
  if (fields === null) return null;
  switch (fields.state) {
    case 'CLEAN':
      return verdict(fields, 'CLEAN', true);
    case 'SPAM PASS':
      return verdict(fields, 'SPAM', true);
    case 'PASSTHRU': {
      // Logged for every message of a spam-passthru domain, spam or not.
      const [hits, required] = fields.numbers;
      const spam = hits !== undefined && required !== undefined && hits >= required;
      return verdict(fields, spam ? 'SPAM' : 'CLEAN', true);
    }
    case 'SPAM REJECT':
    case 'SPAM DROPPED':
      return refused(
        fields,
        fields.scores === '' ? '' : `(${fields.scores})`,
        fields.state === 'SPAM DROPPED',
      );
    case 'VIRUS':
    case 'VIRUS DROPPED':
    case 'ATTACH':
    case 'REGEX':
      return refused(fields, fields.subject, fields.state === 'VIRUS DROPPED');
    case 'RELAYCLIENT':
      return info('simscan-relayclient');
    default:
      return null;
  }
}
