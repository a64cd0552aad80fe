import { describe, expect, it } from 'vitest';
import type { MailEvent } from '../../core/events.js';
import type { Frame } from '../../core/frame.js';
import { coverage, fixtureLines, frame, frameLines, hasCorpus } from '../testing/corpus.js';
import { addressList, delaySeconds, queueIdEnd, relayClient } from './fields.js';
import { parseSendmailText, sendmailParser } from './parser.js';

/** The fixture's real syslog lines, framed as an import frames them. */
const frames = frameLines(fixtureLines(new URL('./fixtures/real.log', import.meta.url)));

/** The one fixture line that contains `marker`, framed. */
function fixture(marker: string): Frame {
  const found = frames.filter((f) => f.raw.includes(marker));
  if (found.length !== 1) throw new Error(`${found.length} fixture lines contain ${marker}`);
  return found[0]!;
}

function parse(marker: string): MailEvent | null {
  const f = fixture(marker);
  expect(sendmailParser.handles(f.program)).toBe(true);
  return sendmailParser.parse(f);
}

/**
 * Lines without a syslog timestamp (`prog[pid]: text`), from OSSEC's decoder examples; a Solaris
 * `[ID 801593 mail.notice] ` after the tag is skipped as the framing skips it.
 */
const messageOnly = fixtureLines(new URL('./fixtures/message-only.txt', import.meta.url));

