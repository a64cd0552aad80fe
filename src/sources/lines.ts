/**
 * Reading log files as raw lines: plain or gzip (detected by magic bytes, not by name), streamed in
 * 1 MiB chunks, split on `\n`, each line bounded. No decoding here: lines stay bytes until framing.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

/** One physical line of a (decompressed) stream. */
export interface RawLine {
  /**
   * The line's bytes without `\n` and without a trailing `\r`. A view into the read chunk: copy it
   * (`Buffer.from(bytes)`) if it must outlive the processing of its batch.
   */
  bytes: Buffer;
  /** Byte offset of the line's first byte in the decompressed stream. */
  offset: number;
  /** 1-based line number in the decompressed stream. */
  line: number;
  /**
   * The line is incomplete: it was longer than `maxLineBytes` (the rest was skipped), or it is the
   * last, unterminated piece before a read error (truncated gzip).
   */
  truncated: boolean;
}

/** Why a stream ended early. Lines before the failure have been delivered. */
export interface ReadLinesError {
  path: string;
  /** `gzip`: corrupt or truncated compressed data; `io`: the file itself could not be read. */
  kind: 'gzip' | 'io';
  /** Human-readable, e.g. `gzip data truncated after 1234 lines`. */
  message: string;
  /** Complete lines delivered before the failure (the partial line, if any, not counted). */
  linesRead: number;
  /** Decompressed bytes read before the failure. */
  bytesRead: number;
  cause: unknown;
}

export interface ReadLinesOptions {
  /** Longest line kept, in bytes (default 64 KiB). Longer lines are cut and marked `truncated`. */
  maxLineBytes?: number;
  /**
   * Called once when the stream fails (truncated/corrupt gzip, I/O error) after every line read so far
   * has been yielded; the iteration then ends normally. Without it, the iteration throws a
   * `LineReadError` (carrying the same details) after the last good line.
   */
  onError?: (error: ReadLinesError) => void;
  /** Read chunk size (default 1 MiB). */
  chunkBytes?: number;
}

export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;
const DEFAULT_CHUNK_BYTES = 1024 * 1024;

/** Thrown by the iteration when no `onError` callback was given. */
export class LineReadError extends Error {
  constructor(readonly details: ReadLinesError) {
    super(`${details.path}: ${details.message}`, { cause: details.cause });
    this.name = 'LineReadError';
  }
}

const NL = 10;
const CR = 13;

/**
 * Splits a byte stream into bounded lines. Chunks are kept as they come (lines are views into them);
 * only a line spanning two chunks is copied, and never beyond `maxLineBytes`.
 */
export class LineSplitter {
  private readonly max: number;
  /** Pieces of the current line seen in earlier chunks (total at most `max` bytes). */
  private pending: Buffer[] = [];
  private pendingLength = 0;
  /** Inside an overlong line whose kept prefix was already emitted: drop bytes up to the next `\n`. */
  private skipping = false;
  /** Stream offset of the next chunk's first byte. */
  private streamOffset = 0;
  private lineStart = 0;
  private lineNumber = 1;

  /**
   * `start` resumes a stream in the middle (a follower restarting from a saved position): the offset
   * of the first byte pushed and the number of that line, so offsets and line numbers go on as if the
   * stream had been read from its start.
   */
  constructor(maxLineBytes = DEFAULT_MAX_LINE_BYTES, start?: { offset: number; line: number }) {
    this.max = Math.max(1, Math.floor(maxLineBytes));
    if (start) {
      this.streamOffset = start.offset;
      this.lineStart = start.offset;
      this.lineNumber = start.line;
    }
  }

  /**
   * Where the first line not yet delivered starts: reading again from here (with `nextLineNumber`)
   * neither loses nor repeats a complete line. Inside an overlong line whose cut prefix was already
   * delivered, it is that line's start (the prefix comes again with the same offset).
   */
  get nextLineOffset(): number {
    return this.lineStart;
  }

  /** 1-based number of the line starting at `nextLineOffset`. */
  get nextLineNumber(): number {
    return this.lineNumber;
  }

  /** Complete lines delivered so far. */
  get completeLines(): number {
    return this.lineNumber - 1;
  }

  get bytesSeen(): number {
    return this.streamOffset;
  }

