import { describe, expect, it } from 'vitest';
import type { MailEvent } from '../../core/events.js';
import { corpusLines, coverage, fixtureLines, frame, frameLines, hasCorpus } from '../testing/corpus.js';
import { spamdParser } from './parser.js';

const realFrames = frameLines(fixtureLines(new URL('./fixtures/real.log', import.meta.url)));
const messageOnly = fixtureLines(new URL('./fixtures/message-only.txt', import.meta.url));

function parseReal(fragment: string): MailEvent | null {
  const matches = realFrames.filter((f) => f.raw.includes(fragment));
  if (matches.length !== 1) throw new Error(`${matches.length} fixture lines contain ${fragment}`);
  const f = matches[0]!;
  expect(spamdParser.handles(f.program)).toBe(true);
  return spamdParser.parse(f);
}

function parse(text: string): MailEvent | null {
  return spamdParser.parse(frame('spamd', text));
}

const REAL: readonly (readonly [string, MailEvent])[] = [
  [
    'processing message <20150526175236.DAFEDC0A44',
    {
      kind: 'spam-processing',
      scanner: 'spamd',
      messageId: '20150526175236.DAFEDC0A44@hostname.assolive.com',
      user: 'debian-spamd',
    },
  ],
  [
    'clean message (-101.0/5.0)',
    {
      kind: 'spam-result',
      scanner: 'spamd',
      score: -101,
      required: 5,
      isSpam: false,
      user: 'debian-spamd',
      size: 1385,
    },
  ],
  [
    'result: . -100 - ALL_TRUSTED',
    {
      kind: 'spam-result',
      scanner: 'spamd',
      // `result:` prints the score with %2d: rounded toward zero
      score: -100,
      required: 5,
      isSpam: false,
      tests: ['ALL_TRUSTED', 'T_DKIM_INVALID', 'USER_IN_WHITELIST'],
      size: 1385,
      user: 'debian-spamd',
      messageId: '20150526175236.DAFEDC0A44@hostname.assolive.com',
    },
  ],
  [
    'clean message (-0.7/5.0)',
    {
      kind: 'spam-result',
      scanner: 'spamd',
      score: -0.7,
      required: 5,
      isSpam: false,
      user: 'debian-spamd',
      size: 1622,
    },
  ],
  [
    'result: . 0 - FREEMAIL_FROM',
    {
      kind: 'spam-result',
      scanner: 'spamd',
      score: 0,
      required: 5,
      isSpam: false,
      tests: ['FREEMAIL_FROM', 'HTML_MESSAGE', 'RCVD_IN_DNSWL_LOW', 'SPF_HELO_PASS'],
      size: 1622,
      user: 'debian-spamd',
      messageId: '20150526181723.C79DFE048C@smtp.hushmail.com',
    },
  ],
  [
    'identified spam (9.3/5.0) for nagios:1209',
    { kind: 'spam-result', scanner: 'spamd', score: 9.3, required: 5, isSpam: true, user: 'nagios', size: 5 },
  ],
  [
    'checking message <20060318231614',
    {
      kind: 'spam-processing',
      scanner: 'spamd',
      messageId: '20060318231614.f9991a2d.johnxj@comcast.net',
      user: 'root',
    },
  ],
  [
    'clean message (0.0/6.0) for root:98',
    { kind: 'spam-result', scanner: 'spamd', score: 0, required: 6, isSpam: false, user: 'root', size: 3347 },
  ],
  [
    'result: .  0 - AWL,FORGED_RCVD_HELO',
    {
      kind: 'spam-result',
      scanner: 'spamd',
      score: 0,
      isSpam: false,
      tests: ['AWL', 'FORGED_RCVD_HELO'],
      size: 3347,
      messageId: '20060318231614.f9991a2d.johnxj@comcast.net',
    },
  ],
  [
    'checking message <3388717865',
    {
      kind: 'spam-processing',
      scanner: 'spamd',
      messageId: '3388717865.3821662804@douglas.co.za',
      user: 'root',
    },
  ],
  [
    'identified spam (8.1/6.0) for root:98',
    {
      kind: 'spam-result',
      scanner: 'spamd',
      score: 8.1,
      required: 6,
      isSpam: true,
      user: 'root',
      size: 1432,
    },
  ],
  [
    'result: Y  8 - FORGED_RCVD_HELO',
    {
      kind: 'spam-result',
      scanner: 'spamd',
      score: 8,
      isSpam: true,
      tests: [
        'FORGED_RCVD_HELO',
        'INFO_TLD',
        'RCVD_BY_IP',
        'RCVD_IN_XBL',
        'URIBL_SBL',
        'URIBL_SC_SURBL',
        'URIBL_WS_SURBL',
      ],
      size: 1432,
      messageId: '3388717865.3821662804@douglas.co.za',
    },
  ],
  [
    'processing message <20190910142045',
    {
      kind: 'spam-processing',
      scanner: 'spamd',
      messageId: '20190910142045.453A7E0933@gatewayxl.corp.net',
      user: 'debian-spamd',
    },
  ],
  [
    'rport=46152',
    {
      kind: 'spam-result',
      scanner: 'spamd',
      score: -1,
      required: 5,
      isSpam: false,
      tests: [
        'DKIM_SIGNED',
        'DKIM_VALID',
        'DKIM_VALID_AU',
        'DKIM_VALID_EF',
        'HTML_FONT_LOW_CONTRAST',
        'HTML_MESSAGE',
        'MAILING_LIST_MULTI',
        'RCVD_IN_DNSWL_NONE',
        'SPF_HELO_NONE',
        'SPF_PASS',
      ],
      size: 55475,
      user: 'debian-spamd',
      messageId: '18470d5a9beea70020c028d49a50c882@corp.com',
    },
  ],
  ['logger: removing stderr method', { kind: 'info', label: 'logger' }],
  ['server started on IO::Socket::IP [127.0.0.1]', { kind: 'info', label: 'server' }],
  ['server pid: 20391', { kind: 'info', label: 'server' }],
  ['server successfully spawned child process, pid 20397', { kind: 'info', label: 'server' }],
  ['prefork: child states: SI', { kind: 'info', label: 'prefork' }],
  ['server killed by SIGTERM', { kind: 'info', label: 'server' }],
  ["zoom: able to use 360/360 'body_0'", { kind: 'info', label: 'zoom' }],
  ['connection from ::1 [::1]:40429', { kind: 'info', label: 'connection' }],
  ['setuid to debian-spamd succeeded', { kind: 'info', label: 'child' }],
  ['creating default_prefs', { kind: 'info', label: 'child' }],
  ['config: created user preferences file', { kind: 'info', label: 'config' }],
  ["Can't locate Mail/SpamAssassin/CompiledRegexps", { kind: 'info', label: 'perl' }],
  ['handled cleanup of child pid [612]', { kind: 'info', label: 'child' }],
  ['cannot send SIGINT to child process', { kind: 'info', label: 'child' }],
  ['unauthorized connection from localhost', { kind: 'info', label: 'connection' }],
  ['config: failed to parse line', { kind: 'info', label: 'config' }],
  ['plugin: eval failed: bayes: Redis failed', { kind: 'info', label: 'plugin' }],
  ['connection from localhost [127.0.0.1] at port 49144', { kind: 'info', label: 'connection' }],
  ['connection from localhost [127.0.0.1] at port 49145', { kind: 'info', label: 'connection' }],
  ['dns: new_dns_packet', { kind: 'info', label: 'dns' }],
];

