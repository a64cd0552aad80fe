import cliProgress from 'cli-progress';
import { Command } from 'commander';
import { type ImportSummary, importFiles } from '../pipeline/import.js';
import {
  DEFAULT_RETENTION_DAYS,
  dbUrl,
  EXIT,
  positiveInt,
  retentionCutoff,
  setExitCode,
  styleFor,
  withStore,
} from './common.js';
import { addReadOptions, type ReadCliOptions, readRegistry, readSettings } from './read-options.js';

interface ImportCliOptions extends ReadCliOptions {
  db?: string;
  retention: number;
  json?: boolean;
  progress: boolean;
}

export function importCommand(): Command {
  const command = new Command('import')
    .description('read log files (plain or gzip, in any order), correlate their lines and store the messages')
    .argument('<files...>', 'log files: mail.log, mail.log.1, mail.log.2.gz, a Dovecot or clamd log file...')
    .option(
      '--db <url>',
      'database: a SQLite file path or postgres://… (default: $MAILTRACE_DB or ./data/mailtrace.db)',
    );
  return addReadOptions(command)
    .option(
      '--retention <days>',
      'days of mail kept; older messages are purged before importing (0 keeps all)',
      positiveInt,
      DEFAULT_RETENTION_DAYS,
    )
    .option('--json', 'print the summary as JSON')
    .option('--no-progress', 'no progress bar even on a terminal')
    .action(async (files: string[], options: ImportCliOptions) => {
      setExitCode(await runImport(files, options));
    });
}

async function runImport(files: string[], options: ImportCliOptions): Promise<number> {
  // Declared parsers are checked before the database is touched: a wrong file is wrong usage.
  const registry = readRegistry(options);
  return withStore(dbUrl(options.db), async (store) => {
    const cutoff = retentionCutoff(options.retention);
    const purged = cutoff === null ? null : await store.purge(cutoff);
    const before = await store.counts();
    const bar = options.progress && process.stderr.isTTY && !options.json ? newBar() : null;
    const settings = readSettings(options);
    let summary: ImportSummary;
    try {
      bar?.start(1, 0, { lines: 0 });
      summary = await importFiles({
        files,
        store,
        settings,
        registry,
        onProgress: (p) => {
          bar?.setTotal(Math.max(p.bytesTotal, 1));
          bar?.update(Math.min(p.bytesDone, p.bytesTotal), { lines: p.lines.toLocaleString('en-US') });
        },
      });
    } finally {
      bar?.stop();
    }
    const after = await store.counts();
    await store.recordImport({
      startedAt: Date.now() - summary.elapsedMs,
      finishedAt: Date.now(),
      files: summary.files.map((f) => f.path),
      stats: summary.counts,
      unknownShapes: summary.unknownShapes,
    });
    const totals = {
      messages: after.messages - before.messages,
      deliveries: after.deliveries - before.deliveries,
      purgedMessages: purged?.messages ?? 0,
      olderThanRetention: cutoff !== null && summary.firstLineAt !== null && summary.firstLineAt < cutoff,
    };
    if (options.json) process.stdout.write(`${JSON.stringify(summaryJson(summary, totals), null, 2)}\n`);
    else process.stdout.write(renderSummary(summary, totals, options.retention));
    return summary.files.some((f) => f.problem) ? EXIT.partialImport : EXIT.ok;
  });
}

function newBar(): cliProgress.SingleBar {
  return new cliProgress.SingleBar(
    {
      format: 'importing [{bar}] {percentage}% | {lines} lines | {duration_formatted}',
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
}

interface Totals {
  messages: number;
  deliveries: number;
  purgedMessages: number;
  olderThanRetention: boolean;
}

function linesPerSecond(summary: ImportSummary): number {
  return summary.elapsedMs > 0 ? Math.round((summary.lines * 1000) / summary.elapsedMs) : summary.lines;
}

function summaryJson(summary: ImportSummary, totals: Totals) {
  return {
    files: summary.files,
    lines: summary.lines,
    parsed: summary.parsed,
    unknown: summary.unknown,
    invalid: summary.invalid,
    programs: summary.counts,
    unknownShapes: summary.unknownShapes,
    newMessages: totals.messages,
    newDeliveries: totals.deliveries,
    pieces: summary.pieces,
    purgedMessages: totals.purgedMessages,
    olderThanRetention: totals.olderThanRetention,
    firstLineAt: summary.firstLineAt === null ? null : new Date(summary.firstLineAt).toISOString(),
    lastLineAt: summary.lastLineAt === null ? null : new Date(summary.lastLineAt).toISOString(),
    elapsedMs: summary.elapsedMs,
    linesPerSecond: linesPerSecond(summary),
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}

function renderSummary(summary: ImportSummary, totals: Totals, retentionDays: number): string {
  const style = styleFor();
  const n = (x: number) => x.toLocaleString('en-US');
  const out: string[] = [];
  for (const f of summary.files) {
    if (f.problem)
      out.push(
        style.status(
          'bounced',
          `warning: ${f.path}: ${f.problem}${f.lines ? ` (kept the ${n(f.lines)} lines read before)` : ''}`,
        ),
      );
  }
  out.push(style.bold('Import finished'));
  out.push(`  files          ${summary.files.length}`);
  out.push(`  lines read     ${n(summary.lines)}`);
  out.push(`  parsed         ${n(summary.parsed)}`);
  out.push(
    `  not recognised ${n(summary.unknown)}${summary.invalid ? `, unreadable header ${n(summary.invalid)}` : ''} (kept in the database)`,
  );
  out.push(`  messages       ${n(totals.messages)} new (${n(summary.pieces)} pieces correlated)`);
  out.push(`  deliveries     ${n(totals.deliveries)} new`);
  out.push(
    `  elapsed        ${(summary.elapsedMs / 1000).toFixed(1)} s, ${n(linesPerSecond(summary))} lines/s`,
  );
  if (totals.purgedMessages)
    out.push(`  purged         ${n(totals.purgedMessages)} messages older than ${retentionDays} days`);
  if (summary.counts.length) {
    out.push('');
    out.push(style.bold('  Per host and program          seen     parsed    unknown'));
    for (const c of summary.counts.slice(0, 40)) {
      const name = `${c.host} ${c.program}`.slice(0, 28).padEnd(28);
      out.push(
        `  ${name} ${n(c.seen).padStart(8)} ${n(c.parsed).padStart(10)} ${n(c.unknown + c.invalid).padStart(10)}`,
      );
    }
    if (summary.counts.length > 40) out.push(`  … and ${summary.counts.length - 40} more`);
  }
  if (totals.olderThanRetention) {
    out.push('');
    out.push(
      `note: some lines are older than the ${retentionDays}-day retention; they are kept until the next purge (mailtrace purge, or the next import). Use --retention 0 to keep everything.`,
    );
  }
  return `${out.join('\n')}\n`;
}
