import type { MailEvent } from '../core/events.js';
import type { Frame } from '../core/frame.js';

/**
 * A parser understands one program's lines. It is a plain object in the registry (registry.ts).
 * `parse` returns the event the line states, or `null` when it does not recognise the line: the
 * line is then kept and counted as unknown, never dropped.
 *
 * Parsers are pure and per line: no state, no I/O. They run once per log line, so they avoid
 * needless allocation: prefix checks (`startsWith`, `indexOf`) before any regular expression.
 */
export interface ProgramParser {
  /** Short stable name, used in statistics: `postfix`, `dovecot`, `amavis`, `spamd`, `clamd`. */
  readonly name: string;
  /**
   * Whether this parser handles lines of the given program name (as framed: `postfix/smtpd`,
   * `postfix-out/qmgr`, `dovecot`, `amavis`, `amavisd`, `spamd`, `clamd`...).
   */
  handles(program: string): boolean;
  parse(frame: Frame): MailEvent | null;
}
