import { describe, expect, it } from 'vitest';
import type { FilterVerdictEvent, MailEvent } from '../../core/events.js';
import { coverage, fixtureLines, frame, frameLines, hasCorpus } from '../testing/corpus.js';
import { amavisParser } from './parser.js';

/** The modoboa test log uses the publisher's `%(day)s` placeholder for the date. */
const withDate = (line: string): string => line.replace('%(day)s', 'Nov 16');

const realFrames = frameLines(fixtureLines(new URL('./fixtures/real.log', import.meta.url)).map(withDate));

function parseReal(fragment: string): MailEvent | null {
  const matches = realFrames.filter((f) => f.raw.includes(fragment));
  if (matches.length !== 1) throw new Error(`${matches.length} fixture lines contain ${fragment}`);
  const f = matches[0]!;
  expect(amavisParser.handles(f.program)).toBe(true);
  return amavisParser.parse(f);
}

function parse(text: string): MailEvent | null {
  return amavisParser.parse(frame('amavis', text));
}

function verdict(fields: Omit<FilterVerdictEvent, 'kind' | 'filter'>): FilterVerdictEvent {
  return { kind: 'filter-verdict', filter: 'amavis', ...fields };
}

const REAL: readonly (readonly [string, MailEvent])[] = [
  // --- verdicts
  [
    '(4051607-09) Blocked INFECTED',
    verdict({
      action: 'Blocked',
      category: 'INFECTED',
      passed: false,
      virus: 'Porcupine.Phishing.55542.UNOFFICIAL',
      clientIp: '192.168.0.1',
      from: 'someone1@something1.com',
      to: ['someon2@something2.com'],
      quarantine: '2/virus-26W2lJY63nCZ',
      queueId: '83B741009CD35',
      messageId: '20240223075525.8CD9941B67@xxx.xxx.shop',
      size: 28646,
      queuedAs: [],
      filterId: '4051607-09',
    }),
  ],
  [
    '(01626-01) Blocked INFECTED (Win.Test.EICAR_HDB-1)',
    verdict({
      action: 'Blocked',
      category: 'INFECTED',
      passed: false,
      virus: 'Win.Test.EICAR_HDB-1',
      clientIp: '192.168.64.33',
      from: 'reflector@srvmsg01.cyberlab.fhnw.ch',
      to: ['damjan@u10.cyberlab.fhnw.ch'],
      quarantine: '7/virus-7AueO3MCQ0Xg',
      queueId: '413BE60672',
      messageId: '20240601091826.D04496012B@srvmsg01.cyberlab.fhnw.ch',
      size: 5098,
      queuedAs: [],
      filterId: '01626-01',
    }),
  ],
  [
    '(01627-01) Passed CLEAN',
    verdict({
      action: 'Passed',
      category: 'CLEAN',
      passed: true,
      clientIp: '192.168.64.33',
      from: 'reflector@srvmsg01.cyberlab.fhnw.ch',
      to: ['damjan@u10.cyberlab.fhnw.ch'],
      queueId: '2C0AB60671',
      messageId: '20240601092009.076C06012B@srvmsg01.cyberlab.fhnw.ch',
      score: -0.999,
      size: 4677,
      queuedAs: ['3D03660673'],
      filterId: '01627-01',
    }),
  ],
  [
    '(02279-04) Passed CLEAN {RelayedOpenRelay}',
    verdict({
      action: 'Passed',
      category: 'CLEAN',
      passed: true,
      clientIp: '1.2.3.4',
      from: 'user@sender.com',
      to: ['invalid.email@example.com'],
      queueId: '4AA091855DA0',
      messageId: 'ca10035e-2951-bfd5-ec7e-1a5773fce1cd@mail.sender.com',
      size: 888,
      queuedAs: ['776E41855DB2'],
      filterId: '02279-04',
    }),
  ],
  [
    '(27886-10) Passed CLEAN',
    verdict({
      action: 'Passed',
      category: 'CLEAN',
      passed: true,
      clientIp: '89.247.252.229',
      from: 'sender@example.com',
      to: ['recipient@example.com'],
      queueId: '0B73130001FB',
      messageId: '414300fb-b063-fa96-4fc6-2d35b3168d61@example.com',
      size: 945,
      queuedAs: ['400643011B47'],
      filterId: '27886-10',
    }),
  ],
  [
    '(11205-08) Passed CLEAN {RelayedOutbound}, ORIGINATING LOCAL',
    verdict({
      action: 'Passed',
      category: 'CLEAN',
      passed: true,
      clientIp: '11.22.33.44',
      from: 'sender@sender.example.com',
      to: ['recipient@recipient.example.com'],
      queueId: 'E8759DC24C3',
      messageId: '00000messageid00000@msgid.example.com',
      size: 344000,
      queuedAs: ['218BEDC28EC'],
      filterId: '11205-08',
    }),
  ],
  [
    'ORIGINATING_POST/MYNETS LOCAL [127.0.0.1]:59654',
    verdict({
      action: 'Passed',
      category: 'CLEAN',
      passed: true,
      clientIp: '127.0.0.1',
      from: 'sender@sender.example.com',
      to: ['recipient@recipient.example.com'],
      queueId: '218BEDC28EC',
      messageId: '00000messageid00000@msgid.example.com',
      score: -2.789,
      size: 344431,
      queuedAs: ['33DE0DC24C3'],
      filterId: '11202-06',
    }),
  ],
  [
    '(25465-19) Passed CLEAN',
    verdict({
      action: 'Passed',
      category: 'CLEAN',
      passed: true,
      clientIp: '68.183.218.8',
      from: 'bounces@some.example.com',
      to: ['recipient@recipient.com'],
      queueId: '78E8330001C7',
      messageId: '000msgid0000@example.com',
      size: 2040,
      queuedAs: ['A17F830001CA'],
      filterId: '25465-19',
    }),
  ],
  [
    '(10410-08) Passed SPAM',
    verdict({
      action: 'Passed',
      category: 'SPAM',
      passed: true,
      clientIp: '28.55.140.112',
      from: '',
      to: ['h-14a52d@h-d6b1ceccbb3bc48.com'],
      queueId: '4F5C64474F',
      score: 5.397,
      size: 1315,
      queuedAs: ['ED01244770'],
      filterId: '10410-08',
    }),
  ],
  [
    '(03457-10) Passed CLEAN',
    verdict({
      action: 'Passed',
      category: 'CLEAN',
      passed: true,
      clientIp: '162.247.1.15',
      from: 'h-2ec4580e5e8a39646bf@h-146071b6ed4.com',
      to: ['h-cff5713@h-ffeb17e38996c.com', 'h-f16@h-ffeb17e38996c.com'],
      queueId: '841D53012026',
      messageId: 'h-2c8c3b84c66007c64e0fd498533aa026de27@h-6c646dc1f0.com',
      size: 3040,
      queuedAs: ['BEB433012027'],
      filterId: '03457-10',
    }),
  ],
  [
    '(14540-09) Passed CLEAN',
    verdict({
      action: 'Passed',
      category: 'CLEAN',
      passed: true,
      clientIp: '103.28.42.139',
      from: 'visitbrussels-huticd1jyidyhxuy1y@cmail19.com',
      to: ['user@test.com'],
      messageId: 'cm.2100050552286.huticd.jyidyhxuy.y@cmail19.com',
      score: -1.481,
      size: 142067,
      queuedAs: ['A0320E00C3'],
      filterId: '14540-09',
    }),
  ],
  [
    '(19749-18) Passed SPAM',
    verdict({
      action: 'Passed',
      category: 'SPAM',
      passed: true,
      clientIp: '207.154.235.157',
      from: 'zwroty@babino.pl',
      to: ['info@test2.com'],
      messageId: 'de35d4cf3b0862e276fc1afc2f0c14d6@link.crazygecko.pl',
      score: 6.89,
      size: 52477,
      queuedAs: ['1FEB7E00C4'],
      filterId: '19749-18',
    }),
  ],
  [
    '(21816-19) Passed CLEAN {RelayedInternal}, MYNETS LOCAL',
    verdict({
      action: 'Passed',
      category: 'CLEAN',
      passed: true,
      clientIp: '127.0.0.1',
      from: 'root@localhost',
      to: ['admin@test.com'],
      messageId: '20171116100432.10564.83744@server.ngyn.org',
      size: 18043,
      queuedAs: ['8D1B3E008E'],
      filterId: '21816-19',
    }),
  ],
  [
    '(14540-10) Passed CLEAN',
    verdict({
      action: 'Passed',
      category: 'CLEAN',
      passed: true,
      clientIp: '185.5.53.87',
      from: '',
      to: ['noreply@modoboa.org'],
      messageId: '201711161006.vAGA6jpH019527@main.nope.org.es',
      score: -1.889,
      size: 2718,
      queuedAs: ['AA3E6E00C3'],
      filterId: '14540-10',
    }),
  ],
  [
    '(237812-12) Passed CLEAN',
    verdict({
      action: 'Passed',
      category: 'CLEAN',
      passed: true,
      clientIp: '2a02:8109:b240:41c8:9264:99a9:1b0d:15c8',
      from: 'user01.test+root.host1@uhu-banane.net',
      to: ['user01.test@uhu-banane.net'],
      queueId: '4PbCZy4PWKz3tBr',
      messageId: '20230313233104.C4ABB401A8@bruni.home.brehm-online.com',
      score: -2.9,
      size: 1154,
      queuedAs: ['4PbCb40W49z3tG3'],
      filterId: '237812-12',
    }),
  ],
  [
    // the first part of a line amavis split at 980 characters: the fields read are before the cut
    '(237978-12) Passed CLEAN',
    verdict({
      action: 'Passed',
      category: 'CLEAN',
      passed: true,
      clientIp: '62.138.228.42',
      from: 'postmaster@mailer-service.de',
      to: ['user01.test@uhu-banane.net'],
      queueId: '4PbCmQ39hpz3tBr',
      messageId: 'KkbdvF4aUSGDJbeMtYbjNH7FN0FOPPOmnwPFcnSAVA@mailer-service.de',
      score: -1.751,
      size: 55178,
      queuedAs: ['4PbCmS6582z3tG3'],
      filterId: '237978-12',
    }),
  ],
  [
    '(237978-13) Passed SPAMMY',
    verdict({
      action: 'Passed',
      category: 'SPAMMY',
      passed: true,
      clientIp: '80.94.91.187',
      from: 'elegantly@terrifyprivate.shop',
      to: ['user01.test@uhu-banane.net'],
      queueId: '4PbHw615YVz3tBr',
      messageId:
        'gaVCbwawOtTzmAM5uBmcn80rImYdb6jHGDakrDSAEsA.BT20wuYD_nlrRpJfg_gZx6J3jmmBCTutNlE4qEeJ38w@terrifyprivate.shop',
      score: 6.86,
      size: 26108,
      queuedAs: ['4PbHwB6t6rz3tG3'],
      filterId: '237978-13',
    }),
  ],
  [
    '(233291-20) Passed SPAM',
    verdict({
      action: 'Passed',
      category: 'SPAM',
      passed: true,
      clientIp: '66.96.185.3',
      from: 'srs0=goeq2z=7g=mohamslamaw.com=insmaokn@eigbox.net',
      to: ['user01.test@uhu-banane.net'],
      queueId: '4PbV786tKMz3tBr',
      messageId: '75144a6fa38acfa69f247b6a466c7e3e@mohamslamaw.com',
      score: 16.684,
      size: 6258,
      queuedAs: ['4PbV7C2D3gz3tG3'],
      filterId: '233291-20',
    }),
  ],
  [
    '(351462-17) Blocked BANNED',
    verdict({
      action: 'Blocked',
      category: 'BANNED',
      passed: false,
      clientIp: '212.227.15.19',
      from: 'user01.test@gmx.de',
      to: ['user01.test@uhu-banane.net'],
      quarantine: 't3d7qJkAoigg',
      queueId: '4Pc3ZX1jFxz3tBr',
      messageId: '20230315083320.C472106BAA31721C@howunited.com',
      size: 3233426,
      queuedAs: [],
      filterId: '351462-17',
    }),
  ],
  [
    // a line cut short in the publisher's log: what it says is kept, nothing is invented
    '(28236-10) Passed,',
    verdict({
      action: 'Passed',
      category: 'UNKNOWN',
      passed: true,
      to: [],
      queuedAs: [],
      filterId: '28236-10',
    }),
  ],
  // --- chatter
  ['(237978-12) ...fer.de', { kind: 'info', label: 'continuation' }],
  ['starting. /usr/sbin/amavisd-new', { kind: 'info', label: 'startup' }],
  ['perl=5.034000', { kind: 'info', label: 'startup' }],
  ['Net::Server: Group Not Defined', { kind: 'info', label: 'startup' }],
  ['No $altermime', { kind: 'info', label: 'startup' }],
  ['No ext program for   .lrz', { kind: 'info', label: 'startup' }],
  ['No decoder for       .7z', { kind: 'info', label: 'startup' }],
  ['Using primary internal av scanner', { kind: 'info', label: 'startup' }],
  ['Found secondary av scanner', { kind: 'info', label: 'startup' }],
  ['(27886-10) ESMTP :10024', { kind: 'info', label: 'smtp-session' }],
  ['Checking: rOEEAACEPVgB', { kind: 'info', label: 'checking' }],
  ['Checking: V5iNwvibD8Ch', { kind: 'info', label: 'checking' }],
  ['Checking: T0hCuLOMViWI', { kind: 'info', label: 'checking' }],
  ['(27886-10) p001 1 Content-Type', { kind: 'info', label: 'mime-part' }],
  ['(11205-08) p001 1/1/1/1 Content-Type', { kind: 'info', label: 'mime-part' }],
  ['rOEEAACEPVgB FWD from', { kind: 'info', label: 'forward' }],
  ['V5iNwvibD8Ch FWD from', { kind: 'info', label: 'forward' }],
  ['(27886-10) size: 945, TIMING', { kind: 'info', label: 'statistics' }],
  ['(11205-08) size: 344000, RUSAGE', { kind: 'info', label: 'statistics' }],
  ['TIMING-SA [total 8782 ms', { kind: 'info', label: 'statistics' }],
  ['_WARN: Use of uninitialized value', { kind: 'info', label: 'warning' }],
  ['SA info: util: setuid', { kind: 'info', label: 'spamassassin' }],
  ['Open relay? Nonlocal recips', { kind: 'info', label: 'open-relay' }],
  ['Requesting process rundown', { kind: 'info', label: 'rundown' }],
  ['sd_notify (no socket)', { kind: 'info', label: 'daemon' }],
  ['bounce unverifiable', { kind: 'info', label: 'bounce' }],
];

