/**
 * SpamAssassin's spamd (spamd/spamd.raw and Mail::SpamAssassin::Logger). Per message it logs:
 *
 *   spamd: processing message <mid> for user:1001                (`checking message ... .` before 3.0)
 *   spamd: identified spam (15.0/5.0) for user:1001 in 0.5 seconds, 1234 bytes.
 *   spamd: clean message (2.0/5.0) for user:1001 in 0.5 seconds, 1234 bytes.
 *   spamd: result: Y 15 - TEST_A,TEST_B scantime=0.5,size=1234,user=u,uid=1001,required_score=5.0,
 *          rhost=localhost,raddr=127.0.0.1,rport=45678,mid=<mid>,autolearn=no autolearn_force=no
 *
 * `result:` rounds the score to an integer (`%2d`) but carries the Message-ID (blanks and commas
 * replaced by `_`); the `identified spam`/`clean message` line has the exact score and no Message-ID.
 * Every other SpamAssassin line is `area: message` (`prefork: child states: II`, `dns: ...`).
 */
import { normalizeMessageId } from '../../core/address.js';
import {
  bound,
  type InfoEvent,
  type MailEvent,
  type SpamProcessingEvent,
  type SpamResultEvent,
} from '../../core/events.js';
import type { Frame } from '../../core/frame.js';
import type { ProgramParser } from '../types.js';

const SCANNER = 'spamd';
const MAX_USER = 256;
const MAX_TESTS = 2000;

function info(label: string): InfoEvent {
  return { kind: 'info', label };
}

/** `user:uid` (or `user`): the user name. */
function userOf(value: string): string {
  const colon = value.lastIndexOf(':');
  return bound(colon > 0 ? value.slice(0, colon) : value, MAX_USER);
}

function finiteNumber(text: string): number | undefined {
  const n = Number(text.trim());
  return text.trim() !== '' && Number.isFinite(n) ? n : undefined;
}

/** `result: Y 15 - TEST_A,TEST_B key=value,key=value` */
function parseResult(text: string, at: number): SpamResultEvent | null {
  const flag = text.charCodeAt(at);
  if (flag !== 89 /* Y */ && flag !== 46 /* . */) return null;
  const dash = text.indexOf(' - ', at + 1);
  if (dash < 0 || dash - at > 24) return null;
  const score = finiteNumber(text.slice(at + 1, dash));
  if (score === undefined) return null;
  const testsAt = dash + 3;
  let testsEnd = text.indexOf(' ', testsAt);
  if (testsEnd < 0) testsEnd = text.length;
  const event: SpamResultEvent = { kind: 'spam-result', scanner: SCANNER, score, isSpam: flag === 89 };
  const tests = text.slice(testsAt, Math.min(testsEnd, testsAt + MAX_TESTS));
  event.tests = tests === '' ? [] : tests.split(',');
  // The key=value list is comma-separated; `autolearn=ham autolearn_force=no` holds a blank.
  for (const pair of text.slice(testsEnd + 1).split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const value = pair.slice(eq + 1);
    switch (pair.slice(0, eq).trim()) {
      case 'size': {
        const size = finiteNumber(value);
        if (size !== undefined) event.size = size;
        break;
      }
      case 'user':
        if (value !== '') event.user = bound(value, MAX_USER);
        break;
      case 'required_score': {
        const required = finiteNumber(value);
        if (required !== undefined) event.required = required;
        break;
      }
      case 'mid':
        if (value !== '' && value !== '(unknown)') event.messageId = normalizeMessageId(value);
        break;
    }
  }
  return event;
}

/** `(15.0/5.0) for user:1001 in 0.5 seconds, 1234 bytes.` after `identified spam `/`clean message `. */
function parseVerdict(text: string, at: number, isSpam: boolean): SpamResultEvent | null {
  if (text.charCodeAt(at) !== 40 /* ( */) return null;
  const slash = text.indexOf('/', at);
  const close = text.indexOf(')', at);
  if (slash < 0 || close < slash || close - at > 40) return null;
  const score = finiteNumber(text.slice(at + 1, slash));
  if (score === undefined) return null;
  const event: SpamResultEvent = { kind: 'spam-result', scanner: SCANNER, score, isSpam };
  const required = finiteNumber(text.slice(slash + 1, close));
  if (required !== undefined) event.required = required;
  if (text.startsWith(' for ', close + 1)) {
    const start = close + 6;
    const end = text.indexOf(' ', start);
    event.user = userOf(text.slice(start, end < 0 ? text.length : end));
  }
  const bytes = / (\d+) bytes\.?\s*$/.exec(text.slice(-40));
  if (bytes !== null) event.size = Number(bytes[1]);
  return event;
}

/** `processing message <mid> for user:1001` or (SpamAssassin 2.x) `checking message <mid> for user:1001.` */
function parseProcessing(text: string, at: number): MailEvent {
  const forAt = text.lastIndexOf(' for ');
  const mid = text.slice(at, forAt > at ? forAt : text.length).trim();
  if (mid === '' || mid === '(unknown)') return info('processing');
  const event: SpamProcessingEvent = {
    kind: 'spam-processing',
    scanner: SCANNER,
    messageId: normalizeMessageId(mid),
  };
  if (forAt > at) {
    const user = text.slice(forAt + 5).trim();
    event.user = userOf(user.endsWith('.') ? user.slice(0, -1) : user);
  }
  return event;
}

/** Lines about connections, children and configuration, by prefix. */
const INFO_PREFIXES: readonly (readonly [string, string])[] = [
  ['connection from ', 'connection'],
  ['unauthorized connection from ', 'connection'],
  ['got connection over ', 'connection'],
  ['setuid to ', 'child'],
  ['handle_user', 'child'],
  ['creating default_prefs', 'child'],
  ['still running as root', 'child'],
  ['server ', 'server'],
  ['handled cleanup of child', 'child'],
  ['cannot send SIG', 'child'],
  ['restarting', 'server'],
  ['bad protocol', 'error'],
];

/** `area: message`, SpamAssassin's own format for everything else (`prefork: child states: II`). */
function isAreaLine(text: string, at: number): boolean {
  let i = at;
  const end = Math.min(text.length, at + 24);
  while (i < end) {
    const c = text.charCodeAt(i);
    const ok = (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || c === 45;
    if (!ok) break;
    i++;
  }
  return i > at && text.startsWith(': ', i);
}

function parseText(text: string): MailEvent | null {
  let at = 0;
  if (text.startsWith('spamd: ')) at = 7;
  if (text.startsWith('result: ', at)) return parseResult(text, at + 8);
  if (text.startsWith('identified spam ', at)) return parseVerdict(text, at + 16, true);
  if (text.startsWith('clean message ', at)) return parseVerdict(text, at + 14, false);
  if (text.startsWith('processing message ', at)) return parseProcessing(text, at + 19);
  if (text.startsWith('checking message ', at)) return parseProcessing(text, at + 17);
  for (const [prefix, label] of INFO_PREFIXES) {
    if (text.startsWith(prefix, at)) return info(label);
  }
  if (isAreaLine(text, at)) return info(text.slice(at, text.indexOf(': ', at)));
  // Perl's own diagnostics from a plugin or module: `Can't locate Foo.pm in @INC ... line 12.`
  if (text.startsWith("Can't ", at) || / line \d+\.\s*$/.test(text.slice(-24))) return info('perl');
  return null;
}

export const spamdParser: ProgramParser = {
  name: 'spamd',
  handles(program: string): boolean {
    return program === 'spamd' || program.endsWith('/spamd');
  },
  parse(frame: Frame): MailEvent | null {
    return parseText(frame.text);
  },
};
