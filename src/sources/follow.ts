/**
 * Following log files as they are written (`tail -F`, with positions): complete lines only, in order,
 * across rotations, so that a collector neither loses nor repeats a line, even across its own
 * restarts.
 *
 * A stream is known by the fingerprint of its first line (the same identity an import gives it, see
 * `streamFingerprint` in lines.ts) plus a byte offset; a position `{ fingerprint, offset, line }` is
 * where the first line not yet delivered starts. Rotation rules, checked on every `fs.watch` event and
 * on a poll (inotify may miss events, SFTP has none):
 * - rename + create (a new file at the path, dev/ino or first line differ): the old file is read to
 *   its end through the handle we hold, until it has been quiet for `rotationGraceMs` (a writer may
 *   still append before it reopens), then the new one from offset 0;
 * - compression of the rotated file (its inode unlinked while we hold it): nothing special, the open
 *   handle still reads it to the end;
 * - copytruncate (the file we hold is shorter than what we read): the rest of our stream is looked
 *   for in a rotated sibling with our fingerprint (`mail.log.1`, `mail.log.1.gz`, multilog `@…`) and
 *   read from our offset, then the file again from 0;
 * - replacement in place (same file, different first line): as copytruncate;
 * - deletion: reported; the handle is still read, and the path is watched for its re-creation.
 * Resuming from a saved position applies the same rules: if the file at the path is no longer the
 * saved stream, the rest of that stream is read from its rotated sibling first.
 */
import { basename, dirname } from 'node:path';
import {
  countLines,
  type FileInfo,
  type FollowFs,
  type FollowHandle,
  identifyFile,
  identifyHead,
  localFs,
  readAt,
  readFrom,
  type StreamIdentity,
} from './follow-fs.js';
import { expandGlob, hasMagic } from './glob.js';
import { DEFAULT_MAX_LINE_BYTES, isGzip, LineSplitter, type RawLine, SNIFF_BYTES } from './lines.js';

/** Where to resume a stream: the start of the first line not yet delivered. */
export interface ResumePosition {
  /** The stream's fingerprint (null: a stream whose first 64 KiB hold no text line, see lines.ts). */
  fingerprint: string | null;
  /** Byte offset in the (decompressed) stream. */
  offset: number;
  /**
   * 1-based number of the line starting at `offset`. When not given, the lines before `offset` are
   * counted (reading the stream up to there once).
   */
  line?: number;
}

/** The position reached after a batch: save it with the batch's events to resume exactly there. */
export interface FollowPosition extends ResumePosition {
  line: number;
  /** The followed path. */
  path: string;
  /** The file the batch was read from: the followed path, or a rotated file whose rest was read. */
  file: string;
}

export type FollowEvent =
  /** A stream is being followed from `offset` (`resumed`: from a saved position). */
  | {
      type: 'opened';
      path: string;
      fingerprint: string | null | undefined;
      offset: number;
      resumed: boolean;
    }
  /** Nothing at the path (at start, or after a deletion was handled); watched for its creation. */
  | { type: 'missing'; path: string }
  /** The followed file disappeared from its path; what is still written to it is read until a new file comes. */
  | { type: 'deleted'; path: string }
  /** The stream at the path ended; the next one starts at offset 0. `offset`: where the old one was left. */
  | {
      type: 'rotated';
      path: string;
      how: 'renamed' | 'truncated' | 'replaced';
      fingerprint: string | null | undefined;
      offset: number;
    }
  /** The rest of a stream that left the path was read from `file` (a rotated copy). */
  | { type: 'recovered'; path: string; file: string; fingerprint: string | null; from: number; to: number }
  /** Lines of a stream may be lost: its rest could not be found or read. */
  | { type: 'lost'; path: string; fingerprint: string | null; offset: number; reason: string }
  /** The path holds something that is not followed (a directory, a compressed file). */
  | { type: 'unsupported'; path: string; reason: string }
  /** A read failed (or the consumer threw); retried on the next poll from the last delivered position. */
  | { type: 'error'; path: string; message: string; cause: unknown };

