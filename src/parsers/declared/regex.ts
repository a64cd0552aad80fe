/**
 * Regular expressions written in a configuration file run on attacker-controlled text, 40 million times
 * per import. Before one is accepted it is compiled once and read here for:
 * - nested quantifiers (`(a+)+`, `(\w+\s?)*`, `(?:x*y?){2,}`): a repeated group that itself contains a
 *   part repeated a variable number of times is the common cause of exponential backtracking, so it is
 *   refused. Other slow shapes are not detected (overlapping alternatives under a quantifier, or
 *   polynomial ones such as `.*.*.*;$`, 85 s on a 1 200-character line): for those, V8 is told to
 *   switch a regex that backtracks excessively to its linear-time engine (see enableLinearFallback),
 *   and the text they run on is bounded (`maxLength`);
 * - its named groups, which become event fields;
 * - the literal text every match starts with, when the pattern is anchored (`^prepend Received-SPF`),
 *   so that a line is first tested with `startsWith` and most lines never reach the regex engine.
 */

import { setFlagsFromString } from 'node:v8';

export interface PatternInfo {
  regex: RegExp;
  /** Named groups, in the order they appear. */
  groups: string[];
  /** Literal text any match begins with at position 0 ('' when none is known). */
  prefix: string;
}

export type Compiled = { ok: true; info: PatternInfo } | { ok: false; problem: string };

/** Longest pattern accepted: configuration, not a program. */
export const MAX_PATTERN_LENGTH = 2000;

export function compilePattern(pattern: string): Compiled {
  enableLinearFallback();
  if (pattern.length > MAX_PATTERN_LENGTH)
    return { ok: false, problem: `pattern is longer than ${MAX_PATTERN_LENGTH} characters` };
  let regex: RegExp;
  try {
    regex = new RegExp(pattern);
  } catch (error) {
    return { ok: false, problem: `invalid regular expression: ${errorText(error)}` };
  }
  const scan = scanPattern(pattern);
  if (scan.nested !== null) {
    return {
      ok: false,
      problem:
        `nested quantifier at column ${scan.nested + 1}: a repeated group that contains a part repeated ` +
        'a variable number of times (like (a+)+ or (\\w+\\s?)*) can take exponential time on a hostile ' +
        'line; write the repeated part as one character class ([\\w\\s]* for (\\w+\\s?)*), or repeat a group whose parts have fixed lengths',
    };
  }
  return { ok: true, info: { regex, groups: groupNames(pattern), prefix: scan.prefix } };
}

let linearFallback = false;

/**
 * V8 can run a regex that exceeds a backtracking budget (50 000 backtracks) again on its linear-time
 * engine, when the regex uses nothing that engine lacks (backreferences, lookaround). The flag is
 * process-wide and affects only regexes compiled after it is set, so it is set before the first
 * declared pattern is compiled. Measured: `^(\w+)\s*=\s*.*.*.*;$` on a 1 200-character line takes 85 s
 * without it and 2 ms with it; `^(a+)+$` (refused here anyway) 57 s and 1 ms.
 */
function enableLinearFallback(): void {
  if (linearFallback) return;
  setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
  linearFallback = true;
}

function errorText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // V8: "Invalid regular expression: /(x/: Unterminated group" — the pattern is shown by the caller.
  const cut = message.lastIndexOf('/: ');
  return cut >= 0 ? message.slice(cut + 3) : message;
}

/**
 * The names of a valid pattern's groups, read from the engine itself: an empty alternative makes the
 * pattern match '' with every group present (and undefined) in `groups`.
 */
function groupNames(pattern: string): string[] {
  const groups = new RegExp(`(?:${pattern})|`).exec('')?.groups;
  return groups ? Object.keys(groups) : [];
}

interface Quantifier {
  /** Characters the quantifier takes, lazy `?` included. */
  length: number;
  /** It may repeat its atom more than once. */
  repeats: boolean;
  /** Its minimum and maximum differ. */
  variable: boolean;
  /** The atom may be absent (minimum 0). */
  optional: boolean;
}

/** The quantifier at `i`, or null (a `{` that is not `{n}`, `{n,}`, `{n,m}` is a literal in JS). */
function quantifierAt(pattern: string, i: number): Quantifier | null {
  const c = pattern[i];
  let q: Quantifier | null = null;
  if (c === '*') q = { length: 1, repeats: true, variable: true, optional: true };
  else if (c === '+') q = { length: 1, repeats: true, variable: true, optional: false };
  else if (c === '?') q = { length: 1, repeats: false, variable: true, optional: true };
  else if (c === '{') {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i, i + 24));
    if (m === null) return null;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? Number.POSITIVE_INFINITY : Number(m[3]);
    q = { length: m[0].length, repeats: max > 1, variable: max !== min, optional: min === 0 };
  }
  if (q !== null && pattern[i + q.length] === '?') q.length++;
  return q;
}

