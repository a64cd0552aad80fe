import {
  appendFileSync,
  closeSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type FileFollower, type FollowOptions, type FollowSet, followFile, followFiles } from './follow.js';
import { type FileInfo, type FollowFs, localFs } from './follow-fs.js';
import { sniffFile, streamFingerprint } from './lines.js';
import { Collector, waitFor } from './testing/collect.js';

const root = mkdtempSync(join(tmpdir(), 'mailtrace-follow-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let dirCount = 0;
function freshDir(): string {
  const dir = join(root, `d${dirCount++}`);
  mkdirSync(dir);
  return dir;
}

// Real lines from /work/shared/corpus (postfix): the follower does not read them, but real shapes
// keep the fingerprints and offsets honest.
const L = (n: number): string =>
  `Nov 28 10:00:${String(n % 60).padStart(2, '0')} mx1 postfix/smtpd[${1000 + n}]: connect from unknown[192.0.2.${n % 250}]`;

function lines(from: number, to: number): string {
  let out = '';
  for (let n = from; n <= to; n++) out += `${L(n)}\n`;
  return out;
}

function expected(from: number, to: number): string[] {
  const out: string[] = [];
  for (let n = from; n <= to; n++) out.push(L(n));
  return out;
}

const open: (FileFollower | FollowSet)[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((f) => f.close()));
});

/** A follower driven by explicit `check()` calls only: every step of a test is deterministic. */
function manual(path: string, collector: Collector, extra: Partial<FollowOptions> = {}): FileFollower {
  const follower = followFile(path, {
    onLines: collector.onLines,
    onEvent: collector.onEvent,
    pollIntervalMs: 3_600_000,
    watch: false,
    rotationGraceMs: 0,
    ...extra,
  });
  open.push(follower);
  return follower;
}

