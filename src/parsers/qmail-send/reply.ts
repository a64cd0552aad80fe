/**
 * The text qmail-send logs after `delivery D: success|failure|deferral: ` is qmail-local's or
 * qmail-remote's report passed through `logsafe()` (qsutil.c): every newline became `/`, and every
 * space, control byte, byte above 126 and `%` became `_`. qmail-remote's reports (qmail-remote.c) start
 * with the address it talked to: `64.233.160.27_accepted_message./Remote_host_said:_250_2.0.0_OK/`,
 * `Connected_to_204.13.42.234_but_greeting_failed./...`, `..._does_not_like_recipient./.../Giving_up_on_IP./`;
 * qmail's own texts end with an enhanced status code in parentheses: `Sorry,_no_mailbox_here_by_that_name._(#5.1.1)/`.
 */
import { bound } from '../../core/events.js';
import { queuedAs } from '../postfix/shared.js';

export interface QmailReport {
  /** The report with `_` turned back into spaces and without the final `/` (the last newline). */
  text: string;
  /** The remote server's address when qmail-remote names it. */
  relay?: string;
  /** Enhanced status code: the remote server's, else qmail's own `(#5.1.1)`. */
  dsn?: string;
  queuedAs?: string;
}

const UNDERSCORE = /_/g;
const QMAIL_DSN = /\(#([245]\.\d{1,3}\.\d{1,3})\)/;
/** `550 5.1.1 ...`, `550-5.1.1 ...` (multi-line replies), `550 #5.1.0 ...` (some servers write a `#`). */
const REMOTE_DSN = /^\d{3}[ -]#?([245]\.\d{1,3}\.\d{1,3})(?![\d.])/;
const REMOTE_SAID = 'Remote host said: ';
const MAX_IP = 45;

/** The logged text as qmail wrote it, readable: `did_0+0+1/` → `did 0+0+1`. */
export function decodeLogsafe(raw: string): string {
  const end = raw.charCodeAt(raw.length - 1) === 47 /* / */ ? raw.length - 1 : raw.length;
  const text = bound(raw.slice(0, end));
  return text.includes('_') ? text.replace(UNDERSCORE, ' ') : text;
}

function isIpChar(code: number): boolean {
  return (
    (code >= 48 && code <= 58) /* 0-9 : */ ||
    code === 46 ||
    (code >= 97 && code <= 102) ||
    (code >= 65 && code <= 70)
  );
}

/** The IPv4 or IPv6 address that starts at `start` in the decoded text (followed by a space or `.`). */
function addressAt(text: string, start: number): string | undefined {
  let end = start;
  while (end < text.length && end - start <= MAX_IP && isIpChar(text.charCodeAt(end))) end++;
  while (end > start && text.charCodeAt(end - 1) === 46) end--; // `Giving up on 192.0.2.1.`
  const candidate = text.slice(start, end);
  if (candidate.includes(':'))
    return candidate.length >= 3 && candidate.length <= MAX_IP ? candidate : undefined;
  return /^\d{1,3}(?:\.\d{1,3}){3}$/.test(candidate) ? candidate : undefined;
}

function relayOf(text: string): string | undefined {
  if (text.startsWith('Connected to ')) return addressAt(text, 13);
  const first = addressAt(text, 0);
  if (first !== undefined && text.charCodeAt(first.length) === 32) return first;
  const givingUp = text.indexOf('Giving up on ');
  return givingUp < 0 ? undefined : addressAt(text, givingUp + 13);
}

/** qmail's own enhanced status code, written in parentheses: `... (#5.1.1)` (also in qmail-smtpd replies). */
export function qmailDsn(text: string): string | undefined {
  if (!text.includes('(#')) return undefined;
  return QMAIL_DSN.exec(text)?.[1];
}

function dsnOf(text: string): string | undefined {
  const said = text.indexOf(REMOTE_SAID);
  if (said >= 0) {
    const remote = REMOTE_DSN.exec(text.slice(said + REMOTE_SAID.length, said + REMOTE_SAID.length + 24));
    if (remote !== null) return remote[1];
  }
  return qmailDsn(text);
}

/** Reads a delivery report; `success` tells whether a `queued as` id is the next hop's. */
export function readReport(raw: string, success: boolean): QmailReport {
  const text = decodeLogsafe(raw);
  const report: QmailReport = { text };
  const relay = relayOf(text);
  if (relay !== undefined) report.relay = relay;
  const dsn = dsnOf(text);
  if (dsn !== undefined) report.dsn = dsn;
  if (success) {
    const next = queuedAs(text);
    if (next !== undefined) report.queuedAs = next;
  }
  return report;
}
