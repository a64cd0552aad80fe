/**
 * Following log files on another host over SSH, read-only, with the same rotation rules as local
 * files (follow.ts): one SSH connection per source, SFTP only.
 *
 * - Host key: strict. The server's key must match the pinned `SHA256:` fingerprint (as
 *   `ssh-keygen -lf` prints it); an unknown or changed key is refused, naming both fingerprints.
 * - Authentication: public key only.
 * - Read-only by construction: the only SFTP requests ever sent are `open` for reading, `fstat`,
 *   `stat`, `read`, `readdir` and `close` (see `SftpFs`); no exec channel, no write, rename or remove.
 *   (The server side can enforce it too: `ForceCommand internal-sftp -R`.)
 * - SFTP has no inode numbers: a file replaced at its path is recognised by sizes, times and its
 *   first bytes (follow.ts).
 * - Load on the mail server: files are polled (`pollIntervalMs`, default 1 s) and reads can be capped
 *   (`bandwidthLimit` bytes/s, token bucket).
 * - Reconnection with exponential backoff (1 s doubling to 60 s by default); each followed file then
 *   resumes from its last delivered position, reading the rest of a stream rotated meanwhile from
 *   its rotated copy.
 */
import { createHash } from 'node:crypto';
import { Client, type SFTPWrapper, type Stats } from 'ssh2';
import { type FollowEvent, FollowSet, type FollowSetOptions } from './follow.js';
import type { FileInfo, FollowFs, FollowHandle } from './follow-fs.js';
import { TokenBucket } from './throttle.js';

/** The OpenSSH fingerprint of a public key blob: `SHA256:` and the unpadded base64 of its SHA-256. */
export function hostKeyFingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** `SHA256:` + 43 base64 characters (a trailing `=` is tolerated). */
export function normalizeFingerprint(fingerprint: string): string | null {
  const m = /^SHA256:([A-Za-z0-9+/]{43})=?$/.exec(fingerprint.trim());
  return m ? `SHA256:${m[1]}` : null;
}

export type SshEvent =
  | { type: 'connected'; source: string; address: string }
  /** The connection failed or ended; the next attempt is in `retryInMs`. */
  | { type: 'disconnected'; source: string; address: string; reason: string; retryInMs: number }
  /** The server presented another host key than the pinned one: refused. */
  | {
      type: 'host-key-mismatch';
      source: string;
      address: string;
      expected: string;
      presented: string;
      message: string;
    };

export interface SshSourceOptions
  extends Omit<FollowSetOptions, 'fs' | 'watch' | 'onEvent' | 'onScanError' | 'pollIntervalMs'> {
  /** Source name, for events. */
  name: string;
  host: string;
  port?: number;
  user: string;
  /** The private key itself (OpenSSH or PEM format), not its path. */
  privateKey: Buffer | string;
  passphrase?: string;
  /** Pinned server key fingerprint, `SHA256:...` (`ssh-keyscan -p PORT HOST | ssh-keygen -lf -`). */
  hostKey: string;
  /** Remote paths or globs (absolute). */
  paths: readonly string[];
  /** How often each file is checked (default 1000 ms). */
  pollIntervalMs?: number;
  /** Cap on the bytes read per second (average), none by default. */
  bandwidthLimit?: number;
  /** First reconnection delay (default 1000 ms), doubled after each failure up to `reconnectMaxMs`. */
  reconnectInitialMs?: number;
  reconnectMaxMs?: number;
  /** Time allowed for the SSH handshake (default 20 s). */
  readyTimeoutMs?: number;
  /** SSH keepalive interval (default 15 s; a dead link is noticed after 3 unanswered). */
  keepaliveIntervalMs?: number;
  onEvent?(event: FollowEvent | SshEvent): void;
}

/** SFTP status codes (draft-ietf-secsh-filexfer-02) as node-style error codes. */
function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 2) return 'ENOENT';
  if (code === 3) return 'EACCES';
  return typeof code === 'string' ? code : undefined;
}

/** SFTP NO_CONNECTION / CONNECTION_LOST, or ssh2 failing the requests pending when the channel closed. */
function isLinkFailure(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  return code === 6 || code === 7 || error.message === 'No response from server';
}

function sftpError(error: Error, what: string): Error {
  const code = errorCode(error);
  return Object.assign(
    new Error(`${what}: ${error.message}`, { cause: error }),
    code ? { code } : {},
    isLinkFailure(error) ? { linkDown: true } : {},
  );
}

function notConnected(): Error {
  return Object.assign(new Error('not connected'), { code: 'ENOTCONN', linkDown: true });
}

