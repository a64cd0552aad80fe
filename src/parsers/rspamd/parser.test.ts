import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { MailEvent } from '../../core/events.js';
import type { Frame } from '../../core/frame.js';
import { CORPUS_DIR, frame, frameLines, hasCorpus } from '../testing/corpus.js';
import { rspamdParser } from './parser.js';

/**
 * Fixture lines without the `# ` comment lines. rspamd 1.0's log lines start with `#pid(...)`, which the
 * shared `fixtureLines`/`corpusLines` helpers take for comments, so these files are read here.
 */
function lines(path: string): string[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('# '));
}

const fixture = (name: string) => lines(fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url)));
const realFrames = frameLines(fixture('real.log'));
const sourceFrames = frameLines(fixture('from-source.log'));

function parseOne(frames: readonly Frame[], fragment: string): MailEvent | null {
  const matches = frames.filter((f) => f.raw.includes(fragment));
  if (matches.length !== 1) throw new Error(`${matches.length} fixture lines contain ${fragment}`);
  const f = matches[0]!;
  expect(f.program).toBe('rspamd');
  expect(rspamdParser.handles(f.program)).toBe(true);
  return rspamdParser.parse(f);
}

function parse(text: string): MailEvent | null {
  return rspamdParser.parse(frame('rspamd', text));
}

const REAL: readonly (readonly [string, MailEvent])[] = [
  ['Last message repeated 155 times', { kind: 'info', label: 'file_log_function' }],
  ['fuzzy hash was successfully added', { kind: 'info', label: 'process_write_command' }],
  ['#45015(normal) <ed2abb>; task; accept_socket', { kind: 'info', label: 'accept_socket' }],
  // `queue-id: <undef>`: no queue id.
  ['<F66099EE-BCAB-4D4F-A4FC-7C15A6686397@FreeBSD.org>; queue-id', { kind: 'info', label: 'loaded message' }],
  [
    '#29623(normal) <xxx>; task; rspamd_task_write_log',
    {
      kind: 'spam-result',
      scanner: 'rspamd',
      messageId: 'xxx@xxx.com',
      score: 0,
      required: 15,
      // `F (soft reject)`: a temporary refusal (here greylisting), not a spam verdict.
      isSpam: false,
      tests: ['DBL_SPAM', 'URIBL_SBL_CSS', 'RBL_SPAMHAUS_CSS', 'RECEIVED_SPAMHAUS_CSS', 'GREYLIST'],
      // `len: xx` (anonymised): no size.
    },
  ],
  [
    '#97398(controller)',
    {
      kind: 'spam-result',
      scanner: 'rspamd',
      messageId: 'xxxx',
      score: 100500,
      required: 15,
      isSpam: true,
      tests: ['RCPT_COUNT_ONE', 'RCVD_COUNT_THREE', 'RE_TEST', 'TOP', 'TO_DN_NONE'],
    },
  ],
  ['#29588(normal) <b120f6>; task; accept_socket', { kind: 'info', label: 'accept_socket' }],
  ['queue-id: <D4CFE300135>', { kind: 'info', label: 'loaded message', queueId: 'D4CFE300135' }],
  [
    '#29588(normal) <b120f6>; task; rspamd_task_write_log',
    {
      kind: 'spam-result',
      scanner: 'rspamd',
      messageId: '201603181414.u2IEEfKL062480@repo.freebsd.org',
      score: -2.11,
      required: 15,
      isSpam: false,
      tests: [
        'MIME_GOOD',
        'R_SPF_ALLOW',
        'RCVD_IN_DNSWL_HI',
        'MAILLIST',
        'BAYES_HAM',
        'FANN_SCORE',
        'FORGED_RECIPIENTS_MAILLIST',
        'FORGED_SENDER_MAILLIST',
      ],
      size: 6849,
    },
  ],
];

const FROM_SOURCE: readonly (readonly [string, MailEvent])[] = [
  [
    '(add header)',
    {
      kind: 'spam-result',
      scanner: 'rspamd',
      messageId: '20261128095959.GA1234@mail.example.org',
      score: 7.5,
      required: 15,
      isSpam: true,
      tests: ['BAYES_SPAM', 'R_SPF_FAIL', 'MIME_GOOD'],
      user: 'alice',
      size: 2345,
    },
  ],
  [
    '(greylist)',
    {
      kind: 'spam-result',
      scanner: 'rspamd',
      score: 4.2,
      required: 15,
      isSpam: false,
      // The GREYLIST options hold commas: `{greylisted;Sat, 28 Nov 2026 10:05:03 GMT;new record;}`.
      tests: ['HFILTER_HOSTNAME_UNKNOWN', 'GREYLIST'],
      size: 812,
    },
  ],
  [
    '(rewrite subject)',
    {
      kind: 'spam-result',
      scanner: 'rspamd',
      messageId: 'x.1@example.com',
      score: 9,
      required: 15,
      isSpam: true,
      tests: ['URIBL_BLACK'],
      size: 3000,
    },
  ],
  [
    '(no action)',
    {
      kind: 'spam-result',
      scanner: 'rspamd',
      messageId: 'y.2@example.com',
      score: 0.4,
      required: 15,
      isSpam: false,
      tests: ['MIME_GOOD', 'R_DKIM_ALLOW'],
      size: 900,
    },
  ],
  [
    'T (reject): [21.00/15.00]',
    {
      kind: 'spam-result',
      scanner: 'rspamd',
      messageId: 'z.3@example.com',
      score: 21,
      required: 15,
      isSpam: true,
      tests: ['GTUBE', 'ARC_NA'],
      user: 'bob@example.edu',
      size: 120,
    },
  ],
  ['rspamd_message_parse', { kind: 'info', label: 'loaded message', queueId: '4ABCD1234E' }],
  ['rspamd_worker_body', { kind: 'info', label: 'rspamd_worker_body' }],
  ['worker process 4242 started', { kind: 'info', label: 'rspamd' }],
];

