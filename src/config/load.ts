/**
 * Reading `mailtrace.yaml`: YAML with positions, validated by the zod schema, every problem reported
 * at once with its file, line, column and key path:
 *
 *   mailtrace.yaml:12:5: sources[2].hostKey: required for ssh sources: pin the server key (...)
 */
import { access, constants, readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { z } from 'zod';
import { configSchema, KNOWN_KEYS, type MailtraceConfig } from './schema.js';

export interface ConfigProblem {
  file: string;
  /** 1-based; 0 when the problem is not at a place in the file (unreadable file). */
  line: number;
  column: number;
  /** Key path, e.g. `sources[2].hostKey` (empty for the whole file). */
  path: string;
  message: string;
}

/** A configuration that cannot be used; `message` lists every problem, one per line. */
export class ConfigError extends Error {
  constructor(readonly problems: ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
  }
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.column}` : p.file;
  return p.path ? `${where}: ${p.path}: ${p.message}` : `${where}: ${p.message}`;
}

export const CONFIG_ENV = 'MAILTRACE_CONFIG';
export const DEFAULT_CONFIG_NAME = 'mailtrace.yaml';

export interface ConfigPathChoice {
  path: string;
  /** `flag`: --config; `env`: $MAILTRACE_CONFIG; `default`: ./mailtrace.yaml, which exists. */
  from: 'flag' | 'env' | 'default';
}

/**
 * Which configuration file to read: `--config` first, then `$MAILTRACE_CONFIG`, then
 * `./mailtrace.yaml` if it exists; null when there is none.
 */
export async function resolveConfigPath(
  opts: { flag?: string | undefined; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<ConfigPathChoice | null> {
  const cwd = opts.cwd ?? process.cwd();
  if (opts.flag) return { path: resolve(cwd, opts.flag), from: 'flag' };
  const fromEnv = (opts.env ?? process.env)[CONFIG_ENV];
  if (fromEnv) return { path: resolve(cwd, fromEnv), from: 'env' };
  const fallback = resolve(cwd, DEFAULT_CONFIG_NAME);
  try {
    await access(fallback, constants.R_OK);
    return { path: fallback, from: 'default' };
  } catch {
    return null;
  }
}

export interface LoadOptions {
  /** Check that the key and certificate files named exist and are readable (default true). */
  checkFiles?: boolean;
}

/** Reads and validates a configuration file; throws `ConfigError` listing every problem. */
export async function loadConfig(path: string, opts: LoadOptions = {}): Promise<MailtraceConfig> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(error);
    throw new ConfigError([
      { file: path, line: 0, column: 0, path: '', message: `cannot read the configuration: ${why}` },
    ]);
  }
  const parsed = parseConfigText(text, file, path);
  if (opts.checkFiles !== false) await checkFiles(parsed, path);
  return parsed.config;
}

/** Validates configuration text (no file checks). `shownAs` names the file in problems. */
export function parseConfig(text: string, file: string, shownAs = file): MailtraceConfig {
  return parseConfigText(text, resolve(file), shownAs).config;
}

interface Parsed {
  config: MailtraceConfig;
  locate: (path: (string | number)[]) => { line: number; column: number };
}

function parseConfigText(text: string, file: string, shownAs: string): Parsed {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return {
          file: shownAs,
          line: pos.line,
          column: pos.col,
          path: '',
          message: `YAML: ${e.message.split('\n')[0]}`,
        };
      }),
    );
  }
  const locate = (path: (string | number)[]): { line: number; column: number } => {
    const offset = offsetOf(doc.contents as Node | null, path);
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  const raw: unknown = doc.toJS() ?? {};
  const problems: ConfigProblem[] = [];
  const add = (path: (string | number)[], message: string): void => {
    const key = formatPath(path);
    if (problems.some((p) => p.path === key && p.message === message)) return;
    problems.push({ file: shownAs, ...locate(path), path: key, message });
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    add([], 'must be a mapping of keys (database, retentionDays, sources)');
    throw new ConfigError(problems);
  }
  const result = configSchema(dirname(file)).safeParse(raw);
  if (!result.success) for (const issue of result.error.issues) describeIssue(issue, raw, add);
  crossChecks(raw, add);
  if (problems.length > 0 || !result.success) {
    problems.sort(
      (a, b) => a.line - b.line || a.column - b.column || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0),
    );
    throw new ConfigError(problems);
  }
  return { config: { file, ...result.data } as MailtraceConfig, locate };
}

type Add = (path: (string | number)[], message: string) => void;

function describeIssue(issue: z.core.$ZodIssue, raw: object, add: Add): void {
  const path = issue.path as (string | number)[];
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeys(path, raw);
    for (const key of issue.keys) {
      add([...path, key], known ? `unknown key (known here: ${known.join(', ')})` : 'unknown key');
    }
    return;
  }
  if (issue.code === 'invalid_union' && 'discriminator' in issue && issue.discriminator === 'type') {
    // zod puts the discriminator in the path already.
    add(path, issue.message);
    return;
  }
  if (issue.code === 'invalid_type' && issue.message.startsWith('Invalid input')) {
    add(path, issue.input === undefined ? 'required' : `must be a ${issue.expected}`);
    return;
  }
  add(path, issue.message);
}

/** The keys allowed in the mapping at `path`, from the source's type when it is a source. */
function knownKeys(path: (string | number)[], raw: object): readonly string[] | null {
  if (path.length === 0) return KNOWN_KEYS.top;
  if (path.length === 2 && path[0] === 'sources') {
    const type = (valueAt(raw, path) as { type?: unknown } | undefined)?.type;
    if (type === 'file' || type === 'ssh' || type === 'syslog')
      return [...KNOWN_KEYS.common, ...KNOWN_KEYS[type]];
    return null;
  }
  if (path.length === 3 && path[2] === 'tls') return KNOWN_KEYS.tls;
  return null;
}

/** Checks across keys, on the raw document: unique source names; `tls` exactly with protocol tls. */
function crossChecks(raw: object, add: Add): void {
  const sources = (raw as { sources?: unknown }).sources;
  if (!Array.isArray(sources)) return;
  const seen = new Map<string, number>();
  sources.forEach((source: unknown, i) => {
    if (typeof source !== 'object' || source === null) return;
    const s = source as Record<string, unknown>;
    if (typeof s.name === 'string') {
      const first = seen.get(s.name);
      if (first === undefined) seen.set(s.name, i);
      else add(['sources', i, 'name'], `duplicate name (already used by sources[${first}])`);
    }
    if (s.type === 'syslog') {
      if (s.protocol === 'tls' && s.tls === undefined) {
        add(['sources', i, 'tls'], 'required for protocol tls: { cert: PATH, key: PATH }');
      } else if (s.protocol !== 'tls' && s.tls !== undefined) {
        add(['sources', i, 'tls'], 'only for protocol tls');
      }
    }
  });
}

/** Key files must be readable now rather than at the first connection. */
async function checkFiles(parsed: Parsed, shownAs: string): Promise<void> {
  const problems: ConfigProblem[] = [];
  const check = async (path: (string | number)[], file: string, what: string): Promise<void> => {
    try {
      await access(file, constants.R_OK);
    } catch (error) {
      const code = (error as { code?: string }).code;
      const why =
        code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(error);
      problems.push({
        file: shownAs,
        ...parsed.locate(path),
        path: formatPath(path),
        message: `${what} ${file}: ${why}`,
      });
    }
  };
  for (const [i, source] of parsed.config.sources.entries()) {
    if (source.type === 'ssh') await check(['sources', i, 'privateKey'], source.privateKey, 'cannot read');
    if (source.type === 'syslog' && source.tls) {
      await check(['sources', i, 'tls', 'cert'], source.tls.cert, 'cannot read');
      await check(['sources', i, 'tls', 'key'], source.tls.key, 'cannot read');
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
}

/** `sources[2].hostKey` */
export function formatPath(path: readonly (string | number | symbol)[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

function valueAt(raw: unknown, path: (string | number)[]): unknown {
  let v: unknown = raw;
  for (const part of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string | number, unknown>)[part];
  }
  return v;
}

/**
 * Where `path` is in the document: the key of the deepest existing entry (the key itself when it
 * exists, else the mapping that lacks it).
 */
function offsetOf(root: Node | null, path: (string | number)[]): number {
  let node: unknown = root;
  let offset = (root as { range?: [number, number, number] } | null)?.range?.[0] ?? 0;
  for (const part of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === part);
      if (!pair) return offset;
      const key = pair.key as { range?: [number, number, number] };
      offset = key.range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof part === 'number') {
      const item = node.items[part] as { range?: [number, number, number] } | undefined;
      if (!item) return offset;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else return offset;
  }
  return offset;
}
