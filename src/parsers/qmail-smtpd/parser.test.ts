import { describe, expect, it } from 'vitest';
import type { FilterVerdictEvent, MailEvent, RejectEvent } from '../../core/events.js';
import { coverage, fixtureLines, frame, frameLines, hasCorpus } from '../testing/corpus.js';
import { qmailSmtpdParser } from './parser.js';
import { remoteClient } from './tcpserver.js';

const realFrames = frameLines(fixtureLines(new URL('./fixtures/real.log', import.meta.url)), {
  program: 'qmail-smtpd',
});

function parseReal(fragment: string): MailEvent | null {
  const matches = realFrames.filter((f) => f.raw.includes(fragment));
  if (matches.length !== 1) throw new Error(`${matches.length} fixture lines contain ${fragment}`);
  const f = matches[0]!;
  expect(qmailSmtpdParser.handles(f.program)).toBe(true);
  return qmailSmtpdParser.parse(f);
}

function parse(text: string, program = 'qmail-smtpd'): MailEvent | null {
  return qmailSmtpdParser.parse(frame(program, text));
}

function reject(
  fields: Omit<RejectEvent, 'kind' | 'action'> & { action?: RejectEvent['action'] },
): RejectEvent {
  return { kind: 'reject', action: 'reject', ...fields };
}

function simscan(fields: Omit<FilterVerdictEvent, 'kind' | 'filter' | 'queuedAs'>): FilterVerdictEvent {
  return { kind: 'filter-verdict', filter: 'simscan', queuedAs: [], ...fields };
}

const REAL: readonly (readonly [string, MailEvent])[] = [
  ['tcpserver: pid 210485', { kind: 'info', label: 'connection', client: { ip: '198.51.100.4' } }],
  [
    'tcpserver: ok 210485',
    { kind: 'connect', client: { ip: '198.51.100.4', port: 56124 }, session: '210485' },
  ],
  ['tcpserver: end 210485', { kind: 'disconnect', client: {}, session: '210485' }],
  ['tcpserver: end 210393', { kind: 'disconnect', client: {}, session: '210393' }],
  ['tcpserver: status: 1/200', { kind: 'info', label: 'tcpserver' }],
  ['tcpserver: status: 0/200', { kind: 'info', label: 'tcpserver' }],
  ['skipping check_spam', { kind: 'info', label: 'simscan' }],
  ['skipping check_dspam', { kind: 'info', label: 'simscan' }],
  [
    'simscan:[210394]:CLEAN',
    simscan({
      action: 'CLEAN',
      category: 'CLEAN',
      passed: true,
      score: -1.21,
      subject: '😍 SUNNYDEALS | -20% di EXTRA Sconto!',
      clientIp: '198.51.100.224',
      from: 'sm.26791275955.kbntqtrpftk8qpyz02-noreply=newsletter.example@bulk.example',
      to: ['export@example.org'],
      session: '210394',
    }),
  ],
  ['mail recv: pid 210394', { kind: 'info', label: 'mail-recv' }],
  ['policy_check: local info@example.com', { kind: 'info', label: 'policy-check' }],
  ['mail recv: pid 358645', { kind: 'info', label: 'mail-recv' }],
  ['policy_check: local pc@example.net', { kind: 'info', label: 'policy-check' }],
  ['mail recv: pid 358878', { kind: 'info', label: 'mail-recv' }],
  ['tcpserver: pid 209937', { kind: 'info', label: 'connection', client: { ip: '203.0.113.26' } }],
  [
    'tcpserver: ok 209937',
    { kind: 'connect', client: { ip: '203.0.113.26', port: 59874 }, session: '209937' },
  ],
  ['tcpserver: end 209937', { kind: 'disconnect', client: {}, session: '209937' }],
  [
    'relays.ordb.org blocked',
    reject({ stage: 'CONNECT', reason: 'listed in relays.ordb.org', client: { ip: '193.111.120.47' } }),
  ],
  [
    'relays.osirusoft.com blocked',
    reject({ stage: 'CONNECT', reason: 'listed in relays.osirusoft.com', client: { ip: '192.203.178.107' } }),
  ],
];

