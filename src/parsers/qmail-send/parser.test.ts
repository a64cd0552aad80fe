import { describe, expect, it } from 'vitest';
import type { DeliveryResultEvent, MailEvent } from '../../core/events.js';
import { coverage, fixtureLines, frame, frameLines, hasCorpus } from '../testing/corpus.js';
import { qmailSendParser } from './parser.js';
import { decodeLogsafe, readReport } from './reply.js';
import { afterSploggerStamp } from './splogger.js';

const realFrames = frameLines(fixtureLines(new URL('./fixtures/real.log', import.meta.url)), {
  program: 'qmail-send',
});

function parseReal(fragment: string): MailEvent | null {
  const matches = realFrames.filter((f) => f.raw.includes(fragment));
  if (matches.length !== 1) throw new Error(`${matches.length} fixture lines contain ${fragment}`);
  const f = matches[0]!;
  expect(qmailSendParser.handles(f.program)).toBe(true);
  return qmailSendParser.parse(f);
}

function parse(text: string, program = 'qmail-send'): MailEvent | null {
  return qmailSendParser.parse(frame(program, text));
}

function result(fields: Omit<DeliveryResultEvent, 'kind'>): DeliveryResultEvent {
  return { kind: 'delivery-result', ...fields };
}

const REAL: readonly (readonly [string, MailEvent])[] = [
  // --- the queue entry
  ['new msg 2638162', { kind: 'queue-info', queueId: '2638162', starts: true }],
  [
    'info msg 2638308: bytes 9752',
    {
      kind: 'queue-info',
      queueId: '2638308',
      starts: false,
      size: 9752,
      from: 'anabie4520@asianet.co.th',
      qp: 13169,
      uid: 89,
    },
  ],
  [
    'info msg 2638162: bytes 10397 from <>',
    { kind: 'queue-info', queueId: '2638162', starts: false, size: 10397, from: '', qp: 13185, uid: 72 },
  ],
  // A double bounce comes from `#@[]`, qmail's null sender that must not bounce again.
  [
    'from <#@[]> qp 13197',
    { kind: 'queue-info', queueId: '2638308', starts: false, size: 10944, from: '', qp: 13197, uid: 72 },
  ],
  ['end msg 2638308', { kind: 'queue-removed', queueId: '2638308' }],
  [
    'bounce msg 2638308 qp 13185',
    {
      kind: 'notification',
      queueId: '2638308',
      notification: 'non-delivery',
      notificationQp: 13185,
      settlesDeferred: true,
    },
  ],
  ['status: local 0/10 remote 1/35', { kind: 'info', label: 'status' }],
  // --- deliveries
  [
    'starting delivery 596182:',
    {
      kind: 'delivery-start',
      deliveryId: '596182',
      queueId: '2638087',
      to: 'jppeach.com-james.ertle@jppeach.com',
      channel: 'local',
    },
  ],
  [
    'starting delivery 596183:',
    {
      kind: 'delivery-start',
      deliveryId: '596183',
      queueId: '2638308',
      to: 'jertle@coughlin-family.net',
      channel: 'remote',
    },
  ],
  // qmail-local forwarded the message: the copy was queued by qmail-queue pid 13169.
  ['delivery 596182: success', result({ deliveryId: '596182', status: 'sent', reply: 'did 0+1+0/qp 13169' })],
  [
    'delivery 596183: failure',
    result({
      deliveryId: '596183',
      status: 'bounced',
      reply:
        '72.167.238.201 does not like recipient./Remote host said: 550 #5.1.0 Address rejected jertle@coughlin-family.net/Giving up on 72.167.238.201.',
      relay: '72.167.238.201',
      dsn: '5.1.0',
    }),
  ],
  [
    'delivery 592217: success',
    result({
      deliveryId: '592217',
      status: 'sent',
      reply:
        '209.86.93.227 accepted message./Remote host said: 250 1o98Rs1Gu3Nl34e0 Message accepted for delivery',
      relay: '209.86.93.227',
      queuedAs: '1o98Rs1Gu3Nl34e0',
    }),
  ],
  [
    'delivery 592287: success',
    result({
      deliveryId: '592287',
      status: 'sent',
      reply: '74.125.67.27 accepted message./Remote host said: 250 2.0.0 OK 1272943914 t3si12733181vcr.13',
      relay: '74.125.67.27',
      dsn: '2.0.0',
    }),
  ],
  [
    'Queued_mail_for_delivery',
    result({
      deliveryId: '592294',
      status: 'sent',
      reply:
        '65.55.37.104 accepted message./Remote host said: 250  <20100504033130.30531.qmail@jppeach.net> Queued mail for delivery',
      relay: '65.55.37.104',
    }),
  ],
  [
    'queued_as_DF69C380000D4',
    result({
      deliveryId: '592303',
      status: 'sent',
      reply: '205.188.190.1 accepted message./Remote host said: 250 2.0.0 Ok: queued as DF69C380000D4',
      relay: '205.188.190.1',
      dsn: '2.0.0',
      queuedAs: 'DF69C380000D4',
    }),
  ],
  [
    'delivery 2392: success',
    result({
      deliveryId: '2392',
      status: 'sent',
      reply: '209.85.127.177 accepted message. /Remote host said: 250 CAA01516 Message accepted for delivery',
      relay: '209.85.127.177',
      queuedAs: 'CAA01516',
    }),
  ],
  [
    '(#3.05)',
    result({
      deliveryId: '592591',
      status: 'sent',
      reply: '64.25.220.65 accepted message./Remote host said: 250 2.5.0 Ok Message queued (#3.05)',
      relay: '64.25.220.65',
      dsn: '2.5.0',
    }),
  ],
  [
    'will_deliver_to',
    result({
      deliveryId: '592488',
      status: 'sent',
      reply: 'user does not exist, but will deliver to /home/vpopmail/domains/jppeach.com/archive//did 0+0+2',
    }),
  ],
  [
    'AUTORESPOND',
    result({
      deliveryId: '592723',
      status: 'sent',
      reply: 'AUTORESPOND:  Stopping on mail from []./did 0+0+1',
    }),
  ],
  [
    'no_mailbox_here',
    result({
      deliveryId: '596455',
      status: 'bounced',
      reply: 'Sorry, no mailbox here by that name. (#5.1.1)',
      dsn: '5.1.1',
    }),
  ],
  ['mail_is_looping', result({ deliveryId: '595822', status: 'bounced', reply: 'mail is looping' })],
  [
    'too_long',
    result({
      deliveryId: '596367',
      status: 'bounced',
      reply:
        "Sorry, I couldn't find any host by that name. (#4.1.2)/I'm not going to try again; this message has been in the queue too long.",
      dsn: '4.1.2',
    }),
  ],
  [
    'best-preference',
    result({
      deliveryId: '596386',
      status: 'bounced',
      reply:
        "Sorry. Although I'm listed as a best-preference MX or A for that host,/it isn't in my control/locals file, so I don't treat it as local. (#5.4.6)",
      dsn: '5.4.6',
    }),
  ],
  [
    '550-5.1.1',
    result({
      deliveryId: '600841',
      status: 'bounced',
      reply:
        "74.125.67.27 does not like recipient./Remote host said: 550-5.1.1 The email account that you tried to reach does not exist. Please try/550-5.1.1 double-checking the recipient's email address for typos or/550-5.1.1 unnecessary spaces. Learn more at                             /550 5.1.1 http://mail.google.com/support/bin/answer.py?answer=6596 q18si13924227vcr.43/Giving up on 74.125.67.27.",
      relay: '74.125.67.27',
      dsn: '5.1.1',
    }),
  ],
  [
    '(#4.4.1)',
    result({
      deliveryId: '595790',
      status: 'deferred',
      reply: "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)",
      dsn: '4.4.1',
    }),
  ],
  [
    'greeting_failed',
    result({
      deliveryId: '592904',
      status: 'deferred',
      reply: 'Connected to 204.13.42.234 but greeting failed./Remote host said: 421 too many connections',
      relay: '204.13.42.234',
    }),
  ],
  [
    'connection_died',
    result({
      deliveryId: '598083',
      status: 'deferred',
      reply: 'Connected to 216.163.188.57 but connection died. (#4.4.2)',
      relay: '216.163.188.57',
      dsn: '4.4.2',
    }),
  ],
  [
    'failed_on_DATA',
    result({
      deliveryId: '596107',
      status: 'deferred',
      reply: '204.13.40.82 failed on DATA command./Remote host said: 421 Offline',
      relay: '204.13.40.82',
    }),
  ],
  // logsafe() wrote the path's own `_` like a blank: it cannot be told apart.
  [
    'bad_interpreter',
    result({
      deliveryId: '595960',
      status: 'deferred',
      reply:
        '/bin/sh: /home/frontporchforum/prod/email/submit email.php: /usr/local/bin/php: bad interpreter: Text file busy',
    }),
  ],
  // --- itlinux fixture
  [
    'starting delivery 759:',
    {
      kind: 'delivery-start',
      deliveryId: '759',
      queueId: '68566592',
      to: 'example.org-export@example.org',
      channel: 'local',
    },
  ],
  ['delivery 759: success', result({ deliveryId: '759', status: 'sent', reply: 'did 0+0+1' })],
  // --- splogger (syslog tag `qmail`, a `seconds.micros` stamp first)
  [
    'info msg 270182',
    {
      kind: 'queue-info',
      queueId: '270182',
      starts: false,
      size: 10712,
      from: 'john@john.do',
      qp: 54945,
      uid: 82,
    },
  ],
  [
    'starting delivery 251',
    {
      kind: 'delivery-start',
      deliveryId: '251',
      queueId: '270182',
      to: 'spamreport@john.do',
      channel: 'local',
    },
  ],
  ['delivery 251: success', result({ deliveryId: '251', status: 'sent', reply: 'did 0+0+1' })],
  ['end msg 270182', { kind: 'queue-removed', queueId: '270182' }],
  // The SMTP side logged under the same tag goes to the qmail-smtpd parser.
  [
    'rblsmtpd: 198.51.100.77',
    {
      kind: 'reject',
      action: 'reject',
      stage: 'CONNECT',
      code: 451,
      reason: 'sbl-xbl.spamhaus.org: http://www.spamhaus.org/query/bl?ip=198.51.100.77',
      client: { ip: '198.51.100.77' },
      session: '19597',
    },
  ],
  [
    'badiprbl',
    {
      kind: 'reject',
      action: 'reject',
      code: 421,
      reason: 'badiprbl: ip 198.51.100.54 rbl: example.com',
      client: { ip: '198.51.100.54' },
    },
  ],
];

