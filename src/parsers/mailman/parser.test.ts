import { describe, expect, it } from 'vitest';
import type { MailEvent } from '../../core/events.js';
import type { Frame } from '../../core/frame.js';
import { coverage, fixtureLines, frame, frameLines, hasCorpus } from '../testing/corpus.js';
import { mailmanParser } from './parser.js';

const realFrames = frameLines(fixtureLines(new URL('./fixtures/real.log', import.meta.url)));
const sourceFrames = frameLines(fixtureLines(new URL('./fixtures/from-source.log', import.meta.url)));

function parseOne(frames: readonly Frame[], fragment: string): MailEvent | null {
  const matches = frames.filter((f) => f.raw.includes(fragment));
  if (matches.length !== 1) throw new Error(`${matches.length} fixture lines contain ${fragment}`);
  const f = matches[0]!;
  expect(f.program).toBe('mailman');
  expect(mailmanParser.handles(f.program)).toBe(true);
  return mailmanParser.parse(f);
}

function parse(text: string): MailEvent | null {
  return mailmanParser.parse(frame('mailman', text));
}

const M3_MID_1 = '175231627036.2895954.10009667988468073605@mseibert.mailman';
const M3_MID_2 = '175231627160.2895923.10669516773822847070@mseibert.mailman';

const REAL: readonly (readonly [string, MailEvent])[] = [
  [
    'ACCEPT: <175231627036',
    { kind: 'list-post', manager: 'mailman', list: '', outcome: 'posted', messageId: M3_MID_1 },
  ],
  [
    '<175231627036.2895954.10009667988468073605@mseibert.mailman> smtp to',
    {
      kind: 'list-post',
      manager: 'mailman',
      list: 'testlist-2@mailman.ckn.li',
      outcome: 'sent',
      messageId: M3_MID_1,
      recipients: 1,
    },
  ],
  [
    'from i@ckn.li, 333 bytes',
    {
      kind: 'list-post',
      manager: 'mailman',
      list: 'testlist-2@mailman.ckn.li',
      outcome: 'posted',
      messageId: M3_MID_1,
      from: 'i@ckn.li',
      size: 333,
    },
  ],
  [
    '<175231627160.2895923.10669516773822847070@mseibert.mailman> smtp to',
    {
      kind: 'list-post',
      manager: 'mailman',
      list: 'testlist-2@mailman.ckn.li',
      outcome: 'sent',
      messageId: M3_MID_2,
      recipients: 1,
    },
  ],
  [
    '736 bytes',
    {
      kind: 'list-post',
      manager: 'mailman',
      list: 'testlist-2@mailman.ckn.li',
      outcome: 'posted',
      messageId: M3_MID_2,
      from: 'testlist-2-bounces@mailman.ckn.li',
      size: 736,
    },
  ],
  ['(14275) Uncaught runner exception', { kind: 'info', label: 'error' }],
  ['(14275) Traceback', { kind: 'info', label: 'error' }],
  ['SHUNTING: 1229732404', { kind: 'info', label: 'shunt' }],
  ['(17947) Uncaught runner exception', { kind: 'info', label: 'error' }],
  ['(17947) Traceback', { kind: 'info', label: 'error' }],
  ['SHUNTING: 1462003356', { kind: 'info', label: 'shunt' }],
];

const MID = '20261128095959.GA1234@mail.example.org';