describe('spamd parser on real lines', () => {
  it.each(REAL)('%s', (fragment, expected) => {
    expect(parseReal(fragment)).toEqual(expected);
  });

  it('has an expectation for every fixture line', () => {
    const unasserted = realFrames.filter((f) => !REAL.some(([fragment]) => f.raw.includes(fragment)));
    expect(unasserted.map((f) => f.raw)).toEqual([]);
  });

  it('reads the message-only values of SEKOIA tests', () => {
    expect(messageOnly.map(parse)).toEqual([
      { kind: 'info', label: 'dns' },
      {
        kind: 'spam-result',
        scanner: 'spamd',
        score: -1,
        required: 5,
        isSpam: false,
        tests: [
          'DMARC_PASS',
          'MIME_HEADER_CTYPE_ONLY',
          'MISSING_DATE',
          'MISSING_MID',
          'SPF_HELO_NONE',
          'SPF_PASS',
        ],
        size: 4260,
        user: 'debian-spamd',
        // `mid=(unknown)`: the message had no Message-ID
      },
      { kind: 'info', label: 'connection' },
      {
        kind: 'spam-processing',
        scanner: 'spamd',
        messageId:
          '!&!AAAAAAAAAAAYAAAAAAAAA111111111111111111111111111111111/22222222222222/u47tEBAAAAAA==@example.org',
        user: 'debian-spamd',
      },
    ]);
  });
});

