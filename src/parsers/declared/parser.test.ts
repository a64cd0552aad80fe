// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings hold declared-parser templates, not JavaScript ones
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { MailEvent } from '../../core/events.js';
import { postfixParser } from '../postfix/parser.js';
import { BUILTIN_PARSERS, ParserRegistry } from '../registry.js';
import { fixtureLines, frame, frameLines } from '../testing/corpus.js';
import type { ProgramParser } from '../types.js';
import { loadDeclaredParsers, parseDeclaredParsers } from './load.js';

const EXAMPLE = fileURLToPath(new URL('../../../docs/examples/parsers.yaml', import.meta.url));

function declared(yaml: string): ProgramParser[] {
  return parseDeclaredParsers(yaml, 'test.yaml');
}

/** The first (only) parser of a one-parser file, asked directly. */
function parserOf(yaml: string): ProgramParser {
  const [parser] = declared(yaml);
  if (parser === undefined) throw new Error('no parser');
  return parser;
}

const info = (label: string, extra: Record<string, unknown> = {}): MailEvent =>
  ({ kind: 'info', label, ...extra }) as MailEvent;

describe('docs/examples/parsers.yaml on real lines', () => {
  const parsers = loadDeclaredParsers(EXAMPLE);
  const registry = new ParserRegistry(BUILTIN_PARSERS, parsers);

  it('declares policyd-spf, postgrey and opendkim', () => {
    expect(parsers.map((p) => p.name)).toEqual(['policyd-spf', 'postgrey', 'opendkim']);
    expect(parsers.map((p) => p.handles('postgrey'))).toEqual([false, true, false]);
    expect(parsers.some((p) => p.handles('postfix/smtpd'))).toBe(false);
  });

  it('recognises every line of the fixtures, with the queue id and client each names', () => {
    const frames = frameLines(fixtureLines(new URL('./fixtures/lines.log', import.meta.url)));
    const results = frames.map((f) => registry.parse(f));
    const spfClient = { client: { ip: '192.168.64.33' } };
    const greyClient = { client: { name: 'srvMSG01.cyberlab.fhnw.ch', ip: '192.168.64.33' } };
    expect(results.map((r) => r.parser?.name)).toEqual([
      ...Array(5).fill('postgrey'),
      'opendkim',
      'opendkim',
      'policyd-spf',
      'postgrey',
      'postgrey',
      ...Array(4).fill('opendkim'),
      'policyd-spf',
      'postgrey',
      'postgrey',
      ...Array(9).fill('opendkim'),
    ]);
    expect(results.map((r) => r.event)).toEqual([
      info('daemon'),
      info('daemon'),
      info('daemon'),
      info('daemon'),
      info('daemon'),
      info('dkim-signed', { queueId: '9FB7660673' }),
      info('dkim-signed', { queueId: '9809760673' }),
      info('spf-None', spfClient),
      info('postgrey-pass', greyClient),
      info('postgrey-maintenance'),
      info('dkim-not-internal', { queueId: '413BE60672', ...greyClient }),
      info('dkim-not-authenticated', { queueId: '413BE60672' }),
      info('dkim-none', { queueId: '413BE60672' }),
      info('dkim-signed', { queueId: 'A3E0060673' }),
      info('spf-None', spfClient),
      info('postgrey-pass', greyClient),
      info('postgrey-delayed', { client: { name: 'smtp-out1.libero.it' } }),
      info('daemon'),
      info('daemon'),
      info('daemon'),
      info('daemon'),
      info('daemon'),
      info('dkim-no-signing-table-match', { queueId: '1FA5DC0A40' }),
      info('dkim-signed', { queueId: '407032C4FF6A' }),
      info('dkim-pass', { queueId: 'ABD4E13D6B0' }),
      info('dkim-key-error', { queueId: 'ABD4E13D6B0' }),
    ]);
  });

  it('recognises message-only lines of other sources', () => {
    const lines = fixtureLines(new URL('./fixtures/texts.tsv', import.meta.url)).map((l) => l.split('\t'));
    const events = lines.map(([program, text]) => registry.parse(frame(program!, text!)).event);
    expect(events).toEqual([
      info('postgrey-pass', {
        queueId: '8116C5F683',
        client: { name: 'mail-corp123.outbound.protection.outlook.com', ip: '1.1.1.1' },
      }),
      info('postgrey-greylist', { client: { name: 'mx.example.org', ip: '1.2.3.4' } }),
      info('postgrey-whitelisted', { client: { name: 'mx.example.org', ip: '1.2.3.4' } }),
      info('spf-Pass', { client: { ip: '1.2.3.4' } }),
      info('spf-Softfail', { client: { ip: '1.2.3.4' } }),
    ]);
  });

  it('leaves a line no rule matches unknown, named after the declared parser', () => {
    const result = registry.parse(frame('opendkim', 'something opendkim never wrote'));
    expect(result.event).toBeNull();
    expect(result.parser?.name).toBe('opendkim');
  });
});

