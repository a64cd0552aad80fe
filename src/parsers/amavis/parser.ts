/**
 * amavisd-new: the per-message verdict (`$log_templ`), SpamAssassin's SPAM-TAG lines, and the task and
 * daemon chatter around them.
 *
 * A task line starts with the child's task id `(12345-01)` (pid and task serial; `(12345-01-2)` for
 * one of several messages of one SMTP session). The verdict follows amavisd's default `$log_templ`:
 *
 *   Passed CLEAN {RelayedInbound}, [192.0.2.1]:4567 [192.0.2.1] <from@x> -> <to1@y>,<to2@y>,
 *   quarantine: virus-abc, Queue-ID: 4ABC, Message-ID: <mid>, mail_id: xyz, Hits: -1.2, size: 1234,
 *   queued_as: 5DEF/5DEG, dkim_sd=..., 1234 ms
 *
 * Older versions leave out the `{actions}`, the client port, the Queue-ID or the category
 * (`Passed, <a> -> <b>, ...`); the oldest (2003-2004) wrote `INFECTED (virus), <a> -> <b>, quarantine
 * virus-..., ...` without the action word. Sites add fields (`Subject: "..."`, `From: ...`, `Tests: [...]`)
 * through `$log_templ`; everything after `Subject:`/`From:` is the sender's text and is not read.
 */
import { normalizeAddress, normalizeMessageId } from '../../core/address.js';
import {
  bound,
  type FilterVerdictEvent,
  type InfoEvent,
  type MailEvent,
  type SpamResultEvent,
} from '../../core/events.js';
import type { Frame } from '../../core/frame.js';
import type { ProgramParser } from '../types.js';

const MAX_TASK_ID = 40;
const MAX_PARENS = 4000;
const MAX_QUEUE_ID = 64;

function info(label: string): InfoEvent {
  return { kind: 'info', label };
}

// --- small scanners --------------------------------------------------------------------------------

/** Index of the `)` matching the `(` at `open` (banned-part descriptions nest parentheses), or -1. */
function matchingParen(text: string, open: number): number {
  let depth = 0;
  const end = Math.min(text.length, open + MAX_PARENS);
  for (let i = open; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 40) depth++;
    else if (c === 41 && --depth === 0) return i;
  }
  return -1;
}

/** End of a `, `-separated field value starting at `at`. */
function fieldEnd(text: string, at: number): number {
  const end = text.indexOf(', ', at);
  return end < 0 ? text.length : end;
}

/**
 * Reads `<a>,<b>,<c>` at `at` into `out` (normalised). Returns the index after the list, or -1 when
 * there is no `<` at `at`.
 */
function readAddressList(text: string, at: number, out: string[]): number {
  let i = at;
  if (text.charCodeAt(i) !== 60 /* < */) return -1;
  for (;;) {
    const close = text.indexOf('>', i + 1);
    if (close < 0) return -1;
    out.push(normalizeAddress(text.slice(i, close + 1)));
    i = close + 1;
    if (text.charCodeAt(i) !== 44 /* , */ || text.charCodeAt(i + 1) !== 60) return i;
    i++;
  }
}

/** The first `[ip]` in `text[from, to)`, without brackets and without an `IPv6:` tag. */
function firstBracketIp(text: string, from: number, to: number): string | undefined {
  const open = text.indexOf('[', from);
  if (open < 0 || open >= to) return undefined;
  const close = text.indexOf(']', open);
  if (close < 0 || close > to) return undefined;
  const ip = text.slice(open + 1, close);
  return ip.startsWith('IPv6:') ? ip.slice(5) : ip;
}

const QUEUE_ID = /^[0-9A-Za-z][0-9A-Za-z._-]*$/;
const QUEUED_AS = /queued as ([0-9A-Za-z._-]+)/;

/**
 * `queued_as:` holds one id per re-injection, `/`-separated; for an MTA reply that did not say
 * `queued as X`, amavis logs the whole reply, from which only an id is kept.
 */
