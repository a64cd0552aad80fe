import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageRecord } from '../../src/core/model.js';
import { CORPUS_DIR, hasCorpus } from '../../src/parsers/testing/corpus.js';
import { type ImportSummary, importFiles } from '../../src/pipeline/import.js';
import { openStore, type Store } from '../../src/store/index.js';

/**
 * A real qmail-send log (daemontools multilog, 50,006 lines of 2010) imported end to end: every line
 * is recognised, messages trace to per-recipient outcomes through qmail's delivery numbers, and a
 * bounce links to the message it reports on through `bounce msg N qp M` → `info msg K: ... qp M`.
 * Queue ids are inode numbers, reused all along the log, so messages are picked by their sender,
 * recipient and size.
 */
const LOG = `${CORPUS_DIR}/qmail/vipwoody-qmail-send.multilog.log.gz`;

let dir: string;
let store: Store;
let summary: ImportSummary;

function only(messages: MessageRecord[], size: number): MessageRecord {
  const found = messages.filter((m) => m.size === size);
  expect(found).toHaveLength(1);
  return found[0]!;
}

function outcomes(message: MessageRecord): [string, string, number, string | null, string | null][] {
  return message.deliveries.map((d) => [d.recipient, d.status, d.attempts, d.dsn, d.relay]);
}

describe.skipIf(!hasCorpus)('qmail-send log end to end', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mailtrace-qmail-'));
    store = await openStore(join(dir, 'qmail.db'));
    await store.migrate();
    summary = await importFiles({
      files: [LOG],
      store,
      settings: { format: 'multilog', encoding: 'auto', host: 'mx', program: 'qmail-send' },
    });
  });

  afterAll(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('recognises every line', async () => {
    expect(summary).toMatchObject({ lines: 50_006, parsed: 50_006, unknown: 0, invalid: 0 });
    expect((await store.counts()).unknownLines).toBe(0);
  });

  it('traces a remote failure and a local forward of the same sender, each to its recipient', async () => {
    const sent = await store.trace({ by: 'sender', value: 'anabie4520@asianet.co.th' });
    // `info msg 2638308: bytes 9752 ... qp 13169`, `delivery 596183: failure: 72.167.238.201_does_not_like_recipient...`
    const bounced = only(sent, 9752);
    expect(bounced.queueIds.map((q) => q.queueId)).toEqual(['2638308']);
    expect(bounced).toMatchObject({ complete: true, partial: false });
    expect(outcomes(bounced)).toEqual([
      ['jertle@coughlin-family.net', 'bounced', 1, '5.1.0', '72.167.238.201'],
    ]);
    expect(bounced.deliveries[0]!.reason).toContain('Address rejected jertle@coughlin-family.net');
    expect(bounced.links).toEqual(
      expect.arrayContaining(['delivery number', 'non-delivery notification qp 13185']),
    );
    // `info msg 2638087: bytes 9633 ... qp 13167`, delivered locally and forwarded as qp 13169 (the one above).
    const forwarded = only(sent, 9633);
    expect(forwarded.queueIds.map((q) => q.queueId)).toEqual(['2638087']);
    expect(outcomes(forwarded)).toEqual([
      ['jppeach.com-james.ertle@jppeach.com', 'delivered', 1, null, null],
    ]);
    expect(forwarded.deliveries[0]!.reason).toBe('did 0+1+0/qp 13169');
  });

  it('settles a recipient deferred three times then delivered, beside one delivered at once', async () => {
    const [message] = await store
      .trace({ by: 'sender', value: 'brennanwoods@frontporchforum.com' })
      .then((all) => all.filter((m) => m.queueIds[0]?.queueId === '2638335'));
    expect(message).toBeDefined();
    expect(message!.complete).toBe(true);
    expect(outcomes(message!)).toEqual([
      ['frontporchforum.com-submit@frontporchforum.com', 'delivered', 4, null, null],
      ['frontporchforum.com-archive@frontporchforum.com', 'delivered', 1, null, null],
    ]);
  });

  it('leaves a recipient deferred when the log ends before qmail gives up', async () => {
    const messages = await store.trace({ by: 'recipient', value: 'fulew5002@virtua.com.br' });
    const open = only(messages, 886);
    expect(open.queueIds.map((q) => q.queueId)).toEqual(['2638171']);
    expect(open.complete).toBe(false);
    expect(outcomes(open)).toEqual([['fulew5002@virtua.com.br', 'deferred', 8, '4.4.1', null]]);
  });

  it('links a bounce, and the bounce of that bounce, to the message each reports on', async () => {
    const toSender = await store.trace({ by: 'recipient', value: 'anabie4520@asianet.co.th' });
    // `bounce msg 2638308 qp 13185`, then `info msg 2638162: bytes 10397 from <> qp 13185 uid 72`.
    const bounce = only(toSender, 10_397);
    expect(bounce.queueIds.map((q) => q.queueId)).toEqual(['2638162']);
    expect(bounce).toMatchObject({ sender: '', bounceOf: { host: 'mx', queueId: '2638308' } });
    expect(bounce.links).toEqual(expect.arrayContaining(['non-delivery notification']));
    expect(outcomes(bounce)).toEqual([
      ['anabie4520@asianet.co.th', 'bounced', 1, '5.1.0', '203.144.173.245'],
    ]);
    // `bounce msg 2638162 qp 13197`, then `info msg 2638308: bytes 10944 from <#@[]> qp 13197`: the
    // double bounce to the postmaster.
    const toPostmaster = await store.trace({ by: 'recipient', value: 'jppeach.net-postmaster@jppeach.net' });
    const doubleBounce = only(toPostmaster, 10_944);
    expect(doubleBounce).toMatchObject({ sender: '', bounceOf: { host: 'mx', queueId: '2638162' } });
    expect(outcomes(doubleBounce)).toEqual([
      ['jppeach.net-postmaster@jppeach.net', 'delivered', 1, null, null],
    ]);
  });
});

