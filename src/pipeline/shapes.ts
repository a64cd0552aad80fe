/**
 * Shapes of lines no parser recognised: the line with what varies from one occurrence to the next
 * masked (numbers, ids, queue ids, addresses, host names, IPs, quoted strings), so that lines of one
 * kind count together and the most frequent kinds show what a parser is missing:
 *
 *   warning: hostname mx.example.org does not resolve to address 192.0.2.7: Name or service not known
 *   warning: hostname <HOST> does not resolve to address <IP>: Name or service not known
 *
 * Masking runs on every unknown line, so it is one pass over the characters without regular
 * expressions, over at most MAX_SHAPE_INPUT characters. The tally keeps a bounded number of distinct
 * shapes and counts the lines it could not keep.
 */

/** Characters of a line that are shaped; the rest is cut (and the shape ends with `…`). */
export const MAX_SHAPE_INPUT = 400;
/** Longest `<…>` or quoted string masked as one piece. */
const MAX_BRACKETED = 256;

// Character codes.
const TAB = 9;
const SPACE = 32;
const QUOTE = 34;
const APOSTROPHE = 39;
const OPEN_PAREN = 40;
const CLOSE_PAREN = 41;
const COMMA = 44;
const DASH = 45;
const DOT = 46;
const SLASH = 47;
const ZERO = 48;
const NINE = 57;
const COLON = 58;
const SEMICOLON = 59;
const LESS = 60;
const EQUALS = 61;
const GREATER = 62;
const AT = 64;
const UPPER_A = 65;
const UPPER_F = 70;
const UPPER_Z = 90;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const UNDERSCORE = 95;
const LOWER_A = 97;
const LOWER_F = 102;
const LOWER_Z = 122;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;

/** Characters that end a word: spaces and punctuation that separates values in log lines. */
function isDelimiter(c: number): boolean {
  return (
    c === SPACE ||
    c === TAB ||
    c === OPEN_BRACKET ||
    c === CLOSE_BRACKET ||
    c === OPEN_PAREN ||
    c === CLOSE_PAREN ||
    c === OPEN_BRACE ||
    c === CLOSE_BRACE ||
    c === COMMA ||
    c === SEMICOLON ||
    c === EQUALS ||
    c === LESS ||
    c === GREATER ||
    c === QUOTE
  );
}

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}

function isLetter(c: number): boolean {
  return (c >= UPPER_A && c <= UPPER_Z) || (c >= LOWER_A && c <= LOWER_Z);
}

function isHexLetter(c: number): boolean {
  return (c >= UPPER_A && c <= UPPER_F) || (c >= LOWER_A && c <= LOWER_F);
}

/** The shape of a line's text. */
export function shapeOf(text: string): string {
  const cut = text.length > MAX_SHAPE_INPUT;
  const end = cut ? MAX_SHAPE_INPUT : text.length;
  let out = '';
  let i = 0;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c === LESS) {
      const close = closing(text, i, end, GREATER, true);
      if (close > 0) {
        out += maskBracketed(text.slice(i + 1, close));
        i = close + 1;
        continue;
      }
    } else if ((c === QUOTE || c === APOSTROPHE) && (i === 0 || !isWordChar(text.charCodeAt(i - 1)))) {
      const close = closing(text, i, end, c, false);
      if (close > 0) {
        out += c === QUOTE ? '"<STR>"' : "'<STR>'";
        i = close + 1;
        continue;
      }
    }
    if (isDelimiter(c) || c === APOSTROPHE) {
      out += text[i];
      i++;
      continue;
    }
    let j = i + 1;
    while (j < end && !isDelimiter(text.charCodeAt(j))) j++;
    out += maskWord(text.slice(i, j), i === 0);
    i = j;
  }
  return cut ? `${out}…` : out;
}

function isWordChar(c: number): boolean {
  return isLetter(c) || isDigit(c);
}

/** Index of the character closing what opens at `open`, or -1 (`<…>` may not hold spaces). */
function closing(text: string, open: number, end: number, close: number, noSpace: boolean): number {
  const limit = Math.min(end, open + 1 + MAX_BRACKETED);
  for (let j = open + 1; j < limit; j++) {
    const c = text.charCodeAt(j);
    if (c === close) return j;
    if (noSpace && (c === SPACE || c === LESS)) return -1;
  }
  return -1;
}

/**
 * `<alice@example.org>` → `<ADDR>`, `<mx.example.org>` → `<HOST>`; `<>` and `<script>` stay, and what
 * else is inside is shaped (`<unknown[192.0.2.7]>` → `<unknown[<IP>]>`).
 */
function maskBracketed(inner: string): string {
  if (inner === '') return '<>';
  return classify(inner) ?? `<${shapeOf(inner)}>`;
}

