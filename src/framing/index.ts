/**
 * Framing: one raw log line → a Frame (time in UTC, host, program, pid, text) or an InvalidFrame with
 * the reason its header could not be read. Every source (file import, follower, syslog receiver) goes
 * through the same Framer, so a line reads the same whichever way it arrived. Never throws on input.
 *
 * Header shapes (`auto` picks one per line from its first bytes):
 * - RFC 3164  `Nov 28 10:00:00 host prog[pid]: text` (`Nov  8`, `Nov 8`, `prog: text`, `prog[pid]:text`,
 *   missing or empty host, Solaris `[ID 123456 mail.info]` after the tag; syslogd's own
 *   `host last message repeated N times` becomes program `syslogd`); year inferred from
 *   `referenceTime`, zone from `timeZone`;
 * - RFC 3339  `2026-11-28T10:00:00.123456+01:00 host prog[pid]: text` (rsyslog's high-precision format);
 * - RFC 5424  `<PRI>1 2026-11-28T10:00:00Z host app procid msgid [sd] text`; `<PRI>` followed by an
 *   RFC 3164 or RFC 3339 header is accepted too (rsyslog forwarding formats);
 * - multilog  `@4000000069298f1c2a2b3c4d text` (daemontools TAI64N; host and program from options);
 * - Postfix `maillog_file` (postlogd): `%b %d %H:%M:%S host prog[pid]: text`, exactly RFC 3164's shape
 *   (second precision, first host label only; see Postfix src/util/msg_logger.c);
 * - Dovecot `log_path`: `Nov 28 10:00:00 imap-login: Info: ...` (program `dovecot`, host from options,
 *   text after the timestamp); a `YYYY-MM-DD hh:mm:ss` log_timestamp is read too. `auto` takes a
 *   hostless line as Dovecot's when its first token ends in `:` and the next word is a Dovecot level
 *   (`Info:`, `Warning:`, `Warn:`, `Error:`, `Fatal:`, `Panic:`, `Debug:`), or when the first token is
 *   that level (Dovecot 1.x);
 * - clamd `LogFile` with `LogTime yes`: `Sat Nov 28 10:00:00 2026 -> text` (program `clamd`).
 * - Mailman's own log files (`auto` only): `Nov 28 10:00:00 2026 (12345) text`, the format of Mailman
 *   2.1's StampedLogger (`%b %d %H:%M:%S %Y (pid) `) and of Mailman 3's `[logging.*]` default
 *   (`%(asctime)s (%(process)d) %(message)s`, datefmt `%b %d %H:%M:%S %Y`): the year is the line's,
 *   program the `program` option or `mailman`, host from options;
 * - rspamd's own log file (`auto` only): `2026-11-28 10:00:00[.fraction] [[severity] ]#pid(process) text`
 *   (rspamd src/libserver/logger/logger_file.c), and rspamd 1.0's `#pid(process): Nov 28 10:00:00
 *   rspamd text`: program the `program` option or `rspamd`, host from options, the text as rspamd's
 *   syslog output has it (`<tag>; module; function: message`).
 *
 * - Exim's main log (`auto` only): `2026-11-28 10:00:00[.123][ +0100][ [pid]] text` (Exim's
 *   tod_log format; ` +0100` with log_timezone, `[pid]` with log_selector +pid): a `YYYY-MM-DD hh:mm:ss`
 *   line that is neither Dovecot's nor rspamd's. Program the `program` option or `exim`, host from
 *   options. A bare level word after the stamp (`Warning: ...`) is Dovecot 1.x's only when the next
 *   word is a Dovecot tag (`imap-login:`); Exim writes `Warning: ...` lines too.
 *
 * Empty lines give reason `empty line`; callers may skip those silently.
 */
import type { FramedLine, InvalidFrame, Origin } from '../core/frame.js';
import { decodeMimeWords, type LineDecoder, makeDecoder } from './decode.js';
import { daysInMonth, ZoneClock } from './time.js';
import type { FramingOptions, LogFormat } from './types.js';

export type { FramingOptions, LogFormat };
export { decodeMimeWords };

/**
 * What `Framer.frame` needs of a line; `RawLine` from src/sources fits (framing imports only src/core,
 * so the shape is restated here).
 */
export interface LineInput {
  bytes: Buffer;
  offset: number;
  line: number;
}

const SP = 32;
const COLON = 58;
const LBRACKET = 91;
const RBRACKET = 93;
const DQUOTE = 34;
const BACKSLASH = 92;
const DASH = 45;
const PLUS = 43;
const DOT = 46;
const COMMA = 44;
const LT = 60;
const AT_SIGN = 64;
const HASH = 35;
const LPAREN = 40;
const RPAREN = 41;
const ZERO = 48;

const MAX_HOST = 255;
const MAX_TAG = 128;
const MAX_PID_CHARS = 16;
const MAX_FRACTION = 12;
const MAX_SD_ID = 64;
/** rspamd's `[severity] ` (`[info]`, `[warning]`...). */
const MAX_SEVERITY = 16;