function queueIds(value: string): string[] {
  const ids: string[] = [];
  for (const piece of value.split('/')) {
    const p = piece.trim();
    if (p.length > 0 && p.length <= MAX_QUEUE_ID && QUEUE_ID.test(p)) ids.push(p);
    else {
      const m = QUEUED_AS.exec(p);
      if (m !== null && m[1]!.length <= MAX_QUEUE_ID) ids.push(m[1]!);
    }
  }
  return ids;
}

/** `-1.481`, `6.364`, `-` (not checked), `-2.541-3` (score with adjustments): the leading number. */
function leadingNumber(value: string): number | undefined {
  const m = /^-?\d+(?:\.\d+)?/.exec(value);
  return m === null ? undefined : Number(m[0]);
}

// --- the verdict ------------------------------------------------------------------------------------

const ACTIONS: readonly string[] = ['Passed', 'Blocked', 'Not-Delivered'];

/**
 * Reads the fields after the recipient list in template order. Message-IDs are bracket-delimited by
 * amavis, so a `, Hits: ` inside one is not taken for the field; unknown fields are skipped.
 */
function readFields(text: string, from: number, event: FilterVerdictEvent): void {
  let at = from;
  while (at < text.length) {
    if (text.startsWith(', ', at)) at += 2;
    else if (text.charCodeAt(at) === 32) at++;
    else break;
    if (text.startsWith('Subject: ', at) || text.startsWith('From: ', at) || text.startsWith('Tests: ', at)) {
      return;
    }
    if (text.startsWith('Message-ID: ', at) || text.startsWith('Resent-Message-ID: ', at)) {
      const start = text.indexOf(': ', at) + 2;
      const close = text.charCodeAt(start) === 60 ? text.indexOf('>', start) : -1;
      const end = close >= 0 ? close + 1 : fieldEnd(text, start);
      if (text.charCodeAt(at) === 77 /* M */) event.messageId = normalizeMessageId(text.slice(start, end));
      at = end;
      continue;
    }
    const end = fieldEnd(text, at);
    readField(text.slice(at, end), event);
    at = end;
  }
}

function readField(field: string, event: FilterVerdictEvent): void {
  const colon = field.indexOf(': ');
  if (colon < 0) {
    // amavisd-new 2003-2005: `quarantine virus-20040811-207-0-03`
    if (field.startsWith('quarantine ')) event.quarantine = bound(field.slice(11), 256);
    return;
  }
  const key = field.slice(0, colon);
  const value = field.slice(colon + 2);
  switch (key) {
    case 'quarantine':
      event.quarantine = bound(value, 256);
      break;
    case 'Queue-ID':
      if (value.length <= MAX_QUEUE_ID) event.queueId = value;
      break;
    case 'Hits': {
      const score = leadingNumber(value);
      if (score !== undefined) event.score = score;
      break;
    }
    case 'size': {
      const size = leadingNumber(value);
      if (size !== undefined) event.size = size;
      break;
    }
    case 'queued_as':
      event.queuedAs = queueIds(value);
      break;
  }
}

/** Content category as logged, except `BAD-HEADER-N` whose minor number is a header-check detail. */
function majorCategory(category: string): string {
  return category.startsWith('BAD-HEADER-') ? 'BAD-HEADER' : category;
}

