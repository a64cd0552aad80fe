/**
 * qmail-send (qmail-1.03 and netqmail `qmail-send.c`, `qsutil.c`; qmail-log(5)). Per message it logs:
 *
 *   new msg 2638087                                        a queue entry (its inode number) begins
 *   info msg 2638087: bytes 9633 from <a@x.org> qp 13167 uid 89   size, sender, qmail-queue pid, uid
 *   starting delivery 596182: msg 2638087 to local b@x.org         delivery number D to one recipient
 *   delivery 596182: success: did_0+0+1/                  outcome of D (also `failure:`, `deferral:`)
 *   bounce msg 2638087 qp 13185                           the bounce was queued by qmail-queue pid 13185
 *   triple bounce: discarding bounce/2638087              a bounce of a double bounce is dropped
 *   end msg 2638087                                        the entry left the queue
 *
 * and about itself `status: local 1/10 remote 0/20`, `status: exiting`, `alert: ...`, `warning: ...`.
 * Addresses and reports go through `logsafe()` (spaces and unprintable bytes as `_`, newlines as `/`).
 *
 * Under multilog the program comes from the import settings (`qmail-send`); through splogger (syslog)
 * the tag is usually `qmail` and the text starts with splogger's `seconds.micros ` stamp. A site that
 * logs qmail-smtpd through the same `splogger qmail` gets tcpserver/rblsmtpd/qmail-smtpd lines under the
 * same tag: those are handed to the qmail-smtpd parser.
 */
import { normalizeAddress } from '../../core/address.js';
import {
  bound,
  type DeliveryResultEvent,
  type DeliveryStartEvent,
  type InfoEvent,
  type MailEvent,
  type NotificationEvent,
  type QueueInfoEvent,
} from '../../core/events.js';
import type { Frame } from '../../core/frame.js';
import { parseSmtpdText } from '../qmail-smtpd/parser.js';
import type { ProgramParser } from '../types.js';
import { readReport } from './reply.js';
import { digitsEnd } from './scan.js';
import { withoutSploggerStamp } from './splogger.js';

function info(label: string, queueId?: string): InfoEvent {
  const event: InfoEvent = { kind: 'info', label };
  if (queueId !== undefined) event.queueId = queueId;
  return event;
}

/** The number at `start` when the whole rest of the text is that number. */
function wholeNumber(text: string, start: number): string | undefined {
  const end = digitsEnd(text, start);
  return end === text.length ? text.slice(start, end) : undefined;
}

/** `info msg N: bytes B from <sender> qp P uid U`; a cut line keeps what it has. */
function parseInfoMsg(text: string): QueueInfoEvent | null {
  const idEnd = digitsEnd(text, 9);
  if (idEnd < 0 || !text.startsWith(': ', idEnd)) return null;
  const event: QueueInfoEvent = { kind: 'queue-info', queueId: text.slice(9, idEnd), starts: false };
  let p = idEnd + 2;
  if (text.startsWith('bytes ', p)) {
    const end = digitsEnd(text, p + 6);
    if (end > 0) {
      event.size = Number(text.slice(p + 6, end));
      p = end + 1;
    }
  }
  if (!text.startsWith('from <', p)) return event;
  // The sender may hold `>`: the field ends at the last `> qp `.
  const close = text.lastIndexOf('> qp ');
  const senderEnd = close >= p + 6 ? close : text.length;
  const sender = text.slice(p + 6, senderEnd);
  // qmail-send's double bounces come from `#@[]`, its spelling of the null sender that must not bounce.
  event.from = sender === '#@[]' ? '' : normalizeAddress(sender);
  if (close < p + 6) return event;
  const qpEnd = digitsEnd(text, close + 5);
  if (qpEnd < 0) return event;
  event.qp = Number(text.slice(close + 5, qpEnd));
  if (text.startsWith(' uid ', qpEnd)) {
    const uidEnd = digitsEnd(text, qpEnd + 5);
    if (uidEnd > 0) event.uid = Number(text.slice(qpEnd + 5, uidEnd));
  }
  return event;
}

/** `starting delivery D: msg N to local|remote R` (the channels patch adds `to suppl0 R`). */
function parseStart(text: string): DeliveryStartEvent | null {
  const dEnd = digitsEnd(text, 18);
  if (dEnd < 0 || !text.startsWith(': msg ', dEnd)) return null;
  const idEnd = digitsEnd(text, dEnd + 6);
  if (idEnd < 0 || !text.startsWith(' to ', idEnd)) return null;
  const channelEnd = text.indexOf(' ', idEnd + 4);
  if (channelEnd < 0 || channelEnd - idEnd > 24) return null;
  const channel = text.slice(idEnd + 4, channelEnd);
  return {
    kind: 'delivery-start',
    deliveryId: text.slice(18, dEnd),
    queueId: text.slice(dEnd + 6, idEnd),
    to: normalizeAddress(text.slice(channelEnd + 1)),
    // Supplementary channels (`suppl0`...) hand mail to other programs, away from this host.
    channel: channel === 'local' ? 'local' : 'remote',
  };
}

const OUTCOMES: readonly (readonly [string, DeliveryResultEvent['status']])[] = [
  ['success:', 'sent'],
  ['failure:', 'bounced'],
  ['deferral:', 'deferred'],
];

