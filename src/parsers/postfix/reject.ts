/**
 * The access-decision line smtpd, postscreen and cleanup (milter) share:
 *
 *   ACTION: STAGE from CLIENT: REPLY; from=<a> to=<b> proto=ESMTP helo=<h>
 *
 * e.g. `NOQUEUE: reject: RCPT from host[192.0.2.1]: 554 5.7.1 <x>: Relay access denied; from=<a> ...`
 * (smtpd_check.c `log_whatsup`), `QID: milter-reject: END-OF-MESSAGE from host[ip]: 5.7.1 text; ...`
 * (cleanup_milter.c, no SMTP code) and postscreen's `...; from=<a>, to=<b>, proto=ESMTP, helo=<h>`.
 */
import type { ClientRef, MailEvent, RejectEvent } from '../../core/events.js';
import type { Envelope, Reply } from './shared.js';
import { findTail, info, parseEnvelope, parseReply, queuedAs, readClient } from './shared.js';

type RejectAction = RejectEvent['action'];

/** Postfix action words that become reject events; milter-* come from the milter protocol's replies. */
const ACTIONS = new Map<string, RejectAction>([
  ['reject', 'reject'],
  ['milter-reject', 'milter-reject'],
  ['discard', 'discard'],
  ['milter-discard', 'discard'],
  ['hold', 'hold'],
  ['milter-hold', 'hold'],
  ['redirect', 'redirect'],
  ['filter', 'filter'],
]);

/** `reject_warning` is `warn_if_reject`: logged as a reject, but the mail is accepted. */
const REJECT_WARNING = 'reject_warning';

/** Longest action word (`milter-discard`) plus slack; longer prefixes are not action lines. */
const MAX_ACTION = 20;
/** Longest SMTP stage name (`END-OF-MESSAGE`) plus slack. */
const MAX_STAGE = 24;

/** SMTP stage names are upper-case words with dashes: RCPT, MAIL, END-OF-MESSAGE... */
function isStage(text: string, start: number, end: number): boolean {
  if (end <= start || end - start > MAX_STAGE) return false;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 65 && c <= 90) || c === 45)) return false;
  }
  return true;
}

/**
 * Parses `ACTION: STAGE from CLIENT: REPLY; TAIL` (the text after the `QID: `/`NOQUEUE: ` prefix).
 * Returns a reject event, an info event for `reject_warning`, or null when the text is not such a line.
 */
export function parseActionLine(rest: string, queueId: string | undefined): MailEvent | null {
  const colon = rest.indexOf(': ');
  if (colon <= 0 || colon > MAX_ACTION) return null;
  const word = rest.slice(0, colon);
  const action = ACTIONS.get(word);
  if (action === undefined && word !== REJECT_WARNING) return null;

  const stageStart = colon + 2;
  const fromAt = rest.indexOf(' from ', stageStart);
  if (fromAt < 0 || !isStage(rest, stageStart, fromAt)) return null;
  const at = readClient(rest, fromAt + 6);
  if (at === null) return null;
  if (action === undefined) return info('reject-warning', queueId, at.client);

  let replyStart = at.end;
  if (rest.startsWith(': ', replyStart)) replyStart += 2;
  else if (replyStart !== rest.length) return null;
  const tail = findTail(rest, replyStart);
  const reply = parseReply(tail < 0 ? rest.slice(replyStart) : rest.slice(replyStart, tail));
  const env = tail < 0 ? undefined : parseEnvelope(rest, tail + 2);
  return rejectEvent(action, rest.slice(stageStart, fromAt), reply, queueId, at.client, env);
}

/**
 * smtpd's before-queue content filter result: `proxy-accept: END-OF-MESSAGE: 250 2.0.0 Ok: queued as X;
 * from=<a> ...` or `proxy-reject: END-OF-MESSAGE: 554 5.7.0 text; from=<a> ...` (smtpd_proxy.c).
 * A reject becomes a reject event; an accept an info event naming the queue id the filter's MTA gave.
 */
export function parseProxyLine(rest: string, queueId: string | undefined): MailEvent | null {
  const accept = rest.startsWith('proxy-accept: ');
  if (!accept && !rest.startsWith('proxy-reject: ')) return null;
  const stageStart = 14;
  const stageEnd = rest.indexOf(': ', stageStart);
  if (stageEnd < 0 || !isStage(rest, stageStart, stageEnd)) return null;
  const tail = findTail(rest, stageEnd + 2);
  const replyText = tail < 0 ? rest.slice(stageEnd + 2) : rest.slice(stageEnd + 2, tail);
  if (accept) return info('proxy-accept', queueId ?? queuedAs(replyText));
  const env = tail < 0 ? undefined : parseEnvelope(rest, tail + 2);
  return rejectEvent(
    'reject',
    rest.slice(stageStart, stageEnd),
    parseReply(replyText),
    queueId,
    undefined,
    env,
  );
}

/** A reject event with only the facts the line gave. */
export function rejectEvent(
  action: RejectAction,
  stage: string,
  reply: Reply,
  queueId: string | undefined,
  client: ClientRef | undefined,
  env: Envelope | undefined,
): RejectEvent {
  const event: RejectEvent = { kind: 'reject', action, stage, reason: reply.text };
  if (queueId !== undefined) event.queueId = queueId;
  if (client !== undefined) event.client = client;
  if (reply.code !== undefined) event.code = reply.code;
  if (reply.dsn !== undefined) event.dsn = reply.dsn;
  if (env?.from !== undefined) event.from = env.from;
  if (env?.to !== undefined) event.to = env.to;
  if (env?.proto !== undefined) event.proto = env.proto;
  if (env?.helo !== undefined) event.helo = env.helo;
  return event;
}