describe('followFile: reading and positions', () => {
  it('should deliver existing lines, then appended ones, and hold a partial last line until its newline', async () => {
    const path = join(freshDir(), 'mail.log');
    writeFileSync(path, lines(1, 3));
    const c = new Collector();
    const f = manual(path, c);
    await f.started;
    expect(c.texts).toEqual(expected(1, 3));
    expect(c.lines.map((l) => l.line)).toEqual([1, 2, 3]);
    expect(c.lines[1]!.offset).toBe(Buffer.byteLength(`${L(1)}\n`));

    appendFileSync(path, `${L(4)}\n${L(5).slice(0, 20)}`);
    await f.check();
    expect(c.texts).toEqual(expected(1, 4));
    const size4 = Buffer.byteLength(lines(1, 4));
    expect(c.lastPosition).toMatchObject({ path, file: path, offset: size4, line: 5 });

    appendFileSync(path, `${L(5).slice(20)}\n`);
    await f.check();
    expect(c.texts).toEqual(expected(1, 5));
    expect(c.lines[4]).toMatchObject({ offset: size4, line: 5, truncated: false });
    expect(c.eventsOf('opened')).toEqual([
      { type: 'opened', path, fingerprint: c.lines[0]!.fingerprint, offset: 0, resumed: false },
    ]);
  });

  it('should know a stream by the same fingerprint as an import of the file', async () => {
    const path = join(freshDir(), 'mail.log');
    writeFileSync(path, `\r\n\n${lines(1, 2)}`);
    const c = new Collector();
    await manual(path, c).started;
    expect(c.texts).toEqual(['', '', ...expected(1, 2)]);
    const imported = streamFingerprint(await sniffFile(path));
    expect(imported).toMatch(/^fp:[0-9a-f]{24}$/);
    expect(c.lines.every((l) => l.fingerprint === imported)).toBe(true);
  });

  it('should wait for the first line to be complete before delivering anything', async () => {
    const path = join(freshDir(), 'mail.log');
    writeFileSync(path, L(1).slice(0, 30));
    const c = new Collector();
    const f = manual(path, c);
    await f.started;
    expect(c.lines).toEqual([]);
    appendFileSync(path, `${L(1).slice(30)}\n`);
    await f.check();
    expect(c.texts).toEqual(expected(1, 1));
    expect(c.lines[0]!.fingerprint).toBe(streamFingerprint(await sniffFile(path)));
  });

  it('should resume from a saved position without losing or repeating a line, line numbers included', async () => {
    const path = join(freshDir(), 'mail.log');
    writeFileSync(path, lines(1, 3));
    const first = new Collector();
    const f1 = manual(path, first);
    await f1.started;
    await f1.close();
    const saved = first.lastPosition!;
    appendFileSync(path, lines(4, 6));

    const second = new Collector();
    const f2 = manual(path, second, { fromPosition: saved });
    await f2.started;
    expect(second.texts).toEqual(expected(4, 6));
    expect(second.lines.map((l) => l.line)).toEqual([4, 5, 6]);
    expect(second.lines[0]!.offset).toBe(saved.offset);
    expect(second.eventsOf('opened')[0]).toMatchObject({ offset: saved.offset, resumed: true });
  });

  it('should count the lines before a saved position that has no line number', async () => {
    const path = join(freshDir(), 'mail.log');
    writeFileSync(path, lines(1, 5));
    const fingerprint = streamFingerprint(await sniffFile(path));
    const c = new Collector();
    const f = manual(path, c, { fromPosition: { fingerprint, offset: Buffer.byteLength(lines(1, 3)) } });
    await f.started;
    expect(c.texts).toEqual(expected(4, 5));
    expect(c.lines.map((l) => l.line)).toEqual([4, 5]);
    expect(f.position).toEqual({ fingerprint, offset: Buffer.byteLength(lines(1, 5)), line: 6 });
  });

  it('should cut an overlong line like readLines and keep memory bounded', async () => {
    const path = join(freshDir(), 'mail.log');
    writeFileSync(path, `${L(1)}\n${'x'.repeat(5000)}\n${L(2)}\n`);
    const c = new Collector();
    await manual(path, c, { maxLineBytes: 1024 }).started;
    expect(c.texts).toEqual([L(1), 'x'.repeat(1024), L(2)]);
    expect(c.lines.map((l) => l.truncated)).toEqual([false, true, false]);
  });

  it('should deliver a batch again after the consumer failed, from the last position it accepted', async () => {
    const path = join(freshDir(), 'mail.log');
    writeFileSync(path, lines(1, 2));
    const c = new Collector();
    const f = manual(path, c);
    await f.started;
    appendFileSync(path, lines(3, 4));
    c.failNext = new Error('database is locked');
    await f.check();
    expect(c.texts).toEqual(expected(1, 2));
    expect(c.eventsOf('error').map((e) => e.message)).toEqual(['consumer failed: database is locked']);
    await f.check();
    expect(c.texts).toEqual(expected(1, 4));
    expect(c.lines.map((l) => l.line)).toEqual([1, 2, 3, 4]);
  });

  it('should report a missing path and read it from the start once created', async () => {
    const path = join(freshDir(), 'mail.log');
    const c = new Collector();
    const f = manual(path, c);
    await f.started;
    await f.check();
    expect(c.events).toEqual([{ type: 'missing', path }]);
    writeFileSync(path, lines(1, 2));
    await f.check();
    expect(c.texts).toEqual(expected(1, 2));
  });

  it('should refuse a compressed file at the path', async () => {
    const path = join(freshDir(), 'mail.log');
    writeFileSync(path, gzipSync(lines(1, 2)));
    const c = new Collector();
    await manual(path, c).started;
    expect(c.lines).toEqual([]);
    expect(c.events).toEqual([{ type: 'unsupported', path, reason: 'compressed (gzip)' }]);
  });
});

