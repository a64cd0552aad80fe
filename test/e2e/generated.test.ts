import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageRecord } from '../../src/core/model.js';
import { type GenerateSummary, generate } from '../../src/generator/index.js';
import { importFiles } from '../../src/pipeline/import.js';
import { openStore, type Store } from '../../src/store/index.js';
import { databaseTargets } from '../support/databases.js';
import { compareWithTruth, readTruth, type TruthMessage } from '../support/ground-truth.js';

/**
 * End to end on generated multi-host logs: generate → import → export, compared with the generator's
 * ground truth, on SQLite and PostgreSQL; imported at once, host by host in separate runs (the store
 * joins the pieces), and twice (idempotent).
 */
const targets = await databaseTargets('e2e generated');
let dir: string;
let generated: GenerateSummary;
let truth: TruthMessage[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mailtrace-gen-'));
  generated = await generate({
    messages: 600,
    days: 2,
    seed: 11,
    end: new Date('2026-11-28T00:00:00Z'),
    outDir: dir,
  });
  truth = readTruth(generated.groundTruth);
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  for (const target of targets) await target.dropAll();
});

async function withStore<T>(url: string, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(url);
  await store.migrate();
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

const settings = { format: 'auto' as const, encoding: 'auto' };

async function exportAll(store: Store): Promise<MessageRecord[]> {
  const out: MessageRecord[] = [];
  for await (const m of store.exportMessages({})) out.push(m);
  return out;
}

describe.each(targets)('generated logs on $name', (target) => {
  it.skipIf(!target.enabled)(
    'should correlate every message and recipient as the ground truth says',
    async () => {
      const url = await target.create();
      await withStore(url, async (store) => {
        const summary = await importFiles({ files: generated.files, store, settings });
        expect(summary.unknown + summary.invalid).toBe(0);
        expect(summary.lines).toBe(generated.lines);
        const messages = await exportAll(store);
        expect(compareWithTruth(truth, messages)).toEqual([]);
        expect(messages.filter((m) => m.partial)).toEqual([]);
      });
    },
  );

  it.skipIf(!target.enabled)(
    'should give the same messages when each host is imported in its own run',
    async () => {
      const url = await target.create();
      await withStore(url, async (store) => {
        for (const file of [...generated.files].reverse())
          await importFiles({ files: [file], store, settings });
        expect(compareWithTruth(truth, await exportAll(store))).toEqual([]);
      });
    },
  );

  it.skipIf(!target.enabled)('should store nothing new when the same files are imported again', async () => {
    const url = await target.create();
    await withStore(url, async (store) => {
      await importFiles({ files: generated.files, store, settings });
      const before = await store.counts();
      await importFiles({ files: generated.files, store, settings });
      expect(await store.counts()).toEqual(before);
    });
  });
});