describe('qmail-smtpd service log on real lines', () => {
  it.each(REAL)('parses %s', (fragment, expected) => {
    expect(parseReal(fragment)).toEqual(expected);
  });

  it('has an expectation for every fixture line', () => {
    const covered = realFrames.filter((f) => REAL.some(([fragment]) => f.raw.includes(fragment)));
    expect(covered).toHaveLength(realFrames.length);
  });
});

describe('tcpserver and sslserver (ucspi-tcp tcpserver.c, ucspi-ssl, indimail tcpserver)', () => {
  it('reads the client of an accepted connection: name, IPv4 or IPv6 address, ident, port', () => {
    expect(
      parse('tcpserver: ok 4712 mx.example.com:2001:db8::10:25 client6.example:2001:db8::1::51234'),
    ).toEqual({
      kind: 'connect',
      client: { name: 'client6.example', ip: '2001:db8::1', port: 51234 },
      session: '4712',
    });
    expect(parse('tcpserver: ok 4713 mx:192.0.2.10:25 :192.0.2.1:root:1025')).toEqual({
      kind: 'connect',
      client: { ip: '192.0.2.1', port: 1025 },
      session: '4713',
    });
    expect(parse('sslserver: ok 4714 mx:192.0.2.10:465 :192.0.2.1::40000')).toEqual({
      kind: 'connect',
      client: { ip: '192.0.2.1', port: 40000 },
      session: '4714',
    });
    expect(remoteClient(':2001:db8::::5')).toEqual({ ip: '2001:db8::', port: 5 });
    expect(remoteClient('no-colon')).toEqual({});
  });

  it('refuses a connection the rules deny', () => {
    expect(
      parse('tcpserver: deny 4711 mx.example.com:192.0.2.10:25 client.example:192.0.2.1::51234'),
    ).toEqual(
      reject({
        stage: 'CONNECT',
        reason: 'tcpserver: access denied by the rules',
        session: '4711',
        client: { name: 'client.example', ip: '192.0.2.1', port: 51234 },
      }),
    );
  });

  it('ends a session whatever the exit status', () => {
    expect(parse('tcpserver: end 4713 status 256')).toEqual({
      kind: 'disconnect',
      client: {},
      session: '4713',
    });
    expect(parse('tcpserver: end 4713 status crashed')).toEqual({
      kind: 'disconnect',
      client: {},
      session: '4713',
    });
  });

  it('takes tcpserver talking about itself as info', () => {
    expect(parse('tcpserver: fatal: unable to bind: address already used')).toEqual({
      kind: 'info',
      label: 'tcpserver',
    });
    expect(parse('tcpserver: sighup: 3/40')).toEqual({ kind: 'info', label: 'tcpserver' });
  });
});

describe('rblsmtpd (ucspi-tcp rblsmtpd.c)', () => {
  it('refuses a listed client, session named by its pid', () => {
    expect(
      parse('rblsmtpd: 192.0.2.1 pid 4711: 451 Blocked, look at http://www.spamhaus.org/query/ip/192.0.2.1'),
    ).toEqual(
      reject({
        stage: 'CONNECT',
        code: 451,
        reason: 'Blocked, look at http://www.spamhaus.org/query/ip/192.0.2.1',
        session: '4711',
        client: { ip: '192.0.2.1' },
      }),
    );
    expect(parse('4711: 553 sorry', 'rblsmtpd')).toBeNull();
    expect(parse('192.0.2.1 pid 4711: 553 Blocked', 'rblsmtpd')).toEqual(
      reject({
        stage: 'CONNECT',
        code: 553,
        reason: 'Blocked',
        session: '4711',
        client: { ip: '192.0.2.1' },
      }),
    );
  });

  it('keeps greetdelay and [RBL info] (fehcom rblsmtpd) as info', () => {
    expect(parse('rblsmtpd: 192.0.2.1 pid 4711: greetdelay: 30')).toEqual({
      kind: 'info',
      label: 'rblsmtpd',
      client: { ip: '192.0.2.1' },
    });
    expect(parse('rblsmtpd: 192.0.2.1 pid 4711: [RBL info] listed')).toMatchObject({ kind: 'info' });
  });
});