describe('followFile: rotation', () => {
  it('should read a renamed file to its end, then the new file from 0 (rename + create)', async () => {
    const dir = freshDir();
    const path = join(dir, 'mail.log');
    writeFileSync(path, lines(1, 2));
    const c = new Collector();
    const f = manual(path, c);
    await f.started;
    const writer = openSync(path, 'a');
    renameSync(path, join(dir, 'mail.log.1'));
    // The writer has not reopened yet: these land in the rotated file.
    writeSync(writer, lines(3, 4));
    await f.check();
    expect(c.texts).toEqual(expected(1, 4));
    writeFileSync(path, lines(5, 6));
    writeSync(writer, lines(7, 7));
    closeSync(writer);
    await f.check();
    expect(c.texts).toEqual([L(1), L(2), L(3), L(4), L(7), L(5), L(6)]);
    expect(c.lines.map((l) => l.line)).toEqual([1, 2, 3, 4, 5, 1, 2]);
    const newFp = c.lines[5]!.fingerprint;
    expect(newFp).not.toBe(c.lines[0]!.fingerprint);
    expect(newFp).toBe(streamFingerprint(await sniffFile(path)));
    expect(c.eventsOf('rotated')).toEqual([
      {
        type: 'rotated',
        path,
        how: 'renamed',
        fingerprint: c.lines[0]!.fingerprint,
        offset: Buffer.byteLength(lines(1, 4) + lines(7, 7)),
      },
    ]);
  });

  it('should finish a rotated file from its open handle after it was compressed and unlinked', async () => {
    const dir = freshDir();
    const path = join(dir, 'mail.log');
    writeFileSync(path, lines(1, 2));
    const c = new Collector();
    const f = manual(path, c);
    await f.started;
    renameSync(path, join(dir, 'mail.log.1'));
    appendFileSync(join(dir, 'mail.log.1'), lines(3, 5));
    writeFileSync(path, lines(6, 6));
    // logrotate's compress: mail.log.1 → mail.log.1.gz, then the plain one is removed.
    writeFileSync(join(dir, 'mail.log.1.gz'), gzipSync(readFileSync(join(dir, 'mail.log.1'))));
    unlinkSync(join(dir, 'mail.log.1'));
    await f.check();
    expect(c.texts).toEqual(expected(1, 6));
    expect(c.lines.map((l) => l.file)).toEqual([path, path, path, path, path, path]);
    expect(c.eventsOf('rotated').map((e) => e.how)).toEqual(['renamed']);
  });

  it('should keep reading a rotated file during the grace period, then switch', async () => {
    const dir = freshDir();
    const path = join(dir, 'mail.log');
    writeFileSync(path, lines(1, 1));
    const c = new Collector();
    const f = manual(path, c, { rotationGraceMs: 3_600_000 });
    await f.started;
    renameSync(path, join(dir, 'mail.log.1'));
    writeFileSync(path, lines(10, 10));
    appendFileSync(join(dir, 'mail.log.1'), lines(2, 2));
    await f.check();
    appendFileSync(join(dir, 'mail.log.1'), lines(3, 3));
    await f.check();
    // Still within the grace period: the new file waits.
    expect(c.texts).toEqual(expected(1, 3));
    expect(c.eventsOf('rotated')).toEqual([]);
  });

  it('should read the rest of a copytruncated file from its copy, then the file again from 0', async () => {
    const dir = freshDir();
    const path = join(dir, 'mail.log');
    writeFileSync(path, lines(1, 2));
    const c = new Collector();
    const f = manual(path, c);
    await f.started;
    appendFileSync(path, `${lines(3, 4)}${L(5).slice(0, 10)}`);
    // logrotate copytruncate: copy, then truncate; the writer goes on at the start of the file.
    copyFileSync(path, join(dir, 'mail.log.1'));
    appendFileSync(join(dir, 'mail.log.1'), `${L(5).slice(10)}\n`);
    truncateSync(path, 0);
    appendFileSync(path, lines(6, 6));
    await f.check();
    expect(c.texts).toEqual(expected(1, 6));
    expect(c.lines.map((l) => l.file)).toEqual([
      path,
      path,
      join(dir, 'mail.log.1'),
      join(dir, 'mail.log.1'),
      join(dir, 'mail.log.1'),
      path,
    ]);
    expect(c.lines.map((l) => l.line)).toEqual([1, 2, 3, 4, 5, 1]);
    const oldFp = c.lines[0]!.fingerprint;
    expect(c.lines.slice(0, 5).every((l) => l.fingerprint === oldFp)).toBe(true);
    expect(c.eventsOf('recovered')).toEqual([
      {
        type: 'recovered',
        path,
        file: join(dir, 'mail.log.1'),
        fingerprint: oldFp,
        from: Buffer.byteLength(lines(1, 2)),
        to: Buffer.byteLength(lines(1, 5)),
      },
    ]);
    expect(c.eventsOf('rotated').map((e) => e.how)).toEqual(['truncated']);
    expect(c.eventsOf('lost')).toEqual([]);
  });

  it('should find the copy of a copytruncated file once it is compressed', async () => {
    const dir = freshDir();
    const path = join(dir, 'mail.log');
    writeFileSync(path, lines(1, 2));
    const c = new Collector();
    const f = manual(path, c);
    await f.started;
    appendFileSync(path, lines(3, 4));
    writeFileSync(join(dir, 'mail.log.1.gz'), gzipSync(readFileSync(path)));
    writeFileSync(join(dir, 'mail.log.2.gz'), gzipSync(lines(100, 120)));
    truncateSync(path, 0);
    await f.check();
    expect(c.texts).toEqual(expected(1, 4));
    expect(c.lines[2]!.file).toBe(join(dir, 'mail.log.1.gz'));
    appendFileSync(path, lines(5, 5));
    await f.check();
    expect(c.texts).toEqual(expected(1, 5));
  });

  it('should say lines may be lost when a truncated file has no copy, and deliver its partial line as cut', async () => {
    const dir = freshDir();
    const path = join(dir, 'mail.log');
    writeFileSync(path, `${lines(1, 2)}${L(3).slice(0, 12)}`);
    const c = new Collector();
    const f = manual(path, c);
    await f.started;
    truncateSync(path, 0);
    await f.check();
    expect(c.texts).toEqual([...expected(1, 2), L(3).slice(0, 12)]);
    expect(c.lines[2]!.truncated).toBe(true);
    expect(c.eventsOf('lost')).toEqual([
      {
        type: 'lost',
        path,
        fingerprint: c.lines[0]!.fingerprint,
        offset: Buffer.byteLength(lines(1, 2)),
        reason: 'file truncated and no rotated copy with the rest of the stream was found',
      },
    ]);
    appendFileSync(path, lines(4, 4));
    await f.check();
    expect(c.texts.slice(3)).toEqual(expected(4, 4));
  });

  it('should notice a file rewritten in place past our offset (a new first line)', async () => {
    const dir = freshDir();
    const path = join(dir, 'mail.log');
    writeFileSync(path, lines(1, 2));
    const c = new Collector();
    const f = manual(path, c);
    await f.started;
    // Same inode, truncated and written again, longer than what we had read.
    writeFileSync(path, lines(50, 55));
    await f.check();
    expect(c.texts).toEqual([...expected(1, 2), ...expected(50, 55)]);
    expect(c.lines[2]!.offset).toBe(0);
    expect(c.eventsOf('rotated').map((e) => e.how)).toEqual(['replaced']);
  });

  it('should report a deletion, read what is still written to the deleted file, and follow a re-created one', async () => {
    const dir = freshDir();
    const path = join(dir, 'mail.log');
    writeFileSync(path, lines(1, 1));
    const c = new Collector();
    const f = manual(path, c);
    await f.started;
    const writer = openSync(path, 'a');
    unlinkSync(path);
    writeSync(writer, lines(2, 2));
    await f.check();
    expect(c.texts).toEqual(expected(1, 2));
    expect(c.eventsOf('deleted')).toEqual([{ type: 'deleted', path }]);
    writeSync(writer, lines(3, 3));
    closeSync(writer);
    writeFileSync(path, lines(4, 4));
    await f.check();
    expect(c.texts).toEqual(expected(1, 4));
    expect(c.lines[3]).toMatchObject({ offset: 0, line: 1 });
  });

  it('should pick up, at restart, the rest of a stream rotated and compressed while stopped', async () => {
    const dir = freshDir();
    const path = join(dir, 'mail.log');
    writeFileSync(path, lines(1, 2));
    const first = new Collector();
    const f1 = manual(path, first);
    await f1.started;
    await f1.close();
    appendFileSync(path, lines(3, 4));
    writeFileSync(join(dir, 'mail.log.1.gz'), gzipSync(readFileSync(path)));
    unlinkSync(path);
    writeFileSync(path, lines(5, 6));

    const second = new Collector();
    const { fingerprint, offset } = first.lastPosition!;
    await manual(path, second, { fromPosition: { fingerprint, offset } }).started;
    expect(second.texts).toEqual(expected(3, 6));
    expect(second.lines.map((l) => l.line)).toEqual([3, 4, 1, 2]);
    expect(second.lines[0]).toMatchObject({
      file: join(dir, 'mail.log.1.gz'),
      offset: first.lastPosition!.offset,
    });
  });

  it('should pick up, at restart, a stream rotated while stopped whose new file is not created yet', async () => {
    const dir = freshDir();
    const path = join(dir, 'current');
    writeFileSync(path, lines(1, 1));
    const first = new Collector();
    const f1 = manual(path, first);
    await f1.started;
    await f1.close();
    appendFileSync(path, lines(2, 2));
    // multilog's rotation: current → @<tai64n>.s
    renameSync(path, join(dir, '@4000000069298f1c2a2b3c4d.s'));
    const second = new Collector();
    const f2 = manual(path, second, { fromPosition: first.lastPosition! });
    await f2.started;
    expect(second.texts).toEqual(expected(2, 2));
    expect(second.eventsOf('missing')).toEqual([{ type: 'missing', path }]);
    writeFileSync(path, lines(3, 3));
    await f2.check();
    expect(second.texts).toEqual(expected(2, 3));
  });

  it('should say so when a saved stream is nowhere to be found', async () => {
    const dir = freshDir();
    const path = join(dir, 'mail.log');
    writeFileSync(path, lines(7, 8));
    const c = new Collector();
    await manual(path, c, {
      fromPosition: { fingerprint: 'fp:000000000000000000000000', offset: 99, line: 3 },
    }).started;
    expect(c.texts).toEqual(expected(7, 8));
    expect(c.eventsOf('lost')).toEqual([
      {
        type: 'lost',
        path,
        fingerprint: 'fp:000000000000000000000000',
        offset: 99,
        reason: 'the saved stream is no longer at the path and no rotated copy of it was found',
      },
    ]);
  });
});

