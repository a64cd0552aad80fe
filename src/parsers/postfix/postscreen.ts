/**
 * postscreen(8), its DNS helper dnsblog(8) and the TLS proxy tlsproxy(8) that postscreen hands
 * STARTTLS to. postscreen logs upper-case verdicts about a client: `CONNECT from [ip]:port to
 * [ip]:25`, `PASS NEW [ip]:port`, `DNSBL rank 3 for [ip]:port`, `PREGREET 14 after 0.04 from
 * [ip]:port: EHLO x\r\n`, `HANGUP after 0.07 from [ip]:port in tests after SMTP handshake`,
 * `COMMAND PIPELINING from [ip]:port after ...`, `WHITELISTED [ip]:port`, `DISCONNECT [ip]:port`...
 */
import type { MailEvent } from '../../core/events.js';
import { parseActionLine } from './reject.js';
import { info, NOQUEUE, readClient } from './shared.js';
import { sessionLine } from './smtpd.js';

/** Longest run of upper-case verdict words (`COMMAND LENGTH LIMIT`, `NON-SMTP COMMAND`...). */
const MAX_VERDICT = 40;

/**
 * Length of the leading upper-case words (`PASS NEW`, `COMMAND TIME LIMIT`), ending before a space
 * that is followed by something else; 0 when the text does not start with such a word.
 */
function verdictLength(text: string): number {
  let end = 0;
  let i = 0;
  const limit = Math.min(text.length, MAX_VERDICT);
  while (i < limit) {
    const c = text.charCodeAt(i);
    if ((c >= 65 && c <= 90) || c === 45) {
      i++;
      continue;
    }
    if (c !== 32 || i === end) break;
    end = i;
    // a space: the words go on only if an upper-case letter follows
    const next = text.charCodeAt(i + 1);
    if (!(next >= 65 && next <= 90)) return end;
    i++;
  }
  return i === text.length ? i : end;
}

/** Labels already built; the verdict vocabulary is small, but the words come from the line, so bounded. */
const labels = new Map<string, string>();
const MAX_LABELS = 256;

/** Lower-case label from verdict words: `COMMAND TIME LIMIT` → `command-time-limit`. */
function verdictLabel(words: string): string {
  let label = labels.get(words);
  if (label === undefined) {
    label = words.toLowerCase().replaceAll(' ', '-');
    if (labels.size < MAX_LABELS) labels.set(words, label);
  }
  return label;
}

export function parsePostscreen(text: string): MailEvent | null {
  if (text.startsWith(NOQUEUE)) return parseActionLine(text.slice(NOQUEUE.length), undefined);
  const wordsEnd = verdictLength(text);
  if (wordsEnd === 0) {
    if (text.startsWith('cache ')) return info('cache');
    return null;
  }
  const words = text.slice(0, wordsEnd);
  // The client is the first `[addr]:port` after the verdict (`CONNECT from [a]:p to [b]:25` → a).
  const open = text.indexOf('[', wordsEnd);
  const client = open < 0 ? undefined : readClient(text, open)?.client;
  if (words === 'CONNECT') return client === undefined ? null : { kind: 'connect', client };
  if (words === 'DISCONNECT') return client === undefined ? null : { kind: 'disconnect', client };
  return info(verdictLabel(words), undefined, client);
}

/** dnsblog: `addr 192.0.2.1 listed by domain zen.spamhaus.org as 127.0.0.4`. */
export function parseDnsblog(text: string): MailEvent | null {
  if (!text.startsWith('addr ')) return null;
  const end = text.indexOf(' listed by domain ', 5);
  if (end < 0 || end - 5 > 64) return null;
  return info('dnsbl-listed', undefined, { ip: text.slice(5, end) });
}

/** tlsproxy: `CONNECT from [ip]:port`, `DISCONNECT [ip]:port` and TLS handshake lines. */
export function parseTlsproxy(text: string): MailEvent | null {
  if (text.startsWith('CONNECT from '))
    return info('tlsproxy-connect', undefined, readClient(text, 13)?.client);
  if (text.startsWith('DISCONNECT '))
    return info('tlsproxy-disconnect', undefined, readClient(text, 11)?.client);
  return sessionLine(text, undefined);
}
