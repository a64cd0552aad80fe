import { describe, expect, it } from 'vitest';
import type { MailEvent } from '../core/events.js';
import type { Frame } from '../core/frame.js';
import { mergeMessages } from '../core/merge.js';
import type { LooseLine, MessageRecord } from '../core/model.js';
import { Correlator } from './index.js';

/**
 * Correlation rules on events built by hand (the parsers' own tests cover turning real lines into
 * these events; test/e2e covers real lines end to end). Each case is one rule of docs/correlation.md.
 */

const T0 = Date.UTC(2026, 10, 28, 10, 0, 0);
let offset = 0;

function frame(
  at: number,
  host: string,
  program: string,
  pid: number | null,
  raw = `${program} line ${offset}`,
): Frame {
  offset += 100;
  return {
    at: T0 + at * 1000,
    host,
    program,
    pid,
    text: raw,
    raw,
    origin: { source: 'test', file: 'test', offset, line: offset / 100 },
  };
}

function run(
  lines: [Frame, MailEvent | null][],
  options = {},
): { messages: MessageRecord[]; loose: LooseLine[] } {
  const messages: MessageRecord[] = [];
  const loose: LooseLine[] = [];
  const correlator = new Correlator(
    { message: (m) => messages.push(m), loose: (l) => loose.push(l) },
    options,
  );
  for (const [f, e] of lines) correlator.push(f, e, e ? 'test' : null);
  correlator.flush();
  return { messages, loose };
}

/** Joins the pieces the way the store does: by queue ref, message-id+sender, or handoff. */
function join(pieces: MessageRecord[]): MessageRecord[] {
  const out: MessageRecord[] = [];
  for (const piece of pieces) {
    const index = out.findIndex(
      (m) =>
        (m.messageId &&
          m.messageId === piece.messageId &&
          (m.sender === piece.sender || m.sender === null || piece.sender === null)) ||
        m.handoffs.some((h) => piece.queueIds.some((q) => q.queueId === h.queueId)) ||
        piece.handoffs.some((h) => m.queueIds.some((q) => q.queueId === h.queueId)),
    );
    if (index < 0) out.push(piece);
    else out[index] = mergeMessages(out[index]!, piece);
  }
  return out;
}

const smtpd = 'postfix/smtpd';
const client = { name: 'mail.example.com', ip: '192.0.2.10', port: 4321 };

