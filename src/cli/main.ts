import { Command, CommanderError } from 'commander';
import { EXIT, takeExitCode, UserError } from './common.js';
import { coverageCommand } from './coverage.js';
import { demoCommand } from './demo.js';
import { exportCommand } from './export.js';
import { generateCommand } from './generate.js';
import { importCommand } from './import.js';
import { purgeCommand } from './purge.js';
import { traceCommand } from './trace.js';

const EPILOG = `
The database is --db PATH (SQLite) or --db postgres://user@host/db, or $MAILTRACE_DB; default ./data/mailtrace.db.

Exit codes: 0 success; 1 failure; 2 wrong usage; 3 import or coverage finished but some files could not be read whole;
4 trace found nothing.`;

export function buildProgram(): Command {
  const program = new Command('mailtrace')
    .description(
      'What happened to this e-mail? Import mail-server logs, correlate them into messages and deliveries, trace them.',
    )
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', EPILOG)
    .exitOverride();
  for (const command of [
    importCommand(),
    coverageCommand(),
    traceCommand(),
    exportCommand(),
    generateCommand(),
    purgeCommand(),
    demoCommand(),
  ]) {
    program.addCommand(command.exitOverride().showHelpAfterError('(run with --help for usage)'));
  }
  return program;
}

/** Runs the CLI and returns the exit code (bin/mailtrace.js sets it on the process). */
export async function run(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return takeExitCode();
  } catch (error) {
    if (error instanceof CommanderError) {
      if (
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version' ||
        error.code === 'commander.help'
      )
        return EXIT.ok;
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof UserError) {
      process.stderr.write(`mailtrace: ${error.message}\n`);
      return error.exitCode;
    }
    process.stderr.write(
      `mailtrace: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return EXIT.failure;
  }
}
