import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageRecord } from '../../src/core/model.js';
import { type ImportSettings, importFiles } from '../../src/pipeline/import.js';
import { openStore, type Store } from '../../src/store/index.js';

/**
 * A post to a Mailman 2.1 list on one host (`lists1`), as its postmaster imports the logs: Postfix's
 * mail.log, and Mailman's own `post` and `smtp` files (`--host lists1 --program mailman`).
 *
 * Postfix lines follow Postfix 3.x's formats (smtpd `client=`, cleanup `message-id=`, qmgr, pipe/local/
 * smtp delivery lines): alice's post arrives, goes to Mailman through the `mailman` pipe transport
 * (Debian's postfix-to-mailman.py), and Mailman's SMTPDirect hands it back to Postfix over SMTP on
 * localhost for its 3 members, same Message-ID, envelope sender `mylist-bounces@lists.example.edu`.
 * Mailman's lines follow Mailman 2.1's Defaults.py.in SMTP_LOG_EVERY_MESSAGE (`smtp`) and
 * SMTP_LOG_SUCCESS (`post`).
 */
const MID = '20261128095959.GA1234@mail.example.org';
const POST_QID = '3F1A22C0123';
const LIST_QID = '8B7C12C0456';

const MAIL_LOG = [
  'Nov 28 10:00:00 lists1 postfix/smtpd[2001]: connect from mail.example.org[192.0.2.25]',
  `Nov 28 10:00:00 lists1 postfix/smtpd[2001]: ${POST_QID}: client=mail.example.org[192.0.2.25]`,
  `Nov 28 10:00:00 lists1 postfix/cleanup[2002]: ${POST_QID}: message-id=<${MID}>`,
  `Nov 28 10:00:00 lists1 postfix/qmgr[1001]: ${POST_QID}: from=<alice@example.org>, size=1890, nrcpt=1 (queue active)`,
  'Nov 28 10:00:00 lists1 postfix/smtpd[2001]: disconnect from mail.example.org[192.0.2.25] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5',
  `Nov 28 10:00:01 lists1 postfix/pipe[2003]: ${POST_QID}: to=<mylist@lists.example.edu>, relay=mailman, delay=1.2, delays=0.1/0.01/0/1.1, dsn=2.0.0, status=sent (delivered via mailman service)`,
  `Nov 28 10:00:01 lists1 postfix/qmgr[1001]: ${POST_QID}: removed`,
  'Nov 28 10:00:03 lists1 postfix/smtpd[2004]: connect from localhost[127.0.0.1]',
  `Nov 28 10:00:03 lists1 postfix/smtpd[2004]: ${LIST_QID}: client=localhost[127.0.0.1]`,
  `Nov 28 10:00:03 lists1 postfix/cleanup[2002]: ${LIST_QID}: message-id=<${MID}>`,
  `Nov 28 10:00:03 lists1 postfix/qmgr[1001]: ${LIST_QID}: from=<mylist-bounces@lists.example.edu>, size=3012, nrcpt=3 (queue active)`,
  'Nov 28 10:00:03 lists1 postfix/smtpd[2004]: disconnect from localhost[127.0.0.1] ehlo=1 mail=1 rcpt=3 data=1 quit=1 commands=7',
  `Nov 28 10:00:05 lists1 postfix/smtp[2005]: ${LIST_QID}: to=<bob@example.net>, relay=mx.example.net[198.51.100.20]:25, delay=2.1, delays=0.1/0.01/1.2/0.8, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4F00A1B2C3)`,
  `Nov 28 10:00:05 lists1 postfix/smtp[2006]: ${LIST_QID}: to=<carol@example.com>, relay=mx.example.com[203.0.113.30]:25, delay=2.3, delays=0.1/0.01/1.4/0.8, dsn=2.0.0, status=sent (250 2.0.0 OK 1795860005 a1si1234567wmb.12 - gsmtp)`,
  `Nov 28 10:00:05 lists1 postfix/local[2007]: ${LIST_QID}: to=<dave@lists.example.edu>, relay=local, delay=2, delays=0.1/0.01/0/1.9, dsn=2.0.0, status=sent (delivered to mailbox)`,
  `Nov 28 10:00:05 lists1 postfix/qmgr[1001]: ${LIST_QID}: removed`,
];