describe('queue entries', () => {
  it('should build one complete message from client to removed, with every line as evidence', () => {
    const { messages, loose } = run([
      [frame(0, 'mx1', smtpd, 11), { kind: 'connect', client }],
      [frame(1, 'mx1', smtpd, 11), { kind: 'queue-client', queueId: 'A1', client, saslUsername: 'alice' }],
      [
        frame(1, 'mx1', 'postfix/cleanup', 12),
        { kind: 'message-id', queueId: 'A1', messageId: 'm1@example.com' },
      ],
      [
        frame(2, 'mx1', 'postfix/qmgr', 13),
        { kind: 'queue-active', queueId: 'A1', from: 'alice@example.com', size: 1234, nrcpt: 1 },
      ],
      [frame(3, 'mx1', smtpd, 11), { kind: 'disconnect', client }],
      [
        frame(4, 'mx1', 'postfix/smtp', 14),
        {
          kind: 'delivery',
          queueId: 'A1',
          to: 'bob@example.org',
          relay: 'mx.example.org[198.51.100.2]:25',
          dsn: '2.0.0',
          status: 'sent',
          reply: '250 2.0.0 Ok: queued as ZZ9',
          queuedAs: 'ZZ9',
        },
      ],
      [frame(4, 'mx1', 'postfix/qmgr', 13), { kind: 'queue-removed', queueId: 'A1' }],
    ]);
    expect(loose).toEqual([]);
    expect(messages).toHaveLength(1);
    const m = messages[0]!;
    expect(m).toMatchObject({
      kind: 'message',
      messageId: 'm1@example.com',
      sender: 'alice@example.com',
      size: 1234,
      clientIp: '192.0.2.10',
      clientName: 'mail.example.com',
      saslUser: 'alice',
      partial: false,
      complete: true,
    });
    expect(m.queueIds).toEqual([
      { host: 'mx1', queueId: 'A1', firstSeen: T0 + 1000, lastSeen: T0 + 4000, closed: true },
    ]);
    expect(m.deliveries).toEqual([
      {
        recipient: 'bob@example.org',
        origRecipient: null,
        status: 'delivered',
        at: T0 + 4000,
        host: 'mx1',
        relay: 'mx.example.org[198.51.100.2]:25',
        mailbox: null,
        dsn: '2.0.0',
        reason: '250 2.0.0 Ok: queued as ZZ9',
        attempts: 1,
        queueId: 'A1',
        handoff: 'ZZ9',
      },
    ]);
    expect(m.handoffs).toEqual([{ queueId: 'ZZ9', at: T0 + 4000, relay: 'mx.example.org[198.51.100.2]:25' }]);
    expect(m.events.map((e) => e.kind)).toEqual([
      'connect',
      'queue-start',
      'message-id',
      'queue-active',
      'disconnect',
      'delivery',
      'queue-removed',
    ]);
  });

  it('should mark an entry whose start was not read as partial and still open at the end of input', () => {
    const { messages } = run([
      [
        frame(0, 'mx1', 'postfix/smtp', 14),
        {
          kind: 'delivery',
          queueId: 'B2',
          to: 'bob@example.org',
          status: 'deferred',
          dsn: '4.4.1',
          reply: 'connect to x: Connection timed out',
        },
      ],
    ]);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ partial: true, complete: false, messageId: null });
    expect(messages[0]!.deliveries[0]).toMatchObject({ status: 'deferred', dsn: '4.4.1', attempts: 1 });
  });

  it('should let the latest attempt settle the status and count every attempt', () => {
    const { messages } = run([
      [
        frame(0, 'mx1', 'postfix/pickup', 1),
        { kind: 'queue-pickup', queueId: 'C3', uid: 1000, from: 'alice@example.com' },
      ],
      [
        frame(1, 'mx1', 'postfix/smtp', 2),
        {
          kind: 'delivery',
          queueId: 'C3',
          to: 'bob@example.org',
          status: 'deferred',
          dsn: '4.7.1',
          reply: 'greylisted',
        },
      ],
      [
        frame(900, 'mx1', 'postfix/smtp', 2),
        {
          kind: 'delivery',
          queueId: 'C3',
          to: 'bob@example.org',
          status: 'sent',
          dsn: '2.0.0',
          reply: '250 ok',
        },
      ],
      [frame(900, 'mx1', 'postfix/qmgr', 3), { kind: 'queue-removed', queueId: 'C3' }],
    ]);
    expect(messages[0]!.deliveries[0]).toMatchObject({
      status: 'delivered',
      attempts: 2,
      dsn: '2.0.0',
      at: T0 + 900_000,
    });
  });

  it('should start a new entry when Postfix reuses a queue id', () => {
    const { messages } = run([
      [frame(0, 'mx1', 'postfix/pickup', 1), { kind: 'queue-pickup', queueId: 'D4', from: 'a@x.org' }],
      [frame(1, 'mx1', 'postfix/cleanup', 2), { kind: 'message-id', queueId: 'D4', messageId: 'first@x' }],
      [frame(5, 'mx1', 'postfix/pickup', 1), { kind: 'queue-pickup', queueId: 'D4', from: 'b@x.org' }],
      [frame(6, 'mx1', 'postfix/cleanup', 2), { kind: 'message-id', queueId: 'D4', messageId: 'second@x' }],
      [frame(7, 'mx1', 'postfix/qmgr', 3), { kind: 'queue-removed', queueId: 'D4' }],
    ]);
    expect(messages.map((m) => [m.messageId, m.sender, m.complete])).toEqual([
      ['first@x', 'a@x.org', false],
      ['second@x', 'b@x.org', true],
    ]);
  });

  it('should turn deferred recipients into expired when the queue lifetime ends, and link the bounce', () => {
    const { messages } = run([
      [frame(0, 'mx1', 'postfix/pickup', 1), { kind: 'queue-pickup', queueId: 'E5', from: 'a@x.org' }],
      [
        frame(1, 'mx1', 'postfix/smtp', 2),
        { kind: 'delivery', queueId: 'E5', to: 'b@y.org', status: 'deferred', reply: 'timeout' },
      ],
      [frame(2, 'mx1', 'postfix/qmgr', 3), { kind: 'queue-expired', queueId: 'E5', from: 'a@x.org' }],
      [frame(2, 'mx1', 'postfix/cleanup', 4), { kind: 'message-id', queueId: 'F6', messageId: 'dsn@mx1' }],
      [
        frame(2, 'mx1', 'postfix/bounce', 5),
        { kind: 'notification', queueId: 'E5', notificationQueueId: 'F6', notification: 'non-delivery' },
      ],
      [frame(2, 'mx1', 'postfix/qmgr', 3), { kind: 'queue-removed', queueId: 'E5' }],
      [
        frame(3, 'mx1', 'postfix/local', 6),
        {
          kind: 'delivery',
          queueId: 'F6',
          to: 'a@x.org',
          status: 'sent',
          relay: 'local',
          mailbox: 'mailbox',
        },
      ],
      [frame(3, 'mx1', 'postfix/qmgr', 3), { kind: 'queue-removed', queueId: 'F6' }],
    ]);
    const [original, dsn] = messages;
    expect(original!.deliveries[0]).toMatchObject({ recipient: 'b@y.org', status: 'expired' });
    expect(dsn).toMatchObject({
      sender: '',
      bounceOf: { host: 'mx1', queueId: 'E5' },
      partial: false,
      messageId: 'dsn@mx1',
    });
    expect(dsn!.deliveries[0]).toMatchObject({
      recipient: 'a@x.org',
      status: 'delivered',
      mailbox: 'mailbox',
    });
  });

  it('should end the entry with every recipient rejected on a milter reject at end of data', () => {
    const { messages } = run([
      [frame(0, 'mx1', smtpd, 7), { kind: 'queue-client', queueId: 'G7', client }],
      [
        frame(1, 'mx1', smtpd, 7),
        {
          kind: 'reject',
          queueId: 'G7',
          action: 'reject',
          stage: 'RCPT',
          code: 550,
          dsn: '5.1.1',
          reason: 'User unknown',
          from: 'a@x.org',
          to: 'nobody@y.org',
        },
      ],
      [
        frame(2, 'mx1', 'postfix/cleanup', 8),
        {
          kind: 'reject',
          queueId: 'G7',
          action: 'milter-reject',
          stage: 'END-OF-MESSAGE',
          dsn: '5.7.1',
          reason: 'Spam message rejected',
          from: 'a@x.org',
          to: 'real@y.org',
        },
      ],
    ]);
    expect(messages).toHaveLength(1);
    expect(messages[0]!.complete).toBe(true);
    expect(messages[0]!.deliveries.map((d) => [d.recipient, d.status, d.dsn])).toEqual([
      ['nobody@y.org', 'rejected', '5.1.1'],
      ['real@y.org', 'rejected', '5.7.1'],
    ]);
  });

  it('should give held then deleted on postsuper hold and delete', () => {
    const { messages } = run([
      [frame(0, 'mx1', 'postfix/pickup', 1), { kind: 'queue-pickup', queueId: 'H8', from: 'a@x.org' }],
      [
        frame(1, 'mx1', 'postfix/smtp', 2),
        { kind: 'delivery', queueId: 'H8', to: 'b@y.org', status: 'deferred' },
      ],
      [frame(2, 'mx1', 'postsuper', 3), { kind: 'queue-admin', queueId: 'H8', action: 'held' }],
      [frame(3, 'mx1', 'postsuper', 4), { kind: 'queue-admin', queueId: 'H8', action: 'deleted' }],
    ]);
    expect(messages[0]!.deliveries[0]!.status).toBe('deleted');
    expect(messages[0]!.complete).toBe(true);
    expect(messages[0]!.links).toContain('hold');
  });
});