/** The local file system as SFTP shows it: no dev/ino, times in whole seconds, no watch. */
const withoutInodes: FollowFs = {
  chunkBytes: 4096,
  async stat(path) {
    const info = await localFs.stat(path);
    return info && strip(info);
  },
  async open(path) {
    const handle = await localFs.open(path);
    return { read: handle.read, close: handle.close, stat: async () => strip(await handle.stat()) };
  },
  readdir: localFs.readdir,
};

function strip(info: FileInfo): FileInfo {
  return { size: info.size, mtimeMs: Math.floor(info.mtimeMs / 1000) * 1000, isFile: info.isFile };
}

describe('followFile without inodes (as over SFTP)', () => {
  it('should tell a new, smaller file at the path by its size and first line', async () => {
    const dir = freshDir();
    const path = join(dir, 'mail.log');
    writeFileSync(path, lines(1, 5));
    const c = new Collector();
    const f = manual(path, c, { fs: withoutInodes });
    await f.started;
    renameSync(path, join(dir, 'mail.log.1'));
    appendFileSync(join(dir, 'mail.log.1'), lines(6, 6));
    writeFileSync(path, lines(7, 7));
    await f.check();
    expect(c.texts).toEqual(expected(1, 7));
    expect(c.lines.map((l) => l.line)).toEqual([1, 2, 3, 4, 5, 6, 1]);
    expect(c.eventsOf('rotated').map((e) => e.how)).toEqual(['renamed']);
  });

  it('should tell a new file that already outgrew the old one by its first line, at the periodic identity check', async () => {
    const dir = freshDir();
    const path = join(dir, 'mail.log');
    writeFileSync(path, lines(1, 1));
    const c = new Collector();
    const f = manual(path, c, { fs: withoutInodes, identityCheckMs: 50 });
    await f.started;
    renameSync(path, join(dir, 'mail.log.1'));
    // Bigger and not older: without inodes only the first bytes show that this is another file.
    writeFileSync(path, lines(2, 9));
    await waitFor(() => {
      void f.check();
      return c.lines.length >= 9;
    }, 'the new file');
    await f.check();
    expect(c.texts).toEqual(expected(1, 9));
    expect(c.lines.map((l) => l.line)).toEqual([1, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('should follow copytruncate by the shrunken size', async () => {
    const dir = freshDir();
    const path = join(dir, 'mail.log');
    writeFileSync(path, lines(1, 2));
    const c = new Collector();
    const f = manual(path, c, { fs: withoutInodes });
    await f.started;
    appendFileSync(path, lines(3, 3));
    copyFileSync(path, join(dir, 'mail.log.1'));
    truncateSync(path, 0);
    appendFileSync(path, lines(4, 4));
    await f.check();
    expect(c.texts).toEqual(expected(1, 4));
    expect(c.eventsOf('rotated').map((e) => e.how)).toEqual(['truncated']);
  });
});

describe('followFile in real time (fs.watch + poll)', () => {
  it('should follow appends and a rename + create rotation as they happen', async () => {
    const dir = freshDir();
    const path = join(dir, 'mail.log');
    writeFileSync(path, lines(1, 2));
    const c = new Collector();
    const f = followFile(path, { onLines: c.onLines, onEvent: c.onEvent, rotationGraceMs: 100 });
    open.push(f);
    await waitFor(() => c.lines.length === 2, 'the existing lines');
    appendFileSync(path, lines(3, 3));
    await waitFor(() => c.lines.length === 3, 'an appended line');
    renameSync(path, join(dir, 'mail.log.1'));
    writeFileSync(path, lines(4, 5));
    await waitFor(() => c.lines.length === 5, 'the new file after rotation');
    expect(c.texts).toEqual(expected(1, 5));
    expect(c.lines.map((l) => l.line)).toEqual([1, 2, 3, 1, 2]);
  });
});

describe('followFiles (globs)', () => {
  it('should follow every match, new matches on rescan, and plain paths even while missing', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'a.log'), lines(1, 1));
    writeFileSync(join(dir, 'b.log'), lines(2, 2));
    writeFileSync(join(dir, 'b.log.1'), lines(3, 3));
    writeFileSync(join(dir, '.hidden.log'), lines(4, 4));
    const c = new Collector();
    const set = followFiles([join(dir, '*.log'), join(dir, 'later', 'current')], {
      onLines: c.onLines,
      onEvent: c.onEvent,
      pollIntervalMs: 3_600_000,
      rescanIntervalMs: 3_600_000,
      watch: false,
    });
    open.push(set);
    await set.started;
    expect(set.paths).toEqual([join(dir, 'a.log'), join(dir, 'b.log'), join(dir, 'later', 'current')]);
    expect(c.texts.sort()).toEqual([L(1), L(2)].sort());
    writeFileSync(join(dir, 'c.log'), lines(5, 5));
    await set.scan();
    await set.follower(join(dir, 'c.log'))!.started;
    expect(c.texts).toContain(L(5));
    expect(c.eventsOf('missing')).toEqual([{ type: 'missing', path: join(dir, 'later', 'current') }]);
  });
});
