/**
 * A frame is one log line after framing: its time settled in UTC, the host and program that wrote it,
 * and the program's own text. Framing never fails: a line whose header cannot be read becomes an
 * invalid frame that is still stored and counted (nothing is dropped).
 */

/** Where a line came from: enough to show the evidence and, later, to resume exactly once. */
export interface Origin {
  /** Name of the source (a configured source, or the file path for an import). */
  source: string;
  /** File path as given (for a gzip file, the .gz path). */
  file: string;
  /**
   * Identity of the byte stream, whatever its path: a fingerprint of its first line, so that a file
   * read again after rotation (`mail.log` → `mail.log.1` → `mail.log.2.gz`) is known as the same
   * stream, and a new file at an old path is not. Lines are stored once per (stream, offset).
   */
  stream?: string;
  /** Byte offset of the line's first byte in the (decompressed) stream. */
  offset: number;
  /** 1-based line number in the (decompressed) stream. */
  line: number;
}

export interface Frame {
  /** Epoch milliseconds, UTC. */
  at: number;
  /** Host that wrote the line (from the syslog header, or the source's settings). Lower-case. */
  host: string;
  /**
   * Program as the log names it, without pid: `postfix/smtpd`, `postfix/submission/smtpd`,
   * `postfix-out/qmgr`, `dovecot`, `amavis`, `spamd`, `clamd`, `qmail-send`...
   */
  program: string;
  /** Process id when the header carries one. */
  pid: number | null;
  /** The program's own text, after `program[pid]: ` (after the timestamp for program log files). */
  text: string;
  /** The whole line, decoded to a string, without its line terminator. */
  raw: string;
  origin: Origin;
}

/** A line whose header could not be read. Kept raw, with the reason. */
export interface InvalidFrame {
  invalid: true;
  reason: string;
  raw: string;
  /** Best guess of the time (the previous line's time), so it sorts near its neighbours. */
  at: number;
  host: string;
  program: string;
  origin: Origin;
}

export type FramedLine = Frame | InvalidFrame;

export function isInvalid(line: FramedLine): line is InvalidFrame {
  return (line as InvalidFrame).invalid === true;
}