describe('simscan (simscan.c log_message(), 1.4.x)', () => {
  it('reads a clean message checked by SpamAssassin (three scores since 1.4.1)', () => {
    expect(
      parse('simscan:[4711]:CLEAN (2.10/5.00/5.00):0.5123s:Hello_ world:192.0.2.1:a@x.org:b@y.org,C@Y.org'),
    ).toEqual(
      simscan({
        action: 'CLEAN',
        category: 'CLEAN',
        passed: true,
        score: 2.1,
        subject: 'Hello_ world',
        clientIp: '192.0.2.1',
        from: 'a@x.org',
        to: ['b@y.org', 'c@y.org'],
        session: '4711',
      }),
    );
  });

  it('passes spam on when the site lets it through', () => {
    expect(
      parse('simscan:[4711]:SPAM PASS (6.00/5.00/10.00):1.2000s:Maybe:192.0.2.1:a@x.org:b@y.org'),
    ).toEqual(
      simscan({
        action: 'SPAM PASS',
        category: 'SPAM',
        passed: true,
        score: 6,
        subject: 'Maybe',
        clientIp: '192.0.2.1',
        from: 'a@x.org',
        to: ['b@y.org'],
        session: '4711',
      }),
    );
    // spam-passthru logs every message of the domain: spam only when the hits reach the threshold.
    expect(parse('simscan:[4711]:PASSTHRU (1.00/5.00):1.2000s:Fine:192.0.2.1:a@x.org:b@y.org')).toMatchObject(
      {
        category: 'CLEAN',
        passed: true,
      },
    );
    expect(parse('simscan:[4711]:PASSTHRU (9.00/5.00):1.2000s:Buy:192.0.2.1:a@x.org:b@y.org')).toMatchObject({
      category: 'SPAM',
      passed: true,
    });
  });

  it('refuses spam, viruses, attachments and regex matches for every recipient at DATA', () => {
    expect(
      parse('simscan:[4711]:SPAM REJECT (15.30/5.00):1.2000s:Buy now:192.0.2.1:a@x.org:b@y.org,c@y.org'),
    ).toEqual(
      reject({
        stage: 'DATA',
        reason: 'SPAM REJECT (15.30/5.00)',
        session: '4711',
        from: 'a@x.org',
        to: 'b@y.org',
        alsoTo: ['c@y.org'],
        client: { ip: '192.0.2.1' },
      }),
    );
    expect(
      parse('simscan:[4711]:VIRUS:0.3000s:Eicar-Test-Signature:192.0.2.1:a@x.org:b@y.org,c@y.org'),
    ).toEqual(
      reject({
        stage: 'DATA',
        reason: 'VIRUS Eicar-Test-Signature',
        session: '4711',
        from: 'a@x.org',
        to: 'b@y.org',
        alsoTo: ['c@y.org'],
        client: { ip: '192.0.2.1' },
      }),
    );
    // A null sender, and an IPv6 client (TCPREMOTEIP holds colons).
    expect(parse('simscan:[4711]:ATTACH:0.1000s:invoice.exe:2001:db8::1::b@y.org')).toEqual(
      reject({
        stage: 'DATA',
        reason: 'ATTACH invoice.exe',
        session: '4711',
        from: '',
        to: 'b@y.org',
        client: { ip: '2001:db8::1' },
      }),
    );
    expect(parse('simscan:[4711]:REGEX:0.1000s:#2:192.0.2.1:a@x.org:b@y.org')).toMatchObject({
      kind: 'reject',
      reason: 'REGEX #2',
    });
  });

  it('discards what ENABLE_DROPMSG drops after answering 250', () => {
    expect(
      parse('simscan:[4711]:SPAM DROPPED (15.30/5.00):1.2000s:Buy now:192.0.2.1:a@x.org:b@y.org'),
    ).toEqual(
      reject({
        action: 'discard',
        stage: 'DATA',
        reason: 'SPAM DROPPED (15.30/5.00)',
        session: '4711',
        from: 'a@x.org',
        to: 'b@y.org',
        client: { ip: '192.0.2.1' },
      }),
    );
    expect(
      parse('simscan:[4711]:VIRUS DROPPED:0.3000s:Eicar-Test-Signature:192.0.2.1:a@x.org:b@y.org'),
    ).toMatchObject({ kind: 'reject', action: 'discard', reason: 'VIRUS DROPPED Eicar-Test-Signature' });
  });

  it('keeps debug output and the skipped spam check of a relay client as info', () => {
    expect(parse('simscan:[4711]:RELAYCLIENT:0.0100s:-:192.0.2.1:a@x.org:b@y.org')).toEqual({
      kind: 'info',
      label: 'simscan-relayclient',
    });
    expect(parse('simscan: calling spamc')).toEqual({ kind: 'info', label: 'simscan' });
    expect(parse('simscan:[4711]: done, execing qmail-queue')).toEqual({ kind: 'info', label: 'simscan' });
  });

  it('leaves an unknown state or a broken line unknown', () => {
    expect(parse('simscan:[4711]:SOMETHING:0.1000s:x:192.0.2.1:a@x.org:b@y.org')).toBeNull();
    expect(parse('simscan:[4711]:CLEAN')).toBeNull();
    expect(parse('simscan:[x]:CLEAN:0.1s:a:b:c:d')).toBeNull();
  });
});

