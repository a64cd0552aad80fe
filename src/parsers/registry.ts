import type { MailEvent } from '../core/events.js';
import type { Frame } from '../core/frame.js';
import { amavisParser } from './amavis/parser.js';
import { clamdParser } from './clamd/parser.js';
import { dovecotParser } from './dovecot/parser.js';
import { postfixParser } from './postfix/parser.js';
import { spamassMilterParser } from './spamass-milter/parser.js';
import { spamdParser } from './spamd/parser.js';
import type { ProgramParser } from './types.js';

/** Every built-in parser, in the order they are asked when dispatch by name finds none. */
export const BUILTIN_PARSERS: readonly ProgramParser[] = [
  postfixParser,
  dovecotParser,
  amavisParser,
  spamdParser,
  spamassMilterParser,
  clamdParser,
];

export interface ParseResult {
  /** The parser that handles the line's program, or null when none does. */
  parser: ProgramParser | null;
  /** The event, or null when the line is not recognised (kept and counted as unknown). */
  event: MailEvent | null;
}

/**
 * Dispatch on the program name: each distinct program name is resolved once to its parser and cached,
 * so the per-line cost is one Map lookup.
 */
export class ParserRegistry {
  private readonly byProgram = new Map<string, ProgramParser | null>();

  constructor(private readonly parsers: readonly ProgramParser[] = BUILTIN_PARSERS) {}

  parserFor(program: string): ProgramParser | null {
    let parser = this.byProgram.get(program);
    if (parser === undefined) {
      parser = this.parsers.find((p) => p.handles(program)) ?? null;
      this.byProgram.set(program, parser);
    }
    return parser;
  }

  parse(frame: Frame): ParseResult {
    const parser = this.parserFor(frame.program);
    if (parser === null) return { parser: null, event: null };
    return { parser, event: parser.parse(frame) };
  }
}
