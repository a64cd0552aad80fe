/**
 * rspamd, through syslog (`rspamd[pid]: <tag>; module; function: message`, logger_syslog.c) or its own log
 * file (framed to the same text by src/framing; rspamd 1.0's file has `function: message` only).
 * The line that matters is the scan result, written by `rspamd_task_write_log` (src/libserver/task.c)
 * with the `log_format` of `logging.inc`, by default (src/libserver/cfg_utils.c):
 *
 *   id: <$mid>,$if_qid{ qid: <$>,}$if_ip{ ip: $,}$if_user{ user: $,}$if_smtp_from{ from: <$>,}
 *   (default: $is_spam ($action): [$scores] [$symbols_scores_params]), len: $len, time: $time_real,
 *   dns req: $dns_req, digest: <$digest>$if_smtp_rcpts{ rcpts: <$>, }$if_mime_rcpt{ mime_rcpt: <$>, }
 *
 * (before 2.x: `[$symbols]` and `time: $time_real real, $time_virtual virtual`). `$scores` is
 * `score/required`, the threshold of the reject action; `$action` is `no action`, `greylist`, `add
 * header`, `rewrite subject`, `soft reject` or `reject`; a symbol is `NAME`, `NAME(score)` or
 * `NAME(score){option;option;}` (options may hold commas). `$mid` is `undef` without a Message-ID.
 * `qid` is the MTA's queue id, which SpamResultEvent has no field for: the result joins its message
 * by Message-ID. `rspamd_message_parse: loaded message; id: <mid>; queue-id: <qid>` names the queue id:
 * it is kept as information with that queue id. Every other line is information labelled with the
 * function that wrote it.
 */
import { normalizeMessageId } from '../../core/address.js';
import { bound, type InfoEvent, type MailEvent, type SpamResultEvent } from '../../core/events.js';
import type { Frame } from '../../core/frame.js';
import type { ProgramParser } from '../types.js';

const SCANNER = 'rspamd';
/** rspamd's log tag is 6 characters (RSPAMD_LOG_ID_LEN); function and module names are short. */
const MAX_TAG = 64;
const MAX_NAME = 64;
const MAX_MESSAGE_ID = 1000;
const MAX_USER = 256;
const MAX_QUEUE_ID = 64;
const MAX_SYMBOLS = 1000;
const MAX_SYMBOL = 128;

/**
 * Actions that mean spam (`discard` and `quarantine` are rspamd 3.x's own); `no action`, `greylist` and
 * `soft reject` (a temporary refusal) do not. An action of a custom configuration follows `$is_spam`.
 */
const SPAM_ACTIONS = new Set(['reject', 'add header', 'rewrite subject', 'discard', 'quarantine']);
const HAM_ACTIONS = new Set(['no action', 'greylist', 'soft reject']);

function info(label: string, queueId?: string): InfoEvent {
  const event: InfoEvent = { kind: 'info', label };
  if (queueId !== undefined) event.queueId = queueId;
  return event;
}

/** `<value>` at `i` (after `id: `, `qid: `...): the value, or undefined when absent or `undef`. */
function bracketed(text: string, i: number, max: number): string | undefined {
  if (text.charCodeAt(i) !== 60 /* < */) return undefined;
  const close = text.indexOf('>', i + 1);
  if (close < 0 || close - i > max) return undefined;
  const value = text.slice(i + 1, close);
  return value === '' || value === 'undef' ? undefined : value;
}

function isSymbolChar(c: number): boolean {
  return (
    (c >= 65 && c <= 90) || // A-Z
    (c >= 97 && c <= 122) || // a-z
    (c >= 48 && c <= 57) || // 0-9
    c === 95 || // _
    c === 45 || // -
    c === 46 // .
  );
}

/**
 * The symbols between `[` and `]` at `i`: names only, their `(score)` and `{options;}` skipped. Options
 * end with `;}` (each option is followed by `;`), so a comma or bracket inside one does not end it.
 * Returns the names and the index after the closing `]` (or where reading stopped).
 */
function readSymbols(text: string, i: number): { names: string[]; end: number } {
  const names: string[] = [];
  let k = i;
  while (k < text.length && names.length < MAX_SYMBOLS) {
    const start = k;
    while (k < text.length && k - start < MAX_SYMBOL && isSymbolChar(text.charCodeAt(k))) k++;
    if (k === start) break;
    names.push(text.slice(start, k));
    if (text.charCodeAt(k) === 40 /* ( */) {
      const close = text.indexOf(')', k);
      if (close < 0) return { names, end: text.length };
      k = close + 1;
    }
    if (text.charCodeAt(k) === 123 /* { */) {
      const close = text.charCodeAt(k + 1) === 125 /* } */ ? k + 1 : text.indexOf(';}', k) + 1;
      if (close <= 0) return { names, end: text.length };
      k = close + 1;
    }
    if (text.charCodeAt(k) !== 44 /* , */) break;
    k++;
  }
  return { names, end: text.charCodeAt(k) === 93 /* ] */ ? k + 1 : k };
}