describe('qmail-send parser on real lines', () => {
  it.each(REAL)('parses %s', (fragment, expected) => {
    expect(parseReal(fragment)).toEqual(expected);
  });

  it('has an expectation for every fixture line', () => {
    const covered = realFrames.filter((f) => REAL.some(([fragment]) => f.raw.includes(fragment)));
    expect(covered).toHaveLength(realFrames.length);
  });
});

describe('qmail-send lines from its source (qmail-1.03/netqmail qmail-send.c, qsutil.c)', () => {
  it('reads the lines qmail-send writes about itself', () => {
    expect(parse('status: exiting')).toEqual({ kind: 'info', label: 'status' });
    expect(parse('status: local 0/10 remote 0/20 exitasap')).toEqual({ kind: 'info', label: 'status' });
    expect(parse('alert: cannot start: qmail-send is already running')).toEqual({
      kind: 'info',
      label: 'alert',
    });
    expect(parse('alert: oh no! lost spawn connection! dying...')).toEqual({ kind: 'info', label: 'alert' });
    expect(parse('warning: trouble injecting bounce message, will try later')).toEqual({
      kind: 'info',
      label: 'warning',
    });
  });

  it('names the queue entry a warning or a discarded bounce is about', () => {
    expect(parse('warning: unable to stat info/12/3456; will try again later')).toEqual({
      kind: 'info',
      label: 'warning',
      queueId: '3456',
    });
    expect(parse('warning: trouble marking local/3/77; message will be delivered twice!')).toEqual({
      kind: 'info',
      label: 'warning',
      queueId: '77',
    });
    expect(parse('triple bounce: discarding bounce/3456')).toEqual({
      kind: 'info',
      label: 'triple-bounce',
      queueId: '3456',
    });
    // SPAMCONTROL's qmail-send
    expect(parse('double bounce: discarding bounce/98')).toEqual({
      kind: 'info',
      label: 'double-bounce',
      queueId: '98',
    });
  });

  it('defers a mangled report and keeps an empty one', () => {
    expect(parse('delivery 17: report mangled, will defer')).toEqual(
      result({ deliveryId: '17', status: 'deferred', reply: 'report mangled, will defer' }),
    );
    expect(parse('delivery 18: success: ')).toEqual(result({ deliveryId: '18', status: 'sent' }));
    expect(parse('delivery 19: failure:')).toEqual(result({ deliveryId: '19', status: 'bounced' }));
  });

  it('takes a supplementary channel (channels patch) as leaving the host', () => {
    expect(parse('starting delivery 3: msg 99 to suppl0 list@example.org')).toEqual({
      kind: 'delivery-start',
      deliveryId: '3',
      queueId: '99',
      to: 'list@example.org',
      channel: 'remote',
    });
  });

  it('reads a sender that holds `>` up to the last `> qp `', () => {
    expect(parse('info msg 12: bytes 100 from <a>b@example.org> qp 7 uid 0')).toEqual({
      kind: 'queue-info',
      queueId: '12',
      starts: false,
      size: 100,
      from: 'a>b@example.org',
      qp: 7,
      uid: 0,
    });
  });

  it('keeps what a cut `info msg` line has', () => {
    expect(parse('info msg 12: bytes 100 from <a@exam')).toEqual({
      kind: 'queue-info',
      queueId: '12',
      starts: false,
      size: 100,
      from: 'a@exam',
    });
    expect(parse('info msg 12: bytes 100')).toEqual({
      kind: 'queue-info',
      queueId: '12',
      starts: false,
      size: 100,
    });
  });

  it('reads a qmail-remote report naming an IPv6 server (IPv6 patches)', () => {
    expect(
      parse(
        'delivery 5: success: 2001:db8::25_accepted_message./Remote_host_said:_250_ok_1700000000_qp_4711/',
      ),
    ).toEqual(
      result({
        deliveryId: '5',
        status: 'sent',
        reply: '2001:db8::25 accepted message./Remote host said: 250 ok 1700000000 qp 4711',
        relay: '2001:db8::25',
      }),
    );
  });

  it('takes the next queue id only from a success', () => {
    const raw =
      '192.0.2.25_failed_after_I_sent_the_message./Remote_host_said:_451_4.3.0_Ok:_queued_as_ABC123/';
    expect(readReport(raw, false)).toEqual({
      text: '192.0.2.25 failed after I sent the message./Remote host said: 451 4.3.0 Ok: queued as ABC123',
      relay: '192.0.2.25',
      dsn: '4.3.0',
    });
    expect(readReport(raw, true).queuedAs).toBe('ABC123');
  });

  it('turns logsafe text back: `_` into blanks, the last `/` (the final newline) dropped', () => {
    expect(decodeLogsafe('did_0+0+1/')).toBe('did 0+0+1');
    expect(decodeLogsafe('line_one/line_two/')).toBe('line one/line two');
    expect(decodeLogsafe('')).toBe('');
  });
});

