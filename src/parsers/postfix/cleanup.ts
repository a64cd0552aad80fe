/**
 * cleanup(8): the Message-ID, header/body check actions (where sites log the Subject), and the
 * rejects of header checks and milters.
 *
 * Header/body check line (cleanup_message.c `cleanup_act_log`):
 *   QID: ACTION: CLASS CONTENT from ORIGIN; from=<a> to=<b> proto=P helo=<h>: optional text
 * where CLASS is header, body, mime-header or nested-header, CONTENT is at most 200 characters of the
 * header line, and ORIGIN is `host[ip]` or `local`. Milters' header checks log
 * `QID: milter-header-ACTION: header ...` (cleanup_milter.c, content cut at 60 characters).
 */
import libmime from 'libmime';
import { normalizeMessageId } from '../../core/address.js';
import type { HeaderCheckEvent, MailEvent, MessageIdEvent } from '../../core/events.js';
import { bound } from '../../core/events.js';
import { parseActionLine, rejectEvent } from './reject.js';
import { findTail, parseEnvelope, parseReply, queueIdEnd, readClient } from './shared.js';

const CLASSES = new Set(['header', 'body', 'mime-header', 'nested-header']);

/** Longest `milter-nested-header-redirect` style action word. */
const MAX_ACTION = 32;
/** Longest header name kept. */
const MAX_HEADER_NAME = 100;

export function parseCleanup(text: string): MailEvent | null {
  const colon = queueIdEnd(text);
  if (colon < 0) return null;
  const queueId = text.slice(0, colon);
  const rest = text.slice(colon + 2);
  if (rest.startsWith('message-id=')) return messageId(queueId, rest.slice(11), false);
  if (rest.startsWith('resent-message-id=')) return messageId(queueId, rest.slice(18), true);
  return headerCheck(queueId, rest) ?? parseActionLine(rest, queueId);
}

/**
 * `message-id=<id>`; also `message-id=<>` (empty header), ids cut short by the log line limit
 * (no closing `>`) and ids logged without brackets (RFC 2047 encoded words, anonymised logs).
 */
function messageId(queueId: string, value: string, resent: boolean): MessageIdEvent {
  // normalizeMessageId strips a matched pair only; a cut-short id has just the opening bracket.
  const unclosed = value.charCodeAt(0) === 60 && value.charCodeAt(value.length - 1) !== 62;
  const event: MessageIdEvent = {
    kind: 'message-id',
    queueId,
    messageId: normalizeMessageId(unclosed ? value.slice(1) : value),
  };
  if (resent) event.resent = true;
  return event;
}

/** The action of `ACTION: CLASS ...`, folding the milter form `milter-CLASS-ACTION` to ACTION. */
function checkAction(word: string, cls: string): string {
  const prefix = `milter-${cls}-`;
  return word.startsWith(prefix) ? word.slice(prefix.length) : word;
}

function headerCheck(queueId: string, rest: string): MailEvent | null {
  const colon = rest.indexOf(': ');
  if (colon <= 0 || colon > MAX_ACTION) return null;
  const classStart = colon + 2;
  const classEnd = rest.indexOf(' ', classStart);
  if (classEnd < 0) return null;
  const cls = rest.slice(classStart, classEnd);
  if (!CLASSES.has(cls)) return null;
  const action = checkAction(rest.slice(0, colon), cls);

  const contentStart = classEnd + 1;
  const tail = findTail(rest, contentStart);
  let contentEnd = tail < 0 ? rest.length : tail;
  let clientStart = -1;
  if (tail >= 0) {
    // `CONTENT from ORIGIN;`: the origin has no spaces, so the last ` from ` before the tail ends CONTENT
    // even when the header itself says "from".
    const from = rest.lastIndexOf(' from ', tail);
    if (from >= contentStart) {
      contentEnd = from;
      clientStart = from + 6;
    }
  }
  const content = rest.slice(contentStart, contentEnd);
  const env = tail < 0 ? undefined : parseEnvelope(rest, tail + 2);
  const text = env !== undefined && rest.startsWith(': ', env.end) ? rest.slice(env.end + 2) : undefined;
  const client = clientStart < 0 ? undefined : readClient(rest, clientStart)?.client;

  // A header/body check REJECT: the optional text is the reply (`5.7.1 text` or the default).
  if (action === 'reject') return rejectEvent('reject', cls, parseReply(text ?? ''), queueId, client, env);

  const event: HeaderCheckEvent = {
    kind: 'header-check',
    queueId,
    action: bound(action, MAX_ACTION),
    part: cls,
    value: '',
  };
  const nameEnd = cls === 'body' ? -1 : content.indexOf(':');
  if (nameEnd > 0 && nameEnd <= MAX_HEADER_NAME && !content.slice(0, nameEnd).includes(' ')) {
    event.header = content.slice(0, nameEnd);
    event.value = decodeValue(content.slice(nameEnd + 1).trim());
  } else {
    event.value = bound(content);
  }
  if (client !== undefined) event.client = client;
  if (env?.from !== undefined) event.from = env.from;
  if (env?.to !== undefined) event.to = env.to;
  if (env?.helo !== undefined) event.helo = env.helo;
  if (text !== undefined && text.length > 0) event.text = bound(text);
  return event;
}

/**
 * RFC 2047 decoding of a logged header value (`=?utf-8?Q?Gr=C3=BC=C3=9Fe?=`). The check for `=?` keeps
 * the decoder off the common path; a value cut short mid-word or in an unknown charset stays as logged.
 */
export function decodeValue(value: string): string {
  if (!value.includes('=?')) return bound(value);
  try {
    return bound(libmime.decodeWords(value));
  } catch {
    return bound(value);
  }
}
