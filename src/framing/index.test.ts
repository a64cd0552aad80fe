import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type Frame, type FramedLine, type InvalidFrame, isInvalid } from '../core/frame.js';
import { Framer, frameText } from './index.js';
import type { FramingOptions } from './types.js';

/** Lines of a fixture file, without the `#` comment lines that name their corpus source. */
function fixture(name: string): string[] {
  const text = readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
  return text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
}

function at(line: string[], index: number): string {
  const value = line[index];
  if (value === undefined) throw new Error(`fixture has no line ${index}`);
  return value;
}

const REF_2026 = Date.UTC(2026, 11, 1); // 2026-12-01, a file modified then

function options(extra: Partial<FramingOptions> = {}): FramingOptions {
  return {
    source: 'test',
    file: '/var/log/mail.log',
    format: 'auto',
    encoding: 'auto',
    timeZone: 'UTC',
    referenceTime: REF_2026,
    ...extra,
  };
}

function expectFrame(line: FramedLine): Frame {
  if (isInvalid(line)) throw new Error(`expected a frame, got invalid (${line.reason}): ${line.raw}`);
  return line;
}

function expectInvalid(line: FramedLine): InvalidFrame {
  if (!isInvalid(line))
    throw new Error(`expected an invalid frame, got one for ${line.program}: ${line.raw}`);
  return line;
}

function frameOne(text: string, extra: Partial<FramingOptions> = {}): FramedLine {
  return new Framer(options(extra)).frameText(text, 0, 1);
}

