/**
 * Qmail-Scanner (qmail-scanner-queue.pl, 1.2x-2.x) runs as qmail-smtpd's QMAILQUEUE and, with
 * `$log_details` set to syslog, logs each message it passed on or quarantined (`log_msg()`):
 *
 *   qmail-scanner[25042]: Clear:RC:0(217.72.192.234):SA:0(0.0/6.0): 1.681359 3302 a@x.org b@y.org Subject_words <mid@x> 1142752873.25044-0.host:898
 *
 * that is `VERDICT$tag_score: elapsed size sender recipients subject message-id attachments`, where
 * VERDICT is `Clear` or the quarantine event (`Policy:Bad_Attachment`, the virus scanner and the virus
 * name...), the tag score says whether the client may relay (`RC:1`, with its address) and
 * SpamAssassin's view (`SA:1(8.1/6.0)`: tagged as spam, score/required), the subject has its blanks
 * turned into `_`, recipients are comma-separated (some versions log one line per recipient), and the
 * attachments are `name:size` pairs. Its failures are logged as `X-Qmail-Scanner-VERSION:[id] text`.
 *
 * The line's pid is the process that ran as qmail-queue (`qp`): qmail-smtpd's `Received: (qmail N
 * invoked from network)` names it; qmail-scanner then pipes the message into the real qmail-queue.
 */
import { normalizeAddress, normalizeMessageId } from '../../core/address.js';
import { bound, type FilterVerdictEvent, type InfoEvent, type MailEvent } from '../../core/events.js';
import type { Frame } from '../../core/frame.js';
import { decodeValue } from '../postfix/cleanup.js';
import { isDigit } from '../qmail-send/scan.js';
import { withoutSploggerStamp } from '../qmail-send/splogger.js';
import { recipientList } from '../qmail-smtpd/shared.js';
import type { ProgramParser } from '../types.js';

const FILTER = 'qmail-scanner';
const MAX_VERDICT = 256;
/** Virus scanners qmail-scanner can run, as they appear in a quarantine event. */
const VIRUS_WORDS =
  /virus|clam|sophos|sophie|trophie|f-?prot|uvscan|mcafee|kaspersky|avp|bitdefender|nod32|drweb|fsav|antivir|vscan|inocucmd|csav|hbedv/i;
/** An RFC 2047 encoded word, bounded (qmail-scanner logs the subject as it read the header). */
const ENCODED_WORD = /=\?[^?\s]{1,64}\?[BbQq]\?[^?\s]{0,2000}\?=/g;
const UNDERSCORES = /_/g;

function info(label: string): InfoEvent {
  return { kind: 'info', label };
}

/**
 * The logged subject, readable: blanks were written as `_`, except inside encoded words where `_`
 * is the Q encoding's space. Encoded words separated only by blanks join (RFC 2047 section 6.2).
 */
export function decodeSubject(logged: string): string {
  if (!logged.includes('=?')) return bound(logged.replace(UNDERSCORES, ' '));
  let out = '';
  let last = 0;
  let previousWasWord = false;
  for (const match of logged.matchAll(ENCODED_WORD)) {
    const between = logged.slice(last, match.index);
    if (!(previousWasWord && /^_*$/.test(between))) out += between.replace(UNDERSCORES, ' ');
    out += decodeValue(match[0]);
    last = match.index + match[0].length;
    previousWasWord = true;
  }
  return bound(out + logged.slice(last).replace(UNDERSCORES, ' '));
}

interface TagScore {
  /** The verdict before `:RC:` (`Clear`, `Policy:Bad_Attachment`, `CLAMDSCAN:Eicar-Test-Signature`). */
  verdict: string;
  clientIp?: string;
  spam?: boolean;
  score?: number;
}