/**
 * A word (no delimiter inside): masked whole when it is one value, else split at `:`, `/`, `-` and `_`
 * and its pieces masked, so that `192.0.2.7:25`, `0.1/0/0.9/1` and `pid-1234` keep their punctuation.
 * Trailing `:` and `.` are punctuation of the sentence, not of the value.
 */
function maskWord(word: string, first = false): string {
  let end = word.length;
  while (end > 0) {
    const c = word.charCodeAt(end - 1);
    if (c !== COLON && c !== DOT) break;
    end--;
  }
  const core = end === word.length ? word : word.slice(0, end);
  const tail = end === word.length ? '' : word.slice(end);
  if (core === '') return word;
  const whole = classify(core) ?? classifyTime(core) ?? classifyIpv6(core);
  // `3D03660673: …` and `9809760673: …` alike: a line that begins with `ID:` names a queue entry, even
  // when the (hex) id happens to have no letter.
  if (whole === '<N>' && first && tail.startsWith(':') && core.length >= 6 && core.length <= 32)
    return `<ID>${tail}`;
  if (whole !== null) return whole + tail;
  return splitMasked(core, 0) + tail;
}

/** Separators a word is split at, tried in turn: `:` and `/` first (ports, paths), then `-` and `_`. */
const SEPARATORS = [
  [COLON, SLASH],
  [DASH, UNDERSCORE],
] as const;

function splitMasked(word: string, level: number): string {
  const separators = SEPARATORS[level];
  if (separators === undefined) return word;
  let out = '';
  let start = 0;
  let split = false;
  for (let i = 0; i <= word.length; i++) {
    const c = i < word.length ? word.charCodeAt(i) : -1;
    if (c !== -1 && c !== separators[0] && c !== separators[1]) continue;
    split ||= c !== -1;
    const piece = word.slice(start, i);
    if (piece !== '') out += classify(piece) ?? (level === 0 ? splitMasked(piece, 1) : piece);
    if (c !== -1) out += word[i];
    start = i + 1;
  }
  return split ? out : level === 0 ? splitMasked(word, 1) : word;
}

/**
 * The mask of a value, or null when it is a plain word: `<ADDR>` (local@domain), `<IP>` (IPv4), `<N>`
 * (a number, `1.5`, `2.9.2`), `<ID>` (hex ids, queue ids, UUIDs), `<HOST>` (dotted names).
 */
function classify(word: string): string | null {
  const length = word.length;
  let digits = 0;
  let letters = 0;
  let hexLetters = 0;
  let dots = 0;
  let dashes = 0;
  let at = -1;
  let other = 0;
  let upper = 0;
  let lower = 0;
  for (let i = 0; i < length; i++) {
    const c = word.charCodeAt(i);
    if (isDigit(c)) digits++;
    else if (isLetter(c)) {
      letters++;
      if (isHexLetter(c)) hexLetters++;
      if (c <= UPPER_Z) upper++;
      else lower++;
    } else if (c === DOT) dots++;
    else if (c === DASH) dashes++;
    else if (c === AT && at < 0) at = i;
    else if (c !== UNDERSCORE && c !== 43 /* + */ && c !== 37 /* % */) other++;
  }
  if (at > 0 && at < length - 1 && other === 0) return '<ADDR>';
  if (other > 0 || at >= 0) return null;
  if (digits + dots === length && digits > 0) {
    if (dots === 3 && isIpv4(word)) return '<IP>';
    return isDottedNumber(word) ? '<N>' : null;
  }
  if (dots === 0 && isId(word, length, digits, letters, hexLetters, dashes, upper, lower)) return '<ID>';
  if (dots > 0 && letters > 0 && isHostName(word)) return '<HOST>';
  return null;
}

/**
 * Hex ids and queue ids: 6+ letters and digits with a digit among them, all hex (Postfix short queue
 * ids, hashes), or 10+ with mixed case or mixed letters and digits (Postfix long queue ids, Exim ids
 * split at dashes, session ids); UUID-like hex with dashes.
 */
function isId(
  word: string,
  length: number,
  digits: number,
  letters: number,
  hexLetters: number,
  dashes: number,
  upper: number,
  lower: number,
): boolean {
  if (dashes > 0)
    return dashes >= 2 && length >= 16 && digits > 0 && letters === hexLetters && !word.includes('--');
  if (length < 6 || digits === 0) return false;
  if (letters === hexLetters && (upper === 0 || lower === 0)) return letters > 0 || length >= 12;
  return length >= 10 && letters > 0;
}

function isIpv4(word: string): boolean {
  let parts = 0;
  let value = 0;
  let width = 0;
  for (let i = 0; i <= word.length; i++) {
    const c = i < word.length ? word.charCodeAt(i) : DOT;
    if (c === DOT) {
      if (width === 0 || value > 255) return false;
      parts++;
      value = 0;
      width = 0;
    } else {
      value = value * 10 + (c - ZERO);
      width++;
      if (width > 3) return false;
    }
  }
  return parts === 4;
}

