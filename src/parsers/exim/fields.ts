/**
 * Pieces Exim's main-log lines share: message ids, the `H=name (helo) [ip]:port` host item, the
 * ` K=value` fields (plain, `<address>` or `"C-like quoted"`), and the escapes Exim writes into them.
 *
 * Everything works on string positions; nothing here allocates more than the values it returns, and
 * every loop is bounded by the line length (no backtracking).
 */
import type { ClientRef } from '../../core/events.js';
import { bound } from '../../core/events.js';

const SPACE = 32;
const DQUOTE = 34;
const LPAREN = 40;
const COLON = 58;
const LT = 60;
const LBRACKET = 91;
const BACKSLASH = 92;
const DASH = 45;
const EQUALS = 61;

/** Longest key of a ` K=value` field (`DKIM`, `PRX`, `tls_out_ver`...); longer means free text. */
const MAX_KEY = 16;
/** Longest host name, HELO argument or address kept from a host item. */
const MAX_HOST_PART = 300;

function isAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

function alnumRun(text: string, start: number, max: number): number {
  let i = start;
  while (i - start < max && isAlnum(text.charCodeAt(i))) i++;
  return i - start;
}

/**
 * Length of the Exim message id at `start`, or 0. Ids are base-62: `1abcDE-0001Xy-Zz` (time, pid,
 * fraction: 6-6-2) before 4.97, `1abcDE-00000001Xy-0Zzz` (6-11-4) since. The id must end at a space
 * or at the end of the text.
 */
export function eximIdLength(text: string, start: number): number {
  if (alnumRun(text, start, 7) !== 6 || text.charCodeAt(start + 6) !== DASH) return 0;
  const pid = alnumRun(text, start + 7, 12);
  if (pid < 6 || pid > 11 || text.charCodeAt(start + 7 + pid) !== DASH) return 0;
  const fracStart = start + 8 + pid;
  const frac = alnumRun(text, fracStart, 5);
  if (frac < 2 || frac > 4) return 0;
  const end = fracStart + frac;
  return end === text.length || text.charCodeAt(end) === SPACE ? end - start : 0;
}

export function isEximId(text: string): boolean {
  return text.length > 0 && eximIdLength(text, 0) === text.length;
}

// ---------------------------------------------------------------------------------------------------
// Host items: `H=name (helo) [ip]:port`, `H=(helo) [ip]`, `H=[ip]`, `H=name [ip]*`, `H=name`.

export interface HostItem {
  client: ClientRef;
  helo?: string;
  /** Index after the item (after the port, or after a `*` continuation mark). */
  end: number;
}

function readPort(text: string, at: number, client: ClientRef): number {
  if (text.charCodeAt(at) !== COLON) return at;
  let p = at + 1;
  let port = 0;
  while (p - at <= 5) {
    const d = text.charCodeAt(p) - 48;
    if (d < 0 || d > 9) break;
    port = port * 10 + d;
    p++;
  }
  if (p > at + 1 && port <= 65535 && (p === text.length || !isAlnum(text.charCodeAt(p)))) {
    client.port = port;
    return p;
  }
  // A port that is not a number (the test suite's `PORT_D`): skip it as a word.
  let q = at + 1;
  while (q < text.length && isAlnum(text.charCodeAt(q)) && q - at < 32) q++;
  return q > at + 1 && text.charCodeAt(at + 1) >= 65 ? q : at;
}

/** `[ip]` at `open` (the `[`): sets `client.ip` (without an `IPv6:` tag) and returns the index after `]`. */
function readBracketIp(text: string, open: number, client: ClientRef): number {
  const close = text.indexOf(']', open + 1);
  if (close < 0 || close - open > MAX_HOST_PART) return -1;
  let ip = text.slice(open + 1, close);
  if (ip.startsWith('IPv6:')) ip = ip.slice(5);
  if (ip.length > 0) client.ip = ip;
  return close + 1;
}

/** `(helo)` at `open`: the HELO argument may hold spaces and `)`; it ends at `) [`, else at the first `)`. */
function readHelo(text: string, open: number): { helo: string; end: number } | null {
  let close = text.indexOf(') [', open + 1);
  if (close < 0 || close - open > MAX_HOST_PART) close = text.indexOf(')', open + 1);
  if (close < 0 || close - open > MAX_HOST_PART) return null;
  return { helo: text.slice(open + 1, close), end: close + 1 };
}

/**
 * Reads a host item at `start` (just after `H=`, or after `connection from `): Exim's
 * host_and_ident(): optional name, optional `(helo)` when it differs, `[ip]`, optional `:port`.
 */
