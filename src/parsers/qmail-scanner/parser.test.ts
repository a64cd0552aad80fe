import { describe, expect, it } from 'vitest';
import type { FilterVerdictEvent, MailEvent } from '../../core/events.js';
import { coverage, fixtureLines, frame, frameLines, hasCorpus } from '../testing/corpus.js';
import { decodeSubject, qmailScannerParser } from './parser.js';

const realFrames = frameLines(fixtureLines(new URL('./fixtures/real.log', import.meta.url)));

function parseReal(fragment: string): MailEvent | null {
  const matches = realFrames.filter((f) => f.raw.includes(fragment));
  if (matches.length !== 1) throw new Error(`${matches.length} fixture lines contain ${fragment}`);
  const f = matches[0]!;
  expect(qmailScannerParser.handles(f.program)).toBe(true);
  return qmailScannerParser.parse(f);
}

function parse(text: string, pid: number | null = 4711): MailEvent | null {
  return qmailScannerParser.parse(frame('qmail-scanner', text, pid));
}

function verdict(fields: Omit<FilterVerdictEvent, 'kind' | 'filter' | 'queuedAs'>): FilterVerdictEvent {
  return { kind: 'filter-verdict', filter: 'qmail-scanner', queuedAs: [], ...fields };
}

const REAL: readonly (readonly [string, MailEvent])[] = [
  [
    'qmail-scanner[25042]',
    verdict({
      action: 'Clear',
      category: 'CLEAN',
      passed: true,
      score: 0,
      size: 3302,
      clientIp: '217.72.192.234',
      from: 'sylpheed-admin@good-day.net',
      to: ['peter@ifup.de'],
      subject: '[sylpheed:27685] Sync two copies of Sylpheed',
      messageId: '20060318231614.f9991a2d.johnxj@comcast.net',
      qp: 25042,
    }),
  ],
  // SpamAssassin tagged it (SA:1) and Qmail-Scanner passed it on.
  [
    'qmail-scanner[31528]',
    verdict({
      action: 'Clear',
      category: 'SPAM',
      passed: true,
      score: 8.1,
      size: 1371,
      clientIp: '213.165.64.100',
      from: 'srs0=k3bc=5k=douglas.co.za=deonegqf@gmx.net',
      to: ['peter@ifup.de'],
      subject: '$E}{UALLYY EXPLICIT: Group glorious teens hardcoore',
      messageId: '3388717865.3821662804@douglas.co.za',
      qp: 31528,
    }),
  ],
];

describe('qmail-scanner parser on real lines', () => {
  it.each(REAL)('parses %s', (fragment, expected) => {
    expect(parseReal(fragment)).toEqual(expected);
  });

  it('has an expectation for every fixture line', () => {
    const covered = realFrames.filter((f) => REAL.some(([fragment]) => f.raw.includes(fragment)));
    expect(covered).toHaveLength(realFrames.length);
  });
});