const FROM_SOURCE: readonly (readonly [string, MailEvent])[] = [
  [
    `message-id=<${MID}>, success`,
    {
      kind: 'list-post',
      manager: 'mailman',
      list: 'mylist',
      outcome: 'posted',
      from: 'alice@example.org',
      size: 2345,
      messageId: MID,
    },
  ],
  [
    `message-id=<${MID}>, 1 failures`,
    {
      kind: 'list-post',
      manager: 'mailman',
      list: 'mylist',
      outcome: 'posted',
      from: 'alice@example.org',
      size: 2345,
      messageId: MID,
      reason: '1 failures',
    },
  ],
  [
    'message-id=n/a, success',
    {
      kind: 'list-post',
      manager: 'mailman',
      list: 'mylist',
      outcome: 'posted',
      from: 'alice@example.org',
      size: 2345,
    },
  ],
  [
    'size=2345, success',
    {
      kind: 'list-post',
      manager: 'mailman',
      list: 'mylist',
      outcome: 'posted',
      from: 'alice@example.org',
      size: 2345,
    },
  ],
  [
    'smtp to mylist for 3 recips',
    { kind: 'list-post', manager: 'mailman', list: 'mylist', outcome: 'sent', messageId: MID, recipients: 3 },
  ],
  [
    'n/a smtp to mylist for 1 recips',
    { kind: 'list-post', manager: 'mailman', list: 'mylist', outcome: 'sent', recipients: 1 },
  ],
  [
    'smtp for 3 recips',
    { kind: 'list-post', manager: 'mailman', list: '', outcome: 'sent', messageId: MID, recipients: 3 },
  ],
  [
    'failed with code 550: 5.1.1',
    {
      kind: 'list-post',
      manager: 'mailman',
      list: '',
      outcome: 'failed',
      recipient: 'bob@example.net',
      reason:
        '550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown in local recipient table',
    },
  ],
  [
    'delivery to carol@example.com failed with code 450',
    {
      kind: 'list-post',
      manager: 'mailman',
      list: '',
      outcome: 'failed',
      // A 4xx is retried by Mailman: no member is named as failed.
      reason:
        'temporary failure for carol@example.com: 450 4.7.1 <carol@example.com>: Recipient address rejected: Try again later',
    },
  ],
  [
    'failed with code -1',
    {
      kind: 'list-post',
      manager: 'mailman',
      list: '',
      outcome: 'failed',
      reason: 'temporary failure for dave@example.com: -1 [Errno 111] Connection refused',
    },
  ],
  [
    'All recipients refused',
    {
      kind: 'list-post',
      manager: 'mailman',
      list: '',
      outcome: 'failed',
      messageId: MID,
      reason: "All recipients refused: {'bob@example.net': (550, '5.1.1 User unknown')}",
    },
  ],
  [
    'SMTP session failure',
    {
      kind: 'list-post',
      manager: 'mailman',
      list: '',
      outcome: 'failed',
      messageId: MID,
      reason: 'SMTP session failure: 554, 5.7.1 Message rejected as spam',
    },
  ],
  [
    'Low level smtp error',
    {
      kind: 'list-post',
      manager: 'mailman',
      list: '',
      outcome: 'failed',
      messageId: MID,
      reason: 'Low level smtp error: [Errno 111] Connection refused',
    },
  ],
  [
    '(4712) mylist post from mallory@example.com held',
    {
      kind: 'list-post',
      manager: 'mailman',
      list: 'mylist',
      outcome: 'held',
      messageId: 'spam.42@example.com',
      from: 'mallory@example.com',
      reason: 'Post by non-member to a members-only list',
    },
  ],
  [
    'msgid: <spam.43@example.com>',
    {
      kind: 'list-post',
      manager: 'mailman',
      list: '',
      outcome: 'discarded',
      messageId: 'spam.43@example.com',
    },
  ],
  [
    "msgid: <spam.44@example.com>'",
    {
      kind: 'list-post',
      manager: 'mailman',
      list: '',
      outcome: 'discarded',
      messageId: 'spam.44@example.com',
    },
  ],
  [
    'Message rejected, msgid: <spam.45',
    {
      kind: 'list-post',
      manager: 'mailman',
      list: '',
      outcome: 'rejected',
      messageId: 'spam.45@example.com',
    },
  ],
  [
    'hard limit: <big.1@example.com>',
    {
      kind: 'list-post',
      manager: 'mailman',
      list: '',
      outcome: 'discarded',
      messageId: 'big.1@example.com',
      reason: 'larger than the hard size limit',
    },
  ],
  [
    'mylist: Discarded posting:',
    { kind: 'list-post', manager: 'mailman', list: 'mylist', outcome: 'discarded' },
  ],
  [
    'mylist: Refused posting:',
    { kind: 'list-post', manager: 'mailman', list: 'mylist', outcome: 'rejected' },
  ],
  ['approved held message enqueued', { kind: 'info', label: 'vette' }],
  ['bounce score: 1.0', { kind: 'info', label: 'bounce' }],
  ['disabling due to bounce score', { kind: 'info', label: 'bounce' }],
  ['deleted after exhausting notices', { kind: 'info', label: 'list' }],
  ['mylist: new (digest)', { kind: 'info', label: 'subscribe' }],
  ['mylist: deleted bob@example.net; member mgt page', { kind: 'info', label: 'subscribe' }],
  ['auto-unsubscribed', { kind: 'info', label: 'subscribe' }],
  [
    '<abc.1@example.org> delivery to bob@example.net failed with code 550, 5.1.1',
    {
      kind: 'list-post',
      manager: 'mailman',
      list: '',
      outcome: 'failed',
      messageId: 'abc.1@example.org',
      recipient: 'bob@example.net',
      reason: '550 5.1.1 User unknown',
    },
  ],
  [
    '2345 bytes, 1 failures',
    {
      kind: 'list-post',
      manager: 'mailman',
      list: 'mylist@lists.example.edu',
      outcome: 'posted',
      messageId: 'abc.1@example.org',
      from: 'alice@example.org',
      size: 2345,
      reason: '1 failures',
    },
  ],
  [
    'HOLD: mylist@lists.example.edu',
    {
      kind: 'list-post',
      manager: 'mailman',
      list: 'mylist@lists.example.edu',
      outcome: 'held',
      messageId: 'spam.46@example.com',
      from: 'mallory@example.com',
      reason: 'The message is not from a list member',
    },
  ],
  [
    'REJECT: <spam.47',
    {
      kind: 'list-post',
      manager: 'mailman',
      list: '',
      outcome: 'rejected',
      messageId: 'spam.47@example.com',
    },
  ],
  ['DISCARD: n/a', { kind: 'list-post', manager: 'mailman', list: '', outcome: 'discarded' }],
];