interface Frame {
  /** The group contains a part repeated a variable number of times. */
  variable: boolean;
}

interface Scan {
  /** Index of the first nested quantifier, or null. */
  nested: number | null;
  prefix: string;
}

/**
 * One pass over a pattern the engine accepted (so its syntax is valid): groups, classes, escapes and
 * quantifiers, enough to find nested quantifiers and the literal prefix.
 */
function scanPattern(pattern: string): Scan {
  const stack: Frame[] = [{ variable: false }];
  let nested: number | null = null;
  let prefix = '';
  let collecting = pattern.startsWith('^');
  let topAlternation = false;
  /** The atom a following quantifier applies to: a group's frame, or a plain atom. */
  let atom: { variable: boolean; literal: string | null } | null = null;
  let i = collecting ? 1 : 0;
  while (i < pattern.length) {
    const c = pattern[i]!;
    const top = stack[stack.length - 1]!;
    const q = atom === null ? null : quantifierAt(pattern, i);
    if (q !== null && atom !== null) {
      if (q.repeats && atom.variable && nested === null) nested = i;
      if (q.variable || atom.variable) top.variable = true;
      if (collecting) {
        // The atom was the last literal of the prefix: keep it only when it must appear once at least.
        if (atom.literal !== null && q.optional) prefix = prefix.slice(0, -atom.literal.length);
        collecting = false;
      }
      atom = null;
      i += q.length;
      continue;
    }
    if (c === '\\') {
      const end = escapeEnd(pattern, i);
      const next = pattern[i + 1] ?? '';
      const literal = end === i + 2 && !/[0-9A-Za-z]/.test(next) ? next : null;
      atom = { variable: false, literal };
      if (collecting && stack.length === 1) {
        if (literal === null) collecting = false;
        else prefix += literal;
      }
      i = end;
    } else if (c === '[') {
      atom = { variable: false, literal: null };
      collecting = false;
      i = classEnd(pattern, i);
    } else if (c === '(') {
      stack.push({ variable: false });
      collecting = false;
      atom = null;
      i = groupBodyStart(pattern, i);
    } else if (c === ')') {
      const group = stack.length > 1 ? stack.pop()! : top;
      atom = { variable: group.variable, literal: null };
      const parent = stack[stack.length - 1]!;
      if (group.variable) parent.variable = true;
      i++;
    } else if (c === '|') {
      if (stack.length === 1) topAlternation = true;
      atom = null;
      collecting = false;
      i++;
    } else if (c === '^' || c === '$') {
      atom = null;
      collecting = false;
      i++;
    } else {
      const literal = c === '.' ? null : c;
      atom = { variable: false, literal };
      if (collecting) {
        if (literal === null) collecting = false;
        else prefix += literal;
      }
      i++;
    }
  }
  return { nested, prefix: topAlternation ? '' : prefix };
}

/** Index just after the escape sequence starting at `i` (`\d`, `\k<name>`, `\u{1F600}`, `\x41`, `\12`). */
function escapeEnd(pattern: string, i: number): number {
  const next = pattern[i + 1];
  if (next === 'k' && pattern[i + 2] === '<') {
    const close = pattern.indexOf('>', i + 3);
    return close < 0 ? i + 2 : close + 1;
  }
  if (next === 'u' && pattern[i + 2] === '{') {
    const close = pattern.indexOf('}', i + 3);
    return close < 0 ? i + 2 : close + 1;
  }
  if (next === 'u') return Math.min(pattern.length, i + 6);
  if (next === 'x') return Math.min(pattern.length, i + 4);
  if (next === 'c') return Math.min(pattern.length, i + 3);
  if (next !== undefined && next >= '1' && next <= '9') {
    let j = i + 2;
    while (j < pattern.length && pattern[j]! >= '0' && pattern[j]! <= '9') j++;
    return j;
  }
  return Math.min(pattern.length, i + 2);
}

/** Index just after the character class starting at `i` (`[]` and `[^]` are complete classes in JS). */
function classEnd(pattern: string, i: number): number {
  let j = i + 1;
  if (pattern[j] === '^') j++;
  while (j < pattern.length) {
    const c = pattern[j];
    if (c === '\\') j += 2;
    else if (c === ']') return j + 1;
    else j++;
  }
  return j;
}

/** Index of the first character of a group's body: after `(`, `(?:`, `(?=`, `(?!`, `(?<=`, `(?<!`, `(?<name>`. */
function groupBodyStart(pattern: string, i: number): number {
  if (pattern[i + 1] !== '?') return i + 1;
  const kind = pattern[i + 2];
  if (kind === ':' || kind === '=' || kind === '!') return i + 3;
  if (kind === '<') {
    const after = pattern[i + 3];
    if (after === '=' || after === '!') return i + 4;
    const close = pattern.indexOf('>', i + 3);
    return close < 0 ? i + 3 : close + 1;
  }
  return i + 2;
}