describe('qmail-scanner log_msg() lines (qmail-scanner-queue.pl 1.2x-2.x, `$log_details="syslog"`)', () => {
  it('stops a quarantined virus, its name last in the quarantine event', () => {
    expect(
      parse(
        'CLAMDSCAN:Eicar-Test-Signature:RC:0(192.0.2.1):SA:0(0.0/5.0): 0.213 1234 a@x.org b@y.org,c@y.org Test <mid@x.org> eicar.com:68',
      ),
    ).toEqual(
      verdict({
        action: 'CLAMDSCAN:Eicar-Test-Signature',
        category: 'INFECTED',
        passed: false,
        virus: 'Eicar-Test-Signature',
        score: 0,
        size: 1234,
        clientIp: '192.0.2.1',
        from: 'a@x.org',
        to: ['b@y.org', 'c@y.org'],
        subject: 'Test',
        messageId: 'mid@x.org',
        qp: 4711,
      }),
    );
  });

  it('stops a policy block, a relay client with no address and no SpamAssassin', () => {
    expect(parse('Policy:Bad_Attachment:RC:1: 0.05 900  b@y.org  <mid@x.org> a.scr:12')).toEqual(
      verdict({
        action: 'Policy:Bad_Attachment',
        category: 'BANNED',
        passed: false,
        size: 900,
        from: '',
        to: ['b@y.org'],
        messageId: 'mid@x.org',
        qp: 4711,
      }),
    );
  });

  it('reads a verdict whose scanner description holds `: `', () => {
    expect(parse('Virus:sophie: Worm.X:RC:0(192.0.2.1): 1.5 500 a@x.org b@y.org S <m@x> f:1')).toMatchObject({
      action: 'Virus:sophie: Worm.X',
      category: 'INFECTED',
      virus: ' Worm.X',
      passed: false,
    });
  });

  it('decodes encoded subjects; blanks between encoded words vanish, `_` inside them is a space', () => {
    expect(decodeSubject('=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus?=_=?UTF-8?Q?K=C3=B6ln?=_heute')).toBe(
      'Grüße ausKöln heute',
    );
    expect(decodeSubject('Re:_=?ISO-8859-1?Q?Caf=E9?=')).toBe('Re: Café');
    expect(decodeSubject('plain_words')).toBe('plain words');
    expect(typeof decodeSubject('=?x-unknown?Q?abc?=')).toBe('string');
  });

  it('keeps its own failures as info, and a line without pid has no qp', () => {
    expect(
      parse(
        'X-Qmail-Scanner-2.01:[host1142752873625025042] clamdscan: corrupt or unknown clamd scanner error',
      ),
    ).toEqual({ kind: 'info', label: 'error' });
    expect(parse('Clear:RC:1(127.0.0.1): 0.1 10 a@x.org b@y.org s <m@x> f:1', null)).toEqual(
      verdict({
        action: 'Clear',
        category: 'CLEAN',
        passed: true,
        size: 10,
        clientIp: '127.0.0.1',
        from: 'a@x.org',
        to: ['b@y.org'],
        subject: 's',
        messageId: 'm@x',
      }),
    );
  });
});

describe('hostile input', () => {
  it('never throws and leaves what it does not know unknown', () => {
    for (const line of ['', ': ', 'Clear:', 'Clear: x', 'Clear: 1', 'Clear: 1 2', 'X-', 'X-:[', '\u0000']) {
      expect(() => parse(line)).not.toThrow();
    }
    expect(parse('Clear: 1 2')).toBeNull();
    expect(parse('Clear: x 1 a b')).toBeNull();
    expect(parse('something: else entirely')).toBeNull();
  });

  it('bounds long fields and stays fast', () => {
    const started = performance.now();
    for (let i = 0; i < 100; i++) {
      const event = parse(
        `Clear:RC:0(${'9'.repeat(300)}): 1 2 ${'a'.repeat(5000)} ${'b,'.repeat(5000)} ${'=?'.repeat(5000)} <${'m'.repeat(5000)}> x`,
      ) as FilterVerdictEvent;
      expect(event.from!.length).toBeLessThanOrEqual(512);
      expect(event.subject!.length).toBeLessThanOrEqual(2000);
      expect(event.messageId!.length).toBeLessThanOrEqual(512);
      expect(event.clientIp).toBeUndefined();
      expect(parse(`Clear:RC:0(${'9'.repeat(5000)}): 1 2 a b s <m> x`)).toBeNull();
      parse(`${'x: '.repeat(10_000)}`);
      decodeSubject(`=?UTF-8?Q?${'_'.repeat(20_000)}`);
    }
    expect(performance.now() - started).toBeLessThan(3000);
  });
});

describe.skipIf(!hasCorpus)('qmail-scanner corpus coverage', () => {
  it('recognises every qmail-scanner line of the OSSEC spamd sample file', () => {
    const result = coverage(qmailScannerParser, 'spamd/ossec-log-entries-spamd-and-qmail-scanner.txt');
    expect(result.handled).toBe(2);
    expect(result.unknown).toEqual([]);
  });
});