describe('chkuser (chkuser.c 2.0.x chkuser_commonlog())', () => {
  it('refuses a recipient that does not exist (2.0.x values-only form)', () => {
    expect(
      parse(
        'CHKUSER rejected rcpt: from <a@x.org::> remote <mail.x.org:client.x.org:192.0.2.1> rcpt <Nobody@y.org> : not existing recipient',
      ),
    ).toEqual(
      reject({
        stage: 'RCPT',
        reason: 'rejected rcpt: not existing recipient',
        from: 'a@x.org',
        to: 'nobody@y.org',
        helo: 'mail.x.org',
        client: { name: 'client.x.org', ip: '192.0.2.1' },
      }),
    );
  });

  it('reads the labelled form (chkuser 2.0.9 in sagredo qmail)', () => {
    expect(
      parse(
        'CHKUSER rejected rcpt: from <a@x.org|remoteinfo/auth:|chkuser-identify:> remote <helo:mail.x.org|remotehostname:client.x.org|remotehostip:192.0.2.1> rcpt <nobody@y.org> : not existing recipient',
      ),
    ).toEqual(
      reject({
        stage: 'RCPT',
        reason: 'rejected rcpt: not existing recipient',
        from: 'a@x.org',
        to: 'nobody@y.org',
        helo: 'mail.x.org',
        client: { name: 'client.x.org', ip: '192.0.2.1' },
      }),
    );
  });

  it('refuses at MAIL when the line is about the sender, and relaying at RCPT', () => {
    expect(
      parse(
        'CHKUSER rejected sender: from <bad@@x|remoteinfo/auth:|chkuser-identify:> remote <helo:h|remotehostname:|remotehostip:192.0.2.1> rcpt <> : invalid sender address format',
      ),
    ).toEqual(
      reject({
        stage: 'MAIL',
        reason: 'rejected sender: invalid sender address format',
        from: 'bad@@x',
        helo: 'h',
        client: { ip: '192.0.2.1' },
      }),
    );
    expect(
      parse(
        'CHKUSER rejected relaying: from <a@x.org::> remote <h:unknown:192.0.2.1> rcpt <c@z.org> : client not allowed to relay',
      ),
    ).toEqual(
      reject({
        stage: 'RCPT',
        reason: 'rejected relaying: client not allowed to relay',
        from: 'a@x.org',
        to: 'c@z.org',
        helo: 'h',
        client: { ip: '192.0.2.1' },
      }),
    );
    expect(
      parse(
        'CHKUSER mbx overquota: from <a@x.org::> remote <h:c.x.org:192.0.2.1> rcpt <b@y.org> : rcpt mailbox is overquota',
      ),
    ).toMatchObject({ kind: 'reject', stage: 'RCPT', reason: 'mbx overquota: rcpt mailbox is overquota' });
  });

  it('keeps accepted recipients and the intrusion threshold notice as info', () => {
    expect(
      parse(
        'CHKUSER accepted rcpt: from <a@x.org::> remote <mail.x.org:client.x.org:192.0.2.1> rcpt <b@y.org> : found existing recipient',
      ),
    ).toEqual({ kind: 'info', label: 'chkuser', client: { name: 'client.x.org', ip: '192.0.2.1' } });
    expect(
      parse(
        'CHKUSER intrusion threshold: from <a@x.org::> remote <h:c:192.0.2.1> rcpt <c@z.org> : max number of allowed rcpt',
      ),
    ).toMatchObject({ kind: 'info', label: 'chkuser' });
  });
});