describe('SMTP sessions', () => {
  it('should attach a refusal before queueing to the message the same session then queues', () => {
    const { messages } = run([
      [frame(0, 'mx1', smtpd, 21), { kind: 'connect', client }],
      [
        frame(1, 'mx1', smtpd, 21),
        {
          kind: 'reject',
          action: 'reject',
          stage: 'RCPT',
          code: 550,
          dsn: '5.1.1',
          reason: '<nobody@y.org>: Recipient address rejected: User unknown',
          from: 'a@x.org',
          to: 'nobody@y.org',
          helo: 'mail.example.com',
        },
      ],
      [frame(2, 'mx1', smtpd, 21), { kind: 'queue-client', queueId: 'J9', client }],
      [
        frame(3, 'mx1', 'postfix/qmgr', 3),
        { kind: 'queue-active', queueId: 'J9', from: 'a@x.org', nrcpt: 1 },
      ],
      [frame(4, 'mx1', smtpd, 21), { kind: 'disconnect', client }],
      [
        frame(5, 'mx1', 'postfix/lmtp', 4),
        { kind: 'delivery', queueId: 'J9', to: 'real@y.org', status: 'sent' },
      ],
      [frame(5, 'mx1', 'postfix/qmgr', 3), { kind: 'queue-removed', queueId: 'J9' }],
    ]);
    expect(messages).toHaveLength(1);
    expect(messages[0]!.helo).toBe('mail.example.com');
    expect(messages[0]!.deliveries.map((d) => [d.recipient, d.status, d.reason])).toEqual([
      ['nobody@y.org', 'rejected', '550 5.1.1 <nobody@y.org>: Recipient address rejected: User unknown'],
      ['real@y.org', 'delivered', null],
    ]);
  });

  it('should make a refused entry, one per sender, when the session queues nothing', () => {
    const { messages, loose } = run([
      [frame(0, 'mx1', smtpd, 31), { kind: 'connect', client }],
      [
        frame(1, 'mx1', smtpd, 31),
        {
          kind: 'reject',
          action: 'reject',
          stage: 'RCPT',
          code: 554,
          dsn: '5.7.1',
          reason: 'Relay access denied',
          from: 'spam@bad.example',
          to: 'x@elsewhere.example',
          helo: 'bad',
        },
      ],
      [
        frame(2, 'mx1', smtpd, 31),
        {
          kind: 'reject',
          action: 'reject',
          stage: 'RCPT',
          code: 554,
          dsn: '5.7.1',
          reason: 'Relay access denied',
          from: 'spam@bad.example',
          to: 'y@elsewhere.example',
          helo: 'bad',
        },
      ],
      [frame(3, 'mx1', smtpd, 31), { kind: 'disconnect', client }],
    ]);
    expect(loose).toEqual([]);
    expect(messages).toHaveLength(1);
    const m = messages[0]!;
    expect(m).toMatchObject({
      kind: 'refused',
      messageId: null,
      sender: 'spam@bad.example',
      clientIp: '192.0.2.10',
      helo: 'bad',
      complete: true,
      partial: false,
    });
    expect(m.deliveries.map((d) => [d.recipient, d.status, d.dsn])).toEqual([
      ['x@elsewhere.example', 'rejected', '5.7.1'],
      ['y@elsewhere.example', 'rejected', '5.7.1'],
    ]);
    expect(m.events.map((e) => e.kind)).toEqual(['connect', 'reject', 'reject', 'disconnect']);
  });

  it('should keep a postscreen refusal (no session) as a refused entry at once', () => {
    const { messages } = run([
      [
        frame(0, 'mx1', 'postfix/postscreen', 5),
        {
          kind: 'reject',
          action: 'reject',
          stage: 'RCPT',
          code: 550,
          dsn: '5.7.1',
          reason: 'Service unavailable; client [203.0.113.5] blocked using zen.spamhaus.org',
          client: { ip: '203.0.113.5', port: 1111 },
          from: 's@spam.example',
          to: 'u@example.edu',
        },
      ],
    ]);
    expect(messages[0]).toMatchObject({ kind: 'refused', clientIp: '203.0.113.5', sender: 's@spam.example' });
  });

  it('should group the refusals of one postscreen connection (keyed by client address and port)', () => {
    const ps = 'postfix/postscreen';
    const c1 = { ip: '203.0.113.5', port: 1111 };
    const c2 = { ip: '203.0.113.5', port: 2222 };
    const refuse = (client: typeof c1, to: string): MailEvent => ({
      kind: 'reject',
      action: 'reject',
      stage: 'RCPT',
      code: 550,
      dsn: '5.7.1',
      reason: 'Service unavailable',
      client,
      from: 's@spam.example',
      to,
    });
    const { messages } = run([
      [frame(0, 'mx1', ps, 5), { kind: 'connect', client: c1 }],
      [frame(0, 'mx1', ps, 5), { kind: 'connect', client: c2 }],
      [frame(1, 'mx1', ps, 5), refuse(c1, 'a@example.edu')],
      [frame(1, 'mx1', ps, 5), refuse(c2, 'x@example.edu')],
      [frame(2, 'mx1', ps, 5), refuse(c1, 'b@example.edu')],
      [frame(3, 'mx1', ps, 5), { kind: 'disconnect', client: c1 }],
      [frame(3, 'mx1', ps, 5), { kind: 'disconnect', client: c2 }],
    ]);
    expect(messages.map((m) => m.deliveries.map((d) => d.recipient))).toEqual([
      ['a@example.edu', 'b@example.edu'],
      ['x@example.edu'],
    ]);
  });

  it('should keep a session that sent nothing as loose lines, not drop it', () => {
    const { messages, loose } = run([
      [frame(0, 'mx1', smtpd, 41), { kind: 'connect', client }],
      [frame(1, 'mx1', smtpd, 41), { kind: 'disconnect', client }],
    ]);
    expect(messages).toEqual([]);
    expect(loose.map((l) => l.kind)).toEqual(['connect', 'disconnect']);
  });
});