describe('rspamd parser on real lines', () => {
  it.each(REAL)('%s', (fragment, expected) => {
    expect(parseOne(realFrames, fragment)).toEqual(expected);
  });

  it('has an expectation for every fixture line', () => {
    expect(realFrames).toHaveLength(9);
    const unasserted = realFrames.filter((f) => !REAL.some(([fragment]) => f.raw.includes(fragment)));
    expect(unasserted.map((f) => f.raw)).toEqual([]);
  });
});

describe('rspamd parser on syslog lines built from the source', () => {
  it.each(FROM_SOURCE)('%s', (fragment, expected) => {
    expect(parseOne(sourceFrames, fragment)).toEqual(expected);
  });

  it('has an expectation for every fixture line, all framed as syslog', () => {
    expect(sourceFrames.every((f) => f.host === 'filter1' && f.pid !== null)).toBe(true);
    const unasserted = sourceFrames.filter(
      (f) => !FROM_SOURCE.some(([fragment]) => f.raw.includes(fragment)),
    );
    expect(unasserted.map((f) => f.raw)).toEqual([]);
  });
});

describe('rspamd variants', () => {
  it('follows $is_spam for an action of a custom configuration, and reads an empty symbol list', () => {
    expect(
      parse('<a>; task; rspamd_task_write_log: id: <m@x>, (default: T (custom): [1.00/2.00] []), len: 5'),
    ).toEqual({
      kind: 'spam-result',
      scanner: 'rspamd',
      messageId: 'm@x',
      score: 1,
      required: 2,
      isSpam: true,
      tests: [],
      size: 5,
    });
    expect(
      parse('<a>; task; rspamd_task_write_log: id: <m@x>, (default: F (discard): [30.00/15.00] [X])'),
    ).toEqual({
      kind: 'spam-result',
      scanner: 'rspamd',
      messageId: 'm@x',
      score: 30,
      required: 15,
      isSpam: true,
      tests: ['X'],
    });
  });

  it('returns null for scan results it cannot read and lines of no rspamd shape', () => {
    for (const text of [
      '',
      'no colon here',
      '<tag without end',
      'two words: x',
      '<a>; task; rspamd_task_write_log: id: <m@x>, len: 5',
      '<a>; task; rspamd_task_write_log: (default: X (reject): [1/2] [])',
      '<a>; task; rspamd_task_write_log: (default: T reject): [1/2] [])',
      '<a>; task; rspamd_task_write_log: (default: T (reject): [abc/2] [])',
      '<a>; task; rspamd_task_write_log: (default: T (reject): [1.0] [])',
      '<a>; task; rspamd_task_write_log: (default: T (reject)',
    ]) {
      expect(parse(text)).toBeNull();
    }
  });

  it('never throws on hostile input and stays fast', () => {
    const long = 'x'.repeat(200_000);
    const started = Date.now();
    for (const text of [
      `<a>; task; rspamd_task_write_log: id: <${long}>, (default: T (reject): [1/2] [${'A,'.repeat(100_000)}])`,
      `<a>; task; rspamd_task_write_log: (default: T (reject): [1/2] [${'A(1.0){x;'.repeat(30_000)}`,
      `<a>; task; rspamd_task_write_log: (default: T (reject): [1/2] [${'A{'.repeat(50_000)}`,
      `<a>; task; rspamd_task_write_log: (default: T (reject): [1/2] [${'A('.repeat(50_000)}`,
      `<a>; task; rspamd_task_write_log: ${' user: '.repeat(30_000)}(default: F (no action): [1/2] [])`,
      `<a>; task; rspamd_message_parse: loaded message; ${'; queue-id: <'.repeat(20_000)}`,
      `<${long}>; task; f: x`,
      `<a>; ${long}; f: x`,
      `${long}: x`,
    ]) {
      expect(() => parse(text)).not.toThrow();
    }
    expect(Date.now() - started).toBeLessThan(2000);
    const many = parse(
      `<a>; task; rspamd_task_write_log: (default: T (reject): [1/2] [${'A,'.repeat(5000)}B])`,
    );
    if (many?.kind !== 'spam-result') throw new Error('not a spam result');
    expect(many.tests).toHaveLength(1000);
    const big = parse(
      `<a>; task; rspamd_task_write_log: id: <${'m'.repeat(900)}@x>, (default: F (no action): [1/2] [])`,
    );
    if (big?.kind !== 'spam-result') throw new Error('not a spam result');
    expect(big.messageId!.length).toBeLessThanOrEqual(512);
  });

  it('handles rspamd only', () => {
    expect(rspamdParser.handles('rspamd')).toBe(true);
    expect(rspamdParser.handles('/usr/bin/rspamd')).toBe(true);
    expect(rspamdParser.handles('rspamc')).toBe(false);
    expect(rspamdParser.handles('spamd')).toBe(false);
  });
});

describe.skipIf(!hasCorpus)('rspamd corpus coverage', () => {
  it('recognises every line of rspamd/rspamd.com-docs-log-examples.txt', () => {
    const frames = frameLines(lines(`${CORPUS_DIR}/rspamd/rspamd.com-docs-log-examples.txt`));
    expect(frames).toHaveLength(9);
    const events = frames.map((f) => (rspamdParser.handles(f.program) ? rspamdParser.parse(f) : null));
    expect(events.filter((e) => e === null)).toEqual([]);
    expect(events.filter((e) => e?.kind === 'spam-result')).toHaveLength(3);
  });
});