describe('amavis parser on real lines', () => {
  it.each(REAL)('%s', (fragment, expected) => {
    expect(parseReal(fragment)).toEqual(expected);
  });

  it('has an expectation for every fixture line', () => {
    const unasserted = realFrames.filter((f) => !REAL.some(([fragment]) => f.raw.includes(fragment)));
    expect(unasserted.map((f) => f.raw)).toEqual([]);
  });
});

describe('amavis verdict variants (amavisd-new $log_templ across versions)', () => {
  it('reads amavisd-new 2.4-2.5 lines: no {actions}, no port, LOCAL, IPv6 tag', () => {
    expect(
      parse(
        '(26387-87) Blocked SPAM, LOCAL [IPv6:2001:630:d0:f102:230:48ff:fe77:96e] [192.168.0.1] <joe@example.com> -> <user@sample.net>, quarantine: spam-EzEbE9W, Message-ID: <11780394@example.com>, mail_id: EzEbE9W, Hits: 6.364, size: 16493, 6292 ms',
      ),
    ).toEqual(
      verdict({
        action: 'Blocked',
        category: 'SPAM',
        passed: false,
        clientIp: '2001:630:d0:f102:230:48ff:fe77:96e',
        from: 'joe@example.com',
        to: ['user@sample.net'],
        quarantine: 'spam-EzEbE9W',
        messageId: '11780394@example.com',
        score: 6.364,
        size: 16493,
        queuedAs: [],
        filterId: '26387-87',
      }),
    );
  });

  it('reads BANNED with nested parentheses, BAD-HEADER-N and UNCHECKED-ENCRYPTED', () => {
    expect(
      parse(
        '(01234-05) Blocked BANNED (multipart/mixed | application/octet-stream,.asc,=?iso-8859-1?Q?FTP=5FFile=5F (1)=File(1).reg) {DiscardedInbound,Quarantined}, [192.0.2.1]:25 [192.0.2.1] <a@x> -> <b@y>, quarantine: banned-9OXm4Q3ah, Queue-ID: 4ABC, Message-ID: <m@x>, mail_id: 9OXm4Q3ah, Hits: -, size: 2366, 3803 ms',
      ),
    ).toEqual(
      verdict({
        action: 'Blocked',
        category: 'BANNED',
        passed: false,
        clientIp: '192.0.2.1',
        from: 'a@x',
        to: ['b@y'],
        quarantine: 'banned-9OXm4Q3ah',
        queueId: '4ABC',
        messageId: 'm@x',
        size: 2366,
        queuedAs: [],
        filterId: '01234-05',
      }),
    );
    expect(
      parse(
        '(01234-06) Passed BAD-HEADER-0 {RelayedInbound}, [192.0.2.1]:25 <a@x> -> <b@y>, Hits: 1.5, size: 1, 1 ms',
      ),
    ).toMatchObject({
      category: 'BAD-HEADER',
      passed: true,
      score: 1.5,
    });
    expect(
      parse('(01234-07) Passed UNCHECKED-ENCRYPTED {RelayedInbound}, <a@x> -> <b@y>, Hits: -, 1 ms'),
    ).toMatchObject({
      category: 'UNCHECKED-ENCRYPTED',
      from: 'a@x',
      to: ['b@y'],
    });
  });

  it('reads the oldest forms: bare Passed, INFECTED without action, Not-Delivered', () => {
    expect(
      parse(
        'Passed, <from@example.com> -> <to@sample.net>, Message-ID: <652.44494541@example.com>, Hits: 4.377',
      ),
    ).toEqual(
      verdict({
        action: 'Passed',
        category: 'UNKNOWN',
        passed: true,
        from: 'from@example.com',
        to: ['to@sample.net'],
        messageId: '652.44494541@example.com',
        score: 4.377,
        queuedAs: [],
      }),
    );
    expect(
      parse(
        'INFECTED (Exploit.HTML.IFrame, Worm.SomeFool.P), <from@sample.net> -> <to@example.com>,<to2@example.com>, quarantine qiO2ZG4K, Message-ID: <200608.5A5@mail.example.com>, Hits: -',
      ),
    ).toEqual(
      verdict({
        action: 'Blocked',
        category: 'INFECTED',
        passed: false,
        virus: 'Exploit.HTML.IFrame, Worm.SomeFool.P',
        from: 'from@sample.net',
        to: ['to@example.com', 'to2@example.com'],
        quarantine: 'qiO2ZG4K',
        messageId: '200608.5A5@mail.example.com',
        queuedAs: [],
      }),
    );
    expect(
      parse(
        'Not-Delivered, <from@example.com> -> <to@localhost>, quarantine spam-ea32770-03, Message-ID: <BAA618FE2CB585@localhost>, Hits: 9.687',
      ),
    ).toEqual(
      verdict({
        action: 'Not-Delivered',
        category: 'UNKNOWN',
        passed: false,
        from: 'from@example.com',
        to: ['to@localhost'],
        quarantine: 'spam-ea32770-03',
        messageId: 'BAA618FE2CB585@localhost',
        score: 9.687,
        queuedAs: [],
      }),
    );
  });

  it('reads several re-injection ids and keeps only ids from an MTA reply', () => {
    expect(
      parse('(1-1) Passed CLEAN, <a@x> -> <b@y>,<c@z>, Hits: -, size: 9, queued_as: 5DEF/6ABC, 5 ms'),
    ).toMatchObject({
      queuedAs: ['5DEF', '6ABC'],
      to: ['b@y', 'c@z'],
    });
    expect(
      parse(
        '(1-1) Passed CLEAN, <a@x> -> <b@y>, Hits: -, size: 9, queued_as: 250 2.0.0 Ok: queued as 7XYZ/250 OK, 5 ms',
      ),
    ).toMatchObject({
      queuedAs: ['7XYZ'],
    });
  });

  it('keeps a task id with a session serial', () => {
    expect(
      parse(
        '(1988515-06-2) Passed CLEAN {RelayedInbound}, [192.0.2.1]:1 <a@x> -> <b@y>, Hits: 0.1, size: 5, 3 ms',
      ),
    ).toMatchObject({
      filterId: '1988515-06-2',
      score: 0.1,
      size: 5,
    });
  });

  it('reads a very long recipient list', () => {
    const recipients = Array.from({ length: 2000 }, (_, i) => `<User${i}@Example.ORG>`);
    const event = parse(
      `(7-7) Passed CLEAN, [192.0.2.1]:1 <a@x> -> ${recipients.join(',')}, Queue-ID: Q1, Hits: -, size: 1, queued_as: Q2, 9 ms`,
    );
    expect(event).toMatchObject({ queueId: 'Q1', queuedAs: ['Q2'] });
    if (event?.kind !== 'filter-verdict') throw new Error('not a verdict');
    expect(event.to).toHaveLength(2000);
    expect(event.to[1999]).toBe('user1999@example.org');
  });

  it('is not fooled by fields forged in the Subject or inside the Message-ID', () => {
    expect(
      parse(
        '(8-8) Blocked SPAM {DiscardedInbound}, [192.0.2.1]:1 <a@x> -> <b@y>, Queue-ID: REAL1, Message-ID: <x, Hits: -50, size: 1, queued_as: EVIL@y>, mail_id: m, Hits: 25.5, size: 3000, Subject: "hi, Queue-ID: FAKE, queued_as: EVIL2", From: <c@d>, 12 ms',
      ),
    ).toEqual(
      verdict({
        action: 'Blocked',
        category: 'SPAM',
        passed: false,
        clientIp: '192.0.2.1',
        from: 'a@x',
        to: ['b@y'],
        queueId: 'REAL1',
        messageId: 'x, Hits: -50, size: 1, queued_as: EVIL@y',
        score: 25.5,
        size: 3000,
        queuedAs: [],
        filterId: '8-8',
      }),
    );
  });
});