export interface FollowOptions {
  /** Resume here (a position saved from `onLines`). Without it the file is read from its start. */
  fromPosition?: ResumePosition;
  /**
   * Complete lines (views into a read buffer: copy `bytes` to keep them past the call) and the
   * position after them. Awaited: the next batch waits for it (backpressure). If it throws, the
   * batch is delivered again later, from the last position whose call returned.
   */
  onLines(batch: RawLine[], position: FollowPosition): void | Promise<void>;
  onEvent?(event: FollowEvent): void;
  /** Poll interval (default 250 ms; also when `fs.watch` works, since inotify can miss events). */
  pollIntervalMs?: number;
  /** After a rotation, keep reading the old file until it has been quiet this long (default 1 s). */
  rotationGraceMs?: number;
  /** ... but switch to the new file after this long at most (default 30 s). */
  rotationMaxWaitMs?: number;
  /**
   * Without inodes (SFTP): how often the path's first bytes are compared with ours when sizes and
   * times show no change (default 10 s).
   */
  identityCheckMs?: number;
  /** Longest line kept (default 64 KiB), as in `readLines`. */
  maxLineBytes?: number;
  /** File system to read (default: the local one; ssh.ts passes SFTP). */
  fs?: FollowFs;
  /** Use `fs.watch` where the file system has it (default true). */
  watch?: boolean;
}

const DEFAULT_POLL_MS = 250;
const DEFAULT_GRACE_MS = 1000;
const DEFAULT_MAX_WAIT_MS = 30_000;
const DEFAULT_IDENTITY_CHECK_MS = 10_000;
/** Rotated siblings examined at most when looking for the rest of a stream. */
const MAX_CANDIDATES = 32;

interface OpenStream {
  handle: FollowHandle;
  identity: StreamIdentity;
  /** Next byte to read. */
  readOffset: number;
  splitter: LineSplitter;
  /** Last fstat of the handle. */
  info: FileInfo;
}

/** The consumer's own failure, told apart from read failures (a read failure of a rotated copy is not retried forever). */
class ConsumerError extends Error {}

function describe(error: unknown): string {
  if (error instanceof ConsumerError) return `consumer failed: ${describe(error.cause)}`;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}