function parseVerdict(text: string, at: number, filterId: string | undefined): MailEvent | null {
  let action: string | undefined;
  let i = at;
  /** Where the content category starts, or -1 when the line has none (`Passed, <a> -> <b>`). */
  let categoryAt = -1;
  for (const a of ACTIONS) {
    if (text.startsWith(a, at)) {
      action = a;
      i = at + a.length;
      const c = text.charCodeAt(i);
      if (c === 32) categoryAt = i + 1;
      else if (c !== 44 && i < text.length) return null; // `Passedxyz`
      break;
    }
  }
  if (action === undefined) {
    // amavisd-new 20030616: blocked infected mail was logged without the action word.
    if (!text.startsWith('INFECTED (', at)) return null;
    action = 'Blocked';
    categoryAt = at;
  }

  // Category, with a parenthesised detail (virus names, banned parts) and `{actions performed}`.
  let category = 'UNKNOWN';
  let detail: string | undefined;
  if (categoryAt >= 0) {
    let end = categoryAt;
    while (end < text.length) {
      const c = text.charCodeAt(end);
      if (c === 32 || c === 44 || c === 40 || c === 123) break;
      end++;
    }
    if (end > categoryAt) category = majorCategory(text.slice(categoryAt, end));
    i = end;
    if (text.startsWith(' (', i)) {
      const close = matchingParen(text, i + 1);
      if (close < 0) return null;
      detail = text.slice(i + 2, close);
      i = close + 1;
    }
    if (text.startsWith(' {', i)) {
      const close = text.indexOf('}', i);
      if (close < 0) return null;
      i = close + 1;
    }
  }
  const event: FilterVerdictEvent = {
    kind: 'filter-verdict',
    filter: 'amavis',
    action,
    category,
    passed: action === 'Passed',
    to: [],
    queuedAs: [],
  };
  if (filterId !== undefined) event.filterId = filterId;
  if (category === 'INFECTED' && detail !== undefined && detail !== '') event.virus = bound(detail, 512);

  // `, [policy banks] [LOCAL] [client]:port [originating ip] <sender> -> <rcpt>,<rcpt>`
  const sender = text.indexOf('<', i);
  if (sender < 0) return event;
  const ip = firstBracketIp(text, i, sender);
  if (ip !== undefined) event.clientIp = ip;
  const arrow = text.indexOf('> -> ', sender);
  if (arrow < 0) return event;
  event.from = normalizeAddress(text.slice(sender, arrow + 1));
  const after = readAddressList(text, arrow + 5, event.to);
  if (after >= 0) readFields(text, after, event);
  return event;
}

// --- SPAM-TAG ---------------------------------------------------------------------------------------

/** `tests=[A=1.1, B=-2]` or (before 2.3.3) `tests=A=1.1, B=-2`: the test names. */
function testNames(text: string, at: number): string[] {
  let end: number;
  let start = at;
  if (text.charCodeAt(at) === 91 /* [ */) {
    start = at + 1;
    end = text.indexOf(']', start);
    if (end < 0) end = text.length;
  } else {
    end = text.indexOf(', quarantine', start);
    if (end < 0) end = text.length;
  }
  const names: string[] = [];
  for (const part of text.slice(start, end).split(',')) {
    const eq = part.indexOf('=');
    const name = (eq >= 0 ? part.slice(0, eq) : part).trim();
    if (name !== '') names.push(bound(name, 128));
  }
  return names;
}

/** Value of ` key=` in `text[from, to)` up to the next space or comma. */
function spaceValue(text: string, key: string, from: number, to: number): string | undefined {
  const at = text.indexOf(key, from);
  if (at < 0 || at >= to) return undefined;
  const start = at + key.length;
  let end = start;
  while (end < to && text.charCodeAt(end) !== 32 && text.charCodeAt(end) !== 44) end++;
  return text.slice(start, end);
}

/**
 * `SPAM-TAG, <from> -> <to>, Yes, score=6.2 tagged_above=2 required=5 tests=[...] autolearn=spam`
 * (`Spam-tag` since 2.7.0), and the kill-level `SPAM, <from> -> <to>, Yes, score=17.7 tag=-10 tag2=6.31
 * kill=6.31 tests=[...], autolearn=spam, quarantine X (spam-quarantine)`. Before 2.3.3: `hits=`.
 */
