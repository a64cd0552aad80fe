import { Command, Option } from 'commander';
import type { MessageRecord } from '../core/model.js';
import type { Store } from '../store/index.js';
import { toContract } from '../trace/contract.js';
import { type Interpretation, interpretQuery, QUERY_KINDS, type QueryKind } from '../trace/query.js';
import { renderMessage, safe } from '../trace/render-text.js';
import {
  dbUrl,
  EXIT,
  positiveInt,
  setExitCode,
  styleFor,
  timeOption,
  UserError,
  withStore,
} from './common.js';

interface TraceCliOptions {
  db?: string;
  since?: number;
  from?: number;
  to?: number;
  by?: QueryKind;
  limit: number;
  json?: boolean;
  lines: boolean;
}

export function traceCommand(): Command {
  return new Command('trace')
    .description(
      'show what happened to a message: by message-id, address, queue id, client IP or subject words',
    )
    .argument(
      '<query>',
      "a message-id ('<id@host>' or without brackets), an address, a queue id, an IP, or subject words",
    )
    .option(
      '--db <url>',
      'database: a SQLite file path or postgres://… (default: $MAILTRACE_DB or ./data/mailtrace.db)',
    )
    .option(
      '--since <when>',
      'only messages seen since then: a duration back from now (2d, 12h) or an ISO time',
      timeOption,
    )
    .option('--from <when>', 'start of the time window (ISO time or duration back from now)', timeOption)
    .option('--to <when>', 'end of the time window (ISO time or duration back from now)', timeOption)
    .addOption(
      new Option('--by <kind>', 'how to read the query instead of guessing').choices(QUERY_KINDS as string[]),
    )
    .option('--limit <n>', 'most messages shown, newest first', positiveInt, 50)
    .option('--json', 'print the stable JSON document (docs/json-contract.md)')
    .option('--no-lines', 'hide the raw log lines under each timeline event')
    .action(async (query: string, options: TraceCliOptions) => {
      setExitCode(await runTrace(query, options));
    });
}

async function runTrace(query: string, options: TraceCliOptions): Promise<number> {
  if (!query.trim())
    throw new UserError(
      'the query is empty: give a message-id, an address, a queue id, an IP or words of a subject',
      EXIT.usage,
    );
  const from = options.since ?? options.from;
  const readings: Interpretation[] = options.by
    ? [{ kind: options.by, value: query.trim() }]
    : interpretQuery(query);
  return withStore(dbUrl(options.db), async (store) => {
    const { messages, reading, more } = await firstAnswer(store, readings, from, options);
    if (options.json) {
      process.stdout.write(
        `${JSON.stringify({ query, searchedAs: reading.kind, truncated: more, messages: messages.map((m) => toContract(m)) }, null, 2)}\n`,
      );
    } else if (messages.length === 0) {
      process.stderr.write(
        `No message found for ${reading.kind} "${safe(reading.value)}"${from !== undefined ? ` since ${new Date(from).toISOString()}` : ''}. Try a wider time window, check the spelling, or search by another field (--by).\n`,
      );
    } else {
      const style = styleFor();
      process.stdout.write(
        `${style.dim(`Searching ${reading.kind} "${safe(reading.value)}": ${more ? `the ${messages.length} newest messages (more match: narrow the time window or raise --limit)` : `${messages.length} message${messages.length === 1 ? '' : 's'}`}`)}\n\n`,
      );
      process.stdout.write(
        `${messages.map((m) => renderMessage(m, style, { lines: options.lines })).join('\n\n')}\n`,
      );
    }
    return messages.length ? EXIT.ok : EXIT.notFound;
  });
}

async function firstAnswer(
  store: Store,
  readings: Interpretation[],
  from: number | undefined,
  options: TraceCliOptions,
): Promise<{ messages: MessageRecord[]; reading: Interpretation; more: boolean }> {
  for (const reading of readings) {
    const messages = await store.trace({
      by: reading.kind,
      value: reading.value,
      ...(from !== undefined ? { from } : {}),
      ...(options.to !== undefined ? { to: options.to } : {}),
      // One more than shown, to tell the user there is more.
      limit: options.limit + 1,
    });
    if (messages.length)
      return { messages: messages.slice(0, options.limit), reading, more: messages.length > options.limit };
  }
  return { messages: [], reading: readings[0]!, more: false };
}