describe('qmail-smtpd logging patches (s/qmail and aQmail smtpdlog.c, SPAMCONTROL)', () => {
  it('reads `Reject::Type::Condition` with the session pid and the session facts', () => {
    expect(
      parse(
        'qmail-smtpd: pid 4711 Reject::RCPT::Failed_Rcptto P:ESMTP S:192.0.2.1:client.x.org H:mail.x.org F:a@x.org T:nobody@y.org',
      ),
    ).toEqual(
      reject({
        stage: 'RCPT',
        reason: 'Failed_Rcptto',
        session: '4711',
        proto: 'ESMTP',
        client: { ip: '192.0.2.1', name: 'client.x.org' },
        helo: 'mail.x.org',
        from: 'a@x.org',
        to: 'nobody@y.org',
      }),
    );
    expect(
      parse(
        "qmail-smtpd: pid 4711 Reject::ORIG::Bad_Mailfrom P:ESMTP S:2001:db8::1:unknown H:two words F:spam@x.org T: '@x.org'",
      ),
    ).toEqual(
      reject({
        stage: 'MAIL',
        reason: 'Bad_Mailfrom: @x.org',
        session: '4711',
        proto: 'ESMTP',
        client: { ip: '2001:db8::1' },
        helo: 'two words',
        from: 'spam@x.org',
      }),
    );
  });

  it('reads older SPAMCONTROL lines without pid nor protocol, and a relay attempt at RCPT', () => {
    expect(parse('Reject::SNDR::Invalid_Relay: S:192.0.2.1:client.x.org H:helo F:a@x.org T:c@z.org')).toEqual(
      reject({
        stage: 'RCPT',
        reason: 'Invalid_Relay',
        client: { ip: '192.0.2.1', name: 'client.x.org' },
        helo: 'helo',
        from: 'a@x.org',
        to: 'c@z.org',
      }),
    );
    expect(
      parse('qmail-smtpd: Reject::DATA::Invalid_Size: S:192.0.2.1:c.x.org H:h F:a@x.org T:b@y.org'),
    ).toMatchObject({ kind: 'reject', stage: 'DATA', reason: 'Invalid_Size' });
  });

  it('keeps accepts as info', () => {
    expect(
      parse(
        'qmail-smtpd: pid 4711 Accept::RCPT::Recipients_Cdb P:ESMTP S:192.0.2.1:c.x.org H:h F:a@x.org T:b@y.org',
      ),
    ).toEqual({ kind: 'info', label: 'qmail-smtpd-accept', client: { ip: '192.0.2.1', name: 'c.x.org' } });
  });

  it('reads a logged reply, with qmail’s `(#x.y.z)`', () => {
    expect(
      parse("qmail-smtpd: 553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)"),
    ).toEqual(
      reject({
        code: 553,
        dsn: '5.7.1',
        reason: "sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)",
      }),
    );
    expect(parse('550 sorry, no mailbox here by that name. (#5.1.1)', 'qmail-smtpd')).toEqual(
      reject({ code: 550, dsn: '5.1.1', reason: 'sorry, no mailbox here by that name. (#5.1.1)' }),
    );
    expect(parse('qmail-smtpd: something else')).toEqual({ kind: 'info', label: 'qmail-smtpd' });
    expect(parse('something else')).toBeNull();
  });
});