function isMissing(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Follows one path. Create with `followFile`. */
export class FileFollower {
  readonly path: string;
  private readonly fs: FollowFs;
  private readonly opts: FollowOptions;
  private readonly maxLineBytes: number;
  private readonly graceMs: number;
  private readonly maxWaitMs: number;
  private readonly identityCheckMs: number;
  private current: OpenStream | null = null;
  /** Position to resume from when (re)opening the path; null: the path's stream from its start. */
  private resume: ResumePosition | null;
  /** Whether the rotated siblings were searched in vain for `resume` while the path was missing. */
  private resumeSearched = false;
  /** The last position whose `onLines` returned (or where the current stream was opened). */
  private delivered: ResumePosition | null = null;
  private rotation: { since: number; lastGrowth: number } | null = null;
  private lastIdentityCheck = Date.now();
  private reported: 'missing' | 'deleted' | 'unsupported' | null = null;
  private lastError: string | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private closed = false;
  private readonly timer: NodeJS.Timeout;
  private readonly unwatch: (() => void) | null;
  /** Settles when the first check is done (the existing content has been delivered or the path is missing). */
  readonly started: Promise<void>;

  constructor(path: string, opts: FollowOptions) {
    this.path = path;
    this.opts = opts;
    this.fs = opts.fs ?? localFs;
    this.maxLineBytes = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.graceMs = opts.rotationGraceMs ?? DEFAULT_GRACE_MS;
    this.maxWaitMs = opts.rotationMaxWaitMs ?? DEFAULT_MAX_WAIT_MS;
    this.identityCheckMs = opts.identityCheckMs ?? DEFAULT_IDENTITY_CHECK_MS;
    this.resume = opts.fromPosition ? { ...opts.fromPosition } : null;
    this.timer = setInterval(() => void this.schedule(), opts.pollIntervalMs ?? DEFAULT_POLL_MS);
    const base = basename(path);
    this.unwatch =
      opts.watch !== false && this.fs.watch
        ? this.fs.watch(dirname(path), (name) => {
            if (name === null || name === base) void this.schedule();
          })
        : null;
    this.started = this.schedule();
  }

  /** The last position delivered (or where following started), null before anything was read. */
  get position(): ResumePosition | null {
    return this.delivered ? { ...this.delivered } : null;
  }

  /** Checks the file now (it is also checked on every watch event and poll). */
  check(): Promise<void> {
    return this.schedule();
  }

  /** Stops following; waits for a batch being delivered. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    this.unwatch?.();
    if (this.running) await this.running;
    await this.dropCurrent();
  }

  private schedule(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.run();
    return this.running;
  }

  private async run(): Promise<void> {
    try {
      do {
        this.again = false;
        try {
          await this.check1();
          this.lastError = null;
        } catch (error) {
          await this.onFailure(error);
        }
      } while (this.again && !this.closed);
    } finally {
      this.running = null;
    }
  }

  private emit(event: FollowEvent): void {
    this.opts.onEvent?.(event);
  }

  private report(kind: 'missing' | 'deleted' | 'unsupported', event: FollowEvent): void {
    if (this.reported === kind) return;
    this.reported = kind;
    this.emit(event);
  }

  /** A failed check: report it once, forget the handle, resume from the last delivered position. */
  private async onFailure(error: unknown): Promise<void> {
    if (this.closed) return;
    const message = describe(error);
    if (message !== this.lastError) {
      this.lastError = message;
      this.emit({ type: 'error', path: this.path, message, cause: error });
    }
    await this.dropCurrent();
    this.resume = this.delivered ?? this.resume;
  }

  private async dropCurrent(): Promise<void> {
    const stream = this.current;
    this.current = null;
    this.rotation = null;
    if (stream) await stream.handle.close().catch(() => {});
  }

  /** One check: read what was appended, then look for rotation, truncation, replacement, deletion. */
  private async check1(): Promise<void> {
    if (!this.current) {
      await this.openCurrent();
      if (!this.current) return;
    }
    const stream = this.current;
    const read = await this.readAvailable(stream);
    if (this.closed) return;
    if (read === 'rewritten') return this.restartSameFile(stream, 'replaced');
    if (stream.info.size < stream.readOffset) return this.restartSameFile(stream, 'truncated');
    const atPath = await this.fs.stat(this.path);
    if (!atPath) {
      this.report('deleted', { type: 'deleted', path: this.path });
      this.rotation = null;
      return;
    }
    if ((await this.compare(stream, atPath)) === 'same') {
      this.rotation = null;
      if (this.reported === 'deleted') this.reported = null;
      return;
    }
    const now = Date.now();
    if (!this.rotation) this.rotation = { since: now, lastGrowth: now };
    else if (read === 'grew') this.rotation.lastGrowth = now;
    if (now - this.rotation.lastGrowth < this.graceMs && now - this.rotation.since < this.maxWaitMs) return;
    await this.readAvailable(stream);
    await this.finish(stream, this.path);
    this.emit({
      type: 'rotated',
      path: this.path,
      how: 'renamed',
      fingerprint: stream.identity.fingerprint,
      // Everything read was delivered, a last unterminated line included.
      offset: stream.splitter.bytesSeen,
    });
    await this.switchToNewStream();
  }

  /** The old stream is done: the path's (new) stream is read from offset 0. */
  private async switchToNewStream(): Promise<void> {
    await this.dropCurrent();
    this.resume = null;
    this.delivered = null;
    this.reported = null;
    await this.openCurrent();
    if (this.current) await this.readAvailable(this.current);
  }

  /** The file we hold was truncated or rewritten: read the rest of our stream from a copy, then it again from 0. */
  private async restartSameFile(stream: OpenStream, how: 'truncated' | 'replaced'): Promise<void> {
    const at = this.nextPosition(stream);
    const found =
      at.fingerprint === undefined ? null : await this.recoverRotated({ ...at, fingerprint: at.fingerprint });
    if (!found) {
      // The partial line we hold will never be completed here: deliver it as cut.
      const last = stream.splitter.end(true);
      if (last)
        await this.deliver([last], this.path, stream.identity.fingerprint ?? null, this.afterEnd(stream));
      if (at.fingerprint !== undefined) {
        this.emit({
          type: 'lost',
          path: this.path,
          fingerprint: at.fingerprint,
          offset: at.offset,
          reason: `file ${how} and no rotated copy with the rest of the stream was found`,
        });
      }
    }
    this.emit({ type: 'rotated', path: this.path, how, fingerprint: at.fingerprint, offset: at.offset });
    await this.switchToNewStream();
  }

  private nextPosition(stream: OpenStream): {
    fingerprint: string | null | undefined;
    offset: number;
    line: number;
  } {
    return {
      fingerprint: stream.identity.fingerprint,
      offset: stream.splitter.nextLineOffset,
      line: stream.splitter.nextLineNumber,
    };
  }

  /** Position after the last, unterminated line flushed by `splitter.end()`. */
  private afterEnd(stream: OpenStream): { offset: number; line: number } {
    return { offset: stream.splitter.bytesSeen, line: stream.splitter.nextLineNumber + 1 };
  }

  /** A rotated stream ends: its last unterminated line, if any, will not grow any more. */
  private async finish(stream: OpenStream, file: string): Promise<void> {
    const last = stream.splitter.end(false);
    if (last) await this.deliver([last], file, stream.identity.fingerprint ?? null, this.afterEnd(stream));
  }

  private async deliver(
    lines: RawLine[],
    file: string,
    fingerprint: string | null,
    next: { offset: number; line: number },
  ): Promise<void> {
    const position: FollowPosition = {
      path: this.path,
      file,
      fingerprint,
      offset: next.offset,
      line: next.line,
    };
    try {
      await this.opts.onLines(lines, position);
    } catch (error) {
      throw new ConsumerError('consumer failed', { cause: error });
    }
    this.delivered = { fingerprint, offset: next.offset, line: next.line };
  }

  /**
   * Reads what the handle has beyond our offset: `grew` when bytes were read, `rewritten` when the
   * file no longer starts with our stream's first line (truncated and written again past our offset
   * between two checks: reading on would deliver the middle of another stream).
   */
  private async readAvailable(stream: OpenStream): Promise<'grew' | 'idle' | 'rewritten'> {
    let info = await stream.handle.stat();
    stream.info = info;
    if (stream.identity.fingerprint === undefined) {
      if (info.size === 0) return 'idle';
      stream.identity = identifyHead(await readAt(stream.handle, 0, Math.min(info.size, SNIFF_BYTES)));
      if (stream.identity.fingerprint === undefined) return 'idle';
    } else if (
      info.size > stream.readOffset &&
      !(await this.startsWith(stream.handle, stream.identity.prefix))
    ) {
      return 'rewritten';
    }
    const fingerprint = stream.identity.fingerprint;
    let grew = false;
    while (info.size > stream.readOffset && !this.closed) {
      const length = Math.min(this.fs.chunkBytes, info.size - stream.readOffset);
      // A fresh buffer per read: the splitter keeps views of a pending partial line.
      const chunk = await readAt(stream.handle, stream.readOffset, length);
      if (chunk.length === 0) break;
      stream.readOffset += chunk.length;
      grew = true;
      const lines = stream.splitter.push(chunk);
      if (lines.length > 0) {
        await this.deliver(lines, this.path, fingerprint, {
          offset: stream.splitter.nextLineOffset,
          line: stream.splitter.nextLineNumber,
        });
      }
      if (stream.readOffset >= info.size) {
        info = await stream.handle.stat();
        stream.info = info;
      }
    }
    return grew ? 'grew' : 'idle';
  }

  /**
   * Is the file at the path still the stream we hold? dev/ino where the file system has them; else
   * (SFTP) sizes and times, then the first bytes, also compared every `identityCheckMs` in case a
   * new file grew past the old one between two checks. (Our own file rewritten in place is caught by
   * `readAvailable`.)
   */
  private async compare(stream: OpenStream, atPath: FileInfo): Promise<'same' | 'other'> {
    const held = stream.info;
    if (held.ino !== undefined && atPath.ino !== undefined) {
      return held.ino === atPath.ino && held.dev === atPath.dev ? 'same' : 'other';
    }
    // The path was stat'ed after the handle: the same file cannot look smaller or older.
    const now = Date.now();
    const suspicious = atPath.size < held.size || atPath.mtimeMs < held.mtimeMs;
    if (!suspicious && now - this.lastIdentityCheck < this.identityCheckMs) return 'same';
    this.lastIdentityCheck = now;
    return (await this.pathStartsWith(stream.identity.prefix)) ? 'same' : 'other';
  }

  private async startsWith(handle: FollowHandle, prefix: Buffer): Promise<boolean> {
    if (prefix.length === 0) return true;
    return (await readAt(handle, 0, prefix.length)).equals(prefix);
  }

  private async pathStartsWith(prefix: Buffer): Promise<boolean> {
    let handle: FollowHandle;
    try {
      handle = await this.fs.open(this.path);
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
    try {
      return await this.startsWith(handle, prefix);
    } finally {
      await handle.close().catch(() => {});
    }
  }

  /** Opens the path: at the resume position if it still holds that stream, else from 0 (after reading the rest of the old stream from its rotated copy). */
  private async openCurrent(): Promise<void> {
    const resume = this.resume;
    let handle: FollowHandle;
    try {
      handle = await this.fs.open(this.path);
    } catch (error) {
      if (!isMissing(error)) throw error;
      // Rotated away and not re-created yet: the rest of the saved stream may be in its copy.
      if (resume && !this.resumeSearched) {
        this.resumeSearched = true;
        if (await this.recoverRotated(resume)) {
          this.resume = null;
          this.delivered = null;
        }
      }
      this.report('missing', { type: 'missing', path: this.path });
      return;
    }
    try {
      const info = await handle.stat();
      if (!info.isFile) return await this.unsupported(handle, 'not a regular file');
      if (isGzip(await readAt(handle, 0, 2))) return await this.unsupported(handle, 'compressed (gzip)');
      const identity = identifyHead(await readAt(handle, 0, Math.min(info.size, SNIFF_BYTES)));
      let start = { offset: 0, line: 1 };
      if (resume) {
        const same = identity.fingerprint !== undefined && identity.fingerprint === resume.fingerprint;
        if (same && info.size >= resume.offset) {
          start = {
            offset: resume.offset,
            line: resume.line ?? (await countLines(handle, resume.offset, this.fs.chunkBytes)),
          };
        } else if (!(await this.recoverRotated(resume))) {
          this.emit({
            type: 'lost',
            path: this.path,
            fingerprint: resume.fingerprint,
            offset: resume.offset,
            reason: 'the saved stream is no longer at the path and no rotated copy of it was found',
          });
        }
      }
      this.current = {
        handle,
        identity,
        readOffset: start.offset,
        splitter: new LineSplitter(this.maxLineBytes, start),
        info,
      };
      this.delivered = start.offset > 0 && resume ? { fingerprint: resume.fingerprint, ...start } : null;
      this.resume = null;
      this.resumeSearched = false;
      this.reported = null;
      this.emit({
        type: 'opened',
        path: this.path,
        fingerprint: identity.fingerprint,
        offset: start.offset,
        resumed: start.offset > 0,
      });
    } catch (error) {
      if (!this.current) await handle.close().catch(() => {});
      throw error;
    }
  }

  private async unsupported(handle: FollowHandle, reason: string): Promise<void> {
    await handle.close().catch(() => {});
    this.report('unsupported', { type: 'unsupported', path: this.path, reason });
  }

  /**
   * Looks for the rest of stream `at` in a rotated sibling of the path (same first line: `mail.log.1`,
   * `mail.log.1.gz`, multilog's `@…` files) and delivers it. Returns the file read, or null.
   */
  private async recoverRotated(at: ResumePosition): Promise<string | null> {
    if (at.fingerprint === null) return null;
    const dir = dirname(this.path);
    for (const file of await this.rotatedCandidates(dir)) {
      let handle: FollowHandle;
      try {
        handle = await this.fs.open(file);
      } catch {
        continue;
      }
      try {
        const identity = await identifyFile(handle, this.fs.chunkBytes).catch(() => null);
        if (identity?.fingerprint !== at.fingerprint) continue;
        await this.readRest(handle, file, at);
        return file;
      } finally {
        await handle.close().catch(() => {});
      }
    }
    return null;
  }

  /** Siblings that may be rotated copies: plain ones first (a .gz may still be being written), newest first. */
  private async rotatedCandidates(dir: string): Promise<string[]> {
    const base = basename(this.path);
    const multilog = base === 'current';
    let names: string[];
    try {
      names = await this.fs.readdir(dir);
    } catch {
      return [];
    }
    const found: { file: string; gz: boolean; mtimeMs: number }[] = [];
    for (const name of names) {
      if (name === base || !(name.startsWith(base) || (multilog && name.startsWith('@')))) continue;
      const file = dir === '/' ? `/${name}` : `${dir}/${name}`;
      const info = await this.fs.stat(file).catch(() => null);
      if (info?.isFile) found.push({ file, gz: name.endsWith('.gz'), mtimeMs: info.mtimeMs });
    }
    found.sort((a, b) => Number(a.gz) - Number(b.gz) || b.mtimeMs - a.mtimeMs);
    return found.slice(0, MAX_CANDIDATES).map((c) => c.file);
  }

  /** Delivers a rotated copy from `at` to its end. A read error there is reported, not retried. */
  private async readRest(handle: FollowHandle, file: string, at: ResumePosition): Promise<void> {
    const line = at.line ?? (await countLines(handle, at.offset, this.fs.chunkBytes));
    const splitter = new LineSplitter(this.maxLineBytes, { offset: at.offset, line });
    const fingerprint = at.fingerprint;
    let failure: unknown = null;
    try {
      for await (const chunk of readFrom(handle, at.offset, this.fs.chunkBytes)) {
        const lines = splitter.push(chunk);
        if (lines.length > 0) {
          await this.deliver(lines, file, fingerprint, {
            offset: splitter.nextLineOffset,
            line: splitter.nextLineNumber,
          });
        }
      }
    } catch (error) {
      if (error instanceof ConsumerError) throw error;
      failure = error;
    }
    const last = splitter.end(failure !== null);
    if (last) {
      await this.deliver([last], file, fingerprint, {
        offset: splitter.bytesSeen,
        line: splitter.nextLineNumber + 1,
      });
    }
    const to = splitter.bytesSeen;
    this.emit({ type: 'recovered', path: this.path, file, fingerprint, from: at.offset, to });
    if (failure) {
      this.emit({
        type: 'lost',
        path: this.path,
        fingerprint,
        offset: to,
        reason: `reading ${file} failed: ${describe(failure)}`,
      });
    }
  }
}

/** Follows one file (local by default; `opts.fs` for another file system). */
export function followFile(path: string, opts: FollowOptions): FileFollower {
  return new FileFollower(path, opts);
}

export interface FollowSetOptions extends Omit<FollowOptions, 'fromPosition'> {
  /** The saved position of a path, if any. */
  positionOf?(path: string): ResumePosition | undefined;
  /** How often globs are expanded again for new files (default 10 s). */
  rescanIntervalMs?: number;
  /** A glob could not be expanded (a directory not readable...). */
  onScanError?(pattern: string, error: unknown): void;
}

/**
 * Follows every path of a list of paths and globs: a plain path is followed even while missing (it
 * may be created), a glob's matches are followed as they appear (globs are expanded again every
 * `rescanIntervalMs`).
 */
export class FollowSet {
  private readonly followers = new Map<string, FileFollower>();
  private readonly timer: NodeJS.Timeout;
  private scanning: Promise<void> | null = null;
  private closed = false;
  /** Settles when the first expansion is done and each follower made its first check. */
  readonly started: Promise<void>;

  constructor(
    readonly patterns: readonly string[],
    private readonly opts: FollowSetOptions,
  ) {
    this.timer = setInterval(() => void this.scan(), opts.rescanIntervalMs ?? 10_000);
    this.started = this.scan().then(async () => {
      await Promise.all([...this.followers.values()].map((f) => f.started));
    });
  }

  /** The paths followed so far. */
  get paths(): string[] {
    return [...this.followers.keys()].sort();
  }

  follower(path: string): FileFollower | undefined {
    return this.followers.get(path);
  }

  /** Checks every followed file now. */
  async checkAll(): Promise<void> {
    await Promise.all([...this.followers.values()].map((f) => f.check()));
  }

  /** Expands the globs now; new matches are followed. */
  scan(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (!this.scanning) this.scanning = this.scanOnce().finally(() => (this.scanning = null));
    return this.scanning;
  }

  private async scanOnce(): Promise<void> {
    const fs = this.opts.fs ?? localFs;
    for (const pattern of this.patterns) {
      let paths: string[];
      try {
        paths = hasMagic(pattern) ? await expandGlob(pattern, fs) : [pattern];
      } catch (error) {
        this.opts.onScanError?.(pattern, error);
        continue;
      }
      for (const path of paths) {
        if (this.closed || this.followers.has(path)) continue;
        const fromPosition = this.opts.positionOf?.(path);
        this.followers.set(
          path,
          new FileFollower(path, { ...this.opts, ...(fromPosition ? { fromPosition } : {}) }),
        );
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    if (this.scanning) await this.scanning;
    await Promise.all([...this.followers.values()].map((f) => f.close()));
  }
}

/** Follows local paths and globs. */
export function followFiles(patterns: readonly string[], opts: FollowSetOptions): FollowSet {
  return new FollowSet(patterns, opts);
}