function connectionLost(): Error {
  return Object.assign(new Error('connection lost'), { code: 'ECONNRESET', linkDown: true });
}

function isLinkDown(error: unknown): boolean {
  const e = error as { code?: unknown; linkDown?: unknown } | null;
  return e?.code === 'ENOTCONN' || e?.linkDown === true;
}

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;

function sftpInfo(stats: Stats): FileInfo {
  return {
    size: stats.size,
    mtimeMs: stats.mtime * 1000,
    isFile: (stats.mode & S_IFMT) === S_IFREG,
  };
}

/** The live SFTP session, or null between connections. `generation` changes with each session. */
interface SessionRef {
  sftp: SFTPWrapper | null;
  generation: number;
}

/**
 * The FollowFs over SFTP: only reading requests exist here. Handles are tied to the session that
 * opened them: after a reconnection an old handle fails instead of reading whatever the new session
 * numbers the same.
 */
export class SftpFs implements FollowFs {
  readonly chunkBytes: number;

  constructor(
    private readonly session: SessionRef,
    private readonly bucket: TokenBucket | null,
  ) {
    // A read never asks for more than the bucket can give at once.
    this.chunkBytes = bucket ? Math.max(1024, Math.min(64 * 1024, bucket.burst)) : 64 * 1024;
  }

  private live(): SFTPWrapper {
    if (!this.session.sftp) throw notConnected();
    return this.session.sftp;
  }

  stat(path: string): Promise<FileInfo | null> {
    const sftp = this.live();
    return new Promise((resolve, reject) => {
      sftp.stat(path, (error, stats) => {
        if (!error) resolve(sftpInfo(stats));
        else if (errorCode(error) === 'ENOENT') resolve(null);
        else reject(sftpError(error, `stat ${path}`));
      });
    });
  }

  readdir(dir: string): Promise<string[]> {
    const sftp = this.live();
    return new Promise((resolve, reject) => {
      sftp.readdir(dir, (error, list) => {
        if (error) reject(sftpError(error, `readdir ${dir}`));
        else resolve(list.map((entry) => entry.filename));
      });
    });
  }

  open(path: string): Promise<FollowHandle> {
    const sftp = this.live();
    const generation = this.session.generation;
    return new Promise((resolve, reject) => {
      // 'r': O_RDONLY. Nothing else is ever opened.
      sftp.open(path, 'r', (error, handle) => {
        if (error) reject(sftpError(error, `open ${path}`));
        else resolve(this.handle(sftp, generation, handle, path));
      });
    });
  }

  private handle(sftp: SFTPWrapper, generation: number, handle: Buffer, path: string): FollowHandle {
    const current = (): SFTPWrapper => {
      if (this.session.generation !== generation || this.session.sftp !== sftp) {
        throw connectionLost();
      }
      return sftp;
    };
    return {
      read: async (buffer, length, position) => {
        const wanted = Math.min(length, this.chunkBytes);
        if (this.bucket) await this.bucket.take(wanted);
        const live = current();
        return new Promise((resolve, reject) => {
          live.read(handle, buffer, 0, wanted, position, (error, bytesRead) => {
            if (error) reject(sftpError(error, `read ${path}`));
            else resolve(bytesRead);
          });
        });
      },
      stat: () => {
        const live = current();
        return new Promise((resolve, reject) => {
          live.fstat(handle, (error, stats) => {
            if (error) reject(sftpError(error, `fstat ${path}`));
            else resolve(sftpInfo(stats));
          });
        });
      },
      close: () => {
        if (this.session.generation !== generation || this.session.sftp !== sftp) return Promise.resolve();
        return new Promise((resolve) => sftp.close(handle, () => resolve()));
      },
    };
  }
}

/** The options of `obj` named in `keys` that are set (no `key: undefined` entries). */
function pick<T extends object, K extends keyof T>(obj: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const key of keys) if (obj[key] !== undefined) out[key] = obj[key];
  return out;
}

/** Follows files on one SSH host. Create with `followSsh`. */
export class SshFollower {
  private readonly session: SessionRef = { sftp: null, generation: 0 };
  private readonly fs: SftpFs;
  private readonly set: FollowSet;
  private client: Client | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private delay: number;
  private closed = false;
  private readonly address: string;
  private readonly expectedKey: string;
  private readonly connectedWaiters: (() => void)[] = [];