  /** Splits one chunk; returns the lines it completes (possibly none). */
  push(chunk: Buffer): RawLine[] {
    const out: RawLine[] = [];
    const base = this.streamOffset;
    const length = chunk.length;
    let pos = 0;
    while (pos < length) {
      const nl = chunk.indexOf(NL, pos);
      const end = nl < 0 ? length : nl;
      if (this.skipping) {
        if (nl < 0) break;
        this.skipping = false;
        this.startLine(base + nl + 1);
        pos = nl + 1;
        continue;
      }
      const available = this.max - this.pendingLength;
      // A `\r` just past the limit still belongs to a line that fits once the terminator is removed.
      const contentEnd = nl >= 0 && end > pos && chunk[end - 1] === CR ? end - 1 : end;
      if (contentEnd - pos > available) {
        out.push(this.emit(chunk.subarray(pos, pos + available), true));
        if (nl < 0) {
          this.skipping = true;
          break;
        }
        this.startLine(base + nl + 1);
        pos = nl + 1;
        continue;
      }
      if (nl < 0) {
        this.pending.push(chunk.subarray(pos));
        this.pendingLength += length - pos;
        break;
      }
      out.push(this.emit(chunk.subarray(pos, end), false));
      this.startLine(base + nl + 1);
      pos = nl + 1;
    }
    this.streamOffset = base + length;
    return out;
  }

  /**
   * Ends the stream: returns the last, unterminated line if there is one. `incomplete` marks it
   * truncated (the stream was cut by an error, so the line probably is too).
   */
  end(incomplete = false): RawLine | null {
    if (this.skipping || this.pendingLength === 0) {
      this.pending = [];
      return null;
    }
    const line = this.emit(Buffer.alloc(0), incomplete);
    this.pending = [];
    this.pendingLength = 0;
    return line;
  }

  private startLine(offset: number): void {
    this.lineStart = offset;
    this.lineNumber++;
  }

  /** Builds a line from the pending pieces plus `tail`, without its trailing `\r`. */
  private emit(tail: Buffer, truncated: boolean): RawLine {
    let bytes: Buffer;
    if (this.pendingLength === 0) {
      bytes = tail;
    } else {
      this.pending.push(tail);
      bytes = Buffer.concat(this.pending, this.pendingLength + tail.length);
      this.pending = [];
      this.pendingLength = 0;
    }
    if (!truncated && bytes.length > 0 && bytes[bytes.length - 1] === CR) {
      bytes = bytes.subarray(0, bytes.length - 1);
    }
    return { bytes, offset: this.lineStart, line: this.lineNumber, truncated };
  }
}

const GZIP_MAGIC_1 = 0x1f;
const GZIP_MAGIC_2 = 0x8b;

export function isGzip(head: Buffer): boolean {
  return head.length >= 2 && head[0] === GZIP_MAGIC_1 && head[1] === GZIP_MAGIC_2;
}

async function readHead(
  path: string,
  length: number,
): Promise<{ head: Buffer; mtimeMs: number; size: number }> {
  const handle = await open(path, 'r');
  try {
    const stat = await handle.stat();
    const buffer = Buffer.alloc(Math.min(length, Math.max(0, stat.size)) || 0);
    const { bytesRead } =
      buffer.length > 0 ? await handle.read(buffer, 0, buffer.length, 0) : { bytesRead: 0 };
    return { head: buffer.subarray(0, bytesRead), mtimeMs: stat.mtimeMs, size: stat.size };
  } finally {
    await handle.close();
  }
}

/** The file's bytes, decompressed when it starts with the gzip magic. */
async function openStream(
  path: string,
  chunkBytes: number,
): Promise<{ stream: Readable; compressed: boolean }> {
  const { head } = await readHead(path, 2);
  const file = createReadStream(path, { highWaterMark: chunkBytes });
  if (!isGzip(head)) return { stream: file, compressed: false };
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  // pipeline forwards an error of either side to the gunzip stream we iterate; the callback only
  // prevents an unhandled rejection, the iteration reports the error.
  pipeline(file, gunzip, () => {});
  return { stream: gunzip, compressed: true };
}

function describeError(
  path: string,
  compressed: boolean,
  cause: unknown,
  splitter: LineSplitter,
): ReadLinesError {
  const code = (cause as { code?: string } | null)?.code;
  const lines = splitter.completeLines;
  let kind: ReadLinesError['kind'] = 'io';
  let message: string;
  if (compressed && (code === 'Z_BUF_ERROR' || code === 'Z_DATA_ERROR' || code?.startsWith('Z_'))) {
    kind = 'gzip';
    message =
      code === 'Z_BUF_ERROR'
        ? `gzip data truncated after ${lines} lines`
        : `gzip data corrupt after ${lines} lines (${(cause as Error).message})`;
  } else {
    message = `read error after ${lines} lines: ${(cause as Error)?.message ?? String(cause)}`;
  }
  return { path, kind, message, linesRead: lines, bytesRead: splitter.bytesSeen, cause };
}

/**
 * Lines in batches (one batch per read chunk): the fast path for importers, one await per chunk
 * instead of one per line. Same semantics as `readLines`.
 */
