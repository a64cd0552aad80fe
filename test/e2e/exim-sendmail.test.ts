import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueryKind } from '../../src/core/model.js';
import { CORPUS_DIR, hasCorpus } from '../../src/parsers/testing/corpus.js';
import { type ImportSummary, importFiles } from '../../src/pipeline/import.js';
import { openStore, type Store } from '../../src/store/index.js';
import { type TraceMessageJson, toContract } from '../../src/trace/contract.js';

/**
 * Real Exim and Sendmail logs from the corpus, imported into a SQLite store and traced: their messages
 * come out of `trace --json` (toContract) with the same fields a Postfix message has — sender,
 * message-id, client, size, per-recipient status, relay, dsn and reason — and they join Postfix's when
 * Sendmail hands a message to it.
 */
let dir: string;
let store: Store;
let exim: ImportSummary;
let sendmail: ImportSummary;

async function trace(by: QueryKind, value: string): Promise<TraceMessageJson[]> {
  return (await store.trace({ by, value })).map((m) => toContract(m));
}

async function only(by: QueryKind, value: string): Promise<TraceMessageJson> {
  const found = await trace(by, value);
  expect(found).toHaveLength(1);
  return found[0]!;
}

beforeAll(async () => {
  if (!hasCorpus) return;
  dir = mkdtempSync(join(tmpdir(), 'mailtrace-exim-sendmail-'));
  store = await openStore(join(dir, 'trace.db'));
  await store.migrate();
  // Exim's main log names no host: the import says which one it is.
  exim = await importFiles({
    files: [
      `${CORPUS_DIR}/exim/perericr-ddgrey-mainlog`,
      `${CORPUS_DIR}/exim/2ndy-RaspIM-var-log-exim4-mainlog`,
    ],
    store,
    settings: { format: 'auto', encoding: 'auto', host: 'mx', timeZone: 'UTC' },
  });
  sendmail = await importFiles({
    files: [
      `${CORPUS_DIR}/sendmail/Parse-Syslog-Mail/sendmail-plain.log`,
      `${CORPUS_DIR}/sendmail/hirstar-EMAIL_MONITOR-mail.log.gz`,
      `${CORPUS_DIR}/postfix/MensEtManus-gomaillex-maillog`,
    ],
    store,
    settings: { format: 'auto', encoding: 'auto', timeZone: 'UTC' },
  });
});

