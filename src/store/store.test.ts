import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mergeMessages } from '../core/merge.js';
import type { DeliveryRecord, EventRecord, Handoff, MessageRecord, QueueRef } from '../core/model.js';
import { type LooseLine, openStore, type Store, TRACE_KINDS, type TraceQuery } from './index.js';

// ---------------------------------------------------------------------------------------------------
// Databases: SQLite in a temporary file; PostgreSQL in a database created for this run and dropped
// after. Without a reachable PostgreSQL its suite is skipped, unless MAILTRACE_REQUIRE_PG=1.
// ---------------------------------------------------------------------------------------------------

const PG_BASE = process.env.MAILTRACE_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/';
const REQUIRE_PG = process.env.MAILTRACE_REQUIRE_PG === '1';

function pgUrl(database: string): string {
  const url = new URL(PG_BASE);
  url.pathname = `/${database}`;
  return url.toString();
}

async function pgReachable(): Promise<string | null> {
  const client = new pg.Client({ connectionString: pgUrl('postgres'), connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (error) {
    return String(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

const pgProblem = await pgReachable();
if (pgProblem !== null && !REQUIRE_PG) {
  console.warn(
    `store tests: PostgreSQL unreachable at ${PG_BASE} (${pgProblem}); PostgreSQL suite skipped ` +
      '(set MAILTRACE_REQUIRE_PG=1 to make this a failure)',
  );
}

describe('PostgreSQL availability', () => {
  it.runIf(REQUIRE_PG)('is reachable when MAILTRACE_REQUIRE_PG=1', () => {
    expect(pgProblem).toBeNull();
  });
});

/** Direct access to the database under test, for what the Store API does not show (whole content). */
interface Harness {
  url: string;
  query(statement: string): Promise<Record<string, unknown>[]>;
  rows(table: string): Promise<Record<string, unknown>[]>;
  exec(statement: string): Promise<void>;
  dispose(): Promise<void>;
}

async function sqliteHarness(): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'mailtrace-store-'));
  const url = join(dir, 'nested', 'store.db');
  let raw: BetterSqlite3.Database | null = null;
  const open = () => {
    raw ??= new BetterSqlite3(url);
    return raw;
  };
  const query = async (statement: string) => open().prepare(statement).all() as Record<string, unknown>[];
  return {
    url,
    query,
    rows: (table) => query(`select * from ${table}`),
    exec: async (statement) => {
      open().exec(statement);
    },
    dispose: async () => {
      raw?.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function pgHarness(): Promise<Harness> {
  const name = `mailtrace_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: pgUrl('postgres') });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const client = new pg.Client({ connectionString: pgUrl(name) });
  await client.connect();
  const query = async (statement: string) => (await client.query(statement)).rows;
  return {
    url: pgUrl(name),
    query,
    rows: (table) => query(`select * from ${table}`),
    exec: async (statement) => {
      await client.query(statement);
    },
    dispose: async () => {
      await client.end();
      const drop = new pg.Client({ connectionString: pgUrl('postgres') });
      await drop.connect();
      await drop.query(`drop database if exists ${name} with (force)`);
      await drop.end();
    },
  };
}

const TABLES = [
  'line_stats',
  'import_files',
  'import_runs',
  'loose_spans',
  'loose_kinds',
  'loose_pages',
  'event_spans',
  'event_slots',
  'event_pages',
  'handoffs',
  'queue_refs',
  'recipients',
  'messages',
  'names',
];

// ---------------------------------------------------------------------------------------------------
// Fixtures: a small factory. Every event gets its own offset so distinct pieces never share a line.
// Event texts are real lines from /work/shared/corpus/postfix/Anantg21-Python-Dashboard-for-Postfix-Logs-maillog
// and .../alborodin85-postfix-logs-parser-test.log (the store keeps them verbatim; their content is not parsed).
// ---------------------------------------------------------------------------------------------------

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 10, 20, 10, 0, 0);
const SOURCE = 'import\u0000/var/log/mail.log';

const LINES = {
  client:
    'Mar  5 13:59:15 mail-server1 postfix/smtpd[833268]: 964BA2071B: client=aet-asiaeast1-maip--serverless--vpc-89k5.asia-east1-a.c.maip-poc.internal[10.8.0.8]',
  messageId:
    'May 18 22:31:10 lhansible postfix/cleanup[30623]: 0EA5228A: message-id=<20200519033110.0EA5228A@ansible.com>',
  sent: 'May 18 22:31:12 lhansible postfix/smtp[30629]: 0EA5228A: to=<sri-ganesh.thota@gemini.com>, relay=ansible.com:25, delay=2.4, delays=0.08/0.02/0.86/1.4, dsn=2.0.0, status=sent (250 ok:  Message 496275087 accepted)',
};

let nextOffset = 1;

function event(over: Partial<EventRecord> = {}): EventRecord {
  const offset = nextOffset;
  nextOffset += 200;
  return {
    at: T0,
    host: 'mx1',
    program: 'postfix/smtpd',
    kind: 'queue-client',
    text: LINES.client,
    source: SOURCE,
    offset,
    ...over,
  };
}

function ref(queueId: string, over: Partial<QueueRef> = {}): QueueRef {
  const firstSeen = over.firstSeen ?? T0;
  return { host: 'mx1', queueId, firstSeen, lastSeen: firstSeen + MINUTE, closed: false, ...over };
}

function delivery(recipient: string, over: Partial<DeliveryRecord> = {}): DeliveryRecord {
  return {
    recipient,
    origRecipient: null,
    status: 'delivered',
    at: T0 + 30 * SECOND,
    host: 'mx1',
    relay: 'mx.example.net[192.0.2.25]:25',
    mailbox: null,
    dsn: '2.0.0',
    reason: '250 ok',
    attempts: 1,
    queueId: 'A1B2C3',
    handoff: null,
    ...over,
  };
}

function handoff(queueId: string, at: number, relay: string | null = '127.0.0.1[127.0.0.1]:10024'): Handoff {
  return { queueId, at, relay };
}

/** A piece starting at `start`, with events at start and start + 30 s unless given. */
function message(over: Partial<MessageRecord> = {}, start = over.firstSeen ?? T0): MessageRecord {
  return {
    kind: 'message',
    messageId: null,
    sender: 'alice@example.org',
    firstSeen: start,
    lastSeen: start + MINUTE,
    subject: null,
    size: null,
    clientIp: null,
    clientName: null,
    helo: null,
    saslUser: null,
    spam: null,
    virus: null,
    partial: false,
    complete: false,
    queueIds: [],
    deliveries: [],
    events: [event({ at: start }), event({ at: start + 30 * SECOND, kind: 'delivery', text: LINES.sent })],
    links: [],
    bounceOf: null,
    handoffs: [],
    ...over,
  };
}

/** Every field set, with values distinct from defaults, for the round trip. */
function fullMessage(): MessageRecord {
  return message({
    kind: 'message',
    messageId: '20200519033110.0EA5228A@ansible.com',
    sender: 'alice@example.org',
    firstSeen: T0,
    lastSeen: T0 + 5 * MINUTE,
    subject: 'Quarterly report – Ünïcödé',
    size: 123_456_789_012,
    clientIp: '2001:db8::25',
    clientName: 'mail.example.org',
    helo: 'mail.example.org',
    saslUser: 'alice',
    spam: { score: -1.25, required: 5, isSpam: false },
    virus: 'Eicar-Test-Signature',
    partial: true,
    complete: true,
    queueIds: [
      ref('0EA5228A', { firstSeen: T0, lastSeen: T0 + 2 * MINUTE, closed: true }),
      ref('4F2B11C0', { host: 'mx2', firstSeen: T0 + 2 * MINUTE, lastSeen: T0 + 5 * MINUTE, closed: true }),
    ],
    deliveries: [
      delivery('bob@example.net', { status: 'delivered', attempts: 3, mailbox: 'INBOX' }),
      delivery('carol@example.net', {
        origRecipient: 'list@example.org',
        status: 'bounced',
        at: T0 + 4 * MINUTE,
        host: 'mx2',
        relay: null,
        dsn: '5.1.1',
        reason: '550 5.1.1 <carol@example.net>: Recipient address rejected: User unknown',
        attempts: 2,
      }),
    ],
    events: [
      event({ at: T0, kind: 'queue-client', text: LINES.client }),
      event({ at: T0 + SECOND, program: 'postfix/cleanup', kind: 'message-id', text: LINES.messageId }),
      event({ at: T0 + SECOND, program: 'postfix/qmgr', kind: 'queue-active', text: 'active line' }),
      event({
        at: T0 + 4 * MINUTE,
        host: 'mx2',
        program: 'postfix/smtp',
        kind: 'delivery',
        text: LINES.sent,
      }),
    ],
    links: ['queued_as', 'message-id'],
    bounceOf: { host: 'mx0', queueId: 'ABCDEF0123' },
    handoffs: [handoff('4F2B11C0', T0 + 2 * MINUTE), handoff('77AA', T0 + 3 * MINUTE, null)],
  });
}

function minimalMessage(): MessageRecord {
  return {
    kind: 'refused',
    messageId: null,
    sender: null,
    firstSeen: T0,
    lastSeen: T0,
    subject: null,
    size: null,
    clientIp: null,
    clientName: null,
    helo: null,
    saslUser: null,
    spam: null,
    virus: null,
    partial: false,
    complete: false,
    queueIds: [],
    deliveries: [],
    events: [],
    links: [],
    bounceOf: null,
    handoffs: [],
  };
}

function loose(kind: string, text: string, over: Partial<LooseLine> = {}): LooseLine {
  const offset = nextOffset;
  nextOffset += 200;
  return { at: T0, host: 'mx1', program: 'postfix/smtpd', kind, text, source: SOURCE, offset, ...over };
}

/** Field by field, so a failure names the field. */
function expectSameRecord(actual: MessageRecord | undefined, expected: MessageRecord): void {
  expect(actual).toBeDefined();
  const got = actual as MessageRecord;
  expect(Object.keys(got).sort()).toEqual(Object.keys(expected).sort());
  for (const key of Object.keys(expected) as (keyof MessageRecord)[]) {
    expect(got[key], `field ${key}`).toEqual(expected[key]);
  }
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

// ---------------------------------------------------------------------------------------------------

const DIALECTS = [
  { name: 'sqlite', harness: sqliteHarness, enabled: true },
  { name: 'postgres', harness: pgHarness, enabled: pgProblem === null },
] as const;

describe.each(DIALECTS)('store on $name', ({ name, harness, enabled }) => {
  let h: Harness;
  let store: Store;

  beforeAll(async () => {
    if (!enabled) return;
    h = await harness();
    const first = await openStore(h.url);
    await first.migrate();
    await first.close();
  });

  afterAll(async () => {
    if (enabled) await h.dispose();
  });

  beforeEach(async () => {
    if (!enabled) return;
    for (const table of TABLES) await h.exec(`delete from ${table}`);
    store = await openStore(h.url);
  });

  afterEach(async () => {
    if (enabled) await store.close();
  });

  const test = it.skipIf(!enabled);

  async function dump(): Promise<Record<string, string[]>> {
    const out: Record<string, string[]> = {};
    for (const table of TABLES) out[table] = (await h.rows(table)).map((r) => JSON.stringify(r)).sort();
    return out;
  }

  /**
   * Rows pointing at something that does not exist (the schema declares no foreign keys between these
   * tables): search rows and slots without their message, messages without their record's page, spans
   * and kinds without their page, pages no slot refers to.
   */
  async function orphans(): Promise<number> {
    const checks = [
      ...['event_slots', 'recipients', 'queue_refs', 'handoffs'].map(
        (table) => `select count(*) as n from ${table} where message_id not in (select id from messages)`,
      ),
      'select count(*) as n from messages where page_id not in (select id from event_pages)',
      'select count(*) as n from event_spans where page_id not in (select id from event_pages)',
      'select count(*) as n from event_pages where id not in (select page_id from event_slots)',
      'select count(*) as n from loose_spans where page_id not in (select id from loose_pages)',
      'select count(*) as n from loose_kinds where page_id not in (select id from loose_pages)',
    ];
    let total = 0;
    for (const check of checks) total += Number((await h.query(check))[0]?.['n']);
    return total;
  }

  async function only(query: TraceQuery): Promise<MessageRecord> {
    const found = await store.trace(query);
    expect(found).toHaveLength(1);
    return found[0]!;
  }

  async function save(...messages: MessageRecord[]) {
    return store.saveBatch({ messages, looseLines: [] });
  }

  test('reports its dialect and migrates idempotently', async () => {
    expect(store.dialect).toBe(name);
    await store.migrate();
    await store.migrate();
    const migrations = await h.rows('kysely_migration');
    expect(migrations.map((m) => m['name'])).toEqual(['2026-11-28-initial', '2026-11-28-shapes']);
    expect(await store.counts()).toEqual({
      messages: 0,
      deliveries: 0,
      events: 0,
      unknownLines: 0,
      looseLines: 0,
    });
  });

  describe('round trip', () => {
    test('a record with every field set comes back identical', async () => {
      const m = fullMessage();
      const result = await save(m);
      expect(result).toEqual({
        inserted: 1,
        merged: 0,
        collapsed: 0,
        duplicates: 0,
        events: 4,
        looseLines: 0,
      });
      expectSameRecord(await only({ by: 'message-id', value: m.messageId! }), m);
      const exported = await collect(store.exportMessages({}));
      expect(exported).toHaveLength(1);
      expectSameRecord(exported[0], m);
    });

    test('a record with every optional field empty comes back identical', async () => {
      const m = minimalMessage();
      await save(m);
      const [got] = await collect(store.exportMessages({}));
      expectSameRecord(got, m);
    });

    test('the null sender and a spam verdict without required score survive', async () => {
      const m = message({
        sender: '',
        messageId: 'bounce-1@example.org',
        spam: { score: 12.5, required: null, isSpam: true },
      });
      await save(m);
      expectSameRecord(await only({ by: 'sender', value: '<>' }), m);
    });

    test('counts what was written', async () => {
      await save(fullMessage(), message({ deliveries: [delivery('x@example.net')] }));
      expect(await store.counts()).toEqual({
        messages: 2,
        deliveries: 3,
        events: 6,
        unknownLines: 0,
        looseLines: 0,
      });
    });
  });

  describe('merging by queue entry', () => {
    test('an open entry takes in a later piece with the same host and queue id', async () => {
      const a = message({
        queueIds: [ref('QA1', { lastSeen: T0 + MINUTE })],
        deliveries: [delivery('bob@example.net', { status: 'deferred', at: T0 + 30 * SECOND })],
      });
      const b = message(
        {
          sender: null,
          queueIds: [ref('QA1', { firstSeen: T0 + HOUR, lastSeen: T0 + HOUR + MINUTE, closed: true })],
          deliveries: [delivery('bob@example.net', { status: 'delivered', at: T0 + HOUR + 30 * SECOND })],
        },
        T0 + HOUR,
      );
      await save(a);
      const result = await save(b);
      expect(result.merged).toBe(1);
      expect(result.inserted).toBe(0);
      const got = await only({ by: 'queue-id', value: 'QA1' });
      expectSameRecord(got, mergeMessages(a, b));
      expect(got.deliveries[0]!.status).toBe('delivered');
      expect(got.deliveries[0]!.attempts).toBe(2);
      expect(got.complete).toBe(true);
      expect(got.events).toHaveLength(4);
    });

    test('a closed entry does not take in a later reuse of its queue id', async () => {
      await save(message({ queueIds: [ref('QR1', { closed: true })] }));
      await save(
        message(
          { queueIds: [ref('QR1', { firstSeen: T0 + 2 * HOUR, lastSeen: T0 + 2 * HOUR })] },
          T0 + 2 * HOUR,
        ),
      );
      const found = await store.trace({ by: 'queue-id', value: 'QR1' });
      expect(found.map((m) => m.firstSeen)).toEqual([T0 + 2 * HOUR, T0]);
    });

    test('a closed entry takes in a piece overlapping its span', async () => {
      await save(message({ queueIds: [ref('QO1', { lastSeen: T0 + 10 * MINUTE, closed: true })] }));
      await save(
        message(
          { queueIds: [ref('QO1', { firstSeen: T0 + 5 * MINUTE, lastSeen: T0 + 6 * MINUTE })] },
          T0 + 5 * MINUTE,
        ),
      );
      expect(await store.trace({ by: 'queue-id', value: 'QO1' })).toHaveLength(1);
    });

    test('an open entry does not reach more than 10 days ahead', async () => {
      await save(message({ queueIds: [ref('QT1')] }));
      await save(
        message(
          { queueIds: [ref('QT1', { firstSeen: T0 + 11 * DAY, lastSeen: T0 + 11 * DAY })] },
          T0 + 11 * DAY,
        ),
      );
      expect(await store.trace({ by: 'queue-id', value: 'QT1' })).toHaveLength(2);
    });

    test('the same queue id on another host is another message', async () => {
      await save(message({ queueIds: [ref('QH1')] }));
      await save(message({ queueIds: [ref('QH1', { host: 'mx2' })] }, T0 + MINUTE));
      expect(await store.trace({ by: 'queue-id', value: 'QH1' })).toHaveLength(2);
    });

    test('pieces of one batch are merged with each other before writing', async () => {
      const a = message({ queueIds: [ref('QB1')], deliveries: [delivery('d@example.net')] });
      const b = message(
        { sender: null, queueIds: [ref('QB1', { firstSeen: T0 + 2 * MINUTE })] },
        T0 + 2 * MINUTE,
      );
      const c = message({ queueIds: [ref('QB2')] });
      const result = await save(b, a, c);
      expect(result).toEqual({
        inserted: 2,
        merged: 0,
        collapsed: 0,
        duplicates: 0,
        events: 6,
        looseLines: 0,
      });
      expectSameRecord(await only({ by: 'queue-id', value: 'QB1' }), mergeMessages(a, b));
    });
  });

  describe('merging by message-id and sender', () => {
    const mid = 'merge-by-id@example.org';

    test('joins pieces with the same message-id and sender', async () => {
      const a = message({ messageId: mid, queueIds: [ref('QM1', { closed: true })] });
      const b = message({ messageId: mid, queueIds: [ref('QM2', { host: 'mx2' })] }, T0 + HOUR);
      await save(a);
      await save(b);
      expectSameRecord(await only({ by: 'message-id', value: `<${mid}>` }), mergeMessages(a, b));
    });

    test('an unknown sender joins a known one', async () => {
      const a = message({ messageId: mid });
      const b = message({ messageId: mid, sender: null }, T0 + DAY);
      await save(a);
      await save(b);
      const got = await only({ by: 'message-id', value: mid });
      expect(got.sender).toBe('alice@example.org');
      expect(got.lastSeen).toBe(T0 + DAY + MINUTE);
    });

    test('does not join different senders', async () => {
      await save(message({ messageId: mid }));
      await save(message({ messageId: mid, sender: 'mallory@example.com' }, T0 + MINUTE));
      const found = await store.trace({ by: 'message-id', value: mid });
      expect(found.map((m) => m.sender)).toEqual(['mallory@example.com', 'alice@example.org']);
    });

    test('does not join beyond 3 days', async () => {
      await save(message({ messageId: mid }));
      await save(message({ messageId: mid }, T0 + 3 * DAY + MINUTE));
      await save(message({ messageId: mid }, T0 - 3 * DAY - MINUTE));
      expect(await store.trace({ by: 'message-id', value: mid })).toHaveLength(3);
    });

    test('an empty message-id joins nothing', async () => {
      await save(message({ messageId: '' }));
      await save(message({ messageId: '' }, T0 + MINUTE));
      expect((await store.counts()).messages).toBe(2);
    });
  });

  describe('merging by hand-off', () => {
    const upstream = () =>
      message({
        queueIds: [ref('QUP1', { closed: true })],
        handoffs: [handoff('QDN1', T0 + 40 * SECOND)],
        deliveries: [delivery('bob@example.net', { relay: '127.0.0.1[127.0.0.1]:10024' })],
      });
    const downstream = (start = T0 + 41 * SECOND) =>
      message(
        {
          sender: null,
          queueIds: [ref('QDN1', { host: 'mx2', firstSeen: start, lastSeen: start + MINUTE, closed: true })],
          deliveries: [
            delivery('bob@example.net', { at: start + 30 * SECOND, host: 'mx2', mailbox: 'INBOX' }),
          ],
        },
        start,
      );

    test('a stored hand-off takes in the queue entry it names', async () => {
      const a = upstream();
      const b = downstream();
      await save(a);
      await save(b);
      const got = await only({ by: 'queue-id', value: 'QDN1' });
      expectSameRecord(got, mergeMessages(a, b));
      expect(got.deliveries.map((d) => [d.host, d.mailbox, d.attempts])).toEqual([['mx2', 'INBOX', 2]]);
    });

    test('an incoming hand-off takes in a stored queue entry', async () => {
      const a = upstream();
      const b = downstream();
      await save(b);
      await save(a);
      expectSameRecord(await only({ by: 'queue-id', value: 'QUP1' }), mergeMessages(a, b));
    });

    test('not when the queue entry began more than an hour from the hand-off', async () => {
      await save(upstream());
      await save(downstream(T0 + 40 * SECOND + HOUR + SECOND));
      expect((await store.counts()).messages).toBe(2);
    });
  });

  test('a piece matching two stored messages collapses them into the oldest', async () => {
    const s1 = message({ queueIds: [ref('Q3A')], messageId: 'three@example.org' });
    const s2 = message(
      {
        sender: null,
        queueIds: [ref('Q3B', { host: 'mx2', firstSeen: T0 + 2 * HOUR, lastSeen: T0 + 2 * HOUR })],
      },
      T0 + 2 * HOUR,
    );
    const p = message(
      {
        queueIds: [ref('Q3A', { firstSeen: T0 + 2 * HOUR, lastSeen: T0 + 2 * HOUR + MINUTE, closed: true })],
        handoffs: [handoff('Q3B', T0 + 2 * HOUR - 10 * SECOND)],
      },
      T0 + 2 * HOUR - 30 * SECOND,
    );
    await save(s1);
    await save(s2);
    const ids = (await h.rows('messages')).map((r) => Number(r['id'])).sort((a, b) => a - b);
    const result = await save(p);
    expect(result).toEqual({ inserted: 0, merged: 1, collapsed: 1, duplicates: 0, events: 2, looseLines: 0 });
    const rows = await h.rows('messages');
    expect(rows.map((r) => Number(r['id']))).toEqual([ids[0]]);
    const got = await only({ by: 'queue-id', value: 'Q3B' });
    expectSameRecord(got, mergeMessages(mergeMessages(s1, p), s2));
    expect(got.events).toHaveLength(6);
    expect((await store.counts()).events).toBe(6);
    expect(await orphans()).toBe(0);
    expect(await store.trace({ by: 'message-id', value: 'three@example.org' })).toHaveLength(1);
  });

  test('a message reads the same whichever batches and order its pieces were saved in', async () => {
    // Three pieces of one message, with lines logged in the same millisecond across pieces.
    const at = T0 + HOUR;
    const a = message({
      queueIds: [ref('QS1')],
      handoffs: [handoff('QS2', at)],
      events: [event({ at: T0 }), event({ at }), event({ at, kind: 'delivery' })],
      deliveries: [delivery('r@example.net', { status: 'deferred' })],
    });
    const b = message(
      {
        sender: null,
        queueIds: [ref('QS2', { host: 'mx2', firstSeen: at - SECOND, lastSeen: at + MINUTE })],
        events: [event({ at, host: 'mx2' }), event({ at: at + MINUTE, host: 'mx2' })],
        deliveries: [delivery('r@example.net', { at: at + MINUTE, host: 'mx2' })],
      },
      at - SECOND,
    );
    const c = message(
      {
        queueIds: [ref('QS1', { firstSeen: at, lastSeen: at + SECOND, closed: true })],
        events: [event({ at }), event({ at: at + SECOND, kind: 'queue-removed' })],
      },
      at,
    );
    const expected = mergeMessages(mergeMessages(a, b), c);
    const orders = [[[a, b, c]], [[c, b, a]], [[b], [c], [a]], [[c], [a, b]], [[a], [b], [c]]];
    for (const batches of orders) {
      for (const table of TABLES) await h.exec(`delete from ${table}`);
      await store.close();
      store = await openStore(h.url);
      for (const batch of batches) await save(...batch);
      expectSameRecord(await only({ by: 'queue-id', value: 'QS2' }), expected);
    }
  });

  test('large batches: chunked lookups, inserts and multi-row updates', async () => {
    const n = 700;
    const first = Array.from({ length: n }, (_, i) =>
      message({ messageId: `bulk-${i}@example.org`, queueIds: [ref(`QL${i}`)] }, T0 + i * SECOND),
    );
    expect((await save(...first)).inserted).toBe(n);
    const second = first.map((m, i) =>
      message(
        {
          sender: null,
          queueIds: [ref(`QL${i}`, { firstSeen: m.firstSeen + HOUR, closed: true })],
          deliveries: [delivery(`r${i}@example.net`)],
        },
        m.firstSeen + HOUR,
      ),
    );
    const result = await save(...second);
    expect([result.inserted, result.merged, result.events]).toEqual([0, n, 2 * n]);
    expect(await store.counts()).toEqual({
      messages: n,
      deliveries: n,
      events: 4 * n,
      unknownLines: 0,
      looseLines: 0,
    });
    for (const i of [0, 499, 500, n - 1]) {
      expectSameRecord(await only({ by: 'queue-id', value: `QL${i}` }), mergeMessages(first[i]!, second[i]!));
    }
  });

  describe('idempotent re-save', () => {
    test('saving a record twice leaves the database as it was', async () => {
      const a = fullMessage();
      await save(a);
      const before = await dump();
      const result = await save(a);
      expect(result).toEqual({
        inserted: 0,
        merged: 0,
        collapsed: 0,
        duplicates: 1,
        events: 0,
        looseLines: 0,
      });
      expect(await dump()).toEqual(before);
    });

    test('re-saving merged pieces changes nothing, nor does a piece repeated in one batch', async () => {
      const a = message({ queueIds: [ref('QI1')], deliveries: [delivery('r@example.net')] });
      const b = message(
        {
          queueIds: [ref('QI1', { firstSeen: T0 + HOUR, lastSeen: T0 + HOUR, closed: true })],
          deliveries: [delivery('r@example.net')],
        },
        T0 + HOUR,
      );
      await save(a, a);
      await save(b);
      const before = await dump();
      await save(b, a);
      await save(a);
      expect(await dump()).toEqual(before);
      const got = await only({ by: 'queue-id', value: 'QI1' });
      expect(got.deliveries[0]!.attempts).toBe(2);
    });

    test('a refused connection (no queue id, no message-id) saved twice is kept once', async () => {
      const refused = {
        ...minimalMessage(),
        clientIp: '198.51.100.7',
        deliveries: [
          delivery('victim@example.org', { status: 'rejected', relay: null, dsn: '5.7.1', attempts: 1 }),
        ],
        events: [
          event({ kind: 'reject', text: 'NOQUEUE: reject: RCPT from unknown[198.51.100.7]: 554 5.7.1' }),
        ],
      } satisfies MessageRecord;
      await save(refused, refused);
      const before = await dump();
      expect((await save(refused)).duplicates).toBe(1);
      expect(await dump()).toEqual(before);
      expectSameRecord(await only({ by: 'ip', value: '198.51.100.7' }), refused);
    });

    test('a piece carrying a line already stored joins the message holding it', async () => {
      const first = {
        ...minimalMessage(),
        clientIp: '198.51.100.8',
        events: [event(), event({ at: T0 + 1 })],
      };
      await save(first);
      const overlapping = {
        ...minimalMessage(),
        clientIp: '198.51.100.8',
        lastSeen: T0 + 2,
        events: [first.events[1]!, event({ at: T0 + 2 })],
      };
      const result = await save(overlapping);
      expect([result.merged, result.inserted, result.events]).toEqual([1, 0, 1]);
      const got = await only({ by: 'ip', value: '198.51.100.8' });
      expect(got.events.map((e) => e.offset)).toEqual(
        [...first.events, overlapping.events[1]!].map((e) => e.offset),
      );
      expect(got.lastSeen).toBe(T0 + 2);
    });

    test('loose lines are kept once', async () => {
      const line = loose('unknown', 'Nov 20 10:00:00 mx1 postfix/smtpd[1]: something new');
      expect((await store.saveBatch({ messages: [], looseLines: [line] })).looseLines).toBe(1);
      expect((await store.saveBatch({ messages: [], looseLines: [line] })).looseLines).toBe(0);
      expect((await store.counts()).looseLines).toBe(1);
    });

    test('lines stored by another store are found in the database, not in memory', async () => {
      const a = fullMessage();
      const line = loose('unknown', 'Nov 20 10:00:00 mx1 postfix/smtpd[1]: something old');
      await store.saveBatch({ messages: [a], looseLines: [line] });
      const before = await dump();
      const other = await openStore(h.url);
      try {
        const again = await other.saveBatch({ messages: [a], looseLines: [line] });
        expect([again.duplicates, again.events, again.looseLines]).toEqual([1, 0, 0]);
        expect(await dump()).toEqual(before);
        // A piece bringing one stored line and one new joins the message holding the stored one.
        const more = { ...minimalMessage(), events: [a.events[2]!, event({ at: T0 + 10 * MINUTE })] };
        const joined = await other.saveBatch({ messages: [more], looseLines: [] });
        expect([joined.merged, joined.inserted, joined.events]).toEqual([1, 0, 1]);
      } finally {
        await other.close();
      }
      // The first store's memory is out of date now (another store wrote): it must look again.
      const m = await only({ by: 'message-id', value: a.messageId! });
      expect(m.events).toHaveLength(5);
      expect((await save(m)).duplicates).toBe(1);
      expect((await store.counts()).events).toBe(5);
    });

    test('lines written by a batch long ago are found among many pages', async () => {
      // More lines than the saver remembers: the first ones are looked up in the database.
      const many = Array.from({ length: 120 }, (_, i) =>
        message(
          {
            messageId: `old-${i}@example.org`,
            events: Array.from({ length: 40 }, (_, k) => event({ at: T0 + i * SECOND + k })),
          },
          T0 + i * SECOND,
        ),
      );
      for (let i = 0; i < many.length; i += 10) await save(...many.slice(i, i + 10));
      const fresh = await openStore(h.url);
      try {
        const result = await fresh.saveBatch({ messages: [many[3]!, many[117]!], looseLines: [] });
        expect([result.duplicates, result.events, result.inserted]).toEqual([2, 0, 0]);
      } finally {
        await fresh.close();
      }
      expect((await store.counts()).events).toBe(120 * 40);
    });
  });

  describe('trace', () => {
    const mid = 'trace-1@example.org';
    async function seed() {
      const target = message({
        messageId: mid,
        sender: 'Sender@Example.org'.toLowerCase(),
        subject: 'Your Invoice 42 is ready',
        clientIp: '192.0.2.7',
        queueIds: [ref('QTR1')],
        deliveries: [delivery('bob@example.net', { origRecipient: 'team@example.net' })],
      });
      const other = message(
        {
          messageId: 'trace-2@example.org',
          sender: 'other@example.org',
          subject: 'lunch',
          clientIp: '192.0.2.8',
          queueIds: [ref('QTR2', { firstSeen: T0 + DAY, lastSeen: T0 + DAY })],
          deliveries: [delivery('sender@example.org', { at: T0 + DAY })],
        },
        T0 + DAY,
      );
      await save(target, other);
      return { target, other };
    }

    test.each([
      ['message-id', mid],
      ['message-id', `<${mid}>`],
      ['sender', '<SENDER@example.org>'],
      ['recipient', 'BOB@example.net'],
      ['recipient', 'team@example.net'],
      ['address', 'team@example.net'],
      ['queue-id', 'QTR1'],
      ['ip', '192.0.2.7'],
      ['subject', 'INVOICE 42'],
      ['subject', 'your invoice'],
    ] as const)('by %s %s', async (by, value) => {
      const { target } = await seed();
      expectSameRecord(await only({ by, value }), target);
    });

    test('address matches the sender or any recipient, newest first', async () => {
      const { target, other } = await seed();
      const found = await store.trace({ by: 'address', value: 'sender@example.org' });
      expect(found.map((m) => m.messageId)).toEqual([other.messageId, target.messageId]);
    });

    test('every kind honours the time bounds (overlap of firstSeen..lastSeen)', async () => {
      const { target } = await seed();
      const queries: Record<(typeof TRACE_KINDS)[number], string> = {
        'message-id': mid,
        address: 'bob@example.net',
        sender: 'sender@example.org',
        recipient: 'bob@example.net',
        'queue-id': 'QTR1',
        ip: '192.0.2.7',
        subject: 'invoice',
      };
      for (const by of TRACE_KINDS) {
        const value = queries[by];
        expect(await store.trace({ by, value, from: target.lastSeen, to: target.lastSeen }), by).toHaveLength(
          1,
        );
        expect(await store.trace({ by, value, from: target.lastSeen + 1 }), by).toHaveLength(0);
        expect(await store.trace({ by, value, to: target.firstSeen - 1 }), by).toHaveLength(0);
        expect(await store.trace({ by, value, from: T0 - DAY, to: target.firstSeen }), by).toHaveLength(1);
      }
    });

    test('unknown values find nothing, and an empty message-id or queue id is no wildcard', async () => {
      await seed();
      expect(await store.trace({ by: 'message-id', value: 'nope@example.org' })).toEqual([]);
      expect(await store.trace({ by: 'message-id', value: '<>' })).toEqual([]);
      expect(await store.trace({ by: 'queue-id', value: '  ' })).toEqual([]);
      expect(await store.trace({ by: 'ip', value: '' })).toEqual([]);
      expect(await store.trace({ by: 'subject', value: 'dinner' })).toEqual([]);
    });

    test('limit keeps the newest', async () => {
      for (let i = 0; i < 5; i++) await save(message({ sender: 'many@example.org' }, T0 + i * HOUR));
      const found = await store.trace({ by: 'sender', value: 'many@example.org', limit: 2 });
      expect(found.map((m) => m.firstSeen)).toEqual([T0 + 4 * HOUR, T0 + 3 * HOUR]);
      expect(await store.trace({ by: 'sender', value: 'many@example.org' })).toHaveLength(5);
      expect(await store.trace({ by: 'sender', value: 'many@example.org', limit: Number.NaN })).toHaveLength(
        5,
      );
      expect(await store.trace({ by: 'sender', value: 'many@example.org', limit: 0 })).toHaveLength(1);
    });
  });

  describe('export', () => {
    test('streams every message in firstSeen order, page by page', async () => {
      const count = 1234;
      const starts = Array.from({ length: count }, (_, i) => T0 + ((i * 7919) % count) * MINUTE);
      const batch = starts.map((start, i) =>
        message({ messageId: `exp-${i}@example.org`, events: [event({ at: start })] }, start),
      );
      await save(...batch.slice(0, 600));
      await save(...batch.slice(600));
      const iterator = store.exportMessages({})[Symbol.asyncIterator]();
      const first = await iterator.next();
      expect(first.value?.firstSeen).toBe(T0);
      // Saved after the export began: a streamed export (pages read on demand) still reaches it.
      await save(message({ messageId: 'late@example.org' }, T0 + 2 * count * MINUTE));
      const rest: MessageRecord[] = [first.value!];
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) rest.push(next.value);
      expect(rest).toHaveLength(count + 1);
      expect(rest.map((m) => m.firstSeen)).toEqual(
        [...starts, T0 + 2 * count * MINUTE].sort((a, b) => a - b),
      );
      expect(new Set(rest.map((m) => m.messageId)).size).toBe(count + 1);
      expect(rest[1]!.events).toHaveLength(1);
    });

    test('pages through messages sharing one firstSeen without loss or repeat', async () => {
      const same = Array.from({ length: 1100 }, (_, i) => message({ messageId: `tie-${i}@example.org` }));
      await save(...same);
      const exported = await collect(store.exportMessages({ from: T0, to: T0 }));
      expect(exported).toHaveLength(1100);
      expect(new Set(exported.map((m) => m.messageId)).size).toBe(1100);
    });

    test('keeps to the range', async () => {
      for (let i = 0; i < 4; i++) await save(message({}, T0 + i * DAY));
      const inRange = await collect(store.exportMessages({ from: T0 + DAY, to: T0 + 2 * DAY }));
      expect(inRange.map((m) => m.firstSeen)).toEqual([T0 + DAY, T0 + 2 * DAY]);
    });
  });

  test('purge deletes old messages with their rows and old loose lines, and counts them', async () => {
    const old = fullMessage();
    const recent = message(
      { queueIds: [ref('QP2', { firstSeen: T0 + 2 * DAY })], deliveries: [delivery('x@example.net')] },
      T0 + 2 * DAY,
    );
    await store.saveBatch({
      messages: [old, recent],
      looseLines: [loose('unknown', 'old line'), loose('invalid', 'new line', { at: T0 + 2 * DAY })],
    });
    const result = await store.purge(T0 + DAY);
    expect(result).toEqual({
      messages: 1,
      deliveries: 2,
      queueRefs: 2,
      handoffs: 2,
      events: 4,
      looseLines: 1,
    });
    expect(await store.counts()).toEqual({
      messages: 1,
      deliveries: 1,
      events: 2,
      unknownLines: 0,
      looseLines: 1,
    });
    expectSameRecord((await collect(store.exportMessages({})))[0], recent);
    expect(await orphans()).toBe(0);
    expect(await store.purge(T0 + DAY)).toEqual({
      messages: 0,
      deliveries: 0,
      queueRefs: 0,
      handoffs: 0,
      events: 0,
      looseLines: 0,
    });
  });

  test('loose lines are kept with their kind, origin and reason', async () => {
    const lines = [
      loose('unknown', 'Nov 20 10:00:00 mx1 postfix/smtpd[1]: odd'),
      loose('invalid', '\u0000garbage<>', { reason: 'no timestamp', host: '', program: '' }),
      loose('login', 'Nov 20 10:00:02 mx1 dovecot: imap-login: Login: user=<bob>', {
        at: T0 + 2 * SECOND,
        program: 'dovecot',
      }),
    ];
    await store.saveBatch({ messages: [], looseLines: lines });
    expect(await store.looseLines({})).toEqual(lines);
    expect(await store.looseLines({ kind: 'login' })).toEqual([lines[2]]);
    expect(await store.looseLines({ kind: 'never' })).toEqual([]);
    expect(await store.looseLines({ from: T0 + SECOND })).toEqual([lines[2]]);
    const counts = await store.counts();
    expect([counts.unknownLines, counts.looseLines]).toEqual([1, 3]);
  });

  test('hostile strings round-trip and search literally', async () => {
    const big = 'x'.repeat(10_000);
    const m = message({
      messageId: `it's"a\u0000test%_\\@example.org`,
      sender: "o'brien@example.org",
      subject: `100% _off_ 'now' "free" \u0000 \uffff \uffff0 ${big}`,
      clientName: 'a\\b',
      helo: "'; drop table messages; --",
      queueIds: [ref('Q%_\u0000')],
      links: ['quote"d', 'nul\u0000'],
      deliveries: [delivery(`${big}@example.net`, { reason: `\u0000${big}\u0000` })],
      events: [
        event({ text: `line with NUL \u0000 and ESC \uffff and ${big}`, host: 'h\u0000st' }),
        event({ at: T0 + SECOND, source: `src\u0000${'/var/log/%_'.repeat(100)}`, kind: "k'ind" }),
      ],
    });
    const decoy = message({ subject: '100 percent off', sender: 'o_brien@example.org' }, T0 + HOUR);
    await save(m, decoy);
    expectSameRecord(await only({ by: 'message-id', value: m.messageId! }), m);
    expectSameRecord(await only({ by: 'sender', value: "O'Brien@example.org" }), m);
    expectSameRecord(await only({ by: 'subject', value: '100%' }), m);
    expectSameRecord(await only({ by: 'subject', value: '_OFF_' }), m);
    expectSameRecord(await only({ by: 'subject', value: '\u0000 \uffff \uffff0' }), m);
    expectSameRecord(await only({ by: 'queue-id', value: 'Q%_\u0000' }), m);
    expect(await store.trace({ by: 'queue-id', value: 'Q%_' })).toEqual([]);
    expect(await store.trace({ by: 'subject', value: '%' })).toHaveLength(1);
    const before = await dump();
    await save(m);
    expect(await dump()).toEqual(before);
  });

  test('import runs are recorded with files and line statistics', async () => {
    const run = {
      startedAt: T0,
      finishedAt: T0 + MINUTE,
      files: ['/var/log/mail.log', "/var/log/o'dd %.log"],
      stats: [
        { host: 'mx1', program: 'dovecot', parser: 'dovecot', seen: 10, parsed: 8, unknown: 2, invalid: 0 },
        {
          host: 'mx1',
          program: 'postfix/smtpd',
          parser: 'postfix',
          seen: 3_000_000_000,
          parsed: 5,
          unknown: 1,
          invalid: 0,
        },
        { host: 'mx1', program: 'weird', parser: null, seen: 4, parsed: 0, unknown: 3, invalid: 1 },
      ],
    };
    await store.recordImport(run);
    await store.recordImport({ ...run, startedAt: T0 + HOUR, finishedAt: T0 + HOUR, files: [], stats: [] });
    const runs = await store.importRuns();
    expect(runs).toHaveLength(2);
    expect(runs[0]).toMatchObject({ startedAt: T0 + HOUR, finishedAt: T0 + HOUR, files: [], stats: [] });
    expect(runs[1]).toEqual({ id: runs[1]!.id, ...run });
  });

  test('a read-only store reads but refuses to write', async () => {
    const m = fullMessage();
    await save(m);
    const reader = await openStore(h.url, { readonly: true });
    try {
      expectSameRecord((await reader.trace({ by: 'message-id', value: m.messageId! }))[0], m);
      await expect(reader.saveBatch({ messages: [message()], looseLines: [] })).rejects.toThrow();
    } finally {
      await reader.close();
    }
    expect((await store.counts()).messages).toBe(1);
  });
});