describe('content filter, scanners and mailbox', () => {
  const verdict = (passed: boolean): MailEvent => ({
    kind: 'filter-verdict',
    filter: 'amavis',
    action: passed ? 'Passed' : 'Blocked',
    category: passed ? 'CLEAN' : 'INFECTED',
    passed,
    queueId: 'K1',
    messageId: 'v@x',
    from: 'a@x.org',
    to: ['b@example.edu'],
    score: 1.5,
    queuedAs: passed ? ['K2'] : [],
    ...(passed ? {} : { virus: 'Eicar-Signature', quarantine: 'virus-abc' }),
    filterId: '2222-01',
  });

  it('should join the re-injected entry and the mailbox host into one message delivered into the mailbox', () => {
    const { messages } = run([
      [frame(0, 'mx1', smtpd, 1), { kind: 'queue-client', queueId: 'K1', client }],
      [frame(0, 'mx1', 'postfix/cleanup', 2), { kind: 'message-id', queueId: 'K1', messageId: 'v@x' }],
      [
        frame(1, 'mx1', 'postfix/qmgr', 3),
        { kind: 'queue-active', queueId: 'K1', from: 'a@x.org', size: 900 },
      ],
      [
        frame(2, 'mx1', 'spamd', 9),
        { kind: 'spam-result', scanner: 'spamd', messageId: 'v@x', score: 1.5, required: 5, isSpam: false },
      ],
      [frame(3, 'mx1', 'amavis', 2222), verdict(true)],
      [
        frame(3, 'mx1', smtpd, 50),
        { kind: 'queue-client', queueId: 'K2', client: { name: 'localhost', ip: '127.0.0.1' } },
      ],
      [frame(3, 'mx1', 'postfix/cleanup', 2), { kind: 'message-id', queueId: 'K2', messageId: 'v@x' }],
      [
        frame(3, 'mx1', 'postfix/smtp', 4),
        {
          kind: 'delivery',
          queueId: 'K1',
          to: 'b@example.edu',
          relay: '127.0.0.1[127.0.0.1]:10024',
          status: 'sent',
          queuedAs: 'K2',
        },
      ],
      [frame(3, 'mx1', 'postfix/qmgr', 3), { kind: 'queue-removed', queueId: 'K1' }],
      [
        frame(4, 'mx1', 'postfix/qmgr', 3),
        { kind: 'queue-active', queueId: 'K2', from: 'a@x.org', size: 1200 },
      ],
      [
        frame(5, 'mx1', 'postfix/smtp', 4),
        {
          kind: 'delivery',
          queueId: 'K2',
          to: 'b@example.edu',
          relay: 'mbox1[10.0.0.2]:25',
          status: 'sent',
          queuedAs: 'M1',
        },
      ],
      [frame(5, 'mx1', 'postfix/qmgr', 3), { kind: 'queue-removed', queueId: 'K2' }],
      [
        frame(5, 'mbox1', smtpd, 7),
        { kind: 'queue-client', queueId: 'M1', client: { name: 'mx1', ip: '10.0.0.1' } },
      ],
      [frame(5, 'mbox1', 'postfix/cleanup', 2), { kind: 'message-id', queueId: 'M1', messageId: 'v@x' }],
      [frame(5, 'mbox1', 'postfix/qmgr', 3), { kind: 'queue-active', queueId: 'M1', from: 'a@x.org' }],
      [
        frame(6, 'mbox1', 'dovecot', 8),
        {
          kind: 'mailbox-delivery',
          user: 'b@example.edu',
          messageId: 'v@x',
          mailbox: 'INBOX',
          outcome: 'saved',
          agent: 'lmtp',
        },
      ],
      [
        frame(6, 'mbox1', 'postfix/lmtp', 4),
        {
          kind: 'delivery',
          queueId: 'M1',
          to: 'b@example.edu',
          relay: 'mbox1[private/dovecot-lmtp]',
          status: 'sent',
        },
      ],
      [frame(6, 'mbox1', 'postfix/qmgr', 3), { kind: 'queue-removed', queueId: 'M1' }],
    ]);
    expect(messages).toHaveLength(3);
    const [message] = join(messages);
    expect(join(messages)).toHaveLength(1);
    expect(message).toMatchObject({
      messageId: 'v@x',
      sender: 'a@x.org',
      size: 900,
      clientIp: '192.0.2.10',
      spam: { score: 1.5, required: 5, isSpam: false },
      partial: false,
      complete: true,
    });
    expect(message!.queueIds.map((q) => `${q.queueId}@${q.host}`)).toEqual(['K1@mx1', 'K2@mx1', 'M1@mbox1']);
    expect(message!.deliveries).toHaveLength(1);
    expect(message!.deliveries[0]).toMatchObject({
      recipient: 'b@example.edu',
      status: 'delivered',
      mailbox: 'INBOX',
      host: 'mbox1',
      attempts: 3,
    });
  });

  it('should quarantine the recipients of a blocked message and link the clamd line by the amavis pid', () => {
    const { messages, loose } = run([
      [frame(0, 'mx1', smtpd, 1), { kind: 'queue-client', queueId: 'K1', client }],
      [
        frame(1, 'mx1', 'clamd', 77),
        {
          kind: 'virus-found',
          scanner: 'clamd',
          virus: 'Eicar-Signature',
          target: '/var/lib/amavis/tmp/amavis-20261128T100000-02222/parts/p002',
          amavisPid: 2222,
        },
      ],
      [frame(2, 'mx1', 'amavis', 2222), verdict(false)],
      [
        frame(2, 'mx1', 'postfix/smtp', 4),
        {
          kind: 'delivery',
          queueId: 'K1',
          to: 'b@example.edu',
          relay: '127.0.0.1[127.0.0.1]:10024',
          status: 'sent',
          reply: '250 2.7.0 Ok, discarded, id=2222-01 - INFECTED: Eicar-Signature',
        },
      ],
      [frame(2, 'mx1', 'postfix/qmgr', 3), { kind: 'queue-removed', queueId: 'K1' }],
    ]);
    expect(loose).toEqual([]);
    expect(messages[0]).toMatchObject({ virus: 'Eicar-Signature', messageId: 'v@x' });
    expect(messages[0]!.deliveries[0]).toMatchObject({
      status: 'quarantined',
      reason: 'amavis: Blocked INFECTED (Eicar-Signature)',
    });
    expect(messages[0]!.events.map((e) => e.kind)).toEqual([
      'queue-start',
      'virus-found',
      'filter-verdict',
      'delivery',
      'queue-removed',
    ]);
  });

  it('should make a fragment of a mailbox delivery with no MTA entry on its host', () => {
    const { messages } = run([
      [
        frame(0, 'mbox9', 'dovecot', 8),
        {
          kind: 'mailbox-delivery',
          user: 'c@example.edu',
          messageId: 'w@x',
          mailbox: 'Junk',
          outcome: 'saved',
          agent: 'lda',
        },
      ],
    ]);
    expect(messages[0]).toMatchObject({ messageId: 'w@x', sender: null, queueIds: [] });
    expect(messages[0]!.deliveries[0]).toMatchObject({
      recipient: 'c@example.edu',
      status: 'delivered',
      mailbox: 'Junk',
      relay: 'lda',
    });
  });

  it('should take the message-id of a spamd result without mid from the same pid’s processing line', () => {
    const { messages } = run([
      [frame(0, 'mx1', 'postfix/pickup', 1), { kind: 'queue-pickup', queueId: 'P1', from: 'a@x.org' }],
      [frame(0, 'mx1', 'postfix/cleanup', 2), { kind: 'message-id', queueId: 'P1', messageId: 's@x' }],
      [frame(1, 'mx1', 'spamd', 600), { kind: 'spam-processing', scanner: 'spamd', messageId: 's@x' }],
      [
        frame(2, 'mx1', 'spamd', 600),
        { kind: 'spam-result', scanner: 'spamd', score: 12, required: 5, isSpam: true },
      ],
      [frame(3, 'mx1', 'postfix/qmgr', 3), { kind: 'queue-removed', queueId: 'P1' }],
    ]);
    expect(messages[0]!.spam).toEqual({ score: 12, required: 5, isSpam: true });
    expect(messages[0]!.links).toContain('spamd pid');
  });
});

