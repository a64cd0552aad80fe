/**
 * The shape of `mailtrace.yaml`, as zod schemas: every key described in docs/configuration.md,
 * defaults named here, unknown keys rejected. Checks across keys (unique names, `tls` with protocol
 * tls) are in load.ts, on the raw document, so that they are reported along with everything else. Relative paths are resolved against the configuration
 * file's directory (so the file means the same whatever the working directory).
 */
import { isAbsolute, resolve } from 'node:path';
import iconv from 'iconv-lite';
import { z } from 'zod';
import { LOG_FORMATS, type LogFormat } from '../framing/types.js';

export const DEFAULT_DATABASE = './data/mailtrace.db';
export const DEFAULT_RETENTION_DAYS = 15;
export const DEFAULT_FILE_POLL_MS = 250;
export const DEFAULT_SSH_POLL_MS = 1000;
/** Below this an SSH poll would mostly load the mail server. */
export const MIN_SSH_POLL_MS = 100;
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024;
export const DEFAULT_MAX_CONNECTIONS = 256;

export interface HostPort {
  host: string;
  port: number;
}

interface CommonSource {
  /** Unique name: positions and lines are recorded under it. */
  name: string;
  /** Host for lines whose header carries none. */
  host?: string;
  /** Program for lines whose header carries none (multilog). */
  program?: string;
  format: LogFormat;
  encoding: string;
  /** IANA zone for headers without an offset. */
  timezone?: string;
}

export interface FileSourceConfig extends CommonSource {
  type: 'file';
  /** Absolute paths or globs. */
  paths: string[];
  pollIntervalMs: number;
}

export interface SshSourceConfig extends CommonSource {
  type: 'ssh';
  address: HostPort;
  user: string;
  /** Absolute path of the private key file (on this machine). */
  privateKey: string;
  /** `SHA256:...` */
  hostKey: string;
  /** Absolute remote paths or globs. */
  paths: string[];
  /** Bytes per second, or undefined for no cap. */
  bandwidthLimit?: number;
  pollIntervalMs: number;
}

export interface SyslogSourceConfig extends CommonSource {
  type: 'syslog';
  listen: HostPort;
  protocol: 'udp' | 'tcp' | 'tls';
  /** Absolute paths of the PEM certificate and key (protocol tls). */
  tls?: { cert: string; key: string };
  framing: 'auto' | 'octet-counting' | 'newline';
  maxConnections: number;
  maxMessageBytes: number;
}

export type SourceConfig = FileSourceConfig | SshSourceConfig | SyslogSourceConfig;

export interface MailtraceConfig {
  /** Absolute path of the configuration file read. */
  file: string;
  /** SQLite path (absolute) or a `postgres://` URL. */
  database: string;
  retentionDays: number;
  sources: SourceConfig[];
}

/** The keys each mapping accepts, for "unknown key" messages. */
export const KNOWN_KEYS = {
  top: ['database', 'retentionDays', 'sources'],
  common: ['name', 'type', 'host', 'program', 'format', 'encoding', 'timezone'],
  file: ['paths', 'pollInterval'],
  ssh: ['address', 'user', 'privateKey', 'hostKey', 'paths', 'bandwidthLimit', 'pollInterval'],
  syslog: ['listen', 'protocol', 'tls', 'framing', 'maxConnections', 'maxMessageBytes'],
  tls: ['cert', 'key'],
} as const;

