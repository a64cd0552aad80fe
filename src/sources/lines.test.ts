import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  LineReadError,
  LineSplitter,
  looksBinary,
  type RawLine,
  type ReadLinesError,
  type ReadLinesOptions,
  readLineBatches,
  readLines,
  sniffFile,
} from './lines.js';

const dir = mkdtempSync(join(tmpdir(), 'mailtrace-lines-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
function tempFile(content: Buffer | string, name = `f${fileCount++}.log`): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

async function collect(path: string, opts: ReadLinesOptions = {}): Promise<RawLine[]> {
  const out: RawLine[] = [];
  for await (const line of readLines(path, opts)) out.push({ ...line, bytes: Buffer.from(line.bytes) });
  return out;
}

function texts(lines: RawLine[]): string[] {
  return lines.map((l) => l.bytes.toString('latin1'));
}

// Real lines from /work/shared/corpus/qmail/vipwoody-qmail-send.multilog.log.gz.
const MULTILOG = readFileSync(new URL('../framing/fixtures/multilog.log', import.meta.url), 'utf8')
  .split('\n')
  .filter((l) => l.startsWith('@'));

describe('readLines on plain files', () => {
  it('splits on LF, strips CR, gives offsets and 1-based line numbers, keeps a last unterminated line', async () => {
    const path = tempFile('alpha\r\nbeta\n\ngamma\r\ndelta');
    const lines = await collect(path);
    expect(texts(lines)).toEqual(['alpha', 'beta', '', 'gamma', 'delta']);
    expect(lines.map((l) => l.offset)).toEqual([0, 7, 12, 13, 20]);
    expect(lines.map((l) => l.line)).toEqual([1, 2, 3, 4, 5]);
    expect(lines.every((l) => !l.truncated)).toBe(true);
  });

  it('gives nothing for an empty file and no phantom line after a final LF', async () => {
    expect(await collect(tempFile(''))).toEqual([]);
    expect(texts(await collect(tempFile('one\n')))).toEqual(['one']);
  });

  it('bounds a 1 MB line and keeps its neighbours intact', async () => {
    const big = 'x'.repeat(1024 * 1024);
    const path = tempFile(`before\n${big}\r\nafter\n`);
    const lines = await collect(path);
    expect(lines.length).toBe(3);
    expect(texts(lines)[0]).toBe('before');
    expect(lines[1]!.bytes.length).toBe(64 * 1024);
    expect(lines[1]!.truncated).toBe(true);
    expect(lines[1]!.offset).toBe(7);
    expect(lines[1]!.line).toBe(2);
    expect(texts(lines)[2]).toBe('after');
    expect(lines[2]!.offset).toBe(7 + big.length + 2);
    expect(lines[2]!.line).toBe(3);
    expect(lines[2]!.truncated).toBe(false);
  });

  it('honours maxLineBytes; a line of exactly the limit plus CR is not truncated', async () => {
    const path = tempFile('12345\r\n123456\nabc');
    const lines = await collect(path, { maxLineBytes: 5 });
    expect(texts(lines)).toEqual(['12345', '12345', 'abc']);
    expect(lines.map((l) => l.truncated)).toEqual([false, true, false]);
  });

  it('gives the same lines whatever the chunk size', async () => {
    const content = `${MULTILOG.join('\r\n')}\n\n${'y'.repeat(300)}\nend`;
    const path = tempFile(content);
    const reference = await collect(path, { maxLineBytes: 100 });
    for (const chunkBytes of [1, 2, 3, 7, 64, 99, 100, 101, 4096]) {
      const lines = await collect(path, { maxLineBytes: 100, chunkBytes });
      expect(lines).toEqual(reference);
    }
    expect(reference.length).toBe(MULTILOG.length + 3);
    expect(reference[MULTILOG.length + 1]!.truncated).toBe(true);
    expect(reference[MULTILOG.length + 1]!.bytes.length).toBe(100);
  });

  it('yields batches, one per chunk', async () => {
    const path = tempFile(`${MULTILOG.join('\n')}\n`);
    const batches: number[] = [];
    for await (const batch of readLineBatches(path)) batches.push(batch.length);
    expect(batches).toEqual([MULTILOG.length]);
  });
});

describe('readLines on gzip files', () => {
  const plain = `${MULTILOG.join('\n')}\n`;

  it('detects gzip by magic bytes, whatever the name', async () => {
    const gz = gzipSync(plain);
    const named = tempFile(gz, 'current.log');
    const lines = await collect(named);
    expect(texts(lines)).toEqual(MULTILOG);
    expect(lines[1]!.offset).toBe(MULTILOG[0]!.length + 1);
  });

  it('reads a .gz file holding plain text as plain text', async () => {
    expect(texts(await collect(tempFile(plain, 'mail.log.1.gz')))).toEqual(MULTILOG);
  });

  it('reads concatenated gzip members', async () => {
    const path = tempFile(Buffer.concat([gzipSync('one\ntw'), gzipSync('o\nthree\n')]));
    expect(texts(await collect(path))).toEqual(['one', 'two', 'three']);
  });

  it('keeps the lines before a truncation and reports the error', async () => {
    const many = Array.from({ length: 20000 }, (_, i) => `${MULTILOG[i % MULTILOG.length]} #${i}`).join('\n');
    const gz = gzipSync(many);
    const path = tempFile(gz.subarray(0, Math.floor(gz.length / 2)));
    const errors: ReadLinesError[] = [];
    const lines = await collect(path, { onError: (e) => errors.push(e) });
    expect(errors.length).toBe(1);
    const error = errors[0]!;
    expect(error.kind).toBe('gzip');
    expect(error.path).toBe(path);
    expect(error.message).toBe(`gzip data truncated after ${error.linesRead} lines`);
    expect(error.linesRead).toBeGreaterThan(1000);
    // Every complete line came through intact, plus the cut one, marked truncated.
    expect(lines.length).toBe(error.linesRead + 1);
    const full = many.split('\n');
    for (let i = 0; i < error.linesRead; i += 997) expect(lines[i]!.bytes.toString()).toBe(full[i]);
    expect(lines[error.linesRead - 1]!.truncated).toBe(false);
    expect(lines[error.linesRead]!.truncated).toBe(true);
  });

  it('without onError, throws a LineReadError after the good lines', async () => {
    const gz = gzipSync('first\nsecond\nthird\n'.repeat(2000));
    const path = tempFile(gz.subarray(0, gz.length - 12));
    let count = 0;
    let thrown: unknown;
    try {
      for await (const _ of readLines(path)) count++;
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(LineReadError);
    expect((thrown as LineReadError).details.kind).toBe('gzip');
    expect(count).toBeGreaterThanOrEqual((thrown as LineReadError).details.linesRead);
    expect(count).toBeGreaterThan(5000);
  });

  it('reports corrupt gzip data', async () => {
    const gz = Buffer.from(gzipSync(plain.repeat(50)));
    for (let i = 20; i < 60; i++) gz[i] = 0xff;
    const errors: ReadLinesError[] = [];
    await collect(tempFile(gz), { onError: (e) => errors.push(e) });
    expect(errors.length).toBe(1);
    expect(errors[0]!.kind).toBe('gzip');
    expect(errors[0]!.message).toMatch(/^gzip data (corrupt|truncated) after \d+ lines/);
  });

  it('reports a missing file as an io error', async () => {
    const errors: ReadLinesError[] = [];
    const lines = await collect(join(dir, 'does-not-exist.log'), { onError: (e) => errors.push(e) });
    expect(lines).toEqual([]);
    expect(errors[0]!.kind).toBe('io');
    expect(errors[0]!.message).toMatch(/ENOENT/);
  });
});

describe('LineSplitter', () => {
  it('resumes offsets and line numbers from a start position and says where the next line starts', () => {
    const splitter = new LineSplitter(64, { offset: 1000, line: 42 });
    expect(splitter.nextLineOffset).toBe(1000);
    const lines = splitter.push(Buffer.from('alpha\nbe'));
    expect(lines.map((l) => [l.bytes.toString(), l.offset, l.line])).toEqual([['alpha', 1000, 42]]);
    expect([splitter.nextLineOffset, splitter.nextLineNumber, splitter.bytesSeen]).toEqual([1006, 43, 1008]);
    expect(splitter.push(Buffer.from('ta\n')).map((l) => [l.bytes.toString(), l.offset, l.line])).toEqual([
      ['beta', 1006, 43],
    ]);
    expect([splitter.nextLineOffset, splitter.nextLineNumber]).toEqual([1011, 44]);
  });

  it('keeps a CR split from its LF across chunks out of the line', () => {
    const splitter = new LineSplitter(10);
    expect(splitter.push(Buffer.from('abc\r'))).toEqual([]);
    const [line] = splitter.push(Buffer.from('\nxyz'));
    expect(line!.bytes.toString()).toBe('abc');
    expect(splitter.end()!.bytes.toString()).toBe('xyz');
    expect(splitter.completeLines).toBe(1);
  });

  it('never holds more than the limit of an endless line', () => {
    const splitter = new LineSplitter(16);
    const out: RawLine[] = [];
    for (let i = 0; i < 1000; i++) out.push(...splitter.push(Buffer.alloc(1000, 0x61)));
    out.push(...splitter.push(Buffer.from('\nok\n')));
    expect(out.map((l) => [l.bytes.length, l.truncated, l.line, l.offset])).toEqual([
      [16, true, 1, 0],
      [2, false, 2, 1_000_001],
    ]);
  });
});

describe('sniffFile', () => {
  it('describes a plain log and gives its first non-empty line', async () => {
    const path = tempFile(`\n\r\n${MULTILOG[0]}\r\n${MULTILOG[1]}\n`);
    const sniff = await sniffFile(path);
    expect(sniff.compressed).toBe(false);
    expect(sniff.binary).toBe(false);
    expect(sniff.firstLine?.toString()).toBe(MULTILOG[0]);
    expect(sniff.size).toBe(Buffer.byteLength(`\n\r\n${MULTILOG[0]}\r\n${MULTILOG[1]}\n`));
    expect(sniff.mtimeMs).toBeGreaterThan(0);
  });

  it('looks inside gzip files', async () => {
    const sniff = await sniffFile(tempFile(gzipSync(MULTILOG.join('\n'))));
    expect(sniff.compressed).toBe(true);
    expect(sniff.binary).toBe(false);
    expect(sniff.firstLine?.toString()).toBe(MULTILOG[0]);
  });

  it('says binary for NUL-filled or random data, not for a few NULs in text', async () => {
    let seed = 7;
    const random = Buffer.alloc(8192);
    for (let i = 0; i < random.length; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      random[i] = seed & 0xff;
    }
    expect((await sniffFile(tempFile(random))).binary).toBe(true);
    expect((await sniffFile(tempFile(Buffer.alloc(4096)))).binary).toBe(true);
    const text = Buffer.concat([Buffer.alloc(20), Buffer.from(`${MULTILOG.join('\n')}\n`)]);
    expect((await sniffFile(tempFile(text))).binary).toBe(false);
    expect(looksBinary(Buffer.alloc(0))).toBe(false);
  });

  it('handles an empty file', async () => {
    const sniff = await sniffFile(tempFile(''));
    expect(sniff).toMatchObject({ compressed: false, binary: false, size: 0 });
    expect(sniff.firstLine).toBeUndefined();
  });
});