describe('overriding a built-in Postfix pattern', () => {
  const override = declared(`
parsers:
  - name: postfix-fcrdns
    programs: [postfix/smtpd]
    rules:
      - pattern: '^warning: hostname (?<clientName>\\S+) does not resolve to address (?<clientIp>[0-9A-Fa-f.:]+)'
        event: info
        fields: { label: fcrdns-mismatch }
      - pattern: '^connect from (?<clientName>[^\\[]+)\\[(?<clientIp>[^\\]]+)\\]$'
        event: connect
        fields: { session: declared }
`);
  const frames = frameLines(fixtureLines(new URL('./fixtures/postfix.log', import.meta.url)));
  const [warning, connect, removed] = frames;

  it('reads the lines its rules match, before the built-in', () => {
    const registry = new ParserRegistry(BUILTIN_PARSERS, override);
    expect(registry.parse(warning!).event).not.toEqual(postfixParser.parse(warning!));
    expect(registry.parse(warning!)).toEqual({
      parser: override[0],
      event: info('fcrdns-mismatch', {
        client: { name: 'h-d9fb9ffa81872.h-13c4c40aeef18', ip: '28.55.140.112' },
      }),
    });
    expect(registry.parse(connect!).event).toEqual({
      kind: 'connect',
      client: { name: 'jurann.biz', ip: '77.95.228.43' },
      session: 'declared',
    });
  });

  it('leaves the built-in the lines its rules do not match, and the programs it does not name', () => {
    const registry = new ParserRegistry(BUILTIN_PARSERS, override);
    const other = frame('postfix/smtpd', 'disconnect from jurann.biz[77.95.228.43]');
    expect(registry.parse(other)).toEqual({ parser: postfixParser, event: postfixParser.parse(other) });
    expect(registry.parse(other).event?.kind).toBe('disconnect');
    expect(registry.parse(removed!)).toEqual({
      parser: postfixParser,
      event: { kind: 'queue-removed', queueId: 'E2C08243CB' },
    });
    const unknown = frame('postfix/smtpd', 'nothing Postfix writes');
    expect(registry.parse(unknown)).toEqual({ parser: postfixParser, event: null });
    expect(registry.parsersFor('postfix/smtpd')).toEqual([override[0], postfixParser]);
    expect(registry.parsersFor('postfix/qmgr')).toEqual([postfixParser]);
    expect(registry.parsersFor('nobody')).toEqual([]);
    expect(registry.parserFor('nobody')).toBeNull();
  });
});