/** `Clear:RC:0(192.0.2.1):SA:1(8.1/6.0)` → verdict `Clear`, client, SpamAssassin's tag and score. */
function tagScore(status: string): TagScore {
  const rc = status.indexOf(':RC:');
  const result: TagScore = { verdict: bound(rc < 0 ? status : status.slice(0, rc), MAX_VERDICT) };
  if (rc >= 0 && status.charCodeAt(rc + 5) === 40 /* ( */) {
    const close = status.indexOf(')', rc + 6);
    if (close > 0 && close - rc < 72) result.clientIp = status.slice(rc + 6, close);
  }
  const sa = status.indexOf(':SA:');
  if (sa >= 0) {
    result.spam = status.charCodeAt(sa + 4) === 49; /* 1 */
    const open = status.indexOf('(', sa);
    const slash = open < 0 ? -1 : status.indexOf('/', open);
    if (slash > 0 && slash - open < 24) {
      const score = Number(status.slice(open + 1, slash));
      if (Number.isFinite(score)) result.score = score;
    }
  }
  return result;
}

/** What a quarantine event says: a virus (its name is the last `:` part), spam, or a policy block. */
function classify(verdict: string): { category: string; virus?: string } {
  if (VIRUS_WORDS.test(verdict)) {
    const colon = verdict.lastIndexOf(':');
    return colon > 0 && colon < verdict.length - 1
      ? { category: 'INFECTED', virus: verdict.slice(colon + 1) }
      : { category: 'INFECTED' };
  }
  if (/spam/i.test(verdict)) return { category: 'SPAM' };
  return { category: 'BANNED' };
}

/** `VERDICT...: elapsed size from to subject <mid> attachments` */
function parseVerdict(text: string, pid: number | null): FilterVerdictEvent | null {
  // The verdict may itself hold `: ` (a scanner's description): the fields start with the elapsed time.
  let colon = text.indexOf(': ');
  while (colon > 0 && colon <= MAX_VERDICT * 2 && !isDigit(text.charCodeAt(colon + 2)))
    colon = text.indexOf(': ', colon + 2);
  if (colon <= 0 || colon > MAX_VERDICT * 2) return null;
  // Fields are single-space separated; an empty sender leaves an empty field.
  const fields = text.slice(colon + 2).split(' ', 7);
  const [elapsed, size, from, to, subject, messageId] = fields;
  if (to === undefined || from === undefined || size === undefined || !Number.isFinite(Number(elapsed)))
    return null;
  const tag = tagScore(text.slice(0, colon));
  const passed = tag.verdict === 'Clear';
  const kind = passed ? { category: tag.spam ? 'SPAM' : 'CLEAN' } : classify(tag.verdict);
  const event: FilterVerdictEvent = {
    kind: 'filter-verdict',
    filter: FILTER,
    action: passed ? 'Clear' : tag.verdict,
    category: kind.category,
    passed,
    from: normalizeAddress(from),
    to: recipientList(to),
    queuedAs: [],
  };
  if (kind.virus !== undefined) event.virus = bound(kind.virus, 512);
  const bytes = Number(size);
  if (size !== '' && Number.isInteger(bytes) && bytes >= 0) event.size = bytes;
  if (tag.score !== undefined) event.score = tag.score;
  if (tag.clientIp !== undefined && tag.clientIp !== '') event.clientIp = tag.clientIp;
  if (subject !== undefined && subject !== '') event.subject = decodeSubject(subject);
  if (messageId?.startsWith('<')) event.messageId = normalizeMessageId(messageId);
  if (pid !== null) event.qp = pid;
  return event;
}

function parseText(text: string, pid: number | null): MailEvent | null {
  // error_condition(): `$V_HEADER-$VERSION:[$file_id] text`, e.g. `X-Qmail-Scanner-2.01:[id] cannot ...`.
  if (text.startsWith('X-')) {
    const bracket = text.indexOf(':[');
    if (bracket > 0 && bracket < 80) return info('error');
  }
  return parseVerdict(text, pid);
}

const PROGRAMS = new Set(['qmail-scanner', 'qmail-scanner-queue', 'qmail-scanner-queue.pl']);

export const qmailScannerParser: ProgramParser = {
  name: 'qmail-scanner',
  handles(program: string): boolean {
    return PROGRAMS.has(program);
  },
  parse(frame: Frame): MailEvent | null {
    return parseText(withoutSploggerStamp(frame.text), frame.pid);
  },
};
