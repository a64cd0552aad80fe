import { existsSync } from 'node:fs';
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
  regenerate?: boolean;
}

export function demoCommand(): Command {
  return new Command('demo')
    .description('generate sample logs of a small university site, import them, and show what to try')
    .option('--db <url>', 'database (default: $MAILTRACE_DB or ./data/mailtrace.db)')
    .option('--messages <n>', 'number of sample messages', positiveInt, 2000)
    .option('--days <n>', 'days the sample spans, ending now', positiveInt, 2)
    .option('--dir <folder>', 'where the sample logs are written', './data/sample-logs')
    .option('--regenerate', 'write and import a new sample even when one is already imported')
    .action(async (options: DemoOptions) => {
      setExitCode(await runDemo(options));
    });
}

async function runDemo(options: DemoOptions): Promise<number> {
  const style = styleFor();
  const url = dbUrl(options.db);
  const groundTruth = join(options.dir, 'ground-truth.jsonl');
  const report =
    !options.regenerate && (await sampleAlreadyImported(url, groundTruth))
      ? `  the sample in ${options.dir} is already imported (--regenerate makes a new one)`
      : await generateAndImport(options, url);
  const counts = await withStore(url, (store) => store.counts());
  const db = options.db ? ` --db ${options.db}` : '';
  const examples = await pickExamples(groundTruth);
  process.stdout.write(
    [
      '',
      style.bold('mailtrace demo is ready'),
      `  ${counts.messages.toLocaleString('en-US')} messages and ${counts.deliveries.toLocaleString('en-US')} deliveries in ${url}`,
      report,
      '',
      'Try:',
      ...examples.map((e) => `  npx mailtrace trace${db} '${e.query}'    # ${e.why}`),
      `  npx mailtrace export${db} --format csv --from 1d | head`,
      '',
    ].join('\n'),
  );
  return EXIT.ok;
}

async function generateAndImport(options: DemoOptions, url: string): Promise<string> {
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
  process.stdout.write(`Importing ${generated.lines.toLocaleString('en-US')} lines into ${url} …\n`);
  const result = await withStore(url, (store) =>
    importFiles({ files: generated.files, store, settings: { format: 'auto', encoding: 'auto' } }),
  );
  const rate = Math.round((result.lines * 1000) / Math.max(result.elapsedMs, 1));
  return `  imported ${result.lines.toLocaleString('en-US')} log lines in ${(result.elapsedMs / 1000).toFixed(1)} s (${rate.toLocaleString('en-US')} lines/s)`;
}

interface GroundTruthLine {
  kind: string;
  messageId: string | null;
  sender: string;
  recipients: { recipient: string; status: string }[];
}

/** Whether the first message of an existing sample is already in the database. */
async function sampleAlreadyImported(url: string, groundTruth: string): Promise<boolean> {
  if (!existsSync(groundTruth)) return false;
  const first = (await readFile(groundTruth, 'utf8')).split('\n', 1)[0];
  const messageId = first ? (JSON.parse(first) as GroundTruthLine).messageId : null;
  if (!messageId) return false;
  return withStore(
    url,
    async (store) => (await store.trace({ by: 'message-id', value: messageId, limit: 1 })).length > 0,
  );
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
      const why = r.status === 'rejected' ? 'a recipient refused at SMTP' : `a message ${r.status}`;
      wanted.set(r.status, { query, why });
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
