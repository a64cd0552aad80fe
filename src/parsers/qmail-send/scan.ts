/** Small position-based scanners shared by the qmail-world parsers (they run on every line). */

/** Longest number accepted: message numbers are inodes, delivery numbers and pids are counters. */
const MAX_DIGITS = 15;

export function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** End of the run of digits starting at `start` (at most MAX_DIGITS of them), or -1 when there is none. */
export function digitsEnd(text: string, start: number): number {
  let i = start;
  while (i < text.length && i - start < MAX_DIGITS && isDigit(text.charCodeAt(i))) i++;
  return i > start ? i : -1;
}