describe('RFC 3164', () => {
  const lines = fixture('rfc3164.log');

  it('reads a classic line with a space-padded day', () => {
    const raw = at(lines, 0);
    const f = expectFrame(new Framer(options()).frameText(raw, 120, 7));
    // Dec 9 is after the reference (2026-12-01) + 1 day: last year.
    expect(new Date(f.at).toISOString()).toBe('2025-12-09T10:18:23.000Z');
    expect(f.host).toBe('mail');
    expect(f.program).toBe('postfix/submission/smtpd');
    expect(f.pid).toBe(20040);
    expect(f.text).toBe('connect from client.example.com[89.247.252.52]');
    expect(f.raw).toBe(raw);
    expect(f.origin).toEqual({ source: 'test', file: '/var/log/mail.log', offset: 120, line: 7 });
  });

  it('strips the Solaris message id after the tag', () => {
    const f = expectFrame(frameOne(at(lines, 1)));
    expect(new Date(f.at).toISOString()).toBe('2026-01-26T00:57:38.000Z');
    expect(f.host).toBe('relay.cs.tcd.ie');
    expect(f.program).toBe('postfix/smtpd');
    expect(f.pid).toBe(9779);
    expect(f.text).toBe('9F2183652: client=localhost[127.0.0.1]');
  });

  it('frames "last message repeated" as syslogd', () => {
    const f = expectFrame(frameOne(at(lines, 2)));
    expect(new Date(f.at).toISOString()).toBe('2026-03-09T05:30:59.000Z');
    expect(f.host).toBe('relay.cs.tcd.ie');
    expect(f.program).toBe('syslogd');
    expect(f.pid).toBeNull();
    expect(f.text).toBe('last message repeated 2 times');
  });

  it('reads a single-digit day with one space and a tag without pid', () => {
    const f = expectFrame(frameOne(at(lines, 3)));
    expect(new Date(f.at).toISOString()).toBe('2026-09-08T07:46:30.000Z');
    expect(f.host).toBe('canyon');
    expect(f.program).toBe('dovecot');
    expect(f.pid).toBeNull();
    expect(f.text).toBe('auth-worker(24544): pam(toto,1.1.1.1): unknown user');
  });

  it('reads dovecot[pid] from syslog as a normal tagged line', () => {
    const f = expectFrame(frameOne(at(lines, 5)));
    expect(f.program).toBe('dovecot');
    expect(f.pid).toBe(7508);
    expect(f.text.startsWith('imap-login: Disconnected (auth failed, 1 attempts in 6 secs)')).toBe(true);
  });

  it('treats an empty host (two spaces after the time) as a missing host', () => {
    const f = expectFrame(frameOne(at(lines, 6), { host: 'MX1' }));
    expect(new Date(f.at).toISOString()).toBe('2026-08-31T00:21:33.000Z');
    expect(f.host).toBe('mx1');
    expect(f.program).toBe('dovecot');
    expect(f.pid).toBeNull();
    expect(f.text).toBe('last message repeated 2 times');
  });

  it('keeps tags with dots, dashes and slashes', () => {
    const f = expectFrame(frameOne(at(lines, 7)));
    expect(new Date(f.at).toISOString()).toBe('2026-09-04T01:24:11.000Z');
    expect(f.host).toBe('smtpnode06');
    expect(f.program).toBe('postfix-170.55.103.23/smtpd');
    expect(f.pid).toBe(5965);
    expect(f.text).toBe('connect from h-d04c17c68166c9deda13c8e79ad[112.83.23.93]');
  });

  it('reads a line without host whose first token is prog[pid]:', () => {
    const f = expectFrame(frameOne(at(lines, 8)));
    expect(f.host).toBe('unknown');
    expect(f.program).toBe('cyrus/pop3');
    expect(f.pid).toBe(4297);
    expect(f.text).toBe(
      'badlogin: example.com [1.2.3.4] plaintext mail0001 SASL(-13): authentication failure: checkpass failed',
    );
  });

  it('lower-cases the host and keeps the program as written', () => {
    const f = expectFrame(frameOne(at(lines, 9)));
    expect(f.host).toBe('server');
    expect(f.program).toBe('courierpop3login');
    expect(f.text).toBe('LOGIN FAILED, user=USER@EXAMPLE.org, ip=[::ffff:1.2.3.4]');
  });

  it('reads prog[pid]:text without a space, and a bare prog: with no text', () => {
    // Constructed variants of the fixture's first line (no such line in the corpus).
    const tight = expectFrame(frameOne('Dec  9 10:18:23 mail postfix/smtpd[20040]:connect from x[1.2.3.4]'));
    expect(tight.program).toBe('postfix/smtpd');
    expect(tight.pid).toBe(20040);
    expect(tight.text).toBe('connect from x[1.2.3.4]');
    const bare = expectFrame(frameOne('Dec  9 10:18:23 mail kernel:'));
    expect(bare.program).toBe('kernel');
    expect(bare.pid).toBeNull();
    expect(bare.text).toBe('');
  });

  it('accepts a leading <PRI> (rsyslog forwarding format)', () => {
    const f = expectFrame(frameOne(`<22>${at(lines, 0)}`));
    expect(f.host).toBe('mail');
    expect(f.program).toBe('postfix/submission/smtpd');
    expect(f.text).toBe('connect from client.example.com[89.247.252.52]');
  });

  it('reads a fraction of a second after the time', () => {
    const f = expectFrame(frameOne('Dec  9 10:18:23.456789 mail postfix/qmgr[1]: x'));
    expect(new Date(f.at).toISOString()).toBe('2025-12-09T10:18:23.456Z');
  });

  it('gives invalid frames a clear reason', () => {
    expect(expectInvalid(frameOne('Foo  9 10:18:23 mail p: x')).reason).toBe('no timestamp');
    expect(expectInvalid(frameOne('Dec 32 10:18:23 mail p: x')).reason).toBe('bad day');
    expect(expectInvalid(frameOne('Feb 30 10:18:23 mail p: x')).reason).toBe('bad day');
    expect(expectInvalid(frameOne('Dec  9 25:18:23 mail p: x')).reason).toBe('bad time');
    expect(expectInvalid(frameOne('Dec  9 10:18 mail p: x')).reason).toBe('bad time');
    expect(expectInvalid(frameOne('Dec  9 10:18:23 mail just words')).reason).toBe('no program tag');
    expect(expectInvalid(frameOne('Dec  9 10:18:23')).reason).toBe('no program tag');
    expect(expectInvalid(frameOne('Dec  9 10:18:23 mail p[12: x')).reason).toBe('no program tag');
    expect(expectInvalid(frameOne('', { format: 'rfc3164' })).reason).toBe('empty line');
    expect(expectInvalid(frameOne('Dcm  9 10:18:23 mail p: x', { format: 'rfc3164' })).reason).toBe(
      'bad month',
    );
  });

  it('gives an invalid line the previous good time, host and program from options', () => {
    const framer = new Framer(options({ host: 'mx.example.org', program: 'postfix' }));
    const first = expectInvalid(framer.frameText('garbage before anything', 0, 1));
    expect(first.at).toBe(REF_2026);
    expect(first.host).toBe('mx.example.org');
    expect(first.program).toBe('postfix');
    expect(first.raw).toBe('garbage before anything');
    expect(first.origin).toEqual({ source: 'test', file: '/var/log/mail.log', offset: 0, line: 1 });
    const good = expectFrame(framer.frameText(at(lines, 1), 24, 2));
    const after = expectInvalid(framer.frameText('more garbage', 140, 3));
    expect(after.at).toBe(good.at);
    expect(after.reason).toBe('no timestamp');
    const noOptions = expectInvalid(frameOne('garbage'));
    expect(noOptions.host).toBe('unknown');
    expect(noOptions.program).toBe('unknown');
  });
});

