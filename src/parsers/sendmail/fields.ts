/**
 * Pieces Sendmail's lines share: queue ids, the `key=value, key=value` lists of its from=/to=/ruleset=
 * lines, `host [ip] (may be forged)` relays, and `HH:MM:SS` delays.
 *
 * Everything works on string positions and is linear in the line length.
 */
import { normalizeAddress } from '../../core/address.js';
import type { ClientRef } from '../../core/events.js';
import { bound } from '../../core/events.js';

const SPACE = 32;
const DQUOTE = 34;
const COMMA = 44;
const COLON = 58;
const LT = 60;
const GT = 62;

/**
 * Queue ids: 8.12+ `u3P05kaI000640` (8 characters of date and sequence, then the pid, 5 to 7
 * digits); 8.9–8.11 `IAA12345` and `f1RJk9X04567`. Letters and digits, 8 to 20 of them.
 */
const MIN_QUEUE_ID = 8;
const MAX_QUEUE_ID = 20;

function isAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** When `text` at `start` is `QUEUEID: `, the index of the colon; else -1. */
export function queueIdEnd(text: string, start: number): number {
  let i = start;
  while (i - start <= MAX_QUEUE_ID && isAlnum(text.charCodeAt(i))) i++;
  const len = i - start;
  if (len < MIN_QUEUE_ID || len > MAX_QUEUE_ID) return -1;
  if (text.charCodeAt(i) !== COLON || text.charCodeAt(i + 1) !== SPACE) return -1;
  // A queue id mixes digits and letters; a word such as `STARTTLS` or `SYSERR` is not one.
  let digits = 0;
  for (let k = start; k < i; k++) if (text.charCodeAt(k) <= 57) digits++;
  return digits >= 2 ? i : -1;
}

// ---------------------------------------------------------------------------------------------------
// `key=value, key=value` lists.

/** Longest key of a field (`tls_verify`, `ntries`); longer means the text is not a field list. */
const MAX_KEY = 16;

/**
 * End of the value starting at `at`: the next `, ` outside `"..."` and `<...>` (a to= list holds
 * `<a>,<b>` and quoted `"|program, args"`), or the end of the text.
 */
function valueEnd(text: string, at: number): number {
  const c = text.charCodeAt(at);
  if (c !== DQUOTE && c !== LT && !text.startsWith('to=', at - 3)) {
    // Plain values (sizes, names, relays) hold no `, `: the common case, without a character loop.
    const end = text.indexOf(', ', at);
    return end < 0 ? text.length : end;
  }
  let quoted = false;
  let angle = 0;
  for (let i = at; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === DQUOTE) quoted = !quoted;
    else if (quoted) continue;
    else if (c === LT) angle++;
    else if (c === GT && angle > 0) angle--;
    else if (c === COMMA && angle === 0 && text.charCodeAt(i + 1) === SPACE) return i;
  }
  return text.length;
}

function keyLength(text: string, at: number): number {
  let i = at;
  while (i - at <= MAX_KEY) {
    const c = text.charCodeAt(i);
    if (c === 61 /* = */) return i - at;
    if (!(isAlnum(c) || c === 95 || c === 45)) return 0;
    i++;
  }
  return 0;
}

/** The fields of one line, by key (a key given twice keeps its last value, as Sendmail appends its own). */
export type FieldList = Map<string, string>;

/**
 * Reads a `, `-separated `key=value` list from `start`. `last` names the key whose value runs to the
 * end of the line (`stat=` of a delivery, `reject=` of a ruleset line), whatever it holds. Items
 * without `=` (`[more]`, `discard`) are skipped after the first field. Returns null when the text at
 * `start` does not begin with a field.
 */
export function fieldList(text: string, start: number, last: string): FieldList | null {
  if (keyLength(text, start) === 0) return null;
  const fields: FieldList = new Map();
  let p = start;
  while (p < text.length) {
    const k = keyLength(text, p);
    if (k === 0) {
      const end = valueEnd(text, p);
      if (text.startsWith('discard', p)) fields.set('discard', '');
      p = end + 2;
      continue;
    }
    const key = text.slice(p, p + k);
    const v = p + k + 1;
    if (key === last) {
      fields.set(key, text.slice(v));
      break;
    }
    const end = valueEnd(text, v);
    fields.set(key, text.slice(v, end));
    p = end + 2;
  }
  return fields;
}

/** Addresses of a `to=` list: `<a>,<b>`, `a,b`, `"|/usr/bin/procmail"`; at most `max` of them. */
export function addressList(value: string, max = 1000): string[] {
  const out: string[] = [];
  let quoted = false;
  let angle = 0;
  let start = 0;
  for (let i = 0; i <= value.length && out.length < max; i++) {
    const c = i < value.length ? value.charCodeAt(i) : COMMA;
    if (c === DQUOTE) quoted = !quoted;
    else if (quoted) continue;
    else if (c === LT) angle++;
    else if (c === GT && angle > 0) angle--;
    else if (c === COMMA && angle === 0) {
      const item = value.slice(start, i).trim();
      if (item.length > 0) out.push(normalizeAddress(item));
      start = i + 1;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Relays and delays.

/**
 * A relay as Sendmail logs it: `host [ip]`, `host. [ip]`, `[ip]`, `[ip] [ip]`, `host [IPv6:a::b]`,
 * `localhost`, `user@localhost` (a local submission), with a trailing `(may be forged)`.
 */
export function relayClient(value: string): ClientRef {
  const client: ClientRef = {};
  let text = value;
  const forged = text.indexOf(' (may be forged)');
  if (forged >= 0) text = text.slice(0, forged);
  const open = text.lastIndexOf(' [');
  let name = text;
  if (open >= 0 && text.endsWith(']')) {
    let ip = text.slice(open + 2, -1);
    if (ip.startsWith('IPv6:')) ip = ip.slice(5);
    if (ip.length > 0) client.ip = bound(ip, 64);
    name = text.slice(0, open);
  } else if (text.startsWith('[') && text.endsWith(']')) {
    let ip = text.slice(1, -1);
    if (ip.startsWith('IPv6:')) ip = ip.slice(5);
    if (ip.length > 0) client.ip = bound(ip, 64);
    name = '';
  }
  const at = name.lastIndexOf('@');
  if (at >= 0) name = name.slice(at + 1);
  if (name.endsWith('.')) name = name.slice(0, -1);
  // `[127.0.0.1] [127.0.0.1]`: a relay known by its address only.
  if (name.length > 0 && !name.startsWith('[')) client.name = bound(name, 255);
  return client;
}

/** Postfix's notation of a relay: `name[ip]`, `[ip]`, `name`. */
export function relayText(client: ClientRef): string | undefined {
  if (client.ip === undefined) return client.name;
  return `${client.name ?? ''}[${client.ip}]`;
}

/** `HH:MM:SS` or `D+HH:MM:SS` (pintvl) in seconds. */
export function delaySeconds(value: string): number | undefined {
  const plus = value.indexOf('+');
  const days = plus > 0 ? Number(value.slice(0, plus)) : 0;
  const clock = plus > 0 ? value.slice(plus + 1) : value;
  if (clock.length !== 8 || clock.charCodeAt(2) !== COLON || clock.charCodeAt(5) !== COLON) return undefined;
  const h = Number(clock.slice(0, 2));
  const m = Number(clock.slice(3, 5));
  const s = Number(clock.slice(6, 8));
  const total = days * 86400 + h * 3600 + m * 60 + s;
  return Number.isFinite(total) && total >= 0 ? total : undefined;
}
