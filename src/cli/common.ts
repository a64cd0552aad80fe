import { InvalidArgumentError } from 'commander';
import { openStore, type Store } from '../store/index.js';
import { parseTimeArg } from '../trace/query.js';
import { ANSI, PLAIN, type Style } from '../trace/render-text.js';

/** Exit codes, documented in `mailtrace --help` and the README. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  /** import: finished, but some files could not be read whole. */
  partialImport: 3,
  /** trace: nothing matched. */
  notFound: 4,
} as const;

export const DEFAULT_DB = './data/mailtrace.db';
export const DEFAULT_RETENTION_DAYS = 15;

export function dbUrl(option: string | undefined): string {
  return option || process.env.MAILTRACE_DB || DEFAULT_DB;
}

export async function withStore<T>(url: string, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(url);
  try {
    await store.migrate();
    return await fn(store);
  } finally {
    await store.close();
  }
}

export function useColour(stream: NodeJS.WriteStream = process.stdout): boolean {
  return Boolean(stream.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
}

export function styleFor(stream: NodeJS.WriteStream = process.stdout): Style {
  return useColour(stream) ? ANSI : PLAIN;
}

export function timeOption(value: string): number {
  const t = parseTimeArg(value);
  if (t === null)
    throw new InvalidArgumentError(
      'expected an ISO-8601 time (2026-11-28T10:00) or a duration back from now (2d, 12h, 30m)',
    );
  return t;
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number ≥ 0');
  return n;
}

export function retentionCutoff(days: number, now = Date.now()): number | null {
  return days > 0 ? now - days * 86_400_000 : null;
}

/** An error meant for the user: printed without a stack trace. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
  ) {
    super(message);
  }
}

let exitCode: number = EXIT.ok;

/** Commands report their outcome here; `run` returns it as the process exit code. */
export function setExitCode(code: number): void {
  exitCode = code;
}

export function takeExitCode(): number {
  const code = exitCode;
  exitCode = EXIT.ok;
  return code;
}