describe('amavis SPAM-TAG lines (score report at log level 2-3)', () => {
  it('reads SPAM-TAG with tagged_above and required', () => {
    expect(
      parse(
        '(02304-08) SPAM-TAG, <from@example.com> -> <to@sample.net>, No, score=-0.069 tagged_above=-10 required=6.31 tests=[BAYES_00=-2.599, FROM_ENDS_IN_NUMS=2.53]',
      ),
    ).toEqual({
      kind: 'spam-result',
      scanner: 'amavis',
      score: -0.069,
      required: 6.31,
      isSpam: false,
      tests: ['BAYES_00', 'FROM_ENDS_IN_NUMS'],
      filterId: '02304-08',
    });
  });

  it('reads the 2.7+ `Spam-tag` spelling and multiple recipients', () => {
    expect(
      parse(
        '(12345-01) Spam-tag, <a@x> -> <b@y>,<c@y>, Yes, score=15.2 tagged_above=2 required=5 tests=[BAYES_99=3.5, URIBL_BLACK=1.7] autolearn=spam',
      ),
    ).toEqual({
      kind: 'spam-result',
      scanner: 'amavis',
      score: 15.2,
      required: 5,
      isSpam: true,
      tests: ['BAYES_99', 'URIBL_BLACK'],
      filterId: '12345-01',
    });
  });

  it('reads the kill-level SPAM line (tag2 is the required score) and pre-2.3.3 hits=', () => {
    expect(
      parse(
        '(12345-02) SPAM, <from@example.com> -> <to@sample.com>, Yes, score=17.709 tag=-10 tag2=6.31 kill=6.31 tests=[AWL=-0.678, BAYES_99=4], autolearn=spam, quarantine Cc4+GUJhgpqh (spam-quarantine)',
      ),
    ).toEqual({
      kind: 'spam-result',
      scanner: 'amavis',
      score: 17.709,
      required: 6.31,
      isSpam: true,
      tests: ['AWL', 'BAYES_99'],
      filterId: '12345-02',
    });
    expect(
      parse(
        'SPAM-TAG, <from@example.com> -> <to@sample.net>, Yes, hits=6.159 tagged_above=-999 required=3.4 tests=BAYES_99=3.5, FUZZY_CPILL=0.518, HTML_MESSAGE=0.001',
      ),
    ).toEqual({
      kind: 'spam-result',
      scanner: 'amavis',
      score: 6.159,
      required: 3.4,
      isSpam: true,
      tests: ['BAYES_99', 'FUZZY_CPILL', 'HTML_MESSAGE'],
    });
  });

  it('returns null for a SPAM-TAG it cannot read', () => {
    expect(parse('(1-1) SPAM-TAG, <a@x> -> <b@y>, Maybe, score=1')).toBeNull();
    expect(parse('(1-1) SPAM-TAG, <a@x> -> <b@y>, Yes, score=abc')).toBeNull();
  });
});