describe('splogger', () => {
  it('finds the end of the `seconds.micros ` stamp, and nothing else', () => {
    expect(afterSploggerStamp('1063526289.292776 info msg 1: x')).toBe(18);
    expect(afterSploggerStamp('info msg 1: x')).toBe(0);
    expect(afterSploggerStamp('1063526289 info')).toBe(0);
    expect(afterSploggerStamp('1063526289.x info')).toBe(0);
    expect(afterSploggerStamp('12345678901234567890.1 x')).toBe(0);
  });

  it('leaves a line of neither qmail-send nor qmail-smtpd unknown under `qmail`', () => {
    expect(parse('1063526289.292776 something else', 'qmail')).toBeNull();
  });

  it('does not hand a qmail-send tag line to the qmail-smtpd parser', () => {
    expect(parse('rblsmtpd: 192.0.2.1 pid 1: 451 listed')).toBeNull();
  });
});

describe('hostile input', () => {
  const lines = [
    'new msg ',
    'new msg 12x',
    'new msg 99999999999999999999999999',
    'end msg -1',
    'info msg : bytes',
    'info msg 1',
    'starting delivery x: msg 1 to local a',
    'starting delivery 1: msg 2',
    'starting delivery 1: msg 2 to',
    'delivery : success: x',
    'delivery 1 success: x',
    'delivery 1: maybe: x',
    'bounce msg x qp 1',
    's',
    '',
    '\u0000\u0001\uffff',
  ];

  it('never throws and returns null for what it does not know', () => {
    for (const line of lines) expect(() => parse(line)).not.toThrow();
    expect(parse('new msg 12x')).toBeNull();
    expect(parse('delivery 1: maybe: x')).toBeNull();
    expect(parse('starting delivery 1: msg 2')).toBeNull();
    expect(parse('bounce msg x qp 1')).toBeNull();
  });

  it('bounds a huge report and a huge address', () => {
    const report = parse(`delivery 1: failure: ${'x_'.repeat(100_000)}/`) as DeliveryResultEvent;
    expect(report.reply!.length).toBeLessThanOrEqual(2000);
    const start = parse(`starting delivery 1: msg 2 to remote ${'a'.repeat(100_000)}@x`);
    expect(start).toMatchObject({ kind: 'delivery-start' });
    expect((start as { to: string }).to.length).toBeLessThanOrEqual(512);
  });

  it('stays fast on pathological reports', () => {
    const started = performance.now();
    for (let i = 0; i < 200; i++) {
      parse(`delivery ${i}: failure: ${'(#'.repeat(5000)}${'1.'.repeat(5000)}`);
      parse(`delivery ${i}: failure: ${'Remote_host_said:_'.repeat(2000)}`);
      parse(`delivery ${i}: success: ${'9'.repeat(20_000)}`);
    }
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe.skipIf(!hasCorpus)('qmail-send corpus coverage', () => {
  it('recognises every line of the 50,006-line vipwoody qmail-send multilog', () => {
    const result = coverage(qmailSendParser, 'qmail/vipwoody-qmail-send.multilog.log.gz', {
      format: 'multilog',
      program: 'qmail-send',
    });
    expect(result.handled).toBe(50_006);
    expect(result.unknown).toEqual([]);
    const kinds = new Map<string, number>();
    for (const e of result.events) kinds.set(e.kind, (kinds.get(e.kind) ?? 0) + 1);
    // 4871 `new msg` + 4871 `info msg`; 8443 + 145 + 235 delivery results; 17611 status lines.
    expect(Object.fromEntries(kinds)).toEqual({
      'delivery-result': 8823,
      'delivery-start': 8788,
      'queue-info': 9742,
      'queue-removed': 4894,
      notification: 148,
      info: 17_611,
    });
  });

  it.each([
    ['qmail/qmail_log-spec-one.log', 16],
    ['qmail/qmail_log-spec-two.log', 8],
    ['qmail/qmail_log-spec-three.log', 4],
    ['qmail/itlinux-qmail-grafical-stats/send.log', 5],
  ])('recognises every line of %s', (file, lines) => {
    const result = coverage(qmailSendParser, file, { format: 'multilog', program: 'qmail-send' });
    expect(result.handled).toBe(lines);
    expect(result.unknown).toEqual([]);
  });

  it.each([
    ['other-mail/awstats-maillogconvert-comment-examples.txt', 4],
    ['qmail/fail2ban-qmail.log', 2],
  ])('recognises every splogger `qmail` line of %s', (file, lines) => {
    const result = coverage(qmailSendParser, file);
    expect(result.handled).toBe(lines);
    expect(result.unknown).toEqual([]);
  });
});