afterAll(async () => {
  if (!hasCorpus) return;
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!hasCorpus)('Exim and Sendmail logs, traced', () => {
  it('recognises every Exim line and frames none as invalid', () => {
    expect(exim.lines).toBe(4246);
    expect(exim.invalid).toBe(0);
    expect(exim.unknown).toBe(0);
    const counts = exim.counts.filter((c) => c.program === 'exim');
    expect(counts.reduce((sum, c) => sum + c.parsed, 0)).toBe(4246);
  });

  it('traces an Exim message: arrival, two redirected deliveries, Completed', async () => {
    const m = await only('message-id', 'CAAGSduBGXRODDmmno9mSoAVSUJujvsX9mpnttPKNOfFJLB7qwg@mail.gmail.com');
    expect(m).toMatchObject({
      kind: 'message',
      sender: 'alexeipp@gmail.com',
      size: 6468,
      clientIp: '209.85.208.47',
      clientName: 'mail-ed1-f47.google.com',
      partial: false,
      complete: true,
      queueIds: [{ host: 'mx', queueId: '1j5IrW-0006y7-6W' }],
      firstSeen: '2020-02-22T01:41:44.000Z',
      lastSeen: '2020-02-22T01:42:30.000Z',
    });
    expect(m.deliveries.map((d) => [d.recipient, d.origRecipient, d.status, d.relay, d.attempts])).toEqual([
      [
        'per@rosnix.net',
        'sverigetempot-registration@foreningsteknik.se',
        'delivered',
        'dront.rosnix[192.168.120.5]',
        1,
      ],
      [
        'jonas@westaros.com',
        'sverigetempot-registration@foreningsteknik.se',
        'delivered',
        'westaros.com[85.118.202.151]',
        1,
      ],
    ]);
    expect(m.events.map((e) => e.kind)).toEqual(['queue-start', 'delivery', 'delivery', 'queue-removed']);
    expect(m.events.every((e) => e.program === 'exim' && e.host === 'mx')).toBe(true);
    expect(await trace('recipient', 'jonas@westaros.com')).toHaveLength(1);
  });

  it('traces an Exim bounce: the failed recipient, and the bounce message linked to it', async () => {
    const original = await only('queue-id', '1WWj4X-0001Kt-PV');
    expect(original).toMatchObject({
      sender: 'root@raspberrypi',
      size: 839,
      complete: true,
      links: ['delivery status notification 1WWj4Y-0001Kx-0F'],
    });
    expect(original.deliveries).toEqual([
      {
        recipient: 'pi@raspberrypi',
        origRecipient: 'root@raspberrypi',
        status: 'bounced',
        at: '2014-04-06T10:09:01.000Z',
        host: 'mx',
        relay: null,
        mailbox: null,
        dsn: null,
        reason: 'Unrouteable address',
        attempts: 1,
        queueId: '1WWj4X-0001Kt-PV',
      },
    ]);
    const bounce = await only('queue-id', '1WWj4Y-0001Kx-0F');
    expect(bounce).toMatchObject({
      sender: '',
      bounceOf: { host: 'mx', queueId: '1WWj4X-0001Kt-PV' },
      partial: false,
      // Frozen, and never thawed in this file.
      complete: false,
    });
    expect(bounce.deliveries.map((d) => [d.recipient, d.status, d.reason])).toEqual([
      ['pi@raspberrypi', 'bounced', 'Unrouteable address'],
    ]);
    expect(bounce.events.map((e) => e.kind)).toContain('queue-admin');
  });

  it('traces Sendmail from the submission queue through the MTA to the remote host', async () => {
    const m = await only('message-id', '200501060139.j061d8Rn000975@jupiter.maddingue.net');
    expect(m.queueIds).toEqual([
      { host: 'jupiter', queueId: 'j061d8Rn000975' },
      { host: 'jupiter', queueId: 'j061d8n5000976' },
    ]);
    expect(m).toMatchObject({
      sender: 'maddingue',
      clientIp: '127.0.0.1',
      partial: false,
      links: ['queued_as'],
    });
    expect(m.deliveries).toEqual([
      {
        recipient: 'cpan-testers@perl.org',
        origRecipient: null,
        status: 'delivered',
        at: expect.stringMatching(/-01-06T02:39:16\.000Z$/),
        host: 'jupiter',
        relay: 'mx.develooper.com[63.251.223.176]',
        mailbox: null,
        dsn: '2.0.0',
        reason: 'Queued! <200501060139.j061d8Rn000975@jupiter.maddingue.net>',
        attempts: 2,
        queueId: 'j061d8n5000976',
      },
    ]);
  });

  it('joins a Sendmail message and the Postfix queue entry it was handed to', async () => {
    const m = await only('message-id', '1404025803.53afbbcb667b9@swift.generated');
    expect(m.queueIds).toEqual([
      { host: 'rhl058', queueId: 'C05A07C2CA0' },
      { host: 'rhl058', queueId: 's5T68YTv003569' },
    ]);
    expect(m).toMatchObject({
      sender: 'no-reply@grooveshark.com',
      clientIp: '127.0.0.1',
      links: ['queued_as'],
    });
    expect(m.deliveries.map((d) => [d.recipient, d.status, d.relay, d.dsn, d.attempts, d.queueId])).toEqual([
      [
        't.k.custom3@gmail.com',
        'delivered',
        'gmail-smtp-in.l.google.com[173.194.77.27]:25',
        '2.0.0',
        2,
        'C05A07C2CA0',
      ],
    ]);
    const programs = new Set(m.events.map((e) => e.program));
    expect([...programs].sort()).toEqual([
      'postfix/cleanup',
      'postfix/qmgr',
      'postfix/smtp',
      'postfix/smtpd',
      'sendmail',
    ]);
    // The same message found by its Sendmail queue id.
    expect((await only('queue-id', 's5T68YTv003569')).messageId).toBe(
      '1404025803.53afbbcb667b9@swift.generated',
    );
  });

  it('traces a Sendmail refusal by its queue id: sender, client, refused recipient', async () => {
    const m = await only('queue-id', 'u3P2R7FT001382');
    expect(m).toMatchObject({ sender: 'oruw@plus.com', clientIp: '157.122.148.246', size: 0 });
    expect(m.deliveries.map((d) => [d.recipient, d.status, d.dsn, d.reason])).toEqual([
      [
        'xiaonanzi11162@163.com',
        'rejected',
        '5.7.1',
        '550 5.7.1 <xiaonanzi11162@163.com>... Relaying denied. IP name lookup failed [157.122.148.246]',
      ],
    ]);
  });

  it('traces a Sendmail local delivery', async () => {
    const m = await only('queue-id', 'u3P2AOYO001292');
    expect(m).toMatchObject({
      messageId: '8e8176031d7b4081a551d08c8f6b442f@katrina.dx18.cc',
      sender: 'mail7-669-8384802.lnnlztgub3jn-86-1-871-668-vip@katrina.dx18.cc',
      size: 17309,
      clientIp: '45.127.37.98',
      clientName: 'katrina.dx18.cc',
    });
    expect(m.deliveries.map((d) => [d.recipient, d.status, d.relay, d.dsn])).toEqual([
      ['sales@arhsvcs.co.uk', 'delivered', 'local', '2.0.0'],
    ]);
  });

  it('gives Exim and Sendmail messages the fields a Postfix message has', async () => {
    const postfix = await only('queue-id', 'C05A07C2CA0');
    const eximMessage = await only('queue-id', '1j5IrW-0006y7-6W');
    const sendmailMessage = await only('queue-id', 'u3P2AOYO001292');
    for (const m of [eximMessage, sendmailMessage]) {
      expect(Object.keys(m).sort()).toEqual(Object.keys(postfix).sort());
      expect(Object.keys(m.deliveries[0]!).sort()).toEqual(Object.keys(postfix.deliveries[0]!).sort());
      for (const field of ['messageId', 'sender', 'size', 'clientIp'] as const)
        expect(m[field]).not.toBeNull();
      for (const d of m.deliveries) {
        expect(d.relay).not.toBeNull();
        expect(d.queueId).not.toBeNull();
      }
    }
    expect(sendmail.unknown).toBeLessThan(5);
  });
});
