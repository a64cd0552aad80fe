/**
 * The options of the commands that read log files (`import`, `coverage`): how lines are framed, and
 * which parsers read them (`--parsers FILE`, docs/declared-parsers.md).
 */
import { type Command, Option } from 'commander';
import { LOG_FORMATS, type LogFormat } from '../framing/types.js';
import { DeclaredParsersError, loadDeclaredParsers } from '../parsers/declared/index.js';
import { ParserRegistry } from '../parsers/registry.js';
import type { ImportSettings } from '../pipeline/import.js';
import { EXIT, UserError } from './common.js';

export interface ReadCliOptions {
  host?: string;
  program?: string;
  format: LogFormat;
  encoding: string;
  tz?: string;
  parsers?: string;
}

export function addReadOptions(command: Command): Command {
  return command
    .option('--host <name>', 'host name for lines that carry none (multilog, Dovecot/clamd log files)')
    .option('--program <name>', 'program name for lines that carry none (multilog)')
    .addOption(
      new Option('--format <format>', 'line header format').choices(LOG_FORMATS as string[]).default('auto'),
    )
    .option(
      '--encoding <label>',
      "'auto' (UTF-8, else Windows-1252, per line) or an encoding such as latin1",
      'auto',
    )
    .option('--tz <zone>', 'IANA time zone of timestamps without an offset (default: this machine’s)')
    .option(
      '--parsers <file>',
      'YAML file of declared parsers, asked before the built-in ones (docs/declared-parsers.md)',
    );
}

export function readSettings(options: ReadCliOptions): ImportSettings {
  return {
    format: options.format,
    encoding: options.encoding,
    ...(options.host ? { host: options.host.toLowerCase() } : {}),
    ...(options.program ? { program: options.program } : {}),
    ...(options.tz ? { timeZone: options.tz } : {}),
  };
}

/**
 * The parser registry, with the declared parsers of `--parsers` first. A file with problems is wrong
 * usage (exit 2), and every problem is listed.
 */
export function readRegistry(options: ReadCliOptions): ParserRegistry {
  if (!options.parsers) return new ParserRegistry();
  try {
    return new ParserRegistry(undefined, loadDeclaredParsers(options.parsers));
  } catch (error) {
    if (!(error instanceof DeclaredParsersError)) throw error;
    const n = error.problems.length;
    throw new UserError(
      `${options.parsers}: ${n} problem${n === 1 ? '' : 's'} in the declared parsers:\n  ${error.message.split('\n').join('\n  ')}`,
      EXIT.usage,
    );
  }
}