function parseSpamTag(text: string, at: number, filterId: string | undefined): SpamResultEvent | null {
  const comma = text.indexOf(', ', at);
  const sender = comma + 2;
  if (comma < 0 || text.charCodeAt(sender) !== 60) return null;
  const arrow = text.indexOf('> -> ', sender);
  if (arrow < 0) return null;
  const recipients: string[] = [];
  const after = readAddressList(text, arrow + 5, recipients);
  if (after < 0) return null;
  let isSpam: boolean;
  if (text.startsWith(', Yes, ', after)) isSpam = true;
  else if (text.startsWith(', No, ', after)) isSpam = false;
  else return null;
  const fields = after + (isSpam ? 7 : 6);
  const testsAt = text.indexOf('tests=', fields);
  const end = testsAt < 0 ? text.length : testsAt;
  const scoreText = spaceValue(text, 'score=', fields, end) ?? spaceValue(text, 'hits=', fields, end);
  const score = scoreText === undefined ? undefined : leadingNumber(scoreText);
  if (score === undefined) return null;
  const event: SpamResultEvent = { kind: 'spam-result', scanner: 'amavis', score, isSpam };
  const requiredText = spaceValue(text, 'required=', fields, end) ?? spaceValue(text, 'tag2=', fields, end);
  const required = requiredText === undefined ? undefined : leadingNumber(requiredText);
  if (required !== undefined) event.required = required;
  if (testsAt >= 0) event.tests = testNames(text, testsAt + 6);
  if (filterId !== undefined) event.filterId = filterId;
  return event;
}

function isSpamTag(text: string, at: number): boolean {
  const c = text.charCodeAt(at);
  if (c !== 83 && c !== 115) return false; // S s
  const head = text.slice(at, at + 10).toUpperCase();
  return head.startsWith('SPAM-TAG, ') || head.startsWith('SPAM, ');
}

// --- chatter ----------------------------------------------------------------------------------------

/** Task lines that say nothing about the message's fate, by prefix, with their label. */
const TASK_NOISE: readonly (readonly [string, string])[] = [
  ['Checking: ', 'checking'],
  // `ESMTP :10024 /var/lib/amavis/tmp/amavis-...: <a> -> <b> SIZE=...`, `ESMTP [::1]:10024 ...`, `LMTP ...`
  ['ESMTP', 'smtp-session'],
  ['LMTP', 'smtp-session'],
  ['SMTP', 'smtp-session'],
  ['AM.PDP ', 'smtp-session'],
  ['size: ', 'statistics'],
  ['TIMING', 'statistics'],
  ['RUSAGE', 'statistics'],
  ['Open relay? ', 'open-relay'],
  ['bounce ', 'bounce'],
  ['_WARN: ', 'warning'],
  ['_DIE: ', 'error'],
  ['SA info: ', 'spamassassin'],
  ['SA dbg: ', 'spamassassin'],
  ['SA warn: ', 'spamassassin'],
  ['Requesting process rundown', 'rundown'],
  ['Requesting a process rundown', 'rundown'],
  ['local delivery: ', 'local-delivery'],
  ['extra modules loaded', 'startup'],
  ['dkim: ', 'dkim'],
  ['spam_scan: ', 'spam-scan'],
  ['virus_scan: ', 'virus-scan'],
  ['ask_av ', 'virus-scan'],
  ['run_av ', 'virus-scan'],
  ['Virus ', 'virus-scan'],
  ['lookup_', 'lookup'],
  ['mail_via_', 'forward'],
  ['p.path', 'mime-part'],
  ['Quarantined message release: ', 'release'],
  ['WARN: ', 'warning'],
  ['TROUBLE', 'error'],
];