function finiteNumber(text: string): number | undefined {
  const n = Number(text);
  return text.trim() !== '' && Number.isFinite(n) ? n : undefined;
}

/** `user: NAME,` before the metric, when the format logs the authenticated SMTP user. */
function userIn(text: string, from: number, to: number): string | undefined {
  const at = text.indexOf(' user: ', from);
  if (at < 0 || at >= to) return undefined;
  const end = text.indexOf(',', at + 7);
  const user = text.slice(at + 7, end < 0 || end > to ? to : end).trim();
  return user === '' ? undefined : bound(user, MAX_USER);
}

/** `len: N` after `from`: the message size in bytes (`len: xx` in anonymised samples: none). */
function lenAfter(text: string, from: number): number | undefined {
  const at = text.indexOf(' len: ', from);
  if (at < 0) return undefined;
  const start = at + 6;
  let k = start;
  while (k < text.length && k - start < 15 && text.charCodeAt(k) >= 48 && text.charCodeAt(k) <= 57) k++;
  return k > start ? Number(text.slice(start, k)) : undefined;
}

/**
 * `(default: F (no action): [-2.11/15.00] [SYMBOLS])` and what surrounds it. Null when the line has no
 * metric part (a custom log_format without it cannot be read).
 */
function parseTaskLog(text: string, i: number): SpamResultEvent | null {
  const metric = text.indexOf('(default: ', i);
  if (metric < 0) return null;
  const flag = text.charCodeAt(metric + 10);
  if ((flag !== 84 /* T */ && flag !== 70) /* F */ || !text.startsWith(' (', metric + 11)) return null;
  const actionStart = metric + 13;
  const actionEnd = text.indexOf('): [', actionStart);
  if (actionEnd < 0 || actionEnd - actionStart > MAX_NAME) return null;
  const action = text.slice(actionStart, actionEnd);
  const scoresStart = actionEnd + 4;
  const scoresEnd = text.indexOf(']', scoresStart);
  const slash = text.indexOf('/', scoresStart);
  if (scoresEnd < 0 || slash < 0 || slash > scoresEnd || scoresEnd - scoresStart > 64) return null;
  const score = finiteNumber(text.slice(scoresStart, slash));
  if (score === undefined) return null;
  const isSpam = SPAM_ACTIONS.has(action) || (!HAM_ACTIONS.has(action) && flag === 84);
  const event: SpamResultEvent = { kind: 'spam-result', scanner: SCANNER, score, isSpam };
  const required = finiteNumber(text.slice(slash + 1, scoresEnd));
  if (required !== undefined) event.required = required;
  let after = scoresEnd + 1;
  if (text.startsWith(' [', after)) {
    const symbols = readSymbols(text, after + 2);
    event.tests = symbols.names;
    after = symbols.end;
  }
  const id = text.startsWith('id: ', i) ? bracketed(text, i + 4, MAX_MESSAGE_ID) : undefined;
  if (id !== undefined) event.messageId = normalizeMessageId(id);
  const user = userIn(text, i, metric);
  if (user !== undefined) event.user = user;
  const size = lenAfter(text, after);
  if (size !== undefined) event.size = size;
  return event;
}

/** `loaded message; id: <mid>; queue-id: <qid>` (rspamd_message_parse): the MTA's queue id, as information. */
function parseLoaded(text: string, i: number): InfoEvent {
  const at = text.indexOf('; queue-id: ', i);
  const queueId = at < 0 ? undefined : bracketed(text, at + 12, MAX_QUEUE_ID);
  return info('loaded message', queueId);
}

/** Start of the function name: after `<tag>; module; ` (or `<tag>; ` alone), or 0 (rspamd 1.0). */
function functionStart(text: string): number {
  if (text.charCodeAt(0) !== 60 /* < */) return 0;
  const close = text.indexOf('>; ', 1);
  if (close < 0 || close > MAX_TAG) return -1;
  const after = close + 3;
  const semicolon = text.indexOf('; ', after);
  const colon = text.indexOf(': ', after);
  // The file logger leaves out a missing module: `<tag>; function: message`.
  if (semicolon < 0 || (colon >= 0 && colon < semicolon) || semicolon - after > MAX_NAME) return after;
  return semicolon + 2;
}

function parseText(text: string): MailEvent | null {
  const start = functionStart(text);
  if (start < 0) return null;
  const colon = text.indexOf(': ', start);
  if (colon < start || colon - start > MAX_NAME) return null;
  const name = text.slice(start, colon);
  for (let k = 0; k < name.length; k++) if (!isSymbolChar(name.charCodeAt(k))) return null;
  const message = colon + 2;
  if (name === 'rspamd_task_write_log') return parseTaskLog(text, message);
  if (name === 'rspamd_message_parse' && text.startsWith('loaded message; ', message)) {
    return parseLoaded(text, message);
  }
  return info(name === '' ? 'rspamd' : name);
}

export const rspamdParser: ProgramParser = {
  name: 'rspamd',
  handles(program: string): boolean {
    return program === 'rspamd' || program.endsWith('/rspamd');
  },
  parse(frame: Frame): MailEvent | null {
    return parseText(frame.text);
  },
};
