/**
 * The few file operations a follower needs, behind one interface, so that the same rotation rules
 * follow a local file (node:fs) and a remote one (SFTP, ssh.ts). Read-only by construction: there is
 * no operation that writes, renames or deletes.
 */
import { watch } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { FIRST_LINE_MAX, firstNonEmptyLine, isGzip, lineFingerprint, SNIFF_BYTES } from './lines.js';

/** What a follower learns from stat/fstat. `dev`/`ino` are absent where the protocol has none (SFTP). */
export interface FileInfo {
  size: number;
  mtimeMs: number;
  isFile: boolean;
  dev?: number;
  ino?: number;
}

/** An open file, read by position (`pread`), so that a handle outlives renames and unlinks. */
export interface FollowHandle {
  /** Reads up to `length` bytes at `position` into `buffer` (from its start); 0 at end of file. */
  read(buffer: Buffer, length: number, position: number): Promise<number>;
  stat(): Promise<FileInfo>;
  close(): Promise<void>;
}

export interface FollowFs {
  /** Null when the path does not exist. */
  stat(path: string): Promise<FileInfo | null>;
  open(path: string): Promise<FollowHandle>;
  readdir(dir: string): Promise<string[]>;
  /**
   * Calls `onChange` when something in `dir` may have changed (`name` of the entry when known).
   * Returns a function that stops watching, or null when watching is not possible (then only polling
   * finds changes).
   */
  watch?(dir: string, onChange: (name: string | null) => void): (() => void) | null;
  /** Largest read worth asking for at once. */
  readonly chunkBytes: number;
}

