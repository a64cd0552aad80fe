/**
 * Exim's main log (`/var/log/exim4/mainlog`, `/var/log/exim/main.log`, `exim_mainlog`), framed with
 * program `exim` (framing reads its `2026-11-28 10:00:00[.123][ +0100][ [pid]] ` header), and Exim
 * through syslog (`exim[pid]:`, `exim4[pid]:`), whose text may still begin with Exim's own timestamp
 * (`syslog_timestamp`, the default).
 *
 * A line that begins with a message id is about that message (message.ts); the others are about SMTP
 * sessions, authentication and the daemon (smtp.ts). The reject log's multi-line header dumps and
 * the panic log are not main-log lines: their continuation lines have no header and are not framed.
 */
import type { MailEvent } from '../../core/events.js';
import type { Frame } from '../../core/frame.js';
import type { ProgramParser } from '../types.js';
import { eximIdLength } from './fields.js';
import { messageLine } from './message.js';
import { sessionLine } from './smtp.js';

const SPACE = 32;
const DASH = 45;

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * Index after Exim's own header when the text still has it (syslog with `syslog_timestamp`):
 * `YYYY-MM-DD hh:mm:ss[.ddd][ +hhmm] [[pid] ]`; 0 when it does not begin with one.
 */
export function skipEximStamp(text: string): number {
  if (
    text.length < 20 ||
    text.charCodeAt(4) !== DASH ||
    text.charCodeAt(7) !== DASH ||
    text.charCodeAt(10) !== SPACE ||
    text.charCodeAt(13) !== 58 ||
    !isDigit(text.charCodeAt(0)) ||
    !isDigit(text.charCodeAt(18))
  ) {
    return 0;
  }
  let p = 19;
  if (text.charCodeAt(p) === 46 /* . */) {
    p++;
    while (p < 30 && isDigit(text.charCodeAt(p))) p++;
  }
  if (text.charCodeAt(p) !== SPACE) return 0;
  p++;
  const sign = text.charCodeAt(p);
  if ((sign === 43 || sign === DASH) && isDigit(text.charCodeAt(p + 1)) && text.charCodeAt(p + 5) === SPACE) {
    p += 6;
  }
  return skipPid(text, p);
}

/** `[1234] ` at `p` (log_selector +pid): the index after it, else `p`. */
function skipPid(text: string, p: number): number {
  if (text.charCodeAt(p) !== 91 /* [ */) return p;
  let e = p + 1;
  while (e - p <= 11 && isDigit(text.charCodeAt(e))) e++;
  return e > p + 1 && text.charCodeAt(e) === 93 && text.charCodeAt(e + 1) === SPACE ? e + 2 : p;
}

export function parseEximText(text: string): MailEvent | null {
  let start = skipEximStamp(text);
  if (start === 0) start = skipPid(text, 0);
  const body = start === 0 ? text : text.slice(start);
  const idLength = eximIdLength(body, 0);
  if (idLength > 0) {
    if (idLength + 1 >= body.length) return null;
    return messageLine(body.slice(0, idLength), body.slice(idLength + 1));
  }
  return sessionLine(body);
}

export const eximParser: ProgramParser = {
  name: 'exim',
  handles(program: string): boolean {
    return program === 'exim' || program === 'exim4' || program === 'exim3';
  },
  parse(frame: Frame): MailEvent | null {
    return parseEximText(frame.text);
  },
};