export function readHost(text: string, start: number): HostItem {
  const client: ClientRef = {};
  const item: HostItem = { client, end: start };
  let p = start;
  const c = text.charCodeAt(p);
  if (c !== LPAREN && c !== LBRACKET) {
    let end = p;
    while (end < text.length && end - p < MAX_HOST_PART) {
      const e = text.charCodeAt(end);
      if (e === SPACE || e === LBRACKET) break;
      end++;
    }
    // `H=host:` before a deferral's `: message` (a local transport's host has no address).
    const nameEnd = text.charCodeAt(end - 1) === COLON && end - 1 > p ? end - 1 : end;
    if (nameEnd > p) client.name = text.slice(p, nameEnd);
    p = nameEnd;
    item.end = p;
    if (text.charCodeAt(p) === SPACE) {
      const next = text.charCodeAt(p + 1);
      if (next === LPAREN || next === LBRACKET) p++;
    }
  }
  if (text.charCodeAt(p) === LPAREN) {
    const helo = readHelo(text, p);
    if (helo === null) return item;
    item.helo = bound(helo.helo, 512);
    p = helo.end;
    item.end = p;
    if (text.charCodeAt(p) === SPACE && text.charCodeAt(p + 1) === LBRACKET) p++;
  }
  if (text.charCodeAt(p) === LBRACKET) {
    const after = readBracketIp(text, p, client);
    if (after < 0) return item;
    p = readPort(text, after, client);
    if (text.charCodeAt(p) === 42 /* * */) p++;
    item.end = p;
  }
  return item;
}

/** Postfix's relay notation for a host item: `name[ip]:port`, `name`, `[ip]`. */
export function relayOf(client: ClientRef): string | undefined {
  if (client.ip === undefined) return client.name;
  const port = client.port === undefined ? '' : `:${client.port}`;
  return `${client.name ?? ''}[${client.ip}]${port}`;
}

// ---------------------------------------------------------------------------------------------------
// ` K=value` fields.

/** The fields of one line that the parsers read; others (X=, CV=, DN=, QT=...) are skipped. */
export interface Fields {
  host?: HostItem;
  /** `U=`: local user (or RFC 1413 ident). */
  user?: string;
  /** `P=`: protocol on `<=` lines, return path on delivery lines. */
  p?: string;
  /** `S=`: size. */
  size?: number;
  /** `id=`: Message-ID header. */
  id?: string;
  /** `T=`: subject on `<=` lines, transport elsewhere (still escaped when quoted). */
  t?: string;
  /** `R=`: router, or the original message of a bounce on `<=` lines. */
  r?: string;
  /** `A=`: authenticator`:`id. */
  auth?: string;
  /** `C=`: the remote confirmation, unescaped. */
  confirmation?: string;
  /** `F=`: sender. */
  from?: string;
  /** `for a b c` at the end of `<=` lines (log_selector +received_recipients). */
  recipients?: string[];
  /** Index where reading stopped: the end, or the `:` that opens a reason. */
  end: number;
}

/** End of an unquoted value: the next space, or a `:` that is followed by a space (a reason follows). */
function plainEnd(text: string, start: number): number {
  let i = start;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === SPACE) break;
    if (c === COLON && (i + 1 === text.length || text.charCodeAt(i + 1) === SPACE)) break;
    i++;
  }
  return i;
}

/** End of `"..."` starting at `open` (C-like escapes), the index after the closing quote; -1 if open. */
function quotedEnd(text: string, open: number): number {
  for (let i = open + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === DQUOTE) return i + 1;
  }
  return -1;
}

/** End of `<...>` starting at `open`: the first `>` followed by a space, `:` or the end. */
export function angleEnd(text: string, open: number): number {
  let i = text.indexOf('>', open + 1);
  while (i >= 0) {
    const next = text.charCodeAt(i + 1);
    if (i + 1 === text.length || next === SPACE || next === COLON || next === 44) return i + 1;
    i = text.indexOf('>', i + 1);
  }
  return -1;
}

function digitsValue(value: string): number | undefined {
  if (value.length === 0 || value.length > 15) return undefined;
  for (let i = 0; i < value.length; i++) {
    const d = value.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return undefined;
  }
  return Number(value);
}

function setField(fields: Fields, key: string, raw: string): void {
  switch (key) {
    case 'U':
      fields.user = bound(raw, 256);
      break;
    case 'P':
      fields.p = bound(raw, 512);
      break;
    case 'S':
      fields.size = digitsValue(raw);
      break;
    case 'id':
      fields.id = raw;
      break;
    case 'T':
      fields.t = raw;
      break;
    case 'R':
      fields.r = bound(raw, 256);
      break;
    case 'A':
      fields.auth = bound(raw, 512);
      break;
    case 'C':
      fields.confirmation = unquote(raw);
      break;
    case 'F':
      fields.from = raw;
      break;
    default:
      break;
  }
}

