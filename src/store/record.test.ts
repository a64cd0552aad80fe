import { describe, expect, it } from 'vitest';
import type { MessageRecord } from '../core/model.js';
import { decodeRecord, encodeRecord, type MessageColumns } from './record.js';

const T0 = Date.UTC(2026, 10, 20, 10, 0, 0);

function record(over: Partial<MessageRecord> = {}): MessageRecord {
  return {
    kind: 'message',
    messageId: 'a@example.org',
    sender: 'alice@example.org',
    firstSeen: T0,
    lastSeen: T0 + 60_000,
    subject: 'Hi',
    size: 1234,
    clientIp: '192.0.2.1',
    clientName: 'mail.example.org',
    helo: 'mail.example.org',
    saslUser: 'alice',
    spam: { score: -1.25, required: 5, isSpam: false },
    virus: 'Eicar-Test-Signature',
    partial: true,
    complete: false,
    queueIds: [{ host: 'mx1', queueId: 'Q1', firstSeen: T0, lastSeen: T0 + 30_000, closed: true }],
    deliveries: [
      {
        recipient: 'bob@example.net',
        origRecipient: 'list@example.org',
        status: 'bounced',
        at: T0 + 20_000,
        host: 'mx1',
        relay: null,
        mailbox: 'INBOX',
        dsn: '5.1.1',
        reason: '550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown',
        attempts: 2,
        queueId: 'Q1',
        handoff: 'Q2',
      },
    ],
    events: [],
    links: ['queued_as', 'message-id'],
    bounceOf: { host: 'mx0', queueId: 'ABC' },
    handoffs: [{ queueId: 'Q2', at: T0 + 10_000, relay: '127.0.0.1[127.0.0.1]:10024' }],
    ...over,
  };
}

function columns(m: MessageRecord): MessageColumns {
  return {
    messageId: m.messageId,
    sender: m.sender,
    firstSeen: m.firstSeen,
    lastSeen: m.lastSeen,
    subject: m.subject,
    clientIp: m.clientIp,
  };
}

function roundTrip(m: MessageRecord): MessageRecord {
  return decodeRecord(encodeRecord(m), columns(m));
}

describe('message records', () => {
  it('come back field for field', () => {
    const m = record();
    const got = roundTrip(m);
    for (const key of Object.keys(m) as (keyof MessageRecord)[]) expect(got[key], key).toEqual(m[key]);
  });

  it('keep what the messages row holds out of the JSON', () => {
    const json = encodeRecord(record());
    for (const value of ['a@example.org', 'alice@example.org', '192.0.2.1', '"Hi"']) {
      expect(json).not.toContain(value);
    }
  });

  it('keep empty and refused records, and nulls', () => {
    const m = record({
      kind: 'refused',
      size: null,
      clientName: null,
      helo: null,
      saslUser: null,
      spam: { score: 3, required: null, isSpam: true },
      virus: null,
      partial: false,
      complete: true,
      queueIds: [],
      deliveries: [],
      links: [],
      bounceOf: null,
      handoffs: [],
    });
    expect(roundTrip(m)).toEqual(m);
    expect(roundTrip(record({ spam: null })).spam).toBeNull();
  });

  it('keep numbers JSON cannot hold and times that are no integers', () => {
    const m = record({
      size: Number.POSITIVE_INFINITY,
      spam: { score: Number.NaN, required: -0, isSpam: false },
      deliveries: [{ ...record().deliveries[0]!, at: T0 + 0.5, attempts: Number.NEGATIVE_INFINITY }],
      handoffs: [{ queueId: 'Q2', at: Number.NaN, relay: null }],
    });
    const got = roundTrip(m);
    expect(got.size).toBe(Number.POSITIVE_INFINITY);
    expect(got.spam?.score).toBeNaN();
    expect(Object.is(got.spam?.required, -0)).toBe(true);
    expect(got.deliveries[0]!.at).toBe(T0 + 0.5);
    expect(got.deliveries[0]!.attempts).toBe(Number.NEGATIVE_INFINITY);
    expect(got.handoffs[0]!.at).toBeNaN();
  });

  it('keep hostile strings exactly, lone surrogates included', () => {
    const odd = `NUL \u0000 ESC \uffff lone \ud800 quote " backslash \\ ${'x'.repeat(5000)}`;
    const m = record({
      clientName: odd,
      links: [odd],
      deliveries: [{ ...record().deliveries[0]!, reason: odd }],
    });
    expect(roundTrip(m)).toEqual(m);
  });

  it('refuse an unknown version', () => {
    expect(() => decodeRecord('[2]', columns(record()))).toThrow(/version/);
    expect(() => decodeRecord('{}', columns(record()))).toThrow(/version/);
  });
});