describe('year inference', () => {
  const jan1 = Date.UTC(2026, 0, 1, 10, 0, 0);

  it('rolls over at New Year within a file (reference in January)', () => {
    const framer = new Framer(options({ referenceTime: jan1 }));
    const dec = expectFrame(framer.frameText('Dec 31 23:59:59 mail postfix/qmgr[1]: A: removed'));
    const jan = expectFrame(framer.frameText('Jan  1 00:00:01 mail postfix/qmgr[1]: B: removed'));
    expect(new Date(dec.at).toISOString()).toBe('2025-12-31T23:59:59.000Z');
    expect(new Date(jan.at).toISOString()).toBe('2026-01-01T00:00:01.000Z');
  });

  it('allows one day after the reference time, no more', () => {
    const framer = new Framer(options({ referenceTime: jan1 }));
    const tomorrow = expectFrame(framer.frameText('Jan  2 09:00:00 mail p: x'));
    const later = expectFrame(framer.frameText('Jan  3 00:00:00 mail p: x'));
    expect(new Date(tomorrow.at).toISOString()).toBe('2026-01-02T09:00:00.000Z');
    expect(new Date(later.at).toISOString()).toBe('2025-01-03T00:00:00.000Z');
  });

  it('puts Feb 29 in the latest leap year', () => {
    const f = expectFrame(frameOne('Feb 29 12:00:00 mail p: x', { referenceTime: jan1 }));
    expect(new Date(f.at).toISOString()).toBe('2024-02-29T12:00:00.000Z');
  });

  it('follows a moved reference time', () => {
    const framer = new Framer(options({ referenceTime: Date.UTC(2025, 11, 20) }));
    expect(new Date(expectFrame(framer.frameText('Jan  1 00:00:01 mail p: x')).at).getUTCFullYear()).toBe(
      2025,
    );
    framer.setReferenceTime(Date.UTC(2026, 0, 1, 0, 1));
    expect(new Date(expectFrame(framer.frameText('Jan  1 00:00:01 mail p: x')).at).getUTCFullYear()).toBe(
      2026,
    );
  });
});

describe('time zones', () => {
  const madrid = { timeZone: 'Europe/Madrid' };

  it('converts summer (CEST, +2) and winter (CET, +1) wall times', () => {
    const framer = new Framer(options(madrid));
    const summer = expectFrame(framer.frameText('Jul 15 12:00:00 mail p: x'));
    const winter = expectFrame(framer.frameText('Jan 15 12:00:00 mail p: x'));
    expect(new Date(summer.at).toISOString()).toBe('2026-07-15T10:00:00.000Z');
    expect(new Date(winter.at).toISOString()).toBe('2026-01-15T11:00:00.000Z');
    expect(framer.timeZone).toBe('Europe/Madrid');
  });

  it('places a time in the spring-forward gap with the offset before the gap', () => {
    // 2026-03-29: clocks jump from 02:00 CET to 03:00 CEST; 02:30 does not exist.
    const framer = new Framer(options(madrid));
    const before = expectFrame(framer.frameText('Mar 29 01:59:59 mail p: x'));
    const gap = expectFrame(framer.frameText('Mar 29 02:30:00 mail p: x'));
    const after = expectFrame(framer.frameText('Mar 29 03:00:00 mail p: x'));
    expect(new Date(before.at).toISOString()).toBe('2026-03-29T00:59:59.000Z');
    expect(new Date(gap.at).toISOString()).toBe('2026-03-29T01:30:00.000Z');
    expect(new Date(after.at).toISOString()).toBe('2026-03-29T01:00:00.000Z');
  });

  it('reads a fall-back overlap in order: first pass, then second pass', () => {
    // 2026-10-25: clocks go back from 03:00 CEST to 02:00 CET; 02:xx happens twice.
    const framer = new Framer(options(madrid));
    const times = ['02:10:00', '02:59:00', '02:05:00', '02:40:00', '03:00:00'].map((t) =>
      new Date(expectFrame(framer.frameText(`Oct 25 ${t} mail p: x`)).at).toISOString(),
    );
    expect(times).toEqual([
      '2026-10-25T00:10:00.000Z',
      '2026-10-25T00:59:00.000Z',
      '2026-10-25T01:05:00.000Z',
      '2026-10-25T01:40:00.000Z',
      '2026-10-25T02:00:00.000Z',
    ]);
    // Without a previous line, the first occurrence.
    const alone = expectFrame(frameOne('Oct 25 02:30:00 mail p: x', madrid));
    expect(new Date(alone.at).toISOString()).toBe('2026-10-25T00:30:00.000Z');
  });

  it('rejects an unknown zone or encoding at construction, not per line', () => {
    expect(() => new Framer(options({ timeZone: 'Mars/Olympus' }))).toThrow(/unknown time zone/);
    expect(() => new Framer(options({ encoding: 'no-such-charset' }))).toThrow(/unknown encoding/);
  });
});