describe('bounded memory and nothing dropped', () => {
  it('should emit the oldest open entry unfinished when the cap is reached', () => {
    const lines: [Frame, MailEvent][] = [];
    for (let i = 0; i < 5; i++)
      lines.push([
        frame(i, 'mx1', 'postfix/pickup', 1),
        { kind: 'queue-pickup', queueId: `Q${i}`, from: 'a@x.org' },
      ]);
    const messages: MessageRecord[] = [];
    const correlator = new Correlator(
      { message: (m) => messages.push(m), loose: () => {} },
      { maxOpenEntries: 3 },
    );
    for (const [f, e] of lines) correlator.push(f, e, 'test');
    expect(messages.map((m) => m.queueIds[0]!.queueId)).toEqual(['Q0', 'Q1']);
    expect(correlator.stats.evicted).toBe(2);
  });

  it('should keep unknown lines as loose lines with the reason', () => {
    const { loose } = run([[frame(0, 'mx1', 'weird', 1, 'weird[1]: something new'), null]]);
    expect(loose).toEqual([
      expect.objectContaining({
        kind: 'unknown',
        text: 'weird[1]: something new',
        host: 'mx1',
        reason: 'no parser for this program',
      }),
    ]);
  });
});

describe('hand-offs joined out of order', () => {
  it('should let the re-injected entry settle the recipient even when Postfix logged it before the hand-off', () => {
    const { messages } = run([
      [frame(0, 'mx1', smtpd, 1), { kind: 'queue-client', queueId: 'R1', client }],
      [frame(0, 'mx1', 'postfix/cleanup', 2), { kind: 'message-id', queueId: 'R1', messageId: 'race@x' }],
      [frame(0, 'mx1', 'postfix/qmgr', 3), { kind: 'queue-active', queueId: 'R1', from: 'a@x.org' }],
      [
        frame(1, 'mx1', smtpd, 50),
        { kind: 'queue-client', queueId: 'R2', client: { name: 'localhost', ip: '127.0.0.1' } },
      ],
      [frame(1, 'mx1', 'postfix/cleanup', 2), { kind: 'message-id', queueId: 'R2', messageId: 'race@x' }],
      [frame(1, 'mx1', 'postfix/qmgr', 3), { kind: 'queue-active', queueId: 'R2', from: 'a@x.org' }],
      // The re-injected entry's attempt is logged first, in the same second as the hand-off.
      [
        frame(1, 'mx1', 'postfix/smtp', 4),
        {
          kind: 'delivery',
          queueId: 'R2',
          to: 'ops@down.test',
          status: 'deferred',
          dsn: '4.4.1',
          reply: 'connect to 127.0.0.3[127.0.0.3]:25: Connection refused',
        },
      ],
      [
        frame(1, 'mx1', 'postfix/smtp', 5),
        {
          kind: 'delivery',
          queueId: 'R1',
          to: 'ops@down.test',
          relay: '127.0.0.1[127.0.0.1]:10024',
          status: 'sent',
          dsn: '2.0.0',
          queuedAs: 'R2',
        },
      ],
      [frame(1, 'mx1', 'postfix/qmgr', 3), { kind: 'queue-removed', queueId: 'R1' }],
    ]);
    for (const pieces of [messages, [...messages].reverse()]) {
      const joined = join(pieces);
      expect(joined).toHaveLength(1);
      expect(joined[0]!.deliveries).toEqual([
        expect.objectContaining({
          recipient: 'ops@down.test',
          status: 'deferred',
          dsn: '4.4.1',
          queueId: 'R2',
          handoff: null,
          attempts: 2,
        }),
      ]);
    }
  });
});