describe('hostile input', () => {
  const lines = [
    'tcpserver: ok ',
    'tcpserver: ok x',
    'tcpserver: ok 1',
    'tcpserver: ok 1 a',
    'tcpserver: ok 1 a b:c:d:e:f:g:h:99999999',
    'tcpserver: end',
    'tcpserver: pid 1 from',
    'rblsmtpd: ',
    'rblsmtpd: x pid',
    'rblsmtpd: x pid 1',
    'simscan:',
    'simscan:[',
    'simscan:[1]:',
    'simscan:[1]:CLEAN (:s:::',
    'simscan:[1]:CLEAN (a/b/c/d/e/f):1s::::',
    'CHKUSER ',
    'CHKUSER x: from <',
    'CHKUSER x: from <a> remote <',
    'CHKUSER rejected rcpt: from <> remote <> rcpt <',
    'qmail-smtpd: pid ',
    'qmail-smtpd: Reject::',
    'qmail-smtpd: Reject::RCPT::',
    'Reject::RCPT::X S: H: F: T:',
    '\u0000\uffff',
  ];

  it('never throws', () => {
    for (const line of lines) expect(() => parse(line)).not.toThrow();
    expect(parse('tcpserver: ok x')).toBeNull();
    expect(parse('simscan:[1]:')).toBeNull();
  });

  it('bounds many recipients, long reasons and long addresses', () => {
    const many = Array.from({ length: 5000 }, (_, i) => `r${i}@y.org`).join(',');
    const event = parse(
      `simscan:[1]:VIRUS:0.1s:${'v'.repeat(10_000)}:192.0.2.1:a@x.org:${many}`,
    ) as RejectEvent;
    expect(event.alsoTo!.length).toBeLessThan(1000);
    expect(event.reason.length).toBeLessThanOrEqual(1000);
    const chk = parse(
      `CHKUSER rejected rcpt: from <${'a'.repeat(50_000)}::> remote <h:c:192.0.2.1> rcpt <${'b'.repeat(50_000)}> : x`,
    ) as RejectEvent;
    expect(chk.from!.length).toBeLessThanOrEqual(512);
    expect(chk.to!.length).toBeLessThanOrEqual(512);
  });

  it('stays fast on pathological lines', () => {
    const started = performance.now();
    for (let i = 0; i < 100; i++) {
      parse(`simscan:[1]:CLEAN (1/2):1s:${':'.repeat(20_000)}`);
      parse(`CHKUSER rejected rcpt: from <${'> remote <'.repeat(5000)}`);
      parse(`qmail-smtpd: Reject::RCPT::X${' S:'.repeat(5000)}`);
      parse(`tcpserver: ok 1 a ${':'.repeat(20_000)}`);
    }
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe.skipIf(!hasCorpus)('qmail-smtpd corpus coverage', () => {
  it.each([
    ['qmail/itlinux-qmail-grafical-stats/smtp.log', 10],
    ['qmail/itlinux-qmail-grafical-stats/submission.log', 7],
  ])('recognises every line of %s', (file, lines) => {
    const result = coverage(qmailSmtpdParser, file, { format: 'multilog', program: 'qmail-smtpd' });
    expect(result.handled).toBe(lines);
    expect(result.unknown).toEqual([]);
  });

  it('recognises rblsmtpd’s own syslog lines in qmail/fail2ban-qmail.log', () => {
    const result = coverage(qmailSmtpdParser, 'qmail/fail2ban-qmail.log');
    expect(result.handled).toBe(2);
    expect(result.unknown).toEqual([]);
  });
});