describe('RFC 3339', () => {
  const lines = fixture('rfc3339.log');

  it('reads rsyslog high-precision lines with an offset', () => {
    const f = expectFrame(frameOne(at(lines, 1)));
    expect(new Date(f.at).toISOString()).toBe('2020-01-29T21:26:05.404Z');
    expect(f.host).toBe('mail');
    expect(f.program).toBe('postfix/smtpd');
    expect(f.pid).toBe(1830);
    expect(f.text).toBe('C6E0DDB74006: client=example.com[127.0.0.1]');
    const forced = expectFrame(frameOne(at(lines, 2), { format: 'rfc3339', timeZone: 'Europe/Madrid' }));
    expect(forced.at).toBe(f.at);
    expect(forced.program).toBe('postfix/cleanup');
    expect(forced.pid).toBe(1894);
  });

  it('reads Z, short fractions and no fraction', () => {
    const z = expectFrame(frameOne('2026-11-28T10:00:00Z mx postfix/smtpd[1]: x'));
    expect(new Date(z.at).toISOString()).toBe('2026-11-28T10:00:00.000Z');
    const short = expectFrame(frameOne('2026-11-28T10:00:00.5-03:30 mx postfix/smtpd[1]: x'));
    expect(new Date(short.at).toISOString()).toBe('2026-11-28T13:30:00.500Z');
  });

  it('rejects impossible dates and missing zones', () => {
    expect(expectInvalid(frameOne('2026-02-30T10:00:00Z mx p: x')).reason).toBe('bad date');
    expect(expectInvalid(frameOne('2026-11-28T10:00:00 mx p: x')).reason).toBe('bad time zone');
    expect(expectInvalid(frameOne('2026-11-28T10:00:00+25:00 mx p: x')).reason).toBe('bad time zone');
  });
});

describe('RFC 5424', () => {
  const lines = fixture('rfc5424.log');

  it('reads the header with nil procid and structured data', () => {
    const f = expectFrame(frameOne(at(lines, 0)));
    expect(new Date(f.at).toISOString()).toBe('2003-10-11T22:14:15.003Z');
    expect(f.host).toBe('mymachine.example.com');
    expect(f.program).toBe('su');
    expect(f.pid).toBeNull();
    expect(f.text).toBe("BOM'su root' failed for lonvick on /dev/pts/8");
  });

  it('reads fields strictly: MSGID ID47, SD "-", the rest is the message (UTF-8)', () => {
    const f = expectFrame(frameOne(at(lines, 2)));
    expect(f.host).toBe('frodo.example.com');
    expect(f.program).toBe('postfix');
    expect(f.text).toBe(
      '[exampleSDID@17660 iut="3" eventID="1011" eventSource="Application"] - BOM Une entré du journal des événements',
    );
  });

  it('skips structured data with escaped ] and ", strips a BOM, takes a numeric procid as pid', () => {
    const line =
      '<22>1 2026-11-28T10:00:00.003Z MX.example.org postfix/smtpd 4242 - [a@1 x="q\\"]\\\\"][b@2 y="1"] \uFEFFconnect from x';
    const f = expectFrame(frameOne(line));
    expect(new Date(f.at).toISOString()).toBe('2026-11-28T10:00:00.003Z');
    expect(f.host).toBe('mx.example.org');
    expect(f.program).toBe('postfix/smtpd');
    expect(f.pid).toBe(4242);
    expect(f.text).toBe('connect from x');
    const nil = expectFrame(frameOne('<22>1 2026-11-28T10:00:00Z - - - - -', { host: 'H', program: 'prog' }));
    expect(nil.host).toBe('h');
    expect(nil.program).toBe('prog');
    expect(nil.text).toBe('');
  });

  it('rejects broken headers', () => {
    expect(expectInvalid(frameOne('<22>1 - mx app - - - text')).reason).toBe('nil timestamp');
    expect(expectInvalid(frameOne('<22>1 2026-11-28T10:00:00Z mx app - - [unterminated')).reason).toBe(
      'bad structured data',
    );
    expect(expectInvalid(frameOne('<999>1 2026-11-28T10:00:00Z mx app - - - x')).reason).toBe('bad pri');
    expect(expectInvalid(frameOne('<22>2 x', { format: 'rfc5424' })).reason).toBe('bad version');
  });
});