/** An `error` option for zod: `required` (with a hint) when absent, else `otherwise`. */
function requiredOr(hint: string, otherwise: string) {
  return (issue: { input?: unknown }): string => (issue.input === undefined ? hint : otherwise);
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const DURATION_RE = /^([0-9]{1,9})(ms|s|m|h)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `250`, `250ms`, `2s`, `1m`, `1h` → milliseconds. */
export function parseDuration(value: unknown): number | null {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : null;
  if (typeof value !== 'string') return null;
  const m = DURATION_RE.exec(value.trim());
  if (!m) return null;
  return Number(m[1]) * UNIT_MS[m[2] ?? 'ms']!;
}

function duration(min: number) {
  return z.union([z.number(), z.string()]).transform((value, ctx) => {
    const ms = parseDuration(value);
    if (ms === null) {
      ctx.addIssue({ code: 'custom', message: 'must be a duration: milliseconds, or 250ms, 2s, 1m, 1h' });
      return z.NEVER;
    }
    if (ms < min) {
      ctx.addIssue({ code: 'custom', message: `must be at least ${min} ms` });
      return z.NEVER;
    }
    return ms;
  });
}

/** `host`, `host:port`, `[v6]`, `[v6]:port`, or (listen addresses) `:port` / `port`. */
export function parseHostPort(
  value: string,
  defaultPort: number | null,
  anyHost: string | null,
): HostPort | null {
  let host: string;
  let port: string | undefined;
  const v = value.trim();
  const bracket = /^\[([0-9A-Fa-f:.]+)\](?::([0-9]+))?$/.exec(v);
  if (bracket) {
    host = bracket[1]!;
    port = bracket[2];
  } else if (/^[0-9]+$/.test(v) && anyHost !== null) {
    host = anyHost;
    port = v;
  } else {
    const m = /^([^\s:[\]]*)(?::([0-9]+))?$/.exec(v);
    if (!m) return null;
    host = m[1]!;
    port = m[2];
  }
  if (host === '') {
    if (anyHost === null) return null;
    host = anyHost;
  }
  if (port === undefined) {
    if (defaultPort === null) return null;
    return { host, port: defaultPort };
  }
  const n = Number(port);
  if (!Number.isInteger(n) || n < 0 || n > 65535) return null;
  return { host, port: n };
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function nonEmpty(what: string) {
  return z.string({ error: requiredOr(`required: ${what}`, 'must be a string') }).min(1, 'must not be empty');
}

function optionalText() {
  return z.string({ error: 'must be a string' }).min(1, 'must not be empty').optional();
}

/** Keys every source has. */
function commonShape() {
  return {
    name: z
      .string({ error: requiredOr('required: a unique name for the source', 'must be a string') })
      .regex(
        NAME_RE,
        'must be 1-64 letters, digits, dots, dashes or underscores, starting with a letter or digit',
      ),
    host: optionalText().transform((h) => h?.toLowerCase()),
    program: optionalText(),
    format: z
      .enum(LOG_FORMATS as [LogFormat, ...LogFormat[]], { error: `must be one of ${LOG_FORMATS.join(', ')}` })
      .default('auto'),
    encoding: z
      .string({ error: 'must be a string' })
      .refine((e) => e.trim().toLowerCase() === 'auto' || iconv.encodingExists(e.trim().toLowerCase()), {
        message: 'unknown encoding (auto, utf-8, latin1, iso-8859-15, windows-1252...)',
      })
      .default('auto'),
    timezone: z
      .string({ error: 'must be a string' })
      .refine(isTimeZone, { message: 'unknown time zone (an IANA name such as Europe/Madrid or UTC)' })
      .optional(),
  };
}

function paths(baseDir: string, remote: boolean) {
  const one = z.string({ error: 'must be a path' }).min(1, 'must not be empty');
  return z
    .union([one, z.array(one)], {
      error: requiredOr(
        'required: the log files to follow (paths or globs)',
        'must be a path or a list of paths',
      ),
    })
    .transform((value) => (Array.isArray(value) ? value : [value]))
    .refine((list) => list.length > 0, { message: 'must name at least one file' })
    .refine((list) => !remote || list.every((p) => p.startsWith('/')), {
      message: 'remote paths must be absolute',
    })
    .transform((list) => (remote ? list : list.map((p) => (isAbsolute(p) ? p : resolve(baseDir, p)))));
}

function localPath(baseDir: string, hint: string) {
  return nonEmpty(hint).transform((p) => (isAbsolute(p) ? p : resolve(baseDir, p)));
}

function positiveInt(what: string) {
  return z
    .number({ error: `must be a number (${what})` })
    .int(`must be a whole number (${what})`)
    .positive(`must be positive (${what})`);
}

const HOST_KEY_HINT =
  'required for ssh sources: pin the server key (ssh-keyscan -p PORT HOST | ssh-keygen -lf -, the SHA256:... field)';

function fileSource(baseDir: string) {
  return z.strictObject({
    ...commonShape(),
    type: z.literal('file'),
    paths: paths(baseDir, false),
    pollInterval: duration(10).default(DEFAULT_FILE_POLL_MS),
  });
}

function sshSource(baseDir: string) {
  return z.strictObject({
    ...commonShape(),
    type: z.literal('ssh'),
    address: z
      .string({
        error: requiredOr('required for ssh sources: host or host:port', 'must be host or host:port'),
      })
      .transform((value, ctx) => {
        const parsed = parseHostPort(value, 22, null);
        if (!parsed) {
          ctx.addIssue({ code: 'custom', message: 'must be host or host:port ([v6]:port for IPv6)' });
          return z.NEVER;
        }
        return parsed;
      }),
    user: nonEmpty('the remote account (a dedicated read-only one)'),
    privateKey: localPath(baseDir, 'path of the private key file for public-key authentication'),
    hostKey: z
      .string({ error: requiredOr(HOST_KEY_HINT, 'must be a SHA256:... fingerprint') })
      .transform((value, ctx) => {
        const m = /^SHA256:([A-Za-z0-9+/]{43})=?$/.exec(value.trim());
        if (!m) {
          ctx.addIssue({
            code: 'custom',
            message: 'must be a SHA256:... fingerprint as ssh-keygen -lf prints it (43 base64 characters)',
          });
          return z.NEVER;
        }
        return `SHA256:${m[1]}`;
      }),
    paths: paths(baseDir, true),
    bandwidthLimit: positiveInt('bytes per second').optional(),
    pollInterval: duration(MIN_SSH_POLL_MS).default(DEFAULT_SSH_POLL_MS),
  });
}

function syslogSource(baseDir: string) {
  return z.strictObject({
    ...commonShape(),
    type: z.literal('syslog'),
    listen: z
      .union([z.string(), z.number()], {
        error: requiredOr('required for syslog sources: address:port to listen on', 'must be address:port'),
      })
      .transform((value, ctx) => {
        const parsed = parseHostPort(String(value), null, '0.0.0.0');
        if (!parsed) {
          ctx.addIssue({ code: 'custom', message: 'must be address:port, [v6]:port or a port' });
          return z.NEVER;
        }
        return parsed;
      }),
    protocol: z.enum(['udp', 'tcp', 'tls'], {
      error: requiredOr('required for syslog sources: udp, tcp or tls', 'must be udp, tcp or tls'),
    }),
    tls: z
      .strictObject({
        cert: localPath(baseDir, 'path of the PEM certificate'),
        key: localPath(baseDir, 'path of the PEM private key'),
      })
      .optional(),
    framing: z
      .enum(['auto', 'octet-counting', 'newline'], { error: 'must be auto, octet-counting or newline' })
      .default('auto'),
    maxConnections: positiveInt('connections').default(DEFAULT_MAX_CONNECTIONS),
    maxMessageBytes: positiveInt('bytes').default(DEFAULT_MAX_MESSAGE_BYTES),
  });
}

const SOURCE_TYPES = ['file', 'ssh', 'syslog'];

export function configSchema(baseDir: string) {
  const source = z.discriminatedUnion(
    'type',
    [fileSource(baseDir), sshSource(baseDir), syslogSource(baseDir)],
    {
      error: (issue) => {
        const input = issue.input;
        if (typeof input !== 'object' || input === null || Array.isArray(input)) {
          return 'must be a mapping (name, type and the keys of that type)';
        }
        return (input as { type?: unknown }).type === undefined
          ? `required: the source type (${SOURCE_TYPES.join(', ')})`
          : `must be one of ${SOURCE_TYPES.join(', ')}`;
      },
    },
  );
  return z.strictObject({
    database: z
      .string({ error: 'must be a path or a postgres:// URL' })
      .min(1, 'must not be empty')
      .default(DEFAULT_DATABASE)
      .transform((db) => (/^postgres(ql)?:\/\//.test(db) || isAbsolute(db) ? db : resolve(baseDir, db))),
    retentionDays: z
      .number({ error: 'must be a number of days' })
      .int('must be a whole number of days')
      .min(0, 'must be 0 (keep everything) or more')
      .default(DEFAULT_RETENTION_DAYS),
    sources: z.array(source, { error: 'must be a list of sources' }).default([]),
  });
}