describe('mailman parser on real lines', () => {
  it.each(REAL)('%s', (fragment, expected) => {
    expect(parseOne(realFrames, fragment)).toEqual(expected);
  });

  it('has an expectation for every fixture line', () => {
    const unasserted = realFrames.filter((f) => !REAL.some(([fragment]) => f.raw.includes(fragment)));
    expect(unasserted.map((f) => f.raw)).toEqual([]);
  });
});

describe('mailman parser on lines built from Mailman 2.1 and 3 format strings', () => {
  it.each(FROM_SOURCE)('%s', (fragment, expected) => {
    expect(parseOne(sourceFrames, fragment)).toEqual(expected);
  });

  it('has an expectation for every fixture line', () => {
    const unasserted = sourceFrames.filter(
      (f) => !FROM_SOURCE.some(([fragment]) => f.raw.includes(fragment)),
    );
    expect(unasserted.map((f) => f.raw)).toEqual([]);
  });
});

describe('mailman variants', () => {
  it('reads an empty sender, an unbracketed message-id and upper-case list and addresses', () => {
    expect(parse('post to MyList from , size=10, message-id=abc@x, success')).toEqual({
      kind: 'list-post',
      manager: 'mailman',
      list: 'mylist',
      outcome: 'posted',
      from: '',
      size: 10,
      messageId: 'abc@x',
    });
    expect(parse('Mylist post from Bob@Example.NET held, message-id=n/a')).toEqual({
      kind: 'list-post',
      manager: 'mailman',
      list: 'mylist',
      outcome: 'held',
      from: 'bob@example.net',
    });
  });

  it('returns null for lines it cannot read', () => {
    for (const text of [
      '',
      'post to mylist',
      'post to mylist from alice@example.org',
      'post to mylist from alice@example.org, whatever',
      'post to my list from alice@example.org, size=1, success',
      '<mid@x> smtp to mylist for many recips, completed in 1 seconds',
      '<mid@x> smtp to mylist for 3 members',
      '<mid@x> smtp to mylist',
      '<mid@x> something else',
      'delivery to bob@example.net failed with code abc: x',
      'delivery to bob@example.net bounced',
      'HOLD: mylist held',
      'a line without a colon',
      'two words: then text',
    ]) {
      expect(parse(text)).toBeNull();
    }
  });

  it('never throws on hostile input and stays fast', () => {
    const long = 'x'.repeat(200_000);
    const started = Date.now();
    for (const text of [
      `post to ${long} from ${long}, ${'size=1, '.repeat(20_000)}`,
      `post to mylist from a@b, ${', '.repeat(100_000)}`,
      `<${long}> smtp to mylist for 1 recips`,
      `<${long}`,
      `smtp to ${long}`,
      `delivery to ${long} failed with code 550: ${long}`,
      `delivery to a@b failed with code ${'9'.repeat(100_000)}: x`,
      `${long} post from ${long} held, message-id=${long}: ${long}`,
      `Message discarded, msgid: <${long}>`,
      `All recipients refused: ${long}, msgid: ${long}`,
      `${long}: ${long}`,
      `mylist: ${'bounce '.repeat(50_000)}`,
    ]) {
      expect(() => parse(text)).not.toThrow();
    }
    expect(Date.now() - started).toBeLessThan(2000);
    const held = parse(`mylist post from a@b held, message-id=<${'m'.repeat(5000)}@x>: ${'r'.repeat(5000)}`);
    if (held?.kind !== 'list-post') throw new Error('not a list-post event');
    expect(held.messageId!.length).toBeLessThanOrEqual(512);
    expect(held.reason!.length).toBeLessThanOrEqual(1000);
    const failed = parse(`delivery to ${'b'.repeat(300)}@x failed with code 550: x`);
    expect(failed).toBeNull();
  });

  it('handles the mailman programs only', () => {
    expect(mailmanParser.handles('mailman')).toBe(true);
    expect(mailmanParser.handles('mailman3')).toBe(true);
    expect(mailmanParser.handles('postfix/pipe')).toBe(false);
    expect(mailmanParser.handles('unknown')).toBe(false);
  });
});

const CORPUS_FILES: readonly string[] = [
  'mailman/CroneKorkN-bundlewrap-mailman3-tail-excerpt.log',
  'mailman/kdeldycke-blog-mailman2-error-log-excerpt.log',
  'mailman/znz-blog-mailman2-error-log-excerpt.log',
];

describe.skipIf(!hasCorpus)('mailman corpus coverage', () => {
  it.each(CORPUS_FILES)('recognises every Mailman-stamped line of %s', (file) => {
    const result = coverage(mailmanParser, file);
    expect(result.handled).toBeGreaterThan(0);
    expect(result.unknown).toEqual([]);
  });
});