describe('multilog', () => {
  const lines = fixture('multilog.log');

  it('converts TAI64N labels like tai64nlocal and takes host and program from options', () => {
    const framer = new Framer(options({ host: 'Qmail.example.org', program: 'qmail-send' }));
    const f = expectFrame(framer.frameText(at(lines, 0)));
    expect(new Date(f.at).toISOString()).toBe('2010-05-04T03:31:54.744Z');
    expect(f.host).toBe('qmail.example.org');
    expect(f.program).toBe('qmail-send');
    expect(f.pid).toBeNull();
    expect(f.text).toBe('delivery 592246: success: 65.19.91.82_accepted_message./Remote_host_said:_250_OK/');
    const next = expectFrame(framer.frameText(at(lines, 1)));
    expect(new Date(next.at).toISOString()).toBe('2010-05-04T03:31:54.756Z');
  });

  it('leaves a program prefix in the text and defaults host/program to unknown', () => {
    const f = expectFrame(frameOne(at(lines, 6)));
    // fail2ban's annotation of this line says 07:51:00 CEST: it ignores the 10 s TAI offset that
    // multilog adds and tai64nlocal removes.
    expect(new Date(f.at).toISOString()).toBe('2010-09-16T05:50:50.125Z');
    expect(f.host).toBe('unknown');
    expect(f.program).toBe('unknown');
    expect(f.text.startsWith('imap-login: Info: Aborted login (auth failed, 1 attempts)')).toBe(true);
  });

  it('rejects a bad label', () => {
    expect(expectInvalid(frameOne('@40000000zzzzzzzz2c638c5c text')).reason).toBe('bad tai64n label');
    expect(expectInvalid(frameOne('@4000')).reason).toBe('bad tai64n label');
  });
});

describe('Dovecot log file', () => {
  const lines = fixture('dovecot-logfile.log');

  it('reads the default log_timestamp and keeps the text after it (explicit format)', () => {
    const f = expectFrame(frameOne(at(lines, 0), { format: 'dovecot', host: 'imap1' }));
    expect(new Date(f.at).toISOString()).toBe('2026-09-13T00:03:15.000Z');
    expect(f.host).toBe('imap1');
    expect(f.program).toBe('dovecot');
    expect(f.pid).toBeNull();
    expect(f.text.startsWith('imap-login: Info: Login: user=<info@example.com>, method=PLAIN')).toBe(true);
  });

  it('is detected in auto, also with ":" inside the process token and Dovecot 1.x level-first lines', () => {
    const framer = new Framer(options({ host: 'imap1' }));
    for (const index of [0, 2, 3, 5, 6]) {
      const f = expectFrame(framer.frameText(at(lines, index)));
      expect(f.program).toBe('dovecot');
      expect(f.host).toBe('imap1');
      expect(f.text).toBe(at(lines, index).slice(16));
    }
    const auth = expectFrame(framer.frameText(at(lines, 3)));
    expect(
      auth.text.startsWith('auth(info@example.com,192.0.2.110,sasl:login)<CvN+E95Uf4e7eEnj>: Info:'),
    ).toBe(true);
  });

  it('reads a YYYY-MM-DD log_timestamp (auto and explicit)', () => {
    const raw = at(lines, 4);
    for (const format of ['auto', 'dovecot'] as const) {
      const f = expectFrame(frameOne(raw, { format, timeZone: 'Europe/Madrid' }));
      expect(new Date(f.at).toISOString()).toBe('2013-08-11T01:56:40.000Z');
      expect(f.program).toBe('dovecot');
      expect(f.text.startsWith('auth-worker(default): Info: pam(username,1.2.3.4)')).toBe(true);
    }
  });
});

describe('Postfix maillog_file', () => {
  it('reads postlogd records (msg_logger.c format: %b %d %H:%M:%S, first host label, prog[pid])', () => {
    // Constructed in the format of Postfix src/util/msg_logger.c (no maillog_file sample in the corpus).
    const framer = new Framer(options({ format: 'postfix-maillog' }));
    const f = expectFrame(framer.frameText('Nov 08 10:00:00 mail postfix/smtpd[4711]: warning: hostname x'));
    expect(new Date(f.at).toISOString()).toBe('2026-11-08T10:00:00.000Z');
    expect(f.host).toBe('mail');
    expect(f.program).toBe('postfix/smtpd');
    expect(f.pid).toBe(4711);
    expect(f.text).toBe('warning: hostname x');
  });
});

describe('clamd log file', () => {
  it('reads ctime timestamps with " -> " (auto and explicit)', () => {
    // Constructed in the format of ClamAV's logg() with LogTime yes (no clamd log file in the corpus).
    for (const format of ['auto', 'clamd'] as const) {
      const f = expectFrame(
        frameOne('Sat Nov 28 10:00:00 2026 -> /tmp/eicar.com: Eicar-Signature FOUND', { format, host: 'AV' }),
      );
      expect(new Date(f.at).toISOString()).toBe('2026-11-28T10:00:00.000Z');
      expect(f.host).toBe('av');
      expect(f.program).toBe('clamd');
      expect(f.pid).toBeNull();
      expect(f.text).toBe('/tmp/eicar.com: Eicar-Signature FOUND');
    }
    const padded = expectFrame(frameOne('Sun Nov  8 09:05:01 2026 -> SelfCheck: Database status OK.'));
    expect(new Date(padded.at).toISOString()).toBe('2026-11-08T09:05:01.000Z');
    expect(padded.text).toBe('SelfCheck: Database status OK.');
  });

  it('gives lines without LogTime an invalid frame', () => {
    expect(expectInvalid(frameOne('/tmp/x: Eicar FOUND', { format: 'clamd' })).reason).toBe('no timestamp');
    expect(expectInvalid(frameOne('Sat Nov 28 10:00:00 2026 /x', { format: 'clamd' })).reason).toBe(
      'bad clamd header',
    );
  });
});