/** `delivery D: success|failure|deferral: report`, or `delivery D: report mangled, will defer`. */
function parseResult(text: string): DeliveryResultEvent | null {
  const dEnd = digitsEnd(text, 9);
  if (dEnd < 0 || !text.startsWith(': ', dEnd)) return null;
  const deliveryId = text.slice(9, dEnd);
  const at = dEnd + 2;
  for (const [word, status] of OUTCOMES) {
    if (!text.startsWith(word, at)) continue;
    const event: DeliveryResultEvent = { kind: 'delivery-result', deliveryId, status };
    const rawStart = at + word.length;
    const raw = text.slice(text.charCodeAt(rawStart) === 32 ? rawStart + 1 : rawStart);
    if (raw === '') return event;
    const report = readReport(raw, status === 'sent');
    if (report.text !== '') event.reply = report.text;
    if (report.relay !== undefined) event.relay = report.relay;
    if (report.dsn !== undefined) event.dsn = report.dsn;
    if (report.queuedAs !== undefined) event.queuedAs = report.queuedAs;
    return event;
  }
  if (text.startsWith('report mangled', at)) {
    return { kind: 'delivery-result', deliveryId, status: 'deferred', reply: 'report mangled, will defer' };
  }
  return null;
}

/**
 * `bounce msg N qp M`: the failures of N were sent back in a new message queued by qmail-queue pid M
 * (its own `info msg K: ... qp M` follows). qmail-send injects the bounce only once every recipient is
 * done, so recipients still deferred here are ones whose failure line was not read.
 */
function parseBounce(text: string): NotificationEvent | null {
  const idEnd = digitsEnd(text, 11);
  if (idEnd < 0) return null;
  const event: NotificationEvent = {
    kind: 'notification',
    queueId: text.slice(11, idEnd),
    notification: 'non-delivery',
    settlesDeferred: true,
  };
  if (text.startsWith(' qp ', idEnd)) {
    const qpEnd = digitsEnd(text, idEnd + 4);
    if (qpEnd > 0) event.notificationQp = Number(text.slice(idEnd + 4, qpEnd));
  }
  return event;
}

/** Queue files named in warnings: `todo/N`, `info/12/N`, `local/3/N`, `bounce/N`... */
const QUEUE_FILE = /\b(?:todo|info|mess|intd|local|remote|bounce|suppl\d+)\/(?:\d{1,6}\/)?(\d{1,15})\b/;

/** `triple bounce: discarding bounce/N` (spamcontrol also writes `double bounce: discarding ...`). */
function parseDiscard(text: string, label: string): InfoEvent {
  return info(label, QUEUE_FILE.exec(text)?.[1]);
}

/** `warning: ...` and `alert: ...`, with the queue entry when the text names one of its files. */
function parseTrouble(text: string, label: string): InfoEvent {
  return info(label, QUEUE_FILE.exec(bound(text, 512))?.[1]);
}

/** One qmail-send line (without splogger's stamp), or null. */
export function parseSendText(text: string): MailEvent | null {
  switch (text.charCodeAt(0)) {
    case 115 /* s */:
      if (text.startsWith('status: ')) return info('status');
      if (text.startsWith('starting delivery ')) return parseStart(text);
      return null;
    case 100 /* d */:
      if (text.startsWith('delivery ')) return parseResult(text);
      if (text.startsWith('double bounce: ')) return parseDiscard(text, 'double-bounce');
      return null;
    case 110 /* n */:
      {
        if (!text.startsWith('new msg ')) return null;
        const queueId = wholeNumber(text, 8);
        return queueId === undefined ? null : { kind: 'queue-info', queueId, starts: true };
      }
    case 105 /* i */:
      return text.startsWith('info msg ') ? parseInfoMsg(text) : null;
    case 101 /* e */:
      {
        if (!text.startsWith('end msg ')) return null;
        const queueId = wholeNumber(text, 8);
        return queueId === undefined ? null : { kind: 'queue-removed', queueId };
      }
    case 98 /* b */:
      return text.startsWith('bounce msg ') ? parseBounce(text) : null;
    case 116 /* t */:
      return text.startsWith('triple bounce: ') ? parseDiscard(text, 'triple-bounce') : null;
    case 119 /* w */:
      return text.startsWith('warning: ') ? parseTrouble(text, 'warning') : null;
    case 97 /* a */:
      return text.startsWith('alert: ') ? parseTrouble(text, 'alert') : null;
    default:
      return null;
  }
}

/** Tags qmail-send's lines come under: multilog settings, splogger's `qmail`, the ext-todo patch's helper. */
const PROGRAMS = new Set(['qmail-send', 'qmail', 'qmail-todo']);

export const qmailSendParser: ProgramParser = {
  name: 'qmail-send',
  handles(program: string): boolean {
    return PROGRAMS.has(program);
  },
  parse(frame: Frame): MailEvent | null {
    const text = withoutSploggerStamp(frame.text);
    const event = parseSendText(text);
    if (event !== null || frame.program !== 'qmail') return event;
    // `splogger qmail` also carries the SMTP side when a site logs it under the same tag.
    return parseSmtpdText(text);
  },
};