  constructor(private readonly opts: SshSourceOptions) {
    const expected = normalizeFingerprint(opts.hostKey);
    if (!expected)
      throw new Error(`hostKey must be a SHA256: fingerprint, got ${JSON.stringify(opts.hostKey)}`);
    this.expectedKey = expected;
    this.address = `${opts.host}:${opts.port ?? 22}`;
    this.delay = opts.reconnectInitialMs ?? 1000;
    const bucket = opts.bandwidthLimit ? new TokenBucket(opts.bandwidthLimit) : null;
    this.fs = new SftpFs(this.session, bucket);
    const onEvent = opts.onEvent;
    this.set = new FollowSet(opts.paths, {
      onLines: opts.onLines,
      fs: this.fs,
      watch: false,
      pollIntervalMs: opts.pollIntervalMs ?? 1000,
      ...pick(opts, [
        'positionOf',
        'rescanIntervalMs',
        'rotationGraceMs',
        'rotationMaxWaitMs',
        'identityCheckMs',
        'maxLineBytes',
      ]),
      // The connection's state is told by the SSH events: a follower's "not connected" or "connection
      // lost" would only repeat it.
      onEvent: (event) => {
        if (event.type === 'error' && isLinkDown(event.cause)) return;
        onEvent?.(event);
      },
      // A glob that cannot be expanded now is expanded again at the next rescan.
      onScanError: () => {},
    });
    this.connect();
  }

  get connected(): boolean {
    return this.session.sftp !== null;
  }

  /** Resolves once an SFTP session is up. */
  whenConnected(): Promise<void> {
    if (this.connected) return Promise.resolve();
    return new Promise((resolve) => this.connectedWaiters.push(resolve));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.set.close();
    this.session.sftp = null;
    this.client?.end();
    this.client = null;
  }

  private emit(event: SshEvent): void {
    this.opts.onEvent?.(event);
  }

  private connect(): void {
    if (this.closed) return;
    const client = new Client();
    this.client = client;
    let presented: string | null = null;
    let failure: string | null = null;
    let ended = false;
    const onEnd = (): void => {
      if (ended) return;
      ended = true;
      this.session.sftp = null;
      this.session.generation++;
      if (this.client === client) this.client = null;
      if (this.closed) return;
      if (presented !== null && presented !== this.expectedKey) {
        this.emit({
          type: 'host-key-mismatch',
          source: this.opts.name,
          address: this.address,
          expected: this.expectedKey,
          presented,
          message:
            `refusing ${this.address}: its host key is ${presented}, not the pinned ${this.expectedKey}. ` +
            'If the server key really changed, check the new one out of band and update hostKey.',
        });
      }
      this.scheduleReconnect(failure ?? 'connection closed');
    };
    client.on('ready', () => {
      client.sftp((error, sftp) => {
        if (error) {
          failure = `sftp subsystem refused: ${error.message}`;
          client.end();
          return;
        }
        this.session.generation++;
        this.session.sftp = sftp;
        this.delay = this.opts.reconnectInitialMs ?? 1000;
        sftp.on('close', () => client.end());
        this.emit({ type: 'connected', source: this.opts.name, address: this.address });
        for (const resolve of this.connectedWaiters.splice(0)) resolve();
        void this.set.scan().then(() => this.set.checkAll());
      });
    });
    client.on('error', (error) => {
      failure = presented !== null && presented !== this.expectedKey ? 'host key mismatch' : error.message;
    });
    client.on('close', onEnd);
    client.connect({
      host: this.opts.host,
      port: this.opts.port ?? 22,
      username: this.opts.user,
      privateKey: this.opts.privateKey,
      ...(this.opts.passphrase ? { passphrase: this.opts.passphrase } : {}),
      // Public key only: no password, no keyboard-interactive, no agent.
      authHandler: ['publickey'],
      hostVerifier: (key: Buffer) => {
        presented = hostKeyFingerprint(key);
        return presented === this.expectedKey;
      },
      readyTimeout: this.opts.readyTimeoutMs ?? 20_000,
      keepaliveInterval: this.opts.keepaliveIntervalMs ?? 15_000,
      keepaliveCountMax: 3,
    });
  }

  private scheduleReconnect(reason: string): void {
    const wait = this.delay;
    this.delay = Math.min(this.delay * 2, this.opts.reconnectMaxMs ?? 60_000);
    this.emit({
      type: 'disconnected',
      source: this.opts.name,
      address: this.address,
      reason,
      retryInMs: wait,
    });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, wait);
  }
}

/** Follows remote files over SSH (see the top of this file). */
export function followSsh(opts: SshSourceOptions): SshFollower {
  return new SshFollower(opts);
}