// OutgoingRunner logs after SMTPDirect's session with Postfix ended (10:00:03), before the deliveries.
const SMTP_LOG = [
  `Nov 28 10:00:04 2026 (4711) <${MID}> smtp to mylist for 3 recips, completed in 0.512 seconds`,
];
const POST_LOG = [
  `Nov 28 10:00:04 2026 (4711) post to mylist from alice@example.org, size=3012, message-id=<${MID}>, success`,
];

const SETTINGS: ImportSettings = {
  format: 'auto',
  encoding: 'auto',
  timeZone: 'UTC',
  host: 'lists1',
  program: 'mailman',
};
/** Log files last written on 2026-12-01: the year of Postfix's yearless lines is 2026, like Mailman's. */
const MTIME = new Date(Date.UTC(2026, 11, 1));

let dir: string;

function writeLog(name: string, lines: readonly string[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  utimesSync(path, MTIME, MTIME);
  return path;
}

async function freshStore(name: string): Promise<Store> {
  const store = await openStore(join(dir, name));
  await store.migrate();
  return store;
}

function bySender(messages: readonly MessageRecord[], sender: string): MessageRecord {
  const found = messages.filter((m) => m.sender === sender);
  if (found.length !== 1) throw new Error(`${found.length} messages from ${sender}`);
  return found[0]!;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mailtrace-mailman-'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The post's Postfix lines (its SMTP session and queue entry), then the distribution's. */
const POST_LINES = MAIL_LOG.slice(0, 7);
const LIST_LINES = MAIL_LOG.slice(7);

/** Lines in time order; within a second the order of a record's events is not the file's. */
function sorted(lines: readonly string[]): string[] {
  return [...lines].sort();
}

function expectPost(post: MessageRecord): void {
  expect(post).toMatchObject({
    messageId: MID,
    sender: 'alice@example.org',
    size: 1890,
    clientIp: '192.0.2.25',
    complete: true,
    partial: false,
  });
  expect(post.queueIds.map((q) => q.queueId)).toEqual([POST_QID]);
}

function expectMemberDeliveries(message: MessageRecord): void {
  const members = message.deliveries.filter((d) => d.queueId === LIST_QID);
  expect(members.map((d) => [d.recipient, d.status, d.relay, d.origRecipient])).toEqual([
    ['bob@example.net', 'delivered', 'mx.example.net[198.51.100.20]:25', null],
    ['carol@example.com', 'delivered', 'mx.example.com[203.0.113.30]:25', null],
    ['dave@lists.example.edu', 'delivered', 'local', null],
  ]);
}

/** The Mailman lines among a message's events: kind, host and text. */
function mailmanLines(message: MessageRecord): string[] {
  return sorted(
    message.events.filter((e) => e.program === 'mailman').map((e) => `${e.kind} ${e.host} ${e.text}`),
  );
}

const MAILMAN_EVENTS = sorted([`list-post lists1 ${POST_LOG[0]}`, `list-post lists1 ${SMTP_LOG[0]}`]);

describe('a post to a Mailman list and its distribution', () => {
  it('imported together: the Mailman lines join the distribution, the post stays a message of its own', async () => {
    const store = await freshStore('together.db');
    try {
      const summary = await importFiles({
        files: [writeLog('mail.log', MAIL_LOG), writeLog('post', POST_LOG), writeLog('smtp', SMTP_LOG)],
        store,
        settings: SETTINGS,
      });
      expect(summary).toMatchObject({ lines: 18, parsed: 18, unknown: 0, invalid: 0 });
      expect(summary.counts.find((c) => c.program === 'mailman')).toMatchObject({
        host: 'lists1',
        parser: 'mailman',
        seen: 2,
        parsed: 2,
      });

      const messages = await store.trace({ by: 'message-id', value: MID });
      // Same Message-ID, two envelope senders: rule 2 of the store (docs/correlation.md) keeps them apart.
      expect(messages.map((m) => m.sender)).toEqual([
        'mylist-bounces@lists.example.edu',
        'alice@example.org',
      ]);

      const post = bySender(messages, 'alice@example.org');
      expectPost(post);
      expect(post.deliveries.map((d) => [d.recipient, d.status, d.relay, d.reason])).toEqual([
        ['mylist@lists.example.edu', 'delivered', 'mailman', 'delivered via mailman service'],
      ]);
      expect(sorted(post.events.map((e) => e.text))).toEqual(sorted(POST_LINES));
      expect(mailmanLines(post)).toEqual([]);
      expect(post.links).toEqual([]);

      // The Mailman lines came while the distribution's queue entry was open on the same host with the
      // same Message-ID (the post's entry was removed at 10:00:01): the correlator put them there.
      const distribution = bySender(messages, 'mylist-bounces@lists.example.edu');
      expect(distribution).toMatchObject({
        messageId: MID,
        size: 3012,
        clientIp: '127.0.0.1',
        clientName: 'localhost',
        complete: true,
      });
      expect(distribution.queueIds.map((q) => q.queueId)).toEqual([LIST_QID]);
      expectMemberDeliveries(distribution);
      expect(distribution.deliveries).toHaveLength(3);
      expect(mailmanLines(distribution)).toEqual(MAILMAN_EVENTS);
      expect(sorted(distribution.events.map((e) => e.text))).toEqual(
        sorted([...LIST_LINES, POST_LOG[0]!, SMTP_LOG[0]!]),
      );
      expect(distribution.links).toEqual(['mailman list mylist', 'queued_as']);
    } finally {
      await store.close();
    }
  });

  it('imported apart: the Mailman lines, without a sender, join both and so make them one message', async () => {
    const store = await freshStore('apart.db');
    try {
      await importFiles({ files: [writeLog('mail.log', MAIL_LOG)], store, settings: SETTINGS });
      expect((await store.trace({ by: 'message-id', value: MID })).map((m) => m.sender)).toEqual([
        'mylist-bounces@lists.example.edu',
        'alice@example.org',
      ]);
      const summary = await importFiles({
        files: [writeLog('post', POST_LOG), writeLog('smtp', SMTP_LOG)],
        store,
        settings: SETTINGS,
      });
      expect(summary).toMatchObject({ lines: 2, parsed: 2, unknown: 0, invalid: 0 });
      expect(summary.correlator.fragments).toBe(2);

      // Each Mailman line stands as a fragment (no open queue entry in this import), with the
      // Message-ID and no sender; store rule 2 matches a fragment with any sender, so the fragment
      // joins both stored messages and, transitively, they become one.
      const messages = await store.trace({ by: 'message-id', value: MID });
      expect(messages).toHaveLength(1);
      const joined = messages[0]!;
      // The post began first: its header facts win (core/merge.ts).
      expect(joined).toMatchObject({
        messageId: MID,
        sender: 'alice@example.org',
        size: 1890,
        clientIp: '192.0.2.25',
        complete: true,
        partial: false,
      });
      expect(joined.queueIds.map((q) => q.queueId)).toEqual([POST_QID, LIST_QID]);
      expect(joined.deliveries.map((d) => [d.recipient, d.queueId])).toEqual([
        ['mylist@lists.example.edu', POST_QID],
        ['bob@example.net', LIST_QID],
        ['carol@example.com', LIST_QID],
        ['dave@lists.example.edu', LIST_QID],
      ]);
      expectMemberDeliveries(joined);
      expect(mailmanLines(joined)).toEqual(MAILMAN_EVENTS);
      expect(sorted(joined.events.map((e) => e.text))).toEqual(
        sorted([...MAIL_LOG, ...POST_LOG, ...SMTP_LOG]),
      );
      expect(joined.links).toContain('mailman list mylist');
    } finally {
      await store.close();
    }
  });
});