export async function* readLineBatches(path: string, opts: ReadLinesOptions = {}): AsyncGenerator<RawLine[]> {
  const splitter = new LineSplitter(opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
  let compressed = false;
  let failure: ReadLinesError | null = null;
  try {
    const opened = await openStream(path, opts.chunkBytes ?? DEFAULT_CHUNK_BYTES);
    compressed = opened.compressed;
    for await (const chunk of opened.stream) {
      const lines = splitter.push(chunk as Buffer);
      if (lines.length > 0) yield lines;
    }
  } catch (cause) {
    failure = describeError(path, compressed, cause, splitter);
  }
  const last = splitter.end(failure !== null);
  if (last) yield [last];
  if (failure) {
    if (opts.onError) opts.onError(failure);
    else throw new LineReadError(failure);
  }
}

/**
 * The lines of a plain or gzip file, streamed. On a read failure the lines read so far are yielded,
 * then `onError` is called (or, without it, a `LineReadError` is thrown).
 */
export async function* readLines(path: string, opts: ReadLinesOptions = {}): AsyncGenerator<RawLine> {
  for await (const batch of readLineBatches(path, opts)) yield* batch;
}

export interface FileSniff {
  /** Starts with the gzip magic bytes. */
  compressed: boolean;
  /** The (decompressed) start does not look like text: NULs or many control bytes. */
  binary: boolean;
  /** First non-empty line of the (decompressed) start, without terminator, at most 4 KiB. */
  firstLine?: Buffer;
  mtimeMs: number;
  /** Size on disk (compressed size for gzip). */
  size: number;
}

/** How much of a file's (decompressed) start `sniffFile` looks at. */
export const SNIFF_BYTES = 64 * 1024;
const SNIFF_COMPRESSED_INPUT = 256 * 1024;
/** Longest first line kept for the stream fingerprint. */
export const FIRST_LINE_MAX = 4096;

/** Decompresses at most `SNIFF_BYTES` from the start of a gzip file, tolerating a cut input. */
function gunzipHead(path: string): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let length = 0;
    let done = false;
    const file = createReadStream(path, { start: 0, end: SNIFF_COMPRESSED_INPUT - 1 });
    const gunzip = createGunzip();
    const finish = (): void => {
      if (done) return;
      done = true;
      file.destroy();
      gunzip.destroy();
      resolve(Buffer.concat(parts, length).subarray(0, SNIFF_BYTES));
    };
    gunzip.on('data', (chunk: Buffer) => {
      parts.push(chunk);
      length += chunk.length;
      if (length >= SNIFF_BYTES) finish();
    });
    // A cut or corrupt stream still gives what it decompressed so far.
    gunzip.on('error', finish);
    gunzip.on('end', finish);
    file.on('error', finish);
    file.pipe(gunzip);
  });
}

/**
 * Text logs have no NUL and few control bytes. A few NULs are tolerated: syslog files often carry a
 * run of them after a crash. Binary = more than 10% of the sample is NUL or C0 control (except
 * tab, LF, CR, FF, ESC).
 */
export function looksBinary(sample: Buffer): boolean {
  if (sample.length === 0) return false;
  let odd = 0;
  for (let i = 0; i < sample.length; i++) {
    const b = sample[i]!;
    if (b < 0x20 && b !== 9 && b !== 10 && b !== 13 && b !== 12 && b !== 27) odd++;
  }
  return odd * 10 > sample.length;
}

/** The first non-empty line of a sample (terminated or not), without `\r`, at most `FIRST_LINE_MAX` bytes. */
export function firstNonEmptyLine(sample: Buffer): Buffer | undefined {
  let pos = 0;
  while (pos < sample.length) {
    const nl = sample.indexOf(NL, pos);
    let end = nl < 0 ? sample.length : nl;
    if (end > pos && sample[end - 1] === CR) end--;
    if (end > pos) return Buffer.from(sample.subarray(pos, Math.min(end, pos + FIRST_LINE_MAX)));
    if (nl < 0) break;
    pos = nl + 1;
  }
  return undefined;
}

/**
 * Identity of a log stream: a hash of its first line (decompressed). A rotated file keeps it under its
 * new name (and once gzipped); a new file at the same path gets a new one. Null for an empty file.
 */
export function streamFingerprint(sniff: FileSniff): string | null {
  if (!sniff.firstLine || sniff.firstLine.length === 0) return null;
  return lineFingerprint(sniff.firstLine);
}

/** The fingerprint of a stream whose first non-empty line (as `firstNonEmptyLine` gives it) is `firstLine`. */
export function lineFingerprint(firstLine: Buffer): string {
  return `fp:${createHash('sha256').update(firstLine).digest('hex').slice(0, 24)}`;
}

/** A quick look at a file's start: compressed or not, text or not, and its first line. */
export async function sniffFile(path: string): Promise<FileSniff> {
  const { head, mtimeMs, size } = await readHead(path, SNIFF_BYTES);
  const compressed = isGzip(head);
  const sample = compressed ? await gunzipHead(path) : head;
  const result: FileSniff = { compressed, binary: looksBinary(sample), mtimeMs, size };
  const firstLine = firstNonEmptyLine(sample);
  if (firstLine) result.firstLine = firstLine;
  return result;
}