/** `123`, `1.5`, `2.9.2`: digits (the caller checked), each dot between digits. */
function isDottedNumber(word: string): boolean {
  let previousDot = true;
  for (let i = 0; i < word.length; i++) {
    const dot = word.charCodeAt(i) === DOT;
    if (dot && previousDot) return false;
    previousDot = dot;
  }
  return !previousDot;
}

/** Two labels at least, of letters, digits, `-` and `_`, the last one with a letter. */
function isHostName(word: string): boolean {
  let labelStart = 0;
  let labels = 0;
  let lastHasLetter = false;
  for (let i = 0; i <= word.length; i++) {
    const c = i < word.length ? word.charCodeAt(i) : DOT;
    if (c === DOT) {
      if (i === labelStart) return false;
      labels++;
      labelStart = i + 1;
      continue;
    }
    if (i === labelStart) lastHasLetter = false;
    if (isLetter(c)) lastHasLetter = true;
  }
  return labels >= 2 && lastHasLetter;
}

/** `10:00:01`, `10:00`, `10:00:01.123`: one or two colons between one or two digits (seconds: a fraction). */
function classifyTime(word: string): string | null {
  if (word.length < 4 || word.length > 15) return null;
  let digits = 0;
  let colons = 0;
  let fraction = false;
  for (let i = 0; i < word.length; i++) {
    const c = word.charCodeAt(i);
    if (isDigit(c)) {
      digits++;
      if (!fraction && digits > 2) return null;
    } else if (c === COLON && !fraction && digits > 0 && colons < 2) {
      colons++;
      digits = 0;
    } else if (c === DOT && !fraction && colons === 2 && digits === 2) {
      fraction = true;
      digits = 0;
    } else return null;
  }
  return colons > 0 && digits > 0 ? '<TIME>' : null;
}

/** IPv6 addresses: hex digits and colons (and a dotted IPv4 tail), with `::` or 5+ colons. */
function classifyIpv6(word: string): string | null {
  let colons = 0;
  let hex = 0;
  for (let i = 0; i < word.length; i++) {
    const c = word.charCodeAt(i);
    if (c === COLON) colons++;
    else if (isDigit(c) || isHexLetter(c)) hex++;
    else if (c !== DOT) return null;
  }
  if (hex === 0 || colons < 2) return null;
  return word.includes('::') || colons >= 5 ? '<IP>' : null;
}

export interface ShapeCount {
  shape: string;
  count: number;
  /** The first line seen of this shape (bounded). */
  example: string;
}

export interface ShapeGroup {
  host: string;
  program: string;
  /** Most frequent first. */
  shapes: ShapeCount[];
  /** Lines whose shape was not kept: the tally was full when it first came. */
  untallied: number;
}

/** Distinct shapes kept per host and program, and in all. */
export const MAX_SHAPES_PER_GROUP = 1000;
export const MAX_SHAPES = 20_000;
const MAX_EXAMPLE = 512;

interface Group {
  host: string;
  program: string;
  shapes: Map<string, ShapeCount>;
  untallied: number;
}

/**
 * Counts shapes per host and program in bounded memory: at most MAX_SHAPES_PER_GROUP distinct shapes per
 * group and MAX_SHAPES in all; a line whose shape is new when the bound is reached is counted in
 * `untallied` instead.
 */
export class ShapeTally {
  private readonly groups = new Map<string, Group>();
  private distinct = 0;

  constructor(
    private readonly perGroup = MAX_SHAPES_PER_GROUP,
    private readonly total = MAX_SHAPES,
  ) {}

  add(host: string, program: string, text: string): void {
    const key = `${host}\u0000${program}`;
    let group = this.groups.get(key);
    if (group === undefined) {
      group = { host, program, shapes: new Map(), untallied: 0 };
      this.groups.set(key, group);
    }
    const shape = shapeOf(text);
    const known = group.shapes.get(shape);
    if (known !== undefined) {
      known.count++;
      return;
    }
    if (group.shapes.size >= this.perGroup || this.distinct >= this.total) {
      group.untallied++;
      return;
    }
    this.distinct++;
    group.shapes.set(shape, {
      shape,
      count: 1,
      example: text.length > MAX_EXAMPLE ? text.slice(0, MAX_EXAMPLE) : text,
    });
  }

  /** Every group with its `top` most frequent shapes (ties: the shape seen first). */
  top(top: number): ShapeGroup[] {
    const out: ShapeGroup[] = [];
    for (const group of this.groups.values()) {
      const shapes = [...group.shapes.values()];
      // Stable sort: equal counts keep the order they were first seen in.
      shapes.sort((a, b) => b.count - a.count);
      out.push({
        host: group.host,
        program: group.program,
        shapes: shapes.slice(0, top).map((s) => ({ ...s })),
        untallied: group.untallied,
      });
    }
    return out;
  }
}