function parseMessageOnly(marker: string): MailEvent | null {
  const line = messageOnly.find((l) => l.includes(marker));
  const m = line === undefined ? null : /^([^[\s]+)\[\d+\]: (?:\[ID \d+ [a-z.]+\] )?(.*)$/.exec(line);
  if (m === null) throw new Error(`no message-only fixture line contains ${marker}`);
  expect(sendmailParser.handles(m[1]!)).toBe(true);
  return sendmailParser.parse(frame(m[1]!, m[2]!));
}

describe('sendmailParser.handles', () => {
  it.each(['sendmail', 'sm-mta', 'sm-msp-queue', 'sm-acceptingconnections'])('handles %s', (program) => {
    expect(sendmailParser.handles(program)).toBe(true);
  });
  it.each(['postfix/sendmail', 'postfix/smtpd', 'exim', 'smtpd'])('leaves %s alone', (program) => {
    expect(sendmailParser.handles(program)).toBe(false);
  });
});

describe('fields', () => {
  it('knows queue ids of 8.12+ and older releases, not words', () => {
    expect(queueIdEnd('u3P05kaI000640: x', 0)).toBe(14);
    expect(queueIdEnd('xA32R2PQ3529566: x', 0)).toBe(15);
    expect(queueIdEnd('g8U2LVi03161: x', 0)).toBe(12);
    expect(queueIdEnd('STARTTLS=server: x', 0)).toBe(-1);
    expect(queueIdEnd('SYSERRXX: x', 0)).toBe(-1);
    expect(queueIdEnd('u3P05kaI000640:x', 0)).toBe(-1);
  });

  it('splits to= lists outside quotes and brackets', () => {
    expect(addressList('<a@x>,<B@Y>')).toEqual(['a@x', 'b@y']);
    expect(addressList('a,b, c')).toEqual(['a', 'b', 'c']);
    expect(addressList('"|/usr/bin/procmail -a, b",<c@d>')).toEqual(['"|/usr/bin/procmail -a, b"', 'c@d']);
    expect(addressList(',,')).toEqual([]);
  });

  it('reads relays and delays', () => {
    expect(relayClient('mx.develooper.com. [63.251.223.176]')).toEqual({
      name: 'mx.develooper.com',
      ip: '63.251.223.176',
    });
    expect(relayClient('[127.0.0.1] [127.0.0.1]')).toEqual({ ip: '127.0.0.1' });
    expect(relayClient('example.com [IPv6:2001:DB8::1] (may be forged)')).toEqual({
      name: 'example.com',
      ip: '2001:DB8::1',
    });
    expect(relayClient('root@localhost')).toEqual({ name: 'localhost' });
    expect(delaySeconds('00:01:05')).toBe(65);
    expect(delaySeconds('2+01:00:00')).toBe(176_400);
    expect(delaySeconds('1:2:3')).toBeUndefined();
  });
});

describe('from= (the envelope was accepted)', () => {
  it('reads sender, size, recipients, Message-ID, protocol and client', () => {
    expect(parse('u3P2AOYO001292: from=')).toEqual({
      kind: 'queue-info',
      queueId: 'u3P2AOYO001292',
      starts: true,
      from: 'mail7-669-8384802.lnnlztgub3jn-86-1-871-668-vip@katrina.dx18.cc',
      size: 17309,
      nrcpt: 1,
      messageId: '8e8176031d7b4081a551d08c8f6b442f@katrina.dx18.cc',
      proto: 'ESMTP',
      client: { name: 'katrina.dx18.cc', ip: '45.127.37.98' },
    });
  });

  it('reads a local submission (a bare user, relay=localhost or user@localhost)', () => {
    expect(parse('j061d8Rn000975: from=maddingue')).toEqual({
      kind: 'queue-info',
      queueId: 'j061d8Rn000975',
      starts: true,
      from: 'maddingue',
      size: 2056,
      nrcpt: 1,
      messageId: '200501060139.j061d8Rn000975@jupiter.maddingue.net',
      client: { name: 'localhost' },
    });
    expect(parse('s5T68YTv003569: from=')).toEqual({
      kind: 'queue-info',
      queueId: 's5T68YTv003569',
      starts: true,
      from: 'no-reply@grooveshark.com',
      size: 25274,
      nrcpt: 1,
      messageId: '1404025803.53afbbcb667b9@swift.generated',
      proto: 'SMTP',
      client: { name: 'localhost' },
    });
  });

  it('reads an envelope whose recipients were all refused (nrcpts=0)', () => {
    expect(parse('u3P2R7FT001382: from=')).toEqual({
      kind: 'queue-info',
      queueId: 'u3P2R7FT001382',
      starts: true,
      from: 'oruw@plus.com',
      size: 0,
      nrcpt: 0,
      proto: 'ESMTP',
      client: { ip: '157.122.148.246' },
    });
  });

  it('reads AUTH=server as the authenticated user of the envelope that follows', () => {
    // Constructed in Sendmail's format (srvrsmtp.c; no AUTH=server line in the corpus).
    expect(
      parseSendmailText(
        'u3P2AOYO001300: AUTH=server, relay=client.example.org [192.0.2.5], authid=alice, mech=PLAIN, bits=0',
      ),
    ).toEqual({
      kind: 'queue-info',
      queueId: 'u3P2AOYO001300',
      starts: false,
      saslUsername: 'alice',
      client: { name: 'client.example.org', ip: '192.0.2.5' },
    });
    expect(parseSendmailText('u3P2AOYO001300: AUTH=client, relay=smarthost, mech=PLAIN, bits=0')).toEqual({
      kind: 'info',
      label: 'auth',
      queueId: 'u3P2AOYO001300',
      client: { name: 'smarthost' },
    });
  });
});

describe('to= (one delivery attempt)', () => {
  it('reads a local delivery', () => {
    expect(parse('u3P2AOYO001292: to=')).toEqual({
      kind: 'delivery',
      queueId: 'u3P2AOYO001292',
      to: 'sales@arhsvcs.co.uk',
      status: 'sent',
      relay: 'local',
      delay: 1,
      dsn: '2.0.0',
    });
  });

  it("reads a hand-off to the next MTA: its queue id in the reply (Sendmail's and Postfix's)", () => {
    expect(parse('j061d8Rn000975: to=cpan-testers@perl.org')).toEqual({
      kind: 'delivery',
      queueId: 'j061d8Rn000975',
      to: 'cpan-testers@perl.org',
      status: 'sent',
      relay: 'localhost[127.0.0.1]',
      delay: 1,
      dsn: '2.0.0',
      reply: 'j061d8n5000976 Message accepted for delivery',
      queuedAs: 'j061d8n5000976',
    });
    expect(parse('s5T68YTv003569: to=')).toEqual({
      kind: 'delivery',
      queueId: 's5T68YTv003569',
      to: 't.k.custom3@gmail.com',
      status: 'sent',
      relay: '[127.0.0.1]',
      delay: 0,
      dsn: '2.0.0',
      reply: 'Ok: queued as C05A07C2CA0',
      queuedAs: 'C05A07C2CA0',
    });
  });

  it('reads a remote delivery (the relay without its trailing dot) and a CRLF line', () => {
    expect(parse('j061d8n5000976: to=<cpan-testers@perl.org>')).toEqual({
      kind: 'delivery',
      queueId: 'j061d8n5000976',
      to: 'cpan-testers@perl.org',
      status: 'sent',
      relay: 'mx.develooper.com[63.251.223.176]',
      delay: 8,
      dsn: '2.0.0',
      reply: 'Queued! <200501060139.j061d8Rn000975@jupiter.maddingue.net>',
    });
    expect(parse('j4K97fD5028627: to=somebody@example.net')).toEqual({
      kind: 'delivery',
      queueId: 'j4K97fD5028627',
      to: 'somebody@example.net',
      status: 'sent',
      relay: 'somehost.example.net[204.127.xxx.yyy]',
      delay: 1,
      dsn: '2.0.0',
      reply: 'ok ; id=20050520090742r1700irb9oe',
    });
  });

  it('reads failures: the error text is the status, 5.x.x a bounce', () => {
    expect(parse('t5288TaU003049: to=rr,')).toEqual({
      kind: 'delivery',
      queueId: 't5288TaU003049',
      to: 'rr',
      status: 'bounced',
      relay: '[127.0.0.1]',
      delay: 1,
      dsn: '5.1.1',
      reply: 'User unknown',
    });
    expect(parse('stat=Service unavailable')).toEqual({
      kind: 'delivery',
      queueId: 't528EeJJ003627',
      to: '-1',
      status: 'bounced',
      relay: '[127.0.0.1]',
      delay: 0,
      dsn: '5.1.3',
      reply: 'Service unavailable',
    });
  });

  it('reads a deferral', () => {
    expect(parseMessageOnly('k5TKj6L5012934: to=root')).toEqual({
      kind: 'delivery',
      queueId: 'k5TKj6L5012934',
      to: 'root',
      status: 'deferred',
      relay: '[127.0.0.1]',
      delay: 240,
      dsn: '4.0.0',
      reply: 'Connection refused by [127.0.0.1]',
    });
  });

  it('reads a line without stat= by its dsn (Parse::Syslog::Mail test log)', () => {
    expect(parse('j78ASk4e013165: to=kweek@glurpp')).toEqual({
      kind: 'delivery',
      queueId: 'j78ASk4e013165',
      to: 'kweek@glurpp',
      status: 'sent',
      relay: 'localhost',
      delay: 1,
      dsn: '2.0.0',
    });
  });

  it('reads every address of a to= list, and the [more] lines of a long one', () => {
    // Constructed in deliver.c logdelivery()'s format (no list in the corpus).
    expect(
      parseSendmailText(
        'u3P2AOYO001292: to=<a@example.org>,<b@example.org>, [more], delay=00:00:02, xdelay=00:00:01, mailer=esmtp, pri=120000, relay=mx.example.org. [192.0.2.9], dsn=4.4.1, stat=Deferred: Connection timed out with mx.example.org.',
      ),
    ).toEqual({
      kind: 'delivery',
      queueId: 'u3P2AOYO001292',
      to: 'a@example.org',
      alsoTo: ['b@example.org'],
      status: 'deferred',
      relay: 'mx.example.org[192.0.2.9]',
      delay: 2,
      dsn: '4.4.1',
      reply: 'Connection timed out with mx.example.org.',
    });
  });

  it('reads the end of a queue entry when Sendmail logs it (LogLevel > 9)', () => {
    expect(parse('done; delay=00:00:01, ntries=1')).toEqual({
      kind: 'queue-removed',
      queueId: 'j78ASk4e013165',
    });
  });
});

describe('notifications', () => {
  it('reads the DSN a failure created', () => {
    expect(parse('t5288TaV003049: DSN: User unknown')).toEqual({
      kind: 'notification',
      queueId: 't5288TaU003049',
      notificationQueueId: 't5288TaV003049',
      notification: 'non-delivery',
    });
    expect(parse('j4K975hV028499: DSN: Service unavailable')).toEqual({
      kind: 'notification',
      queueId: 'j4K970hV028494',
      notificationQueueId: 'j4K975hV028499',
      notification: 'non-delivery',
    });
  });

  it('tells delay warnings, return receipts and postmaster copies apart', () => {
    expect(parse('sender notify: Warning')).toEqual({
      kind: 'notification',
      queueId: 'j4K488I4001736',
      notificationQueueId: 'j4K6MJcE012524',
      notification: 'delay',
    });
    expect(parse('DSN: Return receipt')).toEqual({
      kind: 'notification',
      queueId: 'j4IIuhXi011472',
      notificationQueueId: 'j4IJMlLo021380',
      notification: 'delivery',
    });
    expect(parse('postmaster notify: Data format error')).toEqual({
      kind: 'notification',
      queueId: 'j4K9EjQ0008950',
      notificationQueueId: 'j4K9ElQ0008953',
      notification: 'postmaster non-delivery',
    });
  });

  it('settles the addresses still deferred when the queue lifetime ran out', () => {
    expect(parse('return to sender: Cannot send message for 4 days')).toEqual({
      kind: 'notification',
      queueId: 'j4EGMdrM030190',
      notificationQueueId: 'j4IIMlJ5000376',
      notification: 'non-delivery',
      settlesDeferred: true,
    });
  });

  it('keeps a clone for an owner- alias as evidence of the parent', () => {
    expect(parse('clone: owner=Postmaster')).toEqual({
      kind: 'info',
      label: 'clone',
      queueId: 'h9NL1K9M013890',
    });
  });
});

describe('refusals', () => {
  it('reads check_rcpt with the queue id of the envelope, reply code, dsn and client', () => {
    expect(parse('u3P2R7FT001382: ruleset=')).toEqual({
      kind: 'reject',
      action: 'reject',
      stage: 'RCPT',
      queueId: 'u3P2R7FT001382',
      client: { ip: '157.122.148.246' },
      to: 'xiaonanzi11162@163.com',
      code: 550,
      dsn: '5.7.1',
      reason: '<xiaonanzi11162@163.com>... Relaying denied. IP name lookup failed [157.122.148.246]',
    });
    expect(parse('56CF8Qni004012: ruleset=check_rcpt')).toEqual({
      kind: 'reject',
      action: 'reject',
      stage: 'RCPT',
      queueId: '56CF8Qni004012',
      client: { ip: '192.0.2.100' },
      to: 'existing-user@example.com',
      code: 451,
      dsn: '4.1.8',
      reason: 'Domain of sender address test.whatever@service.example.com does not resolve',
    });
  });

  it('reads check_mail, check_relay without a queue id, and a message-only Solaris line', () => {
    expect(parse('h6RB44tg006641: ruleset=check_mail')).toEqual({
      kind: 'reject',
      action: 'reject',
      stage: 'MAIL',
      queueId: 'h6RB44tg006641',
      client: { name: 'crelay1.easydns.com', ip: '216.220.57.222' },
      from: '7ms93d4ms@topprodsource.com',
      code: 451,
      dsn: '4.1.8',
      reason: 'Domain of sender address 7ms93d4ms@topprodsource.com does not resolve',
    });
    expect(parse('sendmail[32440]: ruleset=check_relay')).toEqual({
      kind: 'reject',
      action: 'reject',
      stage: 'CONNECT',
      client: { ip: '211.228.26.114' },
      code: 554,
      dsn: '5.7.1',
      reason: 'Rejected 211.228.26.114 found in dnsbl.sorbs.net',
    });
    expect(parseMessageOnly('k856Hah0007735: ruleset=check_rcpt')).toMatchObject({
      kind: 'reject',
      stage: 'RCPT',
      queueId: 'k856Hah0007735',
      to: 'sc@sd.com',
      code: 553,
      dsn: '5.3.0',
    });
  });

  it('reads milter refusals and discards', () => {
    expect(parse('Milter: data, reject=511')).toEqual({
      kind: 'reject',
      action: 'milter-reject',
      stage: 'END-OF-MESSAGE',
      queueId: 'i04Axx2c005759',
      code: 511,
      reason: 'Virus found in email!',
    });
    // Constructed in milter.c's format (MILTER_REPLY).
    expect(
      parseSendmailText('u3P2AOYO001292: Milter: to=<b@example.org>, reject=550 5.7.1 No thanks'),
    ).toEqual({
      kind: 'reject',
      action: 'milter-reject',
      stage: 'RCPT',
      queueId: 'u3P2AOYO001292',
      to: 'b@example.org',
      code: 550,
      dsn: '5.7.1',
      reason: 'No thanks',
    });
    expect(parseSendmailText('u3P2AOYO001292: Milter: from=<a@example.org>, discard')).toEqual({
      kind: 'reject',
      action: 'discard',
      stage: 'MAIL',
      queueId: 'u3P2AOYO001292',
      from: 'a@example.org',
      reason: 'discarded by milter',
    });
    expect(parseSendmailText('u3P2AOYO001292: Milter add: header: X-Spam-Status: No')).toEqual({
      kind: 'info',
      label: 'milter',
      queueId: 'u3P2AOYO001292',
    });
  });

  it('keeps `<address>... text` as evidence: Sendmail logs it for SMTP refusals and delivery failures alike', () => {
    expect(parse('<rqtudydwlimkrsxwq@arhsvcs.co.uk>... User unknown')).toEqual({
      kind: 'info',
      label: 'address-error',
      queueId: 'u3RJk5Zj023940',
    });
  });
});

describe('sessions, authentication and the daemon', () => {
  it('reads connections that sent nothing, lost ones and timeouts, with the client', () => {
    expect(parse('u3P05kaI000640: 66-112-64-72')).toEqual({
      kind: 'info',
      label: 'no-mail',
      queueId: 'u3P05kaI000640',
      client: { name: '66-112-64-72.stat.centurytel.net', ip: '66.112.64.72' },
    });
    expect(parse('(may be forged) did not issue')).toEqual({
      kind: 'info',
      label: 'no-mail',
      queueId: 'u3P8l9VS003485',
      client: { name: '40.74.224.159.triolan.net', ip: '159.224.74.40' },
    });
    expect(parse('[IPv6:2001:DB8::1] did not issue')).toEqual({
      kind: 'info',
      label: 'no-mail',
      queueId: '06QDQnNf050438',
      client: { name: 'example.com', ip: '2001:DB8::1' },
    });
    expect(parse('lost input channel')).toEqual({
      kind: 'info',
      label: 'lost-connection',
      queueId: 'u3U13Xre010194',
      client: { name: '118-160-209-168.dynamic.hinet.net', ip: '118.160.209.168' },
    });
    expect(parse('timeout waiting for input')).toEqual({
      kind: 'info',
      label: 'timeout',
      queueId: 'j4K97TIQ029478',
      client: { ip: '61.250.xxx.yyy' },
    });
    expect(parse('pre-greeting traffic')).toEqual({
      kind: 'info',
      label: 'pregreet',
      queueId: 'u9A0GtpL018001',
      client: { name: 'example.com', ip: '1.2.3.4' },
    });
    expect(parse('possible SMTP attack')).toEqual({
      kind: 'info',
      label: 'smtp-attack',
      queueId: 's1GNXHYB005133',
      client: { ip: '190.5.230.178' },
    });
    expect(parse('ETRN netscaler')).toEqual({
      kind: 'info',
      label: 'etrn',
      queueId: 'j4K944gN004249',
      client: { name: 'somehost.example.edu', ip: '129.107.xxx.yyy' },
    });
    expect(parse('EXPN root [rejected]')).toEqual({ kind: 'info', label: 'vrfy', queueId: 's1NKIkZa093301' });
  });

  it('reads SASL failures as failed logins, with the relay Sendmail appended last', () => {
    expect(parse('06I02CNi016765: AUTH failure')).toEqual({
      kind: 'login',
      service: 'smtp',
      success: false,
      method: 'LOGIN',
      remoteIp: '192.0.2.4',
      user: 'criminal',
      reason: 'authentication failure (-13) SASL(-13): authentication failure: checkpass failed',
    });
    expect(parse('14NNx65Q065815: AUTH failure')).toEqual({
      kind: 'login',
      service: 'smtp',
      success: false,
      method: 'CRAM-MD5',
      remoteIp: '192.0.2.6',
      user: 'scan',
      reason:
        'user not found (-20) SASL(-13): user not found: user: scan@server.example.com property: userPassword not found in sasldb /usr/local/etc/sasldb2',
    });
    expect(parse('26H8MRrS025411: AUTH failure')).toEqual({
      kind: 'login',
      service: 'smtp',
      success: false,
      method: 'LOGIN',
      remoteIp: '192.0.2.9',
      reason: 'authentication failure (-13) SASL(-13): authentication failure: checkpass failed',
    });
  });

  it('labels message and daemon chatter', () => {
    expect(parse('message size (12382169)')).toEqual({
      kind: 'info',
      label: 'size',
      queueId: 'j4K99tuR029876',
    });
    expect(parse('collect: premature EOM')).toEqual({
      kind: 'info',
      label: 'collect',
      queueId: 'j4K9BaxO030728',
    });
    expect(parse('SMTP DATA-2 protocol error')).toEqual({
      kind: 'info',
      label: 'remote-error',
      queueId: 'j4KFfYNi013124',
    });
    expect(parse('Syntax error in mailbox address')).toEqual({
      kind: 'info',
      label: 'syntax-error',
      queueId: 'j4KD7jBi016329',
    });
    expect(parse('Jupiter sendmail[410]: starting daemon')).toEqual({ kind: 'info', label: 'daemon' });
    expect(parse('sm-msp-queue[696]: starting daemon')).toEqual({ kind: 'info', label: 'daemon' });
    expect(parse('rejecting connections on daemon MSA')).toEqual({ kind: 'info', label: 'daemon' });
    expect(parse('File descriptors missing')).toEqual({ kind: 'info', label: 'warning' });
    expect(parse('grew WorkList')).toEqual({ kind: 'info', label: 'queue-run' });
    expect(parse('gethostbyaddr(192.168.64.13)')).toEqual({ kind: 'info', label: 'dns' });
    expect(parse('STARTTLS=server: file')).toEqual({ kind: 'info', label: 'tls' });
    expect(parse('alias database /etc/aliases rebuilt')).toEqual({ kind: 'info', label: 'aliases' });
    expect(parse('/etc/aliases: 77 aliases')).toEqual({ kind: 'info', label: 'aliases' });
    expect(
      parseSendmailText('NOQUEUE: SYSERR(fon): can not chdir(/var/spool/clientmqueue/): Permission denied'),
    ).toEqual({
      kind: 'info',
      label: 'syserr',
    });
  });
});

describe('hostile input', () => {
  const shapes = [
    '',
    ':',
    'u3P05kaI000640:',
    'u3P05kaI000640: ',
    'u3P05kaI000640: from=',
    'u3P05kaI000640: from=<',
    'u3P05kaI000640: to=',
    'u3P05kaI000640: to=, stat=',
    'u3P05kaI000640: to=<a>, stat=Sent (',
    'u3P05kaI000640: to="unterminated, stat=Sent',
    'u3P05kaI000640: u3P05kaI000641: ',
    'ruleset=',
    'ruleset=check_rcpt, reject=',
    'Milter: ',
    'Milter: data, ',
    'AUTH failure (',
    'AUTH=server, relay=',
    'NOQUEUE: ',
    'u3P05kaI000640: did not issue MAIL/EXPN/VRFY/ETRN',
    'u3P05kaI000640: to=<a>, relay= [, stat=Sent',
  ];

  it.each(shapes)('does not throw on %j', (text) => {
    expect(() => parseSendmailText(text)).not.toThrow();
  });

  it('stays linear on long and repetitive lines', () => {
    const long = [
      `u3P05kaI000640: to=${'<a>,'.repeat(50_000)}, stat=Sent`,
      `u3P05kaI000640: to=${'"'.repeat(100_000)}, stat=Sent`,
      `u3P05kaI000640: from=<${'<'.repeat(100_000)}>, size=1`,
      `u3P05kaI000640: ${'a=b, '.repeat(50_000)}`,
      `u3P05kaI000640: AUTH failure (x): ${', user=, relay='.repeat(20_000)}`,
      `ruleset=check_rcpt, arg1=<a>, relay=${' ['.repeat(50_000)}, reject=550 x`,
    ];
    const started = Date.now();
    for (const text of long) parseSendmailText(text);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('bounds what it keeps: at most 1000 addresses of a list, replies of 2000 characters', () => {
    const list = parseSendmailText(
      `u3P05kaI000640: to=${'<a@b>,'.repeat(5000)}, dsn=2.0.0, stat=Sent (${'x'.repeat(9000)})`,
    );
    expect(list?.kind === 'delivery' && (list.alsoTo?.length ?? 0) + 1).toBe(1000);
    expect(list?.kind === 'delivery' && list.reply?.length).toBe(2000);
  });
});

/** Every Sendmail line of these corpus files is recognised, but the ones named with why. */
const FILES: Record<string, number> = {
  'sendmail/hirstar-EMAIL_MONITOR-mail.log.gz': 0,
  'sendmail/dch-do-freebsd-var-log-maillog': 0,
  'sendmail/fail2ban-sendmail-auth.log': 0,
  'sendmail/fail2ban-sendmail-reject.log': 0,
  'sendmail/Parse-Syslog-Mail/technoids.log': 0,
  // `j4KDbUaV007215[2]: \263\273...`: an id with a suffix and a header logged raw (Parse::Syslog::Mail's
  // test of 8-bit text); no Sendmail source writes that shape.
  'sendmail/Parse-Syslog-Mail/sendmail-custom-dsn.log': 1,
  'sendmail/Parse-Syslog-Mail/sendmail-done.log': 0,
  'sendmail/Parse-Syslog-Mail/sendmail-plain.log': 0,
  'sendmail/Parse-Syslog-Mail/sendmail-ruleset.log': 0,
  'postfix/fonylew-config-mailgateway-maillog.gz': 0,
  'postfix/MensEtManus-gomaillex-maillog': 0,
  'postfix/infohtreasure-Postfix-Maillog-Dump-maillog.gz': 0,
  'other-mail/awstats-maillogconvert-comment-examples.txt': 0,
};

describe.skipIf(!hasCorpus)('corpus coverage', () => {
  it.each(Object.entries(FILES))('recognises the Sendmail lines of %s', (file, unknown) => {
    const result = coverage(sendmailParser, file);
    expect(result.handled).toBeGreaterThan(0);
    expect(result.unknown).toHaveLength(unknown);
  });

  it('reads the hirstar log as grep counts it', () => {
    const { events } = coverage(sendmailParser, 'sendmail/hirstar-EMAIL_MONITOR-mail.log.gz');
    const count = (kind: string) => events.filter((e) => e.kind === kind).length;
    // grep -c: 7207 `ruleset=`, 7354 `from=`, 143 `to=` lines.
    expect(count('reject')).toBe(7207);
    expect(count('queue-info')).toBe(7354);
    expect(count('delivery')).toBe(143);
    for (const e of events) {
      if (e.kind === 'delivery') expect(e.to).toMatch(/^[^<>\s,]+$/);
      if (e.kind === 'reject') expect(e.queueId ?? '').toMatch(/^[0-9A-Za-z]{14}$/);
    }
  });
});
