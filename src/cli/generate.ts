import { Command, Option } from 'commander';
import { generate } from '../generator/index.js';
import { EXIT, positiveInt, setExitCode, UserError } from './common.js';

interface GenerateCliOptions {
  messages: number;
  days: number;
  seed: number;
  end?: string;
  out: string;
  site: 'postfix' | 'qmail';
}

export function generateCommand(): Command {
  return new Command('generate')
    .description(
      'write realistic multi-host sample logs (Postfix, amavis, spamd, clamd, Dovecot) and their ground truth',
    )
    .requiredOption('--out <dir>', 'folder for the logs (one folder per host) and ground-truth.jsonl')
    .option('--messages <n>', 'number of messages', positiveInt, 1000)
    .option('--days <n>', 'days the logs span', positiveInt, 1)
    .option('--seed <n>', 'random seed: the same options give the same files', positiveInt, 1)
    .option('--end <iso>', 'time of the last line (default: now, rounded down to the minute)')
    .addOption(
      new Option(
        '--site <kind>',
        'postfix (mx1, mbox1, smtp1) or qmail (mx2 with qmail-scanner, Mailman, mbox1)',
      )
        .choices(['postfix', 'qmail'])
        .default('postfix'),
    )
    .action(async (options: GenerateCliOptions) => {
      const end = options.end ? new Date(options.end) : new Date(Math.floor(Date.now() / 60_000) * 60_000);
      if (Number.isNaN(end.getTime())) throw new UserError(`--end: not a time: ${options.end}`, EXIT.usage);
      if (options.days < 1) throw new UserError('--days must be at least 1', EXIT.usage);
      const summary = await generate({
        messages: options.messages,
        days: options.days,
        seed: options.seed,
        end,
        outDir: options.out,
        site: options.site,
      });
      process.stdout.write(
        `wrote ${summary.lines.toLocaleString('en-US')} lines for ${summary.messages.toLocaleString('en-US')} messages:\n${summary.files.map((f) => `  ${f}`).join('\n')}\nground truth: ${summary.groundTruth}\n`,
      );
      setExitCode(EXIT.ok);
    });
}