/** Dovecot's log-file level prefixes (`Warn:` in Dovecot 1.x). */
const DOVECOT_LEVELS = ['Info:', 'Warning:', 'Warn:', 'Error:', 'Fatal:', 'Panic:', 'Debug:'];

function dovecotLevelAt(s: string, i: number, end: number): boolean {
  const c = s.charCodeAt(i);
  // Cheap first-letter filter (I, W, E, F, P, D) before the string compares.
  if (c !== 73 && c !== 87 && c !== 69 && c !== 70 && c !== 80 && c !== 68) return false;
  for (const level of DOVECOT_LEVELS) {
    if (i + level.length === end && s.startsWith(level, i)) return true;
  }
  return false;
}

/**
 * Dovecot's own log file after the timestamp: `imap-login: Info: ...`, `lmtp(alice)<1><sess>: Info:`
 * (the token may hold `:` inside parentheses), or Dovecot 1.x's `Info: imap-login: ...`.
 */
function isDovecotShape(s: string, tokenStart: number, tokenEnd: number): boolean {
  if (dovecotLevelAt(s, tokenStart, tokenEnd)) return true;
  if (s.charCodeAt(tokenEnd - 1) !== COLON || tokenEnd >= s.length) return false;
  let levelEnd = s.indexOf(' ', tokenEnd + 1);
  if (levelEnd < 0) levelEnd = s.length;
  return dovecotLevelAt(s, tokenEnd + 1, levelEnd);
}

function digitAt(s: string, i: number): number {
  const d = s.charCodeAt(i) - ZERO;
  return d >= 0 && d <= 9 ? d : -1;
}

function twoDigits(s: string, i: number): number {
  const a = digitAt(s, i);
  const b = digitAt(s, i + 1);
  return a < 0 || b < 0 ? -1 : a * 10 + b;
}

function fourDigits(s: string, i: number): number {
  const a = twoDigits(s, i);
  const b = twoDigits(s, i + 2);
  return a < 0 || b < 0 ? -1 : a * 100 + b;
}

/** Three letters packed case-insensitively, for month and weekday names. */
function word3(s: string, i: number): number {
  return (
    ((s.charCodeAt(i) | 0x20) << 16) | ((s.charCodeAt(i + 1) | 0x20) << 8) | (s.charCodeAt(i + 2) | 0x20)
  );
}

function pack(name: string): number {
  return word3(name, 0);
}

const MONTHS = new Map<number, number>(
  ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'].map((m, i) => [
    pack(m),
    i + 1,
  ]),
);

const WEEKDAYS = new Set<number>(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map(pack));

/** Month 1-12 of a three-letter name at `i`, or 0. */
function monthAt(s: string, i: number): number {
  if (i + 3 > s.length) return 0;
  return MONTHS.get(word3(s, i)) ?? 0;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}