describe('qmail-smtpd service log end to end', () => {
  let smtpDir: string;
  let smtpStore: Store;

  beforeAll(async () => {
    smtpDir = mkdtempSync(join(tmpdir(), 'mailtrace-qmail-smtpd-'));
    smtpStore = await openStore(join(smtpDir, 'smtpd.db'));
    await smtpStore.migrate();
  });

  afterAll(async () => {
    await smtpStore?.close();
    rmSync(smtpDir, { recursive: true, force: true });
  });

  it('makes refused messages of an rblsmtpd block and a simscan rejection, within their sessions', async () => {
    // tai64n labels one second apart; lines as tcpserver, rblsmtpd and simscan 1.4 write them.
    const label = (s: number) => `@40000000692996${(0x00 + s).toString(16).padStart(2, '0')}00000000`;
    const lines = [
      'tcpserver: pid 4711 from 192.0.2.1',
      'tcpserver: ok 4711 mx.example.org:198.51.100.10:25 :192.0.2.1::51234',
      'rblsmtpd: 192.0.2.1 pid 4711: 451 Blocked, see http://www.spamhaus.org/query/ip/192.0.2.1',
      'tcpserver: end 4711 status 0',
      'tcpserver: pid 4712 from 192.0.2.2',
      'tcpserver: ok 4712 mx.example.org:198.51.100.10:25 client.example.net:192.0.2.2::40000',
      'simscan:[4712]:SPAM REJECT (15.30/5.00):1.2000s:Buy now:192.0.2.2:spammer@example.net:a@example.org,b@example.org',
      'tcpserver: end 4712 status 0',
    ].map((text, i) => `${label(i)} ${text}`);
    const file = join(smtpDir, 'current');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const result = await importFiles({
      files: [file],
      store: smtpStore,
      settings: { format: 'multilog', encoding: 'auto', host: 'mx', program: 'qmail-smtpd' },
    });
    expect(result).toMatchObject({ lines: 8, unknown: 0, invalid: 0 });

    const [blocked] = await smtpStore.trace({ by: 'ip', value: '192.0.2.1' });
    expect(blocked).toMatchObject({ kind: 'refused', clientIp: '192.0.2.1' });
    expect(blocked!.events.map((e) => e.kind)).toEqual(['connect', 'reject', 'disconnect']);
    expect(blocked!.deliveries.map((d) => [d.recipient, d.status, d.reason])).toEqual([
      ['', 'rejected', '451 Blocked, see http://www.spamhaus.org/query/ip/192.0.2.1'],
    ]);

    const [spam] = await smtpStore.trace({ by: 'sender', value: 'spammer@example.net' });
    expect(spam).toMatchObject({ kind: 'refused', clientIp: '192.0.2.2', clientName: 'client.example.net' });
    expect(spam!.deliveries.map((d) => [d.recipient, d.status, d.reason])).toEqual([
      ['a@example.org', 'rejected', 'SPAM REJECT (15.30/5.00)'],
      ['b@example.org', 'rejected', 'SPAM REJECT (15.30/5.00)'],
    ]);
  });
});