function isMissing(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function localInfo(s: import('node:fs').Stats): FileInfo {
  return { size: s.size, mtimeMs: s.mtimeMs, isFile: s.isFile(), dev: s.dev, ino: s.ino };
}

/** The local file system (node:fs), with `fs.watch` on the directory (inotify may miss events: poll too). */
export const localFs: FollowFs = {
  chunkBytes: 256 * 1024,
  async stat(path) {
    try {
      return localInfo(await stat(path));
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  },
  async open(path) {
    const handle = await open(path, 'r');
    return {
      read: async (buffer, length, position) => (await handle.read(buffer, 0, length, position)).bytesRead,
      stat: async () => localInfo(await handle.stat()),
      close: () => handle.close(),
    };
  },
  readdir: (dir) => readdir(dir),
  watch(dir, onChange) {
    try {
      // The directory, not the file: a watch on the file would follow the renamed inode.
      const watcher = watch(dir, { persistent: true }, (_event, name) =>
        onChange(typeof name === 'string' ? name : null),
      );
      watcher.on('error', () => watcher.close());
      return () => watcher.close();
    } catch {
      return null;
    }
  },
};

/** Reads `length` bytes at `position` (fewer at end of file). */
export async function readAt(handle: FollowHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const part = filled === 0 ? buffer : Buffer.allocUnsafe(length - filled);
    const n = await handle.read(part, length - filled, position + filled);
    if (n <= 0) break;
    if (filled > 0) part.copy(buffer, filled, 0, n);
    filled += n;
  }
  return buffer.subarray(0, filled);
}

/**
 * A stream's identity from its first bytes, as `sniffFile` + `streamFingerprint` give it for an
 * import (same function on the same bytes), but only once it is settled:
 * - `fingerprint` undefined: not yet (no complete non-empty line, the file may still be written);
 * - a string: the fingerprint; `prefix` is the head up to the end of that first line: the same bytes
 *   at the start of a file mean the same stream;
 * - null: the first 64 KiB hold no non-empty line, as for an import (no identity).
 */
export interface StreamIdentity {
  fingerprint: string | null | undefined;
  prefix: Buffer;
}

const NL = 10;
const CR = 13;

/**
 * Identity of a (decompressed) head read from a file's start. `complete`: the head holds everything
 * up to the file's end and nothing more will come (a rotated file).
 */
export function identifyHead(head: Buffer, complete = false): StreamIdentity {
  let pos = 0;
  while (pos < head.length) {
    const nl = head.indexOf(NL, pos);
    if (nl < 0) break;
    const end = nl > pos && head[nl - 1] === CR ? nl - 1 : nl;
    if (end > pos) return settled(head, Math.min(nl + 1, head.length));
    pos = nl + 1;
  }
  // No terminated non-empty line yet: settled only if the piece is already as long as the kept
  // first line, or the sample is full (the import cuts there too), or nothing more will come.
  if (head.length - pos >= FIRST_LINE_MAX + 1 || head.length >= SNIFF_BYTES || complete) {
    return settled(head, head.length);
  }
  return { fingerprint: undefined, prefix: Buffer.alloc(0) };
}

function settled(head: Buffer, prefixEnd: number): StreamIdentity {
  const line = firstNonEmptyLine(head);
  return {
    fingerprint: line ? lineFingerprint(line) : null,
    prefix: Buffer.from(head.subarray(0, prefixEnd)),
  };
}

/** Compressed bytes of a handle from its start, as a stream (for gunzip). */
function compressedStream(handle: FollowHandle, chunkBytes: number): Readable {
  let position = 0;
  return Readable.from(
    (async function* () {
      for (;;) {
        const chunk = await readAt(handle, position, chunkBytes);
        if (chunk.length === 0) return;
        position += chunk.length;
        yield chunk;
      }
    })(),
  );
}

/**
 * The decompressed (or plain) bytes of a file from `start`, in chunks: for reading the rest of a
 * rotated file, which may have been gzipped meanwhile (decompressed offsets are stream offsets).
 */
export async function* readFrom(
  handle: FollowHandle,
  start: number,
  chunkBytes: number,
): AsyncGenerator<Buffer> {
  const magic = await readAt(handle, 0, 2);
  if (!isGzip(magic)) {
    let position = start;
    for (;;) {
      const chunk = await readAt(handle, position, chunkBytes);
      if (chunk.length === 0) return;
      position += chunk.length;
      yield chunk;
    }
  }
  const gunzip = createGunzip();
  // pipeline forwards a read error to gunzip, whose iteration reports it; the callback only keeps it
  // from being unhandled.
  pipeline(compressedStream(handle, chunkBytes), gunzip, () => {});
  let skipped = 0;
  try {
    for await (const piece of gunzip) {
      let chunk = piece as Buffer;
      if (skipped < start) {
        const drop = Math.min(start - skipped, chunk.length);
        skipped += drop;
        chunk = chunk.subarray(drop);
        if (chunk.length === 0) continue;
      }
      yield chunk;
    }
  } finally {
    gunzip.destroy();
  }
}

/** The identity of a whole file (plain or gzip), reading at most its first 64 KiB decompressed. */
export async function identifyFile(handle: FollowHandle, chunkBytes: number): Promise<StreamIdentity> {
  const parts: Buffer[] = [];
  let length = 0;
  let ended = true;
  for await (const chunk of readFrom(handle, 0, Math.min(chunkBytes, SNIFF_BYTES))) {
    parts.push(chunk);
    length += chunk.length;
    if (length >= SNIFF_BYTES) {
      ended = false;
      break;
    }
  }
  return identifyHead(Buffer.concat(parts, length).subarray(0, SNIFF_BYTES), ended);
}

/** 1-based number of the line starting at (decompressed) offset `end`: newlines before it, plus one. */
export async function countLines(handle: FollowHandle, end: number, chunkBytes: number): Promise<number> {
  let lines = 1;
  let seen = 0;
  for await (const chunk of readFrom(handle, 0, chunkBytes)) {
    const part = seen + chunk.length > end ? chunk.subarray(0, end - seen) : chunk;
    for (let i = part.indexOf(NL); i >= 0; i = part.indexOf(NL, i + 1)) lines++;
    seen += part.length;
    if (seen >= end) break;
  }
  return lines;
}
