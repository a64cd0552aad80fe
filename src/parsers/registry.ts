import type { MailEvent } from '../core/events.js';
import type { Frame } from '../core/frame.js';
import { amavisParser } from './amavis/parser.js';
import { clamdParser } from './clamd/parser.js';
import { dovecotParser } from './dovecot/parser.js';
import { eximParser } from './exim/parser.js';
import { mailmanParser } from './mailman/parser.js';
import { postfixParser } from './postfix/parser.js';
import { qmailScannerParser } from './qmail-scanner/parser.js';
import { qmailSendParser } from './qmail-send/parser.js';
import { qmailSmtpdParser } from './qmail-smtpd/parser.js';
import { rspamdParser } from './rspamd/parser.js';
import { sendmailParser } from './sendmail/parser.js';
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
  mailmanParser,
  rspamdParser,
  qmailSendParser,
  qmailSmtpdParser,
  qmailScannerParser,
  eximParser,
  sendmailParser,
];

export interface ParseResult {
  /** The parser that handles the line's program, or null when none does. */
  parser: ProgramParser | null;
  /** The event, or null when the line is not recognised (kept and counted as unknown). */
  event: MailEvent | null;
}

/**
 * Dispatch on the program name: each distinct program name is resolved once to the parsers asked for
 * its lines and cached, so the per-line cost is one Map lookup.
 *
 * `first` parsers (declared in configuration, src/parsers/declared/) are asked before the built-in one:
 * every `first` parser that handles the program, in order, then the first of `parsers` that does. The
 * first event wins, so a declared parser overrides a built-in for the lines it recognises and leaves
 * it the others.
 */
export class ParserRegistry {
  private readonly byProgram = new Map<string, readonly ProgramParser[]>();

  constructor(
    private readonly parsers: readonly ProgramParser[] = BUILTIN_PARSERS,
    private readonly first: readonly ProgramParser[] = [],
  ) {}

  /** The parsers asked for a program's lines, in order (empty when none handles it). */
  parsersFor(program: string): readonly ProgramParser[] {
    const cached = this.byProgram.get(program);
    if (cached !== undefined) return cached;
    const chain = this.first.filter((p) => p.handles(program));
    const builtin = this.parsers.find((p) => p.handles(program));
    if (builtin) chain.push(builtin);
    // Program names come from log lines: bound the cache.
    if (this.byProgram.size >= MAX_CACHED_PROGRAMS) this.byProgram.clear();
    this.byProgram.set(program, chain);
    return chain;
  }

  /** The parser named for a program's lines that none recognises: the last one asked. */
  parserFor(program: string): ProgramParser | null {
    const chain = this.parsersFor(program);
    return chain[chain.length - 1] ?? null;
  }

  parse(frame: Frame): ParseResult {
    const chain = this.parsersFor(frame.program);
    for (let i = 0; i < chain.length - 1; i++) {
      const parser = chain[i]!;
      const event = parser.parse(frame);
      if (event !== null) return { parser, event };
    }
    const last = chain[chain.length - 1];
    if (last === undefined) return { parser: null, event: null };
    return { parser: last, event: last.parse(frame) };
  }
}

const MAX_CACHED_PROGRAMS = 4096;
