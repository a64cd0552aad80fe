import { Command } from 'commander';
import {
  DEFAULT_RETENTION_DAYS,
  dbUrl,
  EXIT,
  positiveInt,
  retentionCutoff,
  setExitCode,
  withStore,
} from './common.js';

export function purgeCommand(): Command {
  return new Command('purge')
    .description('delete messages and lines older than the retention window')
    .option(
      '--db <url>',
      'database: a SQLite file path or postgres://… (default: $MAILTRACE_DB or ./data/mailtrace.db)',
    )
    .option(
      '--retention <days>',
      'days of mail to keep (0 keeps everything)',
      positiveInt,
      DEFAULT_RETENTION_DAYS,
    )
    .action(async (options: { db?: string; retention: number }) => {
      const cutoff = retentionCutoff(options.retention);
      if (cutoff === null) {
        process.stdout.write('retention is 0: nothing is purged\n');
        setExitCode(EXIT.ok);
        return;
      }
      const result = await withStore(dbUrl(options.db), (store) => store.purge(cutoff));
      process.stdout.write(
        `purged everything last seen before ${new Date(cutoff).toISOString()}: ${JSON.stringify(result)}\n`,
      );
      setExitCode(EXIT.ok);
    });
}