/** Length of a field key (`[A-Za-z0-9_-]`) at `start` that is followed by `=`, else 0. */
function keyLength(text: string, start: number): number {
  let i = start;
  while (i - start <= MAX_KEY) {
    const c = text.charCodeAt(i);
    if (c === EQUALS) return i - start;
    if (!(isAlnum(c) || c === 95 || c === DASH)) return 0;
    i++;
  }
  return 0;
}

/**
 * Reads ` K=value` fields from `start`. Words without `=` (`L`, `K`, `PRDR`, `defer`) are skipped. Stops
 * at the end, at a `:` that opens a reason (`** a R=r T=t: reason`, `... [ip] : reason`), or at the
 * `for` list of an arrival (read into `recipients`), or before any word in `stopWords`.
 */
export function readFields(text: string, start: number, stopWords?: readonly string[]): Fields {
  const fields: Fields = { end: text.length };
  let p = start;
  const len = text.length;
  while (p < len) {
    while (text.charCodeAt(p) === SPACE) p++;
    if (p >= len) break;
    const c = text.charCodeAt(p);
    if (c === COLON) {
      fields.end = p;
      return fields;
    }
    if (stopWords !== undefined && startsWithAny(text, p, stopWords)) {
      fields.end = p;
      return fields;
    }
    if (text.startsWith('for ', p)) {
      fields.recipients = readRecipients(text, p + 4);
      break;
    }
    if (text.startsWith('from <', p)) {
      const end = angleEnd(text, p + 5);
      p = end < 0 ? len : end;
      continue;
    }
    const k = keyLength(text, p);
    if (k === 0) {
      p = plainEnd(text, p);
      continue;
    }
    const key = text.slice(p, p + k);
    const v = p + k + 1;
    if (key === 'H') {
      fields.host = readHost(text, v);
      p = Math.max(fields.host.end, v + 1);
      continue;
    }
    const first = text.charCodeAt(v);
    let end: number;
    if (first === DQUOTE) {
      end = quotedEnd(text, v);
      if (end < 0) end = len;
    } else if (first === LT) {
      end = angleEnd(text, v);
      if (end < 0) end = plainEnd(text, v);
    } else {
      end = plainEnd(text, v);
    }
    setField(fields, key, text.slice(v, end));
    p = end;
  }
  fields.end = len;
  return fields;
}

function startsWithAny(text: string, at: number, words: readonly string[]): boolean {
  for (const word of words) if (text.startsWith(word, at)) return true;
  return false;
}

/** Most recipients read from a `for` list (the rest are counted only). */
const MAX_LISTED = 1000;

function readRecipients(text: string, start: number): string[] {
  const out: string[] = [];
  let p = start;
  while (p < text.length && out.length < MAX_LISTED) {
    let end = text.indexOf(' ', p);
    if (end < 0) end = text.length;
    if (end > p) out.push(text.slice(p, end));
    p = end + 1;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Escapes.

/**
 * A `"..."` value as Exim writes it (string_printing() and a backslash before `"` and `\`): the
 * quotes removed, `\"` `\\` `\n` `\t` `\r` and octal `\ooo` decoded. A run of octal bytes (non-ASCII
 * text) is read as UTF-8 when it is valid UTF-8, else as Latin-1. Unquoted values are returned as they are.
 */
export function unquote(raw: string): string {
  if (raw.charCodeAt(0) !== DQUOTE) return bound(raw);
  const close = raw.length > 1 && raw.charCodeAt(raw.length - 1) === DQUOTE ? raw.length - 1 : raw.length;
  const body = raw.slice(1, close);
  if (!body.includes('\\')) return bound(body);
  let out = '';
  let bytes: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    const n = body.charCodeAt(i + 1);
    if (c === BACKSLASH && n >= 48 && n <= 55) {
      let v = 0;
      let k = i + 1;
      while (k < body.length && k - i <= 3) {
        const d = body.charCodeAt(k) - 48;
        if (d < 0 || d > 7) break;
        v = v * 8 + d;
        k++;
      }
      bytes.push(v & 0xff);
      i = k - 1;
      continue;
    }
    if (bytes.length > 0) {
      out += decodeBytes(bytes);
      bytes = [];
    }
    if (c !== BACKSLASH || i + 1 === body.length) {
      out += body[i];
      continue;
    }
    i++;
    out += n === 110 ? '\n' : n === 116 ? '\t' : n === 114 ? '\r' : body[i];
  }
  if (bytes.length > 0) out += decodeBytes(bytes);
  return bound(out);
}

/** Bytes Exim wrote as octal escapes: UTF-8 when they are valid UTF-8, else Latin-1. */
function decodeBytes(bytes: number[]): string {
  const buf = Buffer.from(bytes);
  const utf8 = buf.toString('utf8');
  return utf8.includes('\uFFFD') ? buf.toString('latin1') : utf8;
}
