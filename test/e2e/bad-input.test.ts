import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importFiles } from '../../src/pipeline/import.js';
import { openStore, type Store } from '../../src/store/index.js';

/**
 * Bad input never stops an import and never loses the good lines around it: binary garbage, a
 * truncated gzip, a 1 MB line, a file that is not a log, a missing file.
 */
let dir: string;
let store: Store;

const good = (n: number, id: string) => [
  `Nov 28 10:0${n}:00 mx1 postfix/pickup[100]: ${id}: uid=1000 from=<alice@example.org>`,
  `Nov 28 10:0${n}:00 mx1 postfix/cleanup[101]: ${id}: message-id=<${id}@example.org>`,
  `Nov 28 10:0${n}:01 mx1 postfix/qmgr[102]: ${id}: from=<alice@example.org>, size=321, nrcpt=1 (queue active)`,
  `Nov 28 10:0${n}:02 mx1 postfix/local[103]: ${id}: to=<bob@example.org>, relay=local, delay=2, delays=1/0/0/1, dsn=2.0.0, status=sent (delivered to mailbox)`,
  `Nov 28 10:0${n}:02 mx1 postfix/qmgr[102]: ${id}: removed`,
];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mailtrace-bad-'));
  store = await openStore(join(dir, 'bad.db'));
  await store.migrate();
});

afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function write(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

async function traceId(id: string) {
  return store.trace({ by: 'message-id', value: `${id}@example.org` });
}

describe('bad input', () => {
  it('should keep the good lines around binary garbage and a 1 MB line, and count the bad ones', async () => {
    const garbage = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7919) % 256));
    const content = Buffer.concat([
      Buffer.from(`${good(1, 'A1A1A1A1A1').join('\n')}\n`),
      garbage,
      Buffer.from(`\nNov 28 10:02:00 mx1 postfix/smtpd[5]: warning: ${'x'.repeat(1024 * 1024)}\n`),
      Buffer.from(`${good(3, 'B2B2B2B2B2').join('\n')}\n`),
    ]);
    const summary = await importFiles({
      files: [write('mixed.log', content)],
      store,
      settings: { format: 'auto', encoding: 'auto' },
    });
    expect(summary.files[0]!.problem).toBeUndefined();
    expect(summary.parsed).toBeGreaterThanOrEqual(10);
    expect(summary.invalid + summary.unknown).toBeGreaterThan(0);
    expect((await traceId('A1A1A1A1A1'))[0]!.deliveries[0]!.status).toBe('delivered');
    expect((await traceId('B2B2B2B2B2'))[0]!.deliveries[0]!.status).toBe('delivered');
    const loose = await store.looseLines({ kind: 'invalid' });
    expect(loose.length).toBeGreaterThan(0);
    expect(loose.every((l) => l.text.length <= 70_000)).toBe(true);
  });

  it('should keep the lines of a truncated gzip read before the cut and say the file was cut', async () => {
    const full = gzipSync(
      `${good(4, 'C3C3C3C3C3').join('\n')}\n${good(5, 'D4D4D4D4D4').join('\n')}\n`.repeat(1),
    );
    const truncated = full.subarray(0, full.length - 12);
    const summary = await importFiles({
      files: [write('cut.log.gz', truncated)],
      store,
      settings: { format: 'auto', encoding: 'auto' },
    });
    expect(summary.files[0]!.problem).toMatch(/gzip/);
    expect((await traceId('C3C3C3C3C3'))[0]!.deliveries[0]!.status).toBe('delivered');
  });

  it('should skip a file that is not a log and a missing file with a clear reason, and go on with the others', async () => {
    const png = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      Buffer.alloc(2000),
    ]);
    const summary = await importFiles({
      files: [
        write('picture.log', png),
        join(dir, 'missing.log'),
        write('fine.log', `${good(6, 'E5E5E5E5E5').join('\n')}\n`),
      ],
      store,
      settings: { format: 'auto', encoding: 'auto' },
    });
    expect(summary.files.map((f) => f.problem)).toEqual([
      'not a log file: binary content',
      'no such file',
      undefined,
    ]);
    expect((await traceId('E5E5E5E5E5'))[0]!.deliveries[0]!.status).toBe('delivered');
  });

  it('should read a file of prose as unknown lines, all kept', async () => {
    const summary = await importFiles({
      files: [write('prose.txt', 'This is not a log.\nNeither is this line.\n')],
      store,
      settings: { format: 'auto', encoding: 'auto' },
    });
    expect(summary.lines).toBe(2);
    expect(summary.parsed).toBe(0);
    expect(summary.invalid + summary.unknown).toBe(2);
  });
});