describe('lines that are not syslog', () => {
  const lines = fixture('not-syslog.log');

  it('gives Mailman traceback continuations an invalid frame with a reason', () => {
    expect(expectInvalid(frameOne(at(lines, 3))).reason).toBe('no timestamp');
    expect(expectInvalid(frameOne(at(lines, 4))).reason).toBe('no timestamp');
  });
});

describe('Exim main log', () => {
  const lines = fixture('exim-mainlog.log');

  it('reads the stamp as local time, program exim, host from options, the text after the stamp', () => {
    const f = expectFrame(frameOne(at(lines, 0), { host: 'MX1', timeZone: 'Europe/Paris' }));
    expect(new Date(f.at).toISOString()).toBe('2014-04-06T04:25:18.000Z');
    expect(f.host).toBe('mx1');
    expect(f.program).toBe('exim');
    expect(f.pid).toBeNull();
    expect(f.text).toBe('1WWfZz-00015c-A9 <= root@raspberrypi U=root P=local S=898');
  });

  it('takes the pid of log_selector +pid out of the text', () => {
    const f = expectFrame(frameOne(at(lines, 1)));
    expect(new Date(f.at).toISOString()).toBe('2013-06-10T18:33:32.000Z');
    expect(f.pid).toBe(10099);
    expect(f.text.startsWith('H=(yakult.com.tw) [202.132.70.178]:3755 I=[1.2.3.4]:25 F=')).toBe(true);
  });

  it('keeps the milliseconds of log_selector +millisec', () => {
    const f = expectFrame(frameOne(at(lines, 2)));
    expect(new Date(f.at).toISOString()).toBe('2017-07-30T18:51:05.712Z');
    expect(f.text.startsWith('10HmaX-000000005vi-0000 <= CALLER@')).toBe(true);
  });

  it('reads the zone of log_timezone, which wins over the configured one', () => {
    // Constructed in Exim's tod_log_zone format (no log_timezone sample in the corpus).
    const f = expectFrame(
      frameOne('2026-11-28 10:00:00.250 +0100 [4711] 1abcDE-000123-Xy Completed', {
        timeZone: 'America/New_York',
      }),
    );
    expect(new Date(f.at).toISOString()).toBe('2026-11-28T09:00:00.250Z');
    expect(f.pid).toBe(4711);
    expect(f.text).toBe('1abcDE-000123-Xy Completed');
    const west = expectFrame(frameOne('2026-11-28 10:00:00 -0330 Start queue run: pid=1'));
    expect(new Date(west.at).toISOString()).toBe('2026-11-28T13:30:00.000Z');
    expect(west.text).toBe('Start queue run: pid=1');
  });

  it("frames Exim's `Warning:` lines as Exim's, and Dovecot 1.x's levels as Dovecot's", () => {
    const exim = expectFrame(frameOne(at(lines, 3)));
    expect(exim.program).toBe('exim');
    expect(exim.text).toBe('Warning: No server certificate defined; will use a selfsigned one.');
    const dovecot = expectFrame(
      frameOne('2013-01-07 14:46:28 Warn: auth(default): userdb(x): user not found'),
    );
    expect(dovecot.program).toBe('dovecot');
  });

  it('uses the program option, and gives a stamp without text an invalid frame', () => {
    expect(expectFrame(frameOne(at(lines, 0), { program: 'exim4' })).program).toBe('exim4');
    expect(expectInvalid(frameOne('2026-11-28 10:00:00 ')).reason).toBe('unknown header');
    expect(expectInvalid(frameOne('2026-11-28 10:00:00 [12] ')).reason).toBe('unknown header');
    expect(expectInvalid(frameOne('2026-13-28 10:00:00 x')).reason).toBe('unknown header');
  });
});