describe('spamd variants (spamd.raw)', () => {
  it('reads a result with no tests, rmid and bayes, and a padded verdict score', () => {
    expect(
      parse(
        'spamd: result: Y 15 -  scantime=0.1,size=1234,user=amavis,uid=110,required_score=5.0,rhost=localhost,raddr=127.0.0.1,rport=45678,mid=<Mid@X>,rmid=<r@x>,bayes=0.99,autolearn=no autolearn_force=no',
      ),
    ).toEqual({
      kind: 'spam-result',
      scanner: 'spamd',
      score: 15,
      required: 5,
      isSpam: true,
      tests: [],
      size: 1234,
      user: 'amavis',
      messageId: 'Mid@X',
    });
    expect(parse('spamd: clean message ( 2.0/5.0) for alice:1001 in 0.5 seconds, 1234 bytes.')).toEqual({
      kind: 'spam-result',
      scanner: 'spamd',
      score: 2,
      required: 5,
      isSpam: false,
      user: 'alice',
      size: 1234,
    });
  });

  it('reads a verdict line cut short before its size', () => {
    expect(parse('spamd: identified spam (999.0/5.0) for spamd:978 in 0.1 seconds, ')).toEqual({
      kind: 'spam-result',
      scanner: 'spamd',
      score: 999,
      required: 5,
      isSpam: true,
      user: 'spamd',
    });
  });

  it('keeps a processing line without a Message-ID as information', () => {
    expect(parse('spamd: processing message (unknown) for debian-spamd:119')).toEqual({
      kind: 'info',
      label: 'processing',
    });
  });

  it('returns null for lines it cannot read', () => {
    for (const text of [
      '',
      'spamd: result: X 1 - A',
      'spamd: result: Y abc - A',
      'spamd: identified spam 9.3/5.0',
      'spamd: clean message (x/y) for a:1',
      'Something Else Entirely',
    ]) {
      expect(parse(text)).toBeNull();
    }
  });

  it('never throws on hostile input and stays fast', () => {
    const long = 'A,'.repeat(100_000);
    const started = Date.now();
    for (const text of [
      `spamd: result: Y 1 - ${long} ${'k=v,'.repeat(50_000)}`,
      `spamd: processing message <${'x'.repeat(200_000)}> for ${'u'.repeat(200_000)}`,
      `spamd: identified spam (${'1'.repeat(100_000)}/5.0) for a:1 in 1 seconds, 1 bytes.`,
      `${'a'.repeat(100_000)}: x`,
    ]) {
      expect(() => parse(text)).not.toThrow();
    }
    expect(Date.now() - started).toBeLessThan(2000);
    const event = parse(`spamd: processing message <${'x'.repeat(5000)}@y> for ${'u'.repeat(5000)}:1`);
    if (event?.kind !== 'spam-processing') throw new Error('not a processing event');
    expect(event.messageId.length).toBeLessThanOrEqual(512);
    expect(event.user!.length).toBeLessThanOrEqual(256);
  });

  it('handles spamd only', () => {
    expect(spamdParser.handles('spamd')).toBe(true);
    expect(spamdParser.handles('/usr/sbin/spamd')).toBe(true);
    expect(spamdParser.handles('spamc')).toBe(false);
    expect(spamdParser.handles('amavis')).toBe(false);
  });
});

const CORPUS_FILES: readonly string[] = [
  'postfix/Sampistaroy-mail-var-log-mail.log',
  'postfix/Sampistaroy-mail-var-log-mail.warn',
  'postfix/msimerson-log-ship-elastic-postfix-test-mail.log',
  'postfix/fonylew-config-mailgateway-maillog.gz',
  'spamd/ossec-log-entries-spamd-and-qmail-scanner.txt',
  'spamd/sekoia-intake-formats-spamassassin.log',
];

describe.skipIf(!hasCorpus)('spamd corpus coverage', () => {
  it.each(CORPUS_FILES)('recognises every spamd line of %s', (file) => {
    const result = coverage(spamdParser, file);
    expect(result.handled).toBeGreaterThan(0);
    expect(result.unknown).toEqual([]);
  });

  it('recognises every message-only value of spamd/sekoia-intake-formats-postfix-tests-spamd.txt', () => {
    const lines = corpusLines('spamd/sekoia-intake-formats-postfix-tests-spamd.txt');
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.filter((l) => parse(l) === null)).toEqual([]);
  });
});
