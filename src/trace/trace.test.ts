import { describe, expect, it } from 'vitest';
import { csvField } from './csv.js';
import { explainDelivery, meaningOfDsn } from './explain.js';
import { interpretQuery, parseDuration, parseTimeArg } from './query.js';
import { safe } from './render-text.js';

describe('interpretQuery', () => {
  it('should read a bracketed value as a message-id', () => {
    expect(interpretQuery('<20261128100000.ABC@example.org>')).toEqual([
      { kind: 'message-id', value: '20261128100000.ABC@example.org' },
    ]);
  });
  it('should read an address first as an address, then as a message-id', () => {
    expect(interpretQuery(' Alice@Example.org ')).toEqual([
      { kind: 'address', value: 'alice@example.org' },
      { kind: 'message-id', value: 'Alice@Example.org' },
    ]);
  });
  it('should read IPv4 and IPv6 as client addresses', () => {
    expect(interpretQuery('192.0.2.1')).toEqual([{ kind: 'ip', value: '192.0.2.1' }]);
    expect(interpretQuery('2001:db8::1')).toEqual([{ kind: 'ip', value: '2001:db8::1' }]);
  });
  it('should read Postfix short and long queue ids as queue ids', () => {
    expect(interpretQuery('B37FD2E05B9')[0]).toEqual({ kind: 'queue-id', value: 'B37FD2E05B9' });
    expect(interpretQuery('4Bz1Xq2kH3zJ9q')[0]).toEqual({ kind: 'queue-id', value: '4Bz1Xq2kH3zJ9q' });
  });
  it('should read anything else as subject words', () => {
    expect(interpretQuery('factura noviembre')).toEqual([{ kind: 'subject', value: 'factura noviembre' }]);
  });
});

describe('time arguments', () => {
  it('should parse durations back from now and ISO times', () => {
    expect(parseDuration('2d')).toBe(172_800_000);
    expect(parseDuration('90m')).toBe(5_400_000);
    expect(parseDuration('2 days')).toBeNull();
    expect(parseTimeArg('1h', 10_000_000)).toBe(10_000_000 - 3_600_000);
    expect(parseTimeArg('2026-11-28T10:00:00Z')).toBe(Date.UTC(2026, 10, 28, 10));
    expect(parseTimeArg('yesterday')).toBeNull();
  });
});

describe('explainDelivery', () => {
  const base = {
    recipient: 'bob@example.org',
    origRecipient: null,
    at: Date.UTC(2026, 10, 28, 10, 3, 12),
    host: 'mbox1',
    relay: null,
    mailbox: null,
    dsn: null,
    reason: null,
    attempts: 1,
    queueId: 'A1',
    handoff: null,
  };
  it('should name the mailbox and the time since arrival of a delivered message', () => {
    expect(
      explainDelivery({ ...base, status: 'delivered', mailbox: 'INBOX' }, { firstSeen: base.at - 2000 }),
    ).toBe('Delivered into mailbox INBOX on mbox1 at 2026-11-28 10:03:12Z (2 s after it arrived).');
  });
  it('should explain a bounce with the remote reply and what the code means', () => {
    const text = explainDelivery({
      ...base,
      status: 'bounced',
      dsn: '5.1.1',
      relay: 'mx.example.org[198.51.100.1]:25',
      reason: 'host mx.example.org said: 550 5.1.1 no such user',
    });
    expect(text).toContain('550 5.1.1 no such user');
    expect(text).toContain('the mailbox does not exist: check the address');
  });
  it('should say a deferred message will be retried', () => {
    expect(explainDelivery({ ...base, status: 'deferred', dsn: '4.7.1', reason: 'greylisted' })).toMatch(
      /will try again.*greylisted.*try again later/,
    );
  });
  it('should know common status codes and not invent others', () => {
    expect(meaningOfDsn('5.2.2')).toBe('the mailbox is full');
    expect(meaningOfDsn('5.9.9')).toBeNull();
  });
});

describe('safe (terminal output of attacker-controlled text)', () => {
  it('should escape terminal control sequences and newlines', () => {
    expect(safe('a\u001b[31mred\nb\u0007 é')).toBe('a\\x1b[31mred\\nb\\x07 é');
  });
  it('should bound long values', () => {
    expect(safe('x'.repeat(1000), 10)).toBe(`${'x'.repeat(10)}…`);
  });
});

describe('csvField', () => {
  it('should quote separators and neutralise spreadsheet formulas', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('=HYPERLINK("http://x")')).toBe(`"'=HYPERLINK(""http://x"")"`);
    expect(csvField(-5)).toBe('-5');
    expect(csvField(null)).toBe('');
  });
});
