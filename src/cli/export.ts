import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { Command, Option } from 'commander';
import { toContract } from '../trace/contract.js';
import { CSV_COLUMNS, csvRows } from '../trace/csv.js';
import { dbUrl, EXIT, setExitCode, timeOption, withStore } from './common.js';

interface ExportCliOptions {
  db?: string;
  from?: number;
  to?: number;
  format: 'jsonl' | 'csv';
  out?: string;
  events: boolean;
}

export function exportCommand(): Command {
  return new Command('export')
    .description('write every message and refused attempt of a time window, in time order (streamed)')
    .option(
      '--db <url>',
      'database: a SQLite file path or postgres://… (default: $MAILTRACE_DB or ./data/mailtrace.db)',
    )
    .option('--from <when>', 'start of the window (ISO time or duration back from now)', timeOption)
    .option('--to <when>', 'end of the window (ISO time or duration back from now)', timeOption)
    .addOption(
      new Option('--format <format>', 'jsonl: one trace document per line; csv: one row per recipient')
        .choices(['jsonl', 'csv'])
        .default('jsonl'),
    )
    .option('--out <file>', 'write to this file instead of standard output')
    .option('--no-events', 'jsonl: leave out the raw log lines')
    .action(async (options: ExportCliOptions) => {
      setExitCode(await runExport(options));
    });
}

async function runExport(options: ExportCliOptions): Promise<number> {
  const out: Writable = options.out ? createWriteStream(options.out) : process.stdout;
  await withStore(dbUrl(options.db), async (store) => {
    const range = {
      ...(options.from !== undefined ? { from: options.from } : {}),
      ...(options.to !== undefined ? { to: options.to } : {}),
    };
    if (options.format === 'csv') await write(out, `${CSV_COLUMNS.join(',')}\n`);
    for await (const message of store.exportMessages(range)) {
      const text =
        options.format === 'csv'
          ? csvRows(message)
          : `${JSON.stringify(toContract(message, { events: options.events }))}\n`;
      await write(out, text);
    }
  });
  if (options.out)
    await new Promise<void>((resolve, reject) =>
      out.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
  return EXIT.ok;
}

/** Writes and waits for the stream to drain, so that memory stays bounded on large exports. */
function write(out: Writable, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (out.write(text)) resolve();
    else {
      out.once('drain', resolve);
      out.once('error', reject);
    }
  });
}
