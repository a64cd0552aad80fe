/**
 * splogger (qmail's syslog bridge, splogger.c) prefixes every line with the time it read it:
 * `qmail: 1063526289.292776 info msg 270182: ...` (seconds, a dot, six digits of microseconds).
 * Under multilog the line has no such prefix. Used by the qmail-send, qmail-smtpd and qmail-scanner
 * parsers alike.
 */
import { isDigit } from './scan.js';

const SPACE = 32;
const DOT = 46;
/** Longest seconds part accepted (10 digits until 2286). */
const MAX_SECONDS_DIGITS = 12;

/** Index where the text after splogger's `seconds.micros ` stamp begins, or 0 when there is none. */
export function afterSploggerStamp(text: string): number {
  if (!isDigit(text.charCodeAt(0))) return 0;
  let i = 1;
  while (i < text.length && i <= MAX_SECONDS_DIGITS && isDigit(text.charCodeAt(i))) i++;
  if (text.charCodeAt(i) !== DOT) return 0;
  const fraction = ++i;
  while (i < text.length && i - fraction < 9 && isDigit(text.charCodeAt(i))) i++;
  if (i === fraction || text.charCodeAt(i) !== SPACE) return 0;
  return i + 1;
}

/** The text without splogger's stamp (the same string when there is none). */
export function withoutSploggerStamp(text: string): string {
  const start = afterSploggerStamp(text);
  return start === 0 ? text : text.slice(start);
}