/** Eight hex digits at `i` as an unsigned 32-bit number, or -1. */
function hex8(s: string, i: number): number {
  let v = 0;
  for (let k = 0; k < 8; k++) {
    const d = hexDigit(s.charCodeAt(i + k));
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

const TAI64_BASE_HIGH = 0x40000000;
/** daemontools counts TAI64 labels from 2^62 + 10 s: TAI was 10 s ahead of UTC in 1970. */
const TAI_UTC_OFFSET_SECONDS = 10;
const TWO_POW_32 = 0x1_0000_0000;

/** Position after `prog[pid]:`/`prog:` parsing. */
interface TagResult {
  program: string;
  pid: number | null;
  textStart: number;
}

export class Framer {
  private readonly opts: FramingOptions;
  private readonly format: LogFormat;
  private readonly decode: LineDecoder;
  private readonly clock: ZoneClock;
  private readonly defaultHost: string;
  private readonly defaultProgram: string;
  /** Program of lines framed from Mailman's and rspamd's own log files (the `program` option wins). */
  private readonly mailmanProgram: string;
  private readonly rspamdProgram: string;
  private readonly eximProgram: string;
  /** Fallback time of invalid lines before any good one. */
  private referenceTime: number;
  /** Time of the previous good line: the best guess for an invalid one, and the DST-overlap hint. */
  private lastAt: number | undefined;
  private reason = '';
  // Clock fields of the timestamp being parsed (no allocation per line).
  private hour = 0;
  private minute = 0;
  private second = 0;
  private millis = 0;
  private month = 0;
  private day = 0;
  private readonly tag: TagResult = { program: '', pid: null, textStart: 0 };
  /** UTC time of the last full timestamp parsed (RFC 3339, Dovecot). */
  private stampAt = 0;
  private lastDayKey = -1;
  private lastDayBase = 0;

  /** Throws on a configuration error (unknown encoding or time zone), never on a line. */
  constructor(opts: FramingOptions) {
    this.opts = opts;
    this.format = opts.format;
    this.decode = makeDecoder(opts.encoding);
    this.referenceTime = opts.referenceTime ?? Date.now();
    this.clock = new ZoneClock(opts.timeZone, this.referenceTime);
    this.defaultHost = opts.host ? opts.host.toLowerCase() : 'unknown';
    this.defaultProgram = opts.program || 'unknown';
    this.mailmanProgram = opts.program || 'mailman';
    this.rspamdProgram = opts.program || 'rspamd';
    this.eximProgram = opts.program || 'exim';
  }

  /** The IANA zone used for headers without an offset. */
  get timeZone(): string {
    return this.clock.zone;
  }

  /**
   * Moves the reference for year inference (a follower calls it as time passes, so that lines after
   * New Year get the new year).
   */
  setReferenceTime(referenceTime: number): void {
    this.referenceTime = referenceTime;
    this.clock.setReferenceTime(referenceTime);
  }

  /** Decodes and frames one raw line. Leading NUL bytes (left by a crash in syslog files) are dropped. */
  frame(line: LineInput): FramedLine {
    let bytes = line.bytes;
    if (bytes.length > 0 && bytes[0] === 0) {
      let k = 0;
      while (k < bytes.length && bytes[k] === 0) k++;
      bytes = bytes.subarray(k);
    }
    return this.frameText(this.decode(bytes), line.offset, line.line);
  }

  /** Frames an already-decoded line (syslog receivers). `offset`/`line` go into the origin. */
  frameText(text: string, offset = 0, line = 0): FramedLine {
    const origin: Origin = {
      source: this.opts.source,
      file: this.opts.file,
      stream: this.opts.stream,
      offset,
      line,
    };
    if (text.length === 0) return this.invalid('empty line', text, origin);
    switch (this.format) {
      case 'auto':
        return this.frameAuto(text, origin);
      case 'rfc3164':
      case 'postfix-maillog':
        return this.frameBsdSyslog(text, this.skipPri(text), origin, false);
      case 'rfc3339':
        return this.frameIsoSyslog(text, this.skipPri(text), origin);
      case 'rfc5424':
        return this.frameRfc5424(text, origin);
      case 'multilog':
        return this.frameMultilog(text, origin);
      case 'dovecot':
        return this.frameDovecot(text, origin);
      case 'clamd':
        return this.frameClamd(text, origin);
      default:
        return this.invalid('unknown format', text, origin);
    }
  }

  private frameAuto(s: string, origin: Origin): FramedLine {
    const c = s.charCodeAt(0);
    if (c === AT_SIGN) return this.frameMultilog(s, origin);
    if (c === LT) return this.framePri(s, origin);
    if (c >= 48 && c <= 57) {
      if (s.charCodeAt(4) === DASH) {
        const sep = s.charCodeAt(10);
        if ((sep | 0x20) === 116 /* t */) return this.frameIsoSyslog(s, 0, origin);
        if (sep === SP) return this.frameDatedAuto(s, origin);
      }
      return this.invalid('unknown header', s, origin);
    }
    if (s.charCodeAt(3) === SP) {
      if (monthAt(s, 0) !== 0) return this.frameBsdSyslog(s, 0, origin, true);
      if (WEEKDAYS.has(word3(s, 0)) && monthAt(s, 4) !== 0) return this.frameClamd(s, origin);
    }
    if (c === HASH) return this.frameRspamdLegacy(s, origin);
    return this.invalid('no timestamp', s, origin);
  }

  private invalid(reason: string, raw: string, origin: Origin): InvalidFrame {
    return {
      invalid: true,
      reason,
      raw,
      at: this.lastAt ?? this.referenceTime,
      host: this.defaultHost,
      program: this.defaultProgram,
      origin,
    };
  }

  private good(
    at: number,
    host: string,
    program: string,
    pid: number | null,
    text: string,
    raw: string,
    origin: Origin,
  ): FramedLine {
    this.lastAt = at;
    return { at, host, program, pid, text, raw, origin };
  }

  // ---- timestamps --------------------------------------------------------------------------------

  /**
   * `hh:mm:ss` with an optional `.fraction` (any length, milliseconds kept). Sets the clock fields;
   * returns the index after it, or -1 with `reason` set.
   */
  private parseClock(s: string, i: number): number {
    const h = twoDigits(s, i);
    const m = twoDigits(s, i + 3);
    const sec = twoDigits(s, i + 6);
    if (h < 0 || m < 0 || sec < 0 || s.charCodeAt(i + 2) !== COLON || s.charCodeAt(i + 5) !== COLON) {
      this.reason = 'bad time';
      return -1;
    }
    if (h > 23 || m > 59 || sec > 60) {
      this.reason = 'bad time';
      return -1;
    }
    this.hour = h;
    this.minute = m;
    this.second = sec;
    this.millis = 0;
    let k = i + 8;
    const c = s.charCodeAt(k);
    if (c === DOT || c === COMMA) {
      const start = k + 1;
      let ms = 0;
      k = start;
      while (k - start < MAX_FRACTION && digitAt(s, k) >= 0) {
        if (k - start < 3) ms = ms * 10 + digitAt(s, k);
        k++;
      }
      if (k === start) {
        this.reason = 'bad time';
        return -1;
      }
      const kept = Math.min(k - start, 3);
      this.millis = kept === 3 ? ms : kept === 2 ? ms * 10 : ms * 100;
    }
    return k;
  }

  /**
   * `Mmm dd ` / `Mmm  d ` / `Mmm d ` at `i`. Sets month and day; returns the index of the clock, or -1.
   */
  private parseMonthDay(s: string, i: number): number {
    const month = monthAt(s, i);
    if (month === 0) {
      this.reason = 'bad month';
      return -1;
    }
    let k = i + 3;
    if (s.charCodeAt(k) !== SP) {
      this.reason = 'bad month';
      return -1;
    }
    k++;
    let day: number;
    if (s.charCodeAt(k) === SP) {
      day = digitAt(s, k + 1);
      k += 2;
    } else {
      const d1 = digitAt(s, k);
      const d2 = digitAt(s, k + 1);
      if (d1 >= 0 && d2 >= 0) {
        day = d1 * 10 + d2;
        k += 2;
      } else {
        day = d1;
        k += 1;
      }
    }
    if (day < 1 || day > 31 || s.charCodeAt(k) !== SP) {
      this.reason = 'bad day';
      return -1;
    }
    this.month = month;
    this.day = day;
    return k + 1;
  }

  /** UTC of the parsed month/day/clock in the configured zone, the year inferred. NaN if impossible. */
  private yearlessUtc(): number {
    return this.clock.toUtcYearless(
      this.month,
      this.day,
      this.hour,
      this.minute,
      this.second,
      this.millis,
      this.lastAt,
    );
  }

  /** UTC ms of a date at 00:00 UTC, cached for runs of lines on the same day. */
  private dayBase(year: number, month: number, day: number): number {
    const key = (year * 13 + month) * 32 + day;
    if (key !== this.lastDayKey) {
      this.lastDayKey = key;
      this.lastDayBase = Date.UTC(year, month - 1, day);
    }
    return this.lastDayBase;
  }

  /** `YYYY-MM-DD` at `i` (sets year into the return, month/day fields); -1 when malformed. */
  private parseIsoDate(s: string, i: number): number {
    const year = fourDigits(s, i);
    const month = twoDigits(s, i + 5);
    const day = twoDigits(s, i + 8);
    if (year < 0 || month < 0 || day < 0 || s.charCodeAt(i + 4) !== DASH || s.charCodeAt(i + 7) !== DASH) {
      this.reason = 'bad date';
      return -1;
    }
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
      this.reason = 'bad date';
      return -1;
    }
    this.month = month;
    this.day = day;
    return year;
  }

  /** Full RFC 3339 timestamp at `i`: returns the index after it and stores the UTC time in `stampAt`. */
  private parseRfc3339(s: string, i: number): number {
    const year = this.parseIsoDate(s, i);
    if (year < 0) return -1;
    const t = s.charCodeAt(i + 10) | 0x20;
    if (t !== 116 /* t */) {
      this.reason = 'bad timestamp';
      return -1;
    }
    let k = this.parseClock(s, i + 11);
    if (k < 0) return -1;
    const z = s.charCodeAt(k);
    let offsetMinutes: number;
    if ((z | 0x20) === 122 /* z */) {
      offsetMinutes = 0;
      k++;
    } else if (z === PLUS || z === DASH) {
      const oh = twoDigits(s, k + 1);
      const colon = s.charCodeAt(k + 3) === COLON ? 1 : 0;
      const om = twoDigits(s, k + 3 + colon);
      if (oh < 0 || om < 0 || oh > 23 || om > 59) {
        this.reason = 'bad time zone';
        return -1;
      }
      offsetMinutes = (oh * 60 + om) * (z === DASH ? -1 : 1);
      k += 5 + colon;
    } else {
      this.reason = 'bad time zone';
      return -1;
    }
    this.stampAt =
      this.dayBase(year, this.month, this.day) +
      this.hour * 3_600_000 +
      this.minute * 60_000 +
      this.second * 1000 +
      this.millis -
      offsetMinutes * 60_000;
    return k;
  }

  // ---- syslog body: host, tag, text ---------------------------------------------------------------

  /**
   * Parses `prog[pid]: ` / `prog: ` / `prog[pid]:text` at `i` into `this.tag`; false with `reason` set
   * when there is no tag.
   */
  private parseTag(s: string, i: number): boolean {
    const len = s.length;
    let k = i;
    const limit = Math.min(len, i + MAX_TAG);
    while (k < limit) {
      const c = s.charCodeAt(k);
      if (c === SP || c === COLON || c === LBRACKET) break;
      k++;
    }
    if (k === i || k === limit) {
      this.reason = 'no program tag';
      return false;
    }
    const c = s.charCodeAt(k);
    const tag = this.tag;
    if (c === COLON) {
      tag.program = s.slice(i, k);
      tag.pid = null;
      tag.textStart = s.charCodeAt(k + 1) === SP ? k + 2 : k + 1;
      return true;
    }
    if (c === LBRACKET) {
      const pidStart = k + 1;
      let e = pidStart;
      let pid = 0;
      let numeric = true;
      while (e < len && e - pidStart <= MAX_PID_CHARS && s.charCodeAt(e) !== RBRACKET) {
        const d = digitAt(s, e);
        if (d < 0) numeric = false;
        else pid = pid * 10 + d;
        e++;
      }
      if (s.charCodeAt(e) !== RBRACKET) {
        this.reason = 'no program tag';
        return false;
      }
      const after = s.charCodeAt(e + 1);
      let textStart: number;
      if (after === COLON) textStart = s.charCodeAt(e + 2) === SP ? e + 3 : e + 2;
      else if (after === SP) textStart = e + 2;
      else if (e + 1 === len) textStart = len;
      else {
        this.reason = 'no program tag';
        return false;
      }
      tag.program = s.slice(i, k);
      tag.pid = numeric && e > pidStart ? pid : null;
      tag.textStart = textStart;
      return true;
    }
    this.reason = 'no program tag';
    return false;
  }

  /**
   * After the timestamp and its space: `host prog[pid]: text`, or `prog[pid]: text` without host.
   * `auto`: a hostless line whose text starts with a Dovecot level is Dovecot's own log file.
   */
  private frameSyslogBody(s: string, i: number, at: number, origin: Origin, auto: boolean): FramedLine {
    const len = s.length;
    let j = i;
    while (j < len && s.charCodeAt(j) === SP) j++;
    if (j >= len) return this.invalid('no program tag', s, origin);
    let tokenEnd = s.indexOf(' ', j);
    if (tokenEnd < 0) tokenEnd = len;
    // A host never contains `[` nor ends with `:`; such a first token is already the tag. Extra
    // spaces after the timestamp mean an empty host (seen in real files).
    const bracket = s.indexOf('[', j);
    const firstIsTag = j > i || s.charCodeAt(tokenEnd - 1) === COLON || (bracket >= 0 && bracket < tokenEnd);
    let host = this.defaultHost;
    let tagStart = j;
    if (!firstIsTag) {
      if (tokenEnd - j > MAX_HOST) return this.invalid('bad host', s, origin);
      host = s.slice(j, tokenEnd).toLowerCase();
      tagStart = tokenEnd + 1;
      if (
        s.startsWith('last message repeated ', tagStart) ||
        s.startsWith('--- last message repeated', tagStart)
      ) {
        return this.good(at, host, 'syslogd', null, s.slice(tagStart), s, origin);
      }
    }
    if (auto && firstIsTag && isDovecotShape(s, j, tokenEnd)) {
      return this.good(at, host, 'dovecot', null, s.slice(j), s, origin);
    }
    if (!this.parseTag(s, tagStart)) return this.invalid(this.reason, s, origin);
    const tag = this.tag;
    let textStart = tag.textStart;
    if (s.startsWith('[ID ', textStart)) textStart = skipSolarisId(s, textStart);
    return this.good(at, host, tag.program, tag.pid, s.slice(textStart), s, origin);
  }

  // ---- header shapes -----------------------------------------------------------------------------

  /** Index after a leading `<PRI>`, or 0 when there is none. */
  private skipPri(s: string): number {
    if (s.charCodeAt(0) !== LT) return 0;
    const end = s.indexOf('>', 1);
    if (end < 2 || end > 4) return 0;
    for (let k = 1; k < end; k++) if (digitAt(s, k) < 0) return 0;
    return end + 1;
  }

  private framePri(s: string, origin: Origin): FramedLine {
    const p = this.skipPri(s);
    if (p === 0 || Number(s.slice(1, p - 1)) > 191) return this.invalid('bad pri', s, origin);
    if (s.charCodeAt(p) === 49 /* 1 */ && s.charCodeAt(p + 1) === SP) return this.frameRfc5424(s, origin);
    if (digitAt(s, p) >= 0) return this.frameIsoSyslog(s, p, origin);
    return this.frameBsdSyslog(s, p, origin, false);
  }

  /** `auto`: also Dovecot's and Mailman's own log files, which begin the same way. */
  private frameBsdSyslog(s: string, p: number, origin: Origin, auto: boolean): FramedLine {
    let k = this.parseMonthDay(s, p);
    if (k < 0) return this.invalid(this.reason, s, origin);
    k = this.parseClock(s, k);
    if (k < 0) return this.invalid(this.reason, s, origin);
    if (k < s.length && s.charCodeAt(k) !== SP) return this.invalid('bad time', s, origin);
    if (auto && isMailmanStamp(s, k)) return this.frameMailman(s, k, origin);
    const at = this.yearlessUtc();
    if (Number.isNaN(at)) return this.invalid('bad day', s, origin);
    return this.frameSyslogBody(s, k + 1, at, origin, auto);
  }

  /**
   * Mailman: ` yyyy (pid) text` after the month, day and clock (`k` is the index after the clock, whose
   * shape `isMailmanStamp` checked).
   */
  private frameMailman(s: string, k: number, origin: Origin): FramedLine {
    const year = fourDigits(s, k + 1);
    if (year < 1970 || this.day > daysInMonth(year, this.month)) return this.invalid('bad day', s, origin);
    let e = k + 7;
    let pid = 0;
    for (; s.charCodeAt(e) !== RPAREN; e++) pid = pid * 10 + digitAt(s, e);
    const at = this.clock.toUtc(
      year,
      this.month,
      this.day,
      this.hour,
      this.minute,
      this.second,
      this.millis,
      this.lastAt,
    );
    return this.good(at, this.defaultHost, this.mailmanProgram, pid, s.slice(e + 2), s, origin);
  }

  private frameIsoSyslog(s: string, p: number, origin: Origin): FramedLine {
    const k = this.parseRfc3339(s, p);
    if (k < 0) return this.invalid(this.reason, s, origin);
    if (k < s.length && s.charCodeAt(k) !== SP) return this.invalid('bad time zone', s, origin);
    return this.frameSyslogBody(s, k + 1, this.stampAt, origin, false);
  }

  /** `<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD [MSG]`, `-` for nil fields. */
  private frameRfc5424(s: string, origin: Origin): FramedLine {
    const p = this.skipPri(s);
    if (p === 0) return this.invalid('bad pri', s, origin);
    if (s.charCodeAt(p) !== 49 || s.charCodeAt(p + 1) !== SP) return this.invalid('bad version', s, origin);
    let k = p + 2;
    if (s.charCodeAt(k) === DASH && s.charCodeAt(k + 1) === SP)
      return this.invalid('nil timestamp', s, origin);
    k = this.parseRfc3339(s, k);
    if (k < 0) return this.invalid(this.reason, s, origin);
    const at = this.stampAt;
    if (s.charCodeAt(k) !== SP) return this.invalid('bad time zone', s, origin);
    const fields: string[] = [];
    k++;
    for (let f = 0; f < 4; f++) {
      const end = s.indexOf(' ', k);
      if (end <= k || end - k > MAX_HOST) return this.invalid('bad rfc5424 header', s, origin);
      fields.push(s.slice(k, end));
      k = end + 1;
    }
    const [hostField, app, procid] = fields as [string, string, string, string];
    const sdEnd = skipStructuredData(s, k);
    if (sdEnd < 0) return this.invalid('bad structured data', s, origin);
    let textStart = sdEnd < s.length && s.charCodeAt(sdEnd) === SP ? sdEnd + 1 : sdEnd;
    if (s.charCodeAt(textStart) === 0xfeff) textStart++;
    const host = hostField === '-' ? this.defaultHost : hostField.toLowerCase();
    const program = app === '-' ? this.defaultProgram : app;
    const pid = /^[0-9]{1,10}$/.test(procid) ? Number(procid) : null;
    return this.good(at, host, program, pid, s.slice(textStart), s, origin);
  }

  private frameMultilog(s: string, origin: Origin): FramedLine {
    if (s.charCodeAt(0) !== AT_SIGN || s.length < 25) return this.invalid('bad tai64n label', s, origin);
    const high = hex8(s, 1);
    const low = hex8(s, 9);
    const nanos = hex8(s, 17);
    if (
      high < TAI64_BASE_HIGH ||
      high > TAI64_BASE_HIGH + 0xff ||
      low < 0 ||
      nanos < 0 ||
      nanos > 999_999_999
    ) {
      return this.invalid('bad tai64n label', s, origin);
    }
    const after = s.charCodeAt(25);
    if (s.length > 25 && after !== SP) return this.invalid('bad tai64n label', s, origin);
    const seconds = (high - TAI64_BASE_HIGH) * TWO_POW_32 + low - TAI_UTC_OFFSET_SECONDS;
    const at = seconds * 1000 + Math.floor(nanos / 1_000_000);
    return this.good(at, this.defaultHost, this.defaultProgram, null, s.slice(26), s, origin);
  }

  /**
   * Dovecot's `log_timestamp`: `%b %d %H:%M:%S` (default) or `%Y-%m-%d %H:%M:%S`, then a space or the
   * end. Returns the index after the timestamp and sets `stampAt` (NaN-safe: -1 with `reason`).
   */
  private parseDovecotStamp(s: string): number {
    let k: number;
    if (digitAt(s, 0) >= 0) {
      const year = this.parseIsoDate(s, 0);
      if (year < 0) return -1;
      const sep = s.charCodeAt(10);
      if (sep !== SP && (sep | 0x20) !== 116) {
        this.reason = 'bad timestamp';
        return -1;
      }
      k = this.parseClock(s, 11);
      if (k < 0) return -1;
      this.stampAt = this.clock.toUtc(
        year,
        this.month,
        this.day,
        this.hour,
        this.minute,
        this.second,
        this.millis,
        this.lastAt,
      );
    } else {
      k = this.parseMonthDay(s, 0);
      if (k < 0) return -1;
      k = this.parseClock(s, k);
      if (k < 0) return -1;
      this.stampAt = this.yearlessUtc();
      if (Number.isNaN(this.stampAt)) {
        this.reason = 'bad day';
        return -1;
      }
    }
    if (k < s.length && s.charCodeAt(k) !== SP) {
      this.reason = 'bad time';
      return -1;
    }
    return k;
  }

  /** Dovecot `log_path`: the timestamp, then the text (program `dovecot`, host from options). */
  private frameDovecot(s: string, origin: Origin): FramedLine {
    const k = this.parseDovecotStamp(s);
    if (k < 0) return this.invalid(this.reason, s, origin);
    return this.good(this.stampAt, this.defaultHost, 'dovecot', null, s.slice(k + 1), s, origin);
  }

  /**
   * `auto` on `YYYY-MM-DD hh:mm:ss ...`: Dovecot with a custom log_timestamp when the text has
   * Dovecot's shape, rspamd's log file when `#pid(process)` follows, else an unknown header (Exim's
   * main log looks like this).
   */
  private frameDatedAuto(s: string, origin: Origin): FramedLine {
    const k = this.parseDovecotStamp(s);
    if (k < 0 || k + 1 >= s.length) return this.invalid('unknown header', s, origin);
    let tokenEnd = s.indexOf(' ', k + 1);
    if (tokenEnd < 0) tokenEnd = s.length;
    if (isDovecotShape(s, k + 1, tokenEnd) && !isUntaggedLevel(s, k + 1, tokenEnd)) {
      return this.good(this.stampAt, this.defaultHost, 'dovecot', null, s.slice(k + 1), s, origin);
    }
    const textStart = this.parseRspamdPid(s, k + 1);
    if (textStart < 0 || s.charCodeAt(textStart) !== SP) return this.frameExim(s, k, origin);
    return this.good(
      this.stampAt,
      this.defaultHost,
      this.rspamdProgram,
      this.tag.pid,
      s.slice(textStart + 1),
      s,
      origin,
    );
  }

  /**
   * Exim's main log after its `YYYY-MM-DD hh:mm:ss[.ddd]` stamp (`k` is the index after it, its fields
   * set by parseDovecotStamp): an optional ` +hhmm` zone, which then replaces the configured one, an
   * optional ` [pid]`, then the text (which never begins with rspamd's `#` or `[severity]`).
   */
  private frameExim(s: string, k: number, origin: Origin): FramedLine {
    let p = k + 1;
    let at = this.stampAt;
    const sign = s.charCodeAt(p);
    if ((sign === PLUS || sign === DASH) && (p + 5 === s.length || s.charCodeAt(p + 5) === SP)) {
      const oh = twoDigits(s, p + 1);
      const om = twoDigits(s, p + 3);
      if (oh >= 0 && om >= 0 && oh <= 23 && om <= 59) {
        const offsetMinutes = (oh * 60 + om) * (sign === DASH ? -1 : 1);
        at =
          this.dayBase(fourDigits(s, 0), this.month, this.day) +
          this.hour * 3_600_000 +
          this.minute * 60_000 +
          this.second * 1000 +
          this.millis -
          offsetMinutes * 60_000;
        p += 6;
      }
    }
    let pid: number | null = null;
    if (s.charCodeAt(p) === LBRACKET) {
      let e = p + 1;
      let value = 0;
      for (; e - p <= MAX_PID_CHARS; e++) {
        const d = digitAt(s, e);
        if (d < 0) break;
        value = value * 10 + d;
      }
      // Exim's text begins with `[` only for its pid: anything else is a broken rspamd `[severity]`.
      if (e === p + 1 || s.charCodeAt(e) !== RBRACKET || s.charCodeAt(e + 1) !== SP) {
        return this.invalid('unknown header', s, origin);
      }
      pid = value;
      p = e + 2;
    }
    // Nor does Exim's text begin with `#`: a broken rspamd `#pid(process)`.
    if (p >= s.length || s.charCodeAt(p) === HASH) return this.invalid('unknown header', s, origin);
    return this.good(at, this.defaultHost, this.eximProgram, pid, s.slice(p), s, origin);
  }

  /**
   * rspamd's `#pid(process)` at `i`, after a `[severity] ` when rspamd logs severities: sets `tag.pid`
   * and returns the index after `)`, or -1.
   */
  private parseRspamdPid(s: string, i: number): number {
    let k = i;
    if (s.charCodeAt(k) === LBRACKET) {
      const close = s.indexOf('] ', k);
      if (close < 0 || close - k > MAX_SEVERITY) return -1;
      k = close + 2;
    }
    if (s.charCodeAt(k) !== HASH) return -1;
    let e = k + 1;
    let pid = 0;
    for (; e - k <= MAX_PID_CHARS; e++) {
      const d = digitAt(s, e);
      if (d < 0) break;
      pid = pid * 10 + d;
    }
    if (e === k + 1 || s.charCodeAt(e) !== LPAREN) return -1;
    const close = s.indexOf(')', e);
    if (close < 0 || close - e > MAX_TAG) return -1;
    this.tag.pid = pid;
    return close + 1;
  }

  /** rspamd 1.0's log file: `#pid(process): Nov 28 10:00:00 rspamd text`. */
  private frameRspamdLegacy(s: string, origin: Origin): FramedLine {
    const p = this.parseRspamdPid(s, 0);
    if (p < 0 || !s.startsWith(': ', p)) return this.invalid('no timestamp', s, origin);
    let k = this.parseMonthDay(s, p + 2);
    if (k >= 0) k = this.parseClock(s, k);
    if (k < 0) return this.invalid(this.reason, s, origin);
    if (!s.startsWith(' rspamd ', k)) return this.invalid('bad rspamd header', s, origin);
    const at = this.yearlessUtc();
    if (Number.isNaN(at)) return this.invalid('bad day', s, origin);
    return this.good(at, this.defaultHost, this.rspamdProgram, this.tag.pid, s.slice(k + 8), s, origin);
  }

  /** clamd `LogTime yes`: ctime(3) `Www Mmm dd hh:mm:ss yyyy -> text`. */
  private frameClamd(s: string, origin: Origin): FramedLine {
    if (s.charCodeAt(3) !== SP || !WEEKDAYS.has(word3(s, 0))) return this.invalid('no timestamp', s, origin);
    let k = this.parseMonthDay(s, 4);
    if (k < 0) return this.invalid(this.reason, s, origin);
    k = this.parseClock(s, k);
    if (k < 0) return this.invalid(this.reason, s, origin);
    const year = s.charCodeAt(k) === SP ? fourDigits(s, k + 1) : -1;
    if (year < 1970) return this.invalid('bad year', s, origin);
    if (this.day > daysInMonth(year, this.month)) return this.invalid('bad day', s, origin);
    k += 5;
    if (!s.startsWith(' -> ', k)) return this.invalid('bad clamd header', s, origin);
    const at = this.clock.toUtc(
      year,
      this.month,
      this.day,
      this.hour,
      this.minute,
      this.second,
      0,
      this.lastAt,
    );
    return this.good(at, this.defaultHost, 'clamd', null, s.slice(k + 4), s, origin);
  }
}

/**
 * A bare level word at `start..end` (`Warning:`) not followed by a tag ending in `:` (Dovecot 1.x writes
 * `Info: imap-login: ...`; Exim writes `Warning: purging the environment`).
 */
function isUntaggedLevel(s: string, start: number, end: number): boolean {
  if (!dovecotLevelAt(s, start, end)) return false;
  let next = s.indexOf(' ', end + 1);
  if (next < 0) next = s.length;
  return next <= end + 1 || s.charCodeAt(next - 1) !== COLON;
}

/**
 * Whether ` yyyy (digits) ` (or ` yyyy (digits)` ending the line) follows the clock at `k`: Mailman's
 * stamp. A syslog line has a host there, never a four-digit year followed by `(`.
 */
function isMailmanStamp(s: string, k: number): boolean {
  if (s.charCodeAt(k + 5) !== SP || s.charCodeAt(k + 6) !== LPAREN || fourDigits(s, k + 1) < 0) return false;
  let e = k + 7;
  while (e - k - 7 < MAX_PID_CHARS && digitAt(s, e) >= 0) e++;
  if (e === k + 7 || s.charCodeAt(e) !== RPAREN) return false;
  return e + 1 === s.length || s.charCodeAt(e + 1) === SP;
}

/** Solaris syslog's message id after the tag: `[ID 197553 mail.info] `. Returns where the text starts. */
function skipSolarisId(s: string, i: number): number {
  const end = s.indexOf(']', i + 4);
  if (end < 0 || end - i > MAX_SD_ID || digitAt(s, i + 4) < 0) return i;
  return s.charCodeAt(end + 1) === SP ? end + 2 : end + 1;
}

/**
 * End of RFC 5424 STRUCTURED-DATA at `i`: `-`, or one or more `[id param="value"...]` where a value may
 * hold `\"`, `\]` and `\\`. Returns -1 when it is malformed or unterminated. Linear in the line length.
 */
function skipStructuredData(s: string, i: number): number {
  const len = s.length;
  if (i >= len) return len;
  if (s.charCodeAt(i) === DASH) return i + 1;
  let k = i;
  while (k < len && s.charCodeAt(k) === LBRACKET) {
    k++;
    let inQuotes = false;
    for (;;) {
      if (k >= len) return -1;
      const c = s.charCodeAt(k);
      if (inQuotes) {
        if (c === BACKSLASH) k++;
        else if (c === DQUOTE) inQuotes = false;
      } else if (c === DQUOTE) inQuotes = true;
      else if (c === RBRACKET) break;
      k++;
    }
    k++;
  }
  return k === i ? -1 : k;
}

/**
 * Frames one already-decoded line with a throw-away Framer. For a stream of lines create one
 * `Framer` and call `frameText` on it: it keeps the previous time (DST overlaps, invalid lines) and
 * its caches.
 */
export function frameText(text: string, opts: FramingOptions, offset = 0, line = 0): FramedLine {
  return new Framer(opts).frameText(text, offset, line);
}
