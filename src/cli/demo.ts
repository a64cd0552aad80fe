import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { generate } from '../generator/index.js';
import { importFiles } from '../pipeline/import.js';
import { dbUrl, EXIT, positiveInt, setExitCode, styleFor, withStore } from './common.js';

interface DemoOptions {
  db?: string;
  messages: number;
  days: number;
  dir: string;
}

export function demoCommand(): Command {
  return new Command('demo')
    .description('generate sample logs of a small university site, import them, and show what to try')
    .option('--db <url>', 'database (default: $MAILTRACE_DB or ./data/mailtrace.db)')
    .option('--messages <n>', 'number of sample messages', positiveInt, 2000)
    .option('--days <n>', 'days the sample spans, ending now', positiveInt, 2)
    .option('--dir <folder>', 'where the sample logs are written', './data/sample-logs')
    .action(async (options: DemoOptions) => {
      setExitCode(await runDemo(options));
    });
}

async function runDemo(options: DemoOptions): Promise<number> {
  const style = styleFor();
  const end = new Date(Math.floor(Date.now() / 60_000) * 60_000);
  process.stdout.write(
    `Generating ${options.messages} sample messages over ${options.days} days in ${options.dir} …\n`,
  );
  const generated = await generate({
    messages: options.messages,
    days: options.days,
    seed: 1,
    end,
    outDir: options.dir,
  });
  const url = dbUrl(options.db);
  process.stdout.write(`Importing ${generated.lines.toLocaleString('en-US')} lines into ${url} …\n`);
  const summary = await withStore(url, async (store) => {
    const result = await importFiles({
      files: generated.files,
      store,
      settings: { format: 'auto', encoding: 'auto' },
    });
    const counts = await store.counts();
    return { result, counts };
  });
  const examples = await pickExamples(generated.groundTruth);
  const rate = Math.round((summary.result.lines * 1000) / Math.max(summary.result.elapsedMs, 1));
  process.stdout.write(
    [
      '',
      style.bold('mailtrace demo is ready'),
      `  ${summary.counts.messages.toLocaleString('en-US')} messages, ${summary.counts.deliveries.toLocaleString('en-US')} deliveries from ${summary.result.lines.toLocaleString('en-US')} log lines (${rate.toLocaleString('en-US')} lines/s)`,
      '',
      'Try:',
      ...examples.map(
        (e) => `  npx mailtrace trace${options.db ? ` --db ${options.db}` : ''} '${e.query}'    # ${e.why}`,
      ),
      `  npx mailtrace export${options.db ? ` --db ${options.db}` : ''} --format csv --from 1d | head`,
      '',
    ].join('\n'),
  );
  return EXIT.ok;
}

interface GroundTruthLine {
  kind: string;
  messageId: string | null;
  sender: string;
  recipients: { recipient: string; status: string }[];
}

/** A few sample queries with different outcomes, taken from the generator's ground truth. */
async function pickExamples(groundTruthPath: string): Promise<{ query: string; why: string }[]> {
  const text = await readFile(groundTruthPath, 'utf8');
  const wanted = new Map<string, { query: string; why: string }>();
  for (const line of text.split('\n')) {
    if (!line) continue;
    const truth = JSON.parse(line) as GroundTruthLine;
    for (const r of truth.recipients) {
      if (wanted.has(r.status)) continue;
      const query = truth.messageId ? `<${truth.messageId}>` : r.recipient;
      wanted.set(r.status, {
        query,
        why: `a message ${r.status === 'rejected' ? 'refused at SMTP' : r.status}`,
      });
    }
  }
  const first = text.split('\n', 1)[0];
  if (first) {
    const truth = JSON.parse(first) as GroundTruthLine;
    if (truth.sender)
      wanted.set('address', { query: truth.sender, why: 'everything this address sent or received' });
  }
  return ['delivered', 'bounced', 'deferred', 'rejected', 'quarantined', 'address']
    .map((k) => wanted.get(k))
    .filter((x): x is { query: string; why: string } => x !== undefined);
}

export const DEMO_DIR = join('data', 'sample-logs');