describe('building events from groups', () => {
  it('types and normalises fields: numbers, addresses, message-ids, statuses, lists', () => {
    const parser = parserOf(`
parsers:
  - name: relay
    programs: [relay]
    rules:
      - pattern: '^(?<queueId>\\w+): to=(?<to>\\S+) status=(?<status>\\w+) delay=(?<delay>[\\d.]+) conn=(?<connUse>\\d+) also=(?<alsoTo>\\S+)(?: via (?<relay>\\S+))?'
        event: delivery
      - pattern: '^(?<queueId>\\w+): id=(?<messageId>\\S+)'
        event: message-id
        fields: { resent: 'yes' }
      - pattern: '^(?<queueId>\\w+): from=(?<from>\\S*) size=(?<size>\\d+)'
        event: queue-active
`);
    expect(
      parser.parse(
        frame('relay', 'Q1: to=<Bob@Example.ORG> status=Deferred delay=1.5 conn=3 also=<A@x.org>,c@Y.org'),
      ),
    ).toEqual({
      kind: 'delivery',
      queueId: 'Q1',
      to: 'bob@example.org',
      status: 'deferred',
      delay: 1.5,
      connUse: 3,
      alsoTo: ['a@x.org', 'c@y.org'],
    });
    expect(
      parser.parse(frame('relay', 'Q1: to=b@x status=sent delay=2 conn=1 also=a@x via mx.example:25')),
    ).toEqual({
      kind: 'delivery',
      queueId: 'Q1',
      to: 'b@x',
      status: 'sent',
      delay: 2,
      connUse: 1,
      alsoTo: ['a@x'],
      relay: 'mx.example:25',
    });
    expect(parser.parse(frame('relay', 'Q2: id=<Abc@Host>'))).toEqual({
      kind: 'message-id',
      queueId: 'Q2',
      messageId: 'Abc@Host',
      resent: true,
    });
    expect(parser.parse(frame('relay', 'Q3: from=<> size=2048'))).toEqual({
      kind: 'queue-active',
      queueId: 'Q3',
      from: '',
      size: 2048,
    });
  });

  it('does not recognise a line whose required field does not convert (an unknown status)', () => {
    const parser = parserOf(`
parsers:
  - name: relay
    programs: [relay]
    rules:
      - pattern: '^(?<queueId>\\w+): to=(?<to>\\S+) status=(?<status>\\w+)'
        event: delivery
`);
    expect(parser.parse(frame('relay', 'Q1: to=a@b status=maybe'))).toBeNull();
    expect(parser.parse(frame('relay', 'Q1: to=a@b status=bounced'))?.kind).toBe('delivery');
  });

  it('drops an optional field whose value does not convert, and one whose groups did not take part', () => {
    const parser = parserOf(`
parsers:
  - name: spam
    programs: [spam]
    rules:
      - pattern: '^score=(?<score>\\S+)(?: size=(?<size>\\S+))?(?: user=(?<user>\\S+))?'
        event: spam-result
        fields: { scanner: spam, isSpam: false, user: 'u-\${user}' }
`);
    expect(parser.parse(frame('spam', 'score=-1.5 size=big'))).toEqual({
      kind: 'spam-result',
      scanner: 'spam',
      isSpam: false,
      score: -1.5,
    });
    expect(parser.parse(frame('spam', 'score=3 size=10 user=bob'))).toEqual({
      kind: 'spam-result',
      scanner: 'spam',
      isSpam: false,
      score: 3,
      size: 10,
      user: 'u-bob',
    });
    expect(parser.parse(frame('spam', 'score=high'))).toBeNull();
  });

  it('fills required lists with an empty list, and copies constant lists per event', () => {
    const parser = parserOf(`
parsers:
  - name: filter
    programs: [filter]
    rules:
      - pattern: '^(?<action>Passed|Blocked) (?<category>\\w+) (?<passed>\\w+)'
        event: filter-verdict
        fields: { filter: filter, to: 'a@x, b@x' }
`);
    const first = parser.parse(frame('filter', 'Passed CLEAN yes'));
    expect(first).toEqual({
      kind: 'filter-verdict',
      filter: 'filter',
      action: 'Passed',
      category: 'CLEAN',
      passed: true,
      to: ['a@x', 'b@x'],
      queuedAs: [],
    });
    expect(parser.parse(frame('filter', 'Blocked SPAM no'))).toMatchObject({
      passed: false,
      category: 'SPAM',
    });
    // `passed` from 'perhaps' is not a boolean: absent, and it is required.
    expect(parser.parse(frame('filter', 'Blocked SPAM perhaps'))).toBeNull();
    const again = parser.parse(frame('filter', 'Passed CLEAN yes'));
    expect(again).toEqual(first);
    expect((again as { to: string[] }).to).not.toBe((first as { to: string[] }).to);
  });

  it('writes $${ as a literal ${ in a template', () => {
    const parser = parserOf(`
parsers:
  - name: t
    programs: [t]
    rules:
      - pattern: '^(?<x>\\w+)$'
        event: info
        fields: { label: '$\${x} is \${x}' }
`);
    expect(parser.parse(frame('t', 'abc'))).toEqual({ kind: 'info', label: '${x} is abc' });
  });
});

describe('bounds and pre-checks', () => {
  const yaml = `
parsers:
  - name: any
    match: '^prepend '
    maxLength: 64
    rules:
      - pattern: '^prepend (?<label>\\w+)'
        event: info
`;

  it('handles every program when only `match` is given, and reads only the lines it matches', () => {
    const parser = parserOf(yaml);
    expect(parser.handles('anything')).toBe(true);
    expect(parser.parse(frame('anything', 'prepend hello'))).toEqual({ kind: 'info', label: 'hello' });
    expect(parser.parse(frame('anything', 'append hello'))).toBeNull();
  });

  it('leaves lines longer than maxLength to other parsers', () => {
    const parser = parserOf(yaml);
    expect(parser.parse(frame('x', `prepend ${'a'.repeat(56)}`))?.kind).toBe('info');
    expect(parser.parse(frame('x', `prepend ${'a'.repeat(57)}`))).toBeNull();
  });

  it('runs a pattern with the heaviest accepted shapes on a hostile line in bounded time', () => {
    const parser = parserOf(`
parsers:
  - name: slow
    programs: [slow]
    rules:
      - pattern: '^(?<label>\\w+)\\s*=\\s*.*.*.*;$'
        event: info
`);
    const hostile = `${'a'.repeat(2000)}=${' '.repeat(2000)}`;
    const started = performance.now();
    for (let i = 0; i < 10; i++) expect(parser.parse(frame('slow', hostile))).toBeNull();
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe('the example file', () => {
  it('is the one documented', () => {
    const doc = readFileSync(
      fileURLToPath(new URL('../../../docs/declared-parsers.md', import.meta.url)),
      'utf8',
    );
    expect(doc).toContain('docs/examples/parsers.yaml');
  });
});