/** Daemon lines (no task id): start-up, configuration, shutdown. */
const DAEMON_NOISE: readonly (readonly [string, string])[] = [
  ['starting. ', 'startup'],
  ['perl=', 'startup'],
  ['Net::Server: ', 'startup'],
  ['No ext program for ', 'startup'],
  ['No decoder for ', 'startup'],
  ['No $', 'startup'],
  ['Found ', 'startup'],
  ['Using ', 'startup'],
  ['Module ', 'startup'],
  ['Internal decoder for ', 'startup'],
  ['ANTI-VIRUS code ', 'startup'],
  ['ANTI-SPAM', 'startup'],
  ['Amavis::', 'startup'],
  ['SpamControl: ', 'startup'],
  ['SpamAssassin ', 'startup'],
  ['Creating db ', 'startup'],
  ['initializing Mail::SpamAssassin', 'startup'],
  ['extra modules loaded', 'startup'],
  ['socket module ', 'startup'],
  ['config files read', 'startup'],
  ['sd_notify', 'daemon'],
  ['TERM received', 'shutdown'],
  ['Daemon process stopped', 'shutdown'],
];

function noise(table: readonly (readonly [string, string])[], text: string, at: number): InfoEvent | null {
  for (const [prefix, label] of table) {
    if (text.startsWith(prefix, at)) return info(label);
  }
  return null;
}

/** `p001 1/1 Content-Type: text/plain, ...`: one MIME part per line. */
function isMimePart(text: string, at: number): boolean {
  return text.charCodeAt(at) === 112 /* p */ && /^p\d{3,} \S+ Content-Type: /.test(text.slice(at, at + 40));
}

/** `rOEEAACEPVgB FWD from <a> -> <b>, ... queued as X` (with the mail_id at log level ≥ 2) or without. */
function isForward(text: string, at: number): boolean {
  const space = text.indexOf(' ', at);
  if (space < 0 || space - at > 40) return false;
  const from = text.startsWith('FWD ', at) || text.startsWith('SEND ', at) ? at : space + 1;
  return (
    text.startsWith('FWD from ', from) ||
    text.startsWith('SEND from ', from) ||
    text.startsWith('FWD via ', from)
  );
}

/** `(12345-01) `, `(01626-01) `, `(1988515-06-2) `: the task id, or undefined. */
function taskId(text: string): string | undefined {
  if (text.charCodeAt(0) !== 40) return undefined;
  const close = text.indexOf(') ', 1);
  if (close < 2 || close > MAX_TASK_ID) return undefined;
  for (let i = 1; i < close; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || c === 45)) return undefined;
  }
  return text.slice(1, close);
}

function parseText(text: string): MailEvent | null {
  const id = taskId(text);
  let at = id === undefined ? 0 : id.length + 3;
  // Warnings are flagged `(!)`, errors `(!!)`.
  let alert = false;
  if (text.startsWith('(!', at)) {
    const close = text.indexOf(')', at);
    if (close > 0 && close - at <= 3) {
      at = close + 1;
      alert = true;
    }
  }
  if (text.startsWith('...', at)) return info('continuation');
  const c = text.charCodeAt(at);
  if (c === 80 || c === 66 || c === 78 || c === 73) {
    // P(assed) B(locked) N(ot-Delivered) I(NFECTED)
    const verdict = parseVerdict(text, at, id);
    if (verdict !== null) return verdict;
  }
  if (isSpamTag(text, at)) {
    const spam = parseSpamTag(text, at, id);
    if (spam !== null) return spam;
  }
  if (id !== undefined) {
    if (isMimePart(text, at)) return info('mime-part');
    if (isForward(text, at)) return info('forward');
    const known = noise(TASK_NOISE, text, at);
    if (known !== null) return known;
  } else {
    const known = noise(DAEMON_NOISE, text, at);
    if (known !== null) return known;
  }
  return alert ? info('warning') : null;
}

export const amavisParser: ProgramParser = {
  name: 'amavis',
  handles(program: string): boolean {
    return (
      program === 'amavis' ||
      program === 'amavisd' ||
      program === 'amavisd-new' ||
      program.endsWith('/amavisd') ||
      program.endsWith('/amavisd-new')
    );
  },
  parse(frame: Frame): MailEvent | null {
    return parseText(frame.text);
  },
};