describe('Mailman log files', () => {
  const lines = fixture('mailman-rspamd.log');

  it('reads the Mailman 2.1 stamp with its year, program mailman, host from options', () => {
    const f = expectFrame(frameOne(at(fixture('not-syslog.log'), 1), { host: 'Lists1' }));
    expect(new Date(f.at).toISOString()).toBe('2008-12-20T01:20:04.000Z');
    expect(f.host).toBe('lists1');
    expect(f.program).toBe('mailman');
    expect(f.pid).toBe(14275);
    expect(f.text).toBe('Uncaught runner exception: len() of unsized object');
    const shunt = expectFrame(frameOne(at(lines, 2)));
    expect(new Date(shunt.at).toISOString()).toBe('2016-04-30T17:02:36.000Z');
    expect(shunt.pid).toBe(17947);
    expect(shunt.text).toBe('SHUNTING: 1462003356.244866+ea73a2d0f0636f691f515c4b199b5e8c21436142');
    // A continuation line of a multi-line record has no stamp.
    expect(expectInvalid(frameOne(at(lines, 3))).reason).toBe('no timestamp');
  });

  it('reads Mailman 3 lines, and takes the program option when set', () => {
    const accept = expectFrame(frameOne(at(lines, 0), { program: 'mailman3' }));
    expect(new Date(accept.at).toISOString()).toBe('2025-07-12T10:31:10.000Z');
    expect(accept.program).toBe('mailman3');
    expect(accept.pid).toBe(2895919);
    expect(accept.text).toBe('ACCEPT: <175231627036.2895954.10009667988468073605@mseibert.mailman>');
    const smtp = expectFrame(frameOne(at(lines, 1)));
    expect(smtp.program).toBe('mailman');
    expect(smtp.host).toBe('unknown');
    expect(smtp.pid).toBe(2895922);
    expect(
      smtp.text.startsWith('<175231627036.2895954.10009667988468073605@mseibert.mailman> smtp to '),
    ).toBe(true);
  });

  it('reads the wall time in the configured zone, a single-digit day and an empty text', () => {
    // Mailman 2.1 Logger.py: time.strftime('%b %d %H:%M:%S %Y ') + '(%d) ' % os.getpid() + message.
    const f = expectFrame(
      frameOne('Nov 08 10:00:00 2026 (12345) post to mylist from a@example.org, size=1, success', {
        timeZone: 'Europe/Paris',
      }),
    );
    expect(new Date(f.at).toISOString()).toBe('2026-11-08T09:00:00.000Z');
    expect(f.text).toBe('post to mylist from a@example.org, size=1, success');
    const empty = expectFrame(frameOne('Nov  8 10:00:00 2026 (7)'));
    expect(empty.pid).toBe(7);
    expect(empty.text).toBe('');
  });

  it('keeps syslog lines whose host looks like a year, and rejects impossible Mailman dates', () => {
    const syslog = expectFrame(frameOne('Nov 28 10:00:00 2026 postfix/smtpd[1]: connect from x[192.0.2.1]'));
    expect(syslog.host).toBe('2026');
    expect(syslog.program).toBe('postfix/smtpd');
    expect(expectInvalid(frameOne('Nov 28 10:00:00 2026 (12x) text')).reason).toBe('no program tag');
    expect(expectInvalid(frameOne('Feb 30 10:00:00 2026 (1) text')).reason).toBe('bad day');
    // An explicit RFC 3164 format does not look for Mailman's stamp.
    expect(expectInvalid(frameOne('Nov 28 10:00:00 2026 (1) text', { format: 'rfc3164' })).reason).toBe(
      'no program tag',
    );
  });
});

describe('rspamd log file', () => {
  const lines = fixture('mailman-rspamd.log');

  it('reads the file header (logger_file.c "%F %H:%M:%S #%P(%s) ") as the syslog text', () => {
    const f = expectFrame(frameOne(at(lines, 4), { host: 'filter1' }));
    expect(new Date(f.at).toISOString()).toBe('2016-03-18T15:15:01.000Z');
    expect(f.host).toBe('filter1');
    expect(f.program).toBe('rspamd');
    expect(f.pid).toBe(29588);
    expect(f.text).toBe('<b120f6>; task; accept_socket: accepted connection from 127.0.0.1 port 52870');
    const fraction = expectFrame(frameOne(at(lines, 5), { timeZone: 'Europe/Berlin' }));
    expect(new Date(fraction.at).toISOString()).toBe('2018-10-13T07:34:20.032Z');
    expect(fraction.pid).toBe(97398);
    expect(fraction.text.startsWith('<0260c3>; csession; rspamd_task_write_log: id: <xxxx>, ')).toBe(true);
  });

  it('reads a severity before the pid, and rspamd 1.0 headers', () => {
    // Constructed from logger_file.c with log_severity: "%s [%s] #%P(%s) ".
    const severity = expectFrame(
      frameOne('2026-11-28 10:00:00 [info] #4242(normal) <a1b2c3>; task; rspamd_task_write_log: id: <x@y>'),
    );
    expect(severity.pid).toBe(4242);
    expect(severity.text).toBe('<a1b2c3>; task; rspamd_task_write_log: id: <x@y>');
    // rspamd/rspamd.com-docs-log-examples.txt (rspamd 1.0 log file; inline: fixture comments start with #).
    const legacy = expectFrame(
      frameOne(
        '#81123(fuzzy): May 11 19:41:54 rspamd process_write_command: fuzzy hash was successfully added',
      ),
    );
    expect(new Date(legacy.at).toISOString()).toBe('2026-05-11T19:41:54.000Z');
    expect(legacy.program).toBe('rspamd');
    expect(legacy.pid).toBe(81123);
    expect(legacy.text).toBe('process_write_command: fuzzy hash was successfully added');
  });

  it('does not take broken rspamd headers for rspamd lines', () => {
    for (const line of [
      '2026-11-28 10:00:00 #(normal) text',
      '2026-11-28 10:00:00 #12(normal)text',
      '2026-11-28 10:00:00 #12 text',
      '2026-11-28 10:00:00 [info #12(normal) text',
      `2026-11-28 10:00:00 #12(${'n'.repeat(300)}`,
    ]) {
      // Other dated shapes (Exim's main log) may claim them; rspamd's framing does not.
      const f = frameOne(line);
      expect(isInvalid(f) ? 'invalid' : f.program).not.toBe('rspamd');
    }
    expect(expectInvalid(frameOne('#12(fuzzy) May 11 19:41:54 rspamd x')).reason).toBe('no timestamp');
    expect(expectInvalid(frameOne('#12(fuzzy): May 11 19:41:54 other x')).reason).toBe('bad rspamd header');
    expect(expectInvalid(frameOne('# a comment')).reason).toBe('no timestamp');
  });
});