describe('amavis robustness', () => {
  it('labels the task chatter of other amavisd versions', () => {
    expect(
      parse(
        '(12345-01) ESMTP [::1]:10024 /var/lib/amavis/tmp/amavis-20261128T100000-12345-AbCdEf: <a@x> -> <b@y> SIZE=1234',
      ),
    ).toEqual({
      kind: 'info',
      label: 'smtp-session',
    });
    expect(parse('(12345-01) extra modules loaded after daemonizing/chrooting: Mail/SPF.pm')).toEqual({
      kind: 'info',
      label: 'startup',
    });
  });

  it('labels alerts and returns null for unknown lines', () => {
    expect(parse("(12345-01) (!)ClamAV-clamd: Can't connect to UNIX socket /var/run/clamd.sock")).toEqual({
      kind: 'info',
      label: 'warning',
    });
    expect(parse('(12345-01) something new')).toBeNull();
    expect(parse('something new')).toBeNull();
    expect(parse('')).toBeNull();
    expect(parse('Passedx')).toBeNull();
    expect(parse('(12345-01) Blocked BANNED (unclosed, <a@x> -> <b@y>')).toBeNull();
  });

  it('never throws on hostile input and stays fast', () => {
    const long = 'x'.repeat(200_000);
    const inputs = [
      `(1-1) Passed CLEAN, <${long}`,
      `(1-1) Passed CLEAN, <a@x> -> <${long}`,
      `(1-1) Blocked INFECTED (${'('.repeat(100_000)}`,
      `(1-1) Passed CLEAN, <a@x> -> <b@y>, ${'Message-ID: <'.repeat(20_000)}`,
      `(1-1) Passed CLEAN, <a@x> -> <b@y>${',<c@d>'.repeat(50_000)}`,
      `(1-1) SPAM-TAG, <a@x> -> <b@y>, Yes, ${'score='.repeat(50_000)}`,
      `(${'1'.repeat(100_000)}) Passed CLEAN`,
    ];
    const started = Date.now();
    for (const text of inputs) expect(() => parse(text)).not.toThrow();
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('handles the amavisd program names', () => {
    for (const p of ['amavis', 'amavisd', 'amavisd-new', '/usr/sbin/amavisd'])
      expect(amavisParser.handles(p)).toBe(true);
    for (const p of ['postfix/amavis/smtp', 'amavisd-milter', 'clamd'])
      expect(amavisParser.handles(p)).toBe(false);
  });
});

/**
 * Corpus files the fixtures come from. postfix/monozoide-MailLogSentinel-sample_mail.log is left out:
 * its publisher anonymised the words of the amavis lines themselves (`anon_hostname_42 anon_hostname_43
 * {anon_hostname_44}, ...` for `Passed CLEAN {RelayedInbound}, ...`), so none of them can be read.
 */
const CORPUS_FILES: readonly string[] = [
  'amavis/crowdsec-hub-amavis-blocked.log',
  'amavis/crowdsec-hub-amavis-logs.log',
  'postfix/dmlinarr-SecurePostfix-mail.log',
  'postfix/lightmeter/10_pickup.log',
  'postfix/lightmeter/1_bounce_simple.log',
  'postfix/lightmeter/3_local_delivery.log',
  'postfix/lightmeter/5_zimbra_amavisd.log',
  'postfix/lightmeter/6_deferred_message_retry.log',
  'postfix/lightmeter/8_weird_log_file.log',
  'postfix/lightmeter/complete.tar.gz',
  'postfix/modoboa-maillog-tests-mail.log',
  'postfix/pixelpark-postfix-logsums-test-mail.log.gz',
];

describe.skipIf(!hasCorpus)('amavis corpus coverage', () => {
  it.each(CORPUS_FILES)('recognises every amavis line of %s', (file) => {
    const result = coverage(amavisParser, file, {}, withDate);
    expect(result.handled).toBeGreaterThan(0);
    expect(result.unknown).toEqual([]);
  });
});