describe('qmail: msg numbers, delivery numbers and qp', () => {
  const qs = 'qmail-send';
  it('should link a qmail-scanner verdict by qp, settle recipients by delivery number, and bounce the ones still deferred', () => {
    const { messages } = run([
      [
        frame(0, 'mx2', 'qmail-scanner', 4242),
        {
          kind: 'filter-verdict',
          filter: 'qmail-scanner',
          action: 'Clear',
          category: 'CLEAN',
          passed: true,
          to: ['b@example.edu', 'c@example.edu'],
          queuedAs: [],
          messageId: 'q@x',
          from: 'a@x.org',
          subject: 'Hola',
          qp: 4242,
        },
      ],
      [frame(1, 'mx2', qs, null), { kind: 'queue-info', queueId: '7340', starts: true }],
      [
        frame(1, 'mx2', qs, null),
        { kind: 'queue-info', queueId: '7340', starts: false, from: 'a@x.org', size: 999, qp: 4242, uid: 89 },
      ],
      [
        frame(2, 'mx2', qs, null),
        { kind: 'delivery-start', deliveryId: '11', queueId: '7340', to: 'b@example.edu', channel: 'local' },
      ],
      [
        frame(2, 'mx2', qs, null),
        { kind: 'delivery-start', deliveryId: '12', queueId: '7340', to: 'c@example.edu', channel: 'remote' },
      ],
      [
        frame(3, 'mx2', qs, null),
        { kind: 'delivery-result', deliveryId: '11', status: 'sent', reply: 'did 0+0+1/' },
      ],
      [
        frame(3, 'mx2', qs, null),
        { kind: 'delivery-result', deliveryId: '12', status: 'deferred', reply: 'Connection refused' },
      ],
      [
        frame(9, 'mx2', qs, null),
        {
          kind: 'notification',
          queueId: '7340',
          notification: 'non-delivery',
          notificationQp: 5555,
          settlesDeferred: true,
        },
      ],
      [frame(9, 'mx2', qs, null), { kind: 'queue-info', queueId: '7341', starts: true }],
      [
        frame(9, 'mx2', qs, null),
        { kind: 'queue-info', queueId: '7341', starts: false, from: '', size: 1500, qp: 5555, uid: 89 },
      ],
      [frame(9, 'mx2', qs, null), { kind: 'queue-removed', queueId: '7340' }],
    ]);
    const original = messages.find((m) => m.queueIds[0]?.queueId === '7340')!;
    expect(original).toMatchObject({
      messageId: 'q@x',
      sender: 'a@x.org',
      subject: 'Hola',
      size: 999,
      complete: true,
      partial: false,
    });
    expect(original.links).toEqual(expect.arrayContaining(['qmail-scanner qp', 'delivery number']));
    expect(original.deliveries.map((d) => [d.recipient, d.status])).toEqual([
      ['b@example.edu', 'delivered'],
      ['c@example.edu', 'bounced'],
    ]);
    const bounce = messages.find((m) => m.queueIds[0]?.queueId === '7341')!;
    expect(bounce).toMatchObject({ sender: '', bounceOf: { host: 'mx2', queueId: '7340' }, partial: false });
  });
});