describe('bytes in, frames out', () => {
  it('decodes UTF-8, Latin-1 and Windows-1252 lines of one file', () => {
    const framer = new Framer(options());
    // The lograptor RFC 5424 line (UTF-8) and the same text re-encoded as Latin-1 / Windows-1252.
    const utf8 = Buffer.from('Dec  9 10:18:23 mail prog[1]: Une entrée du journal', 'utf8');
    const latin1 = Buffer.from('Dec  9 10:18:24 mail prog[1]: Une entrée du journal', 'latin1');
    const cp1252 = Buffer.concat([Buffer.from('Dec  9 10:18:25 mail prog[1]: prix 5 '), Buffer.from([0x80])]);
    const texts = [utf8, latin1, cp1252].map(
      (bytes, i) => expectFrame(framer.frame({ bytes, offset: i * 60, line: i + 1 })).text,
    );
    expect(texts).toEqual(['Une entrée du journal', 'Une entrée du journal', 'prix 5 €']);
  });

  it('honours an explicit encoding', () => {
    const bytes = Buffer.from([...Buffer.from('Dec  9 10:18:23 mail prog[1]: '), 0xa4]);
    expect(
      expectFrame(new Framer(options({ encoding: 'iso-8859-15' })).frame({ bytes, offset: 0, line: 1 })).text,
    ).toBe('€');
    expect(
      expectFrame(new Framer(options({ encoding: 'latin1' })).frame({ bytes, offset: 0, line: 1 })).text,
    ).toBe('¤');
  });

  it('drops leading NULs (crash residue) and keeps the line', () => {
    const bytes = Buffer.concat([Buffer.alloc(40), Buffer.from('Dec  9 10:18:23 mail p[1]: a\u0000b')]);
    const f = expectFrame(new Framer(options()).frame({ bytes, offset: 5, line: 2 }));
    expect(f.raw).toBe('Dec  9 10:18:23 mail p[1]: a\uFFFDb');
    expect(f.text).toBe('a\uFFFDb');
    expect(f.origin.offset).toBe(5);
  });

  it('never throws on random binary garbage and long lines', () => {
    let seed = 12345;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    const prefixes = ['', 'Dec  9 10:18:23 ', '<13>', '<13>1 ', '@4000000', '2026-11-28T', 'Sat Nov 28 '];
    for (const format of ['auto', 'rfc3164', 'rfc5424', 'multilog', 'dovecot', 'clamd'] as const) {
      const framer = new Framer(options({ format }));
      for (let n = 0; n < 3000; n++) {
        const length = random() % 300;
        const body = Buffer.alloc(length);
        for (let i = 0; i < length; i++) body[i] = random() & 0xff;
        const bytes = Buffer.concat([Buffer.from(prefixes[n % prefixes.length]!), body]);
        const line = framer.frame({ bytes, offset: n, line: n + 1 });
        expect(typeof line.raw).toBe('string');
        expect(line.raw.includes('\u0000')).toBe(false);
      }
      const huge = Buffer.alloc(64 * 1024, 0x41);
      expect(isInvalid(framer.frame({ bytes: huge, offset: 0, line: 1 }))).toBe(true);
    }
  });

  it('empty lines are invalid frames with reason "empty line"', () => {
    const line = expectInvalid(new Framer(options()).frame({ bytes: Buffer.alloc(0), offset: 9, line: 3 }));
    expect(line.reason).toBe('empty line');
    expect(line.raw).toBe('');
    expect(line.origin.line).toBe(3);
  });

  it('frameText helper frames one decoded line', () => {
    const f = expectFrame(frameText('Dec  9 10:18:23 mail p[1]: x', options(), 3, 4));
    expect(f.program).toBe('p');
    expect(f.origin).toEqual({ source: 'test', file: '/var/log/mail.log', offset: 3, line: 4 });
  });
});
