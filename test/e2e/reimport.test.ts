import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importFiles } from '../../src/pipeline/import.js';
import { openStore, type Store } from '../../src/store/index.js';

/**
 * A postmaster imports the same logs again as they rotate: `mail.log` today, then tomorrow `mail.log.1`
 * (yesterday's file, grown and renamed) and a new `mail.log`, later `mail.log.2.gz`. Lines are known by
 * the stream they belong to (a fingerprint of its first line) and their offset, not by path: nothing is
 * stored twice, and a new file at an old path is read in full.
 */
let dir: string;
let store: Store;
const settings = { format: 'auto' as const, encoding: 'auto' };

function message(minute: number, id: string): string {
  const t = `Nov 28 10:${String(minute).padStart(2, '0')}`;
  return [
    `${t}:00 mx1 postfix/pickup[100]: ${id}: uid=1000 from=<alice@example.org>`,
    `${t}:00 mx1 postfix/cleanup[101]: ${id}: message-id=<${id}@example.org>`,
    `${t}:01 mx1 postfix/qmgr[102]: ${id}: from=<alice@example.org>, size=321, nrcpt=1 (queue active)`,
    `${t}:02 mx1 postfix/local[103]: ${id}: to=<bob@example.org>, relay=local, delay=2, delays=1/0/0/1, dsn=2.0.0, status=sent (delivered to mailbox)`,
    `${t}:02 mx1 postfix/qmgr[102]: ${id}: removed`,
    '',
  ].join('\n');
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mailtrace-rotate-'));
  store = await openStore(join(dir, 'rotate.db'));
  await store.migrate();
});

afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('importing rotated logs again', () => {
  it('should store each line once across growth, rename, compression and a new file at the same path', async () => {
    const log = join(dir, 'mail.log');
    writeFileSync(log, message(1, 'AAAAAAAAA1'));
    await importFiles({ files: [log], store, settings });
    expect(await store.counts()).toMatchObject({ messages: 1, events: 5 });

    // The file grew, then was rotated; a new mail.log began.
    writeFileSync(log, message(1, 'AAAAAAAAA1') + message(2, 'BBBBBBBBB2'));
    renameSync(log, join(dir, 'mail.log.1'));
    writeFileSync(log, message(3, 'CCCCCCCCC3'));
    await importFiles({ files: [log, join(dir, 'mail.log.1')], store, settings });
    expect(await store.counts()).toMatchObject({ messages: 3, events: 15 });

    // One more rotation: mail.log.1 is compressed into mail.log.2.gz.
    const rotated = `${message(1, 'AAAAAAAAA1')}${message(2, 'BBBBBBBBB2')}`;
    rmSync(join(dir, 'mail.log.1'));
    writeFileSync(join(dir, 'mail.log.2.gz'), gzipSync(rotated));
    await importFiles({ files: [join(dir, 'mail.log.2.gz'), log], store, settings });
    expect(await store.counts()).toMatchObject({ messages: 3, events: 15 });
    for (const id of ['AAAAAAAAA1', 'BBBBBBBBB2', 'CCCCCCCCC3']) {
      const [m] = await store.trace({ by: 'message-id', value: `${id}@example.org` });
      expect(m?.events).toHaveLength(5);
      expect(m?.deliveries[0]?.attempts).toBe(1);
    }
  });
});
