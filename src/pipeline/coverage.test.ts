import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDeclaredParsers } from '../parsers/declared/index.js';
import { BUILTIN_PARSERS, ParserRegistry } from '../parsers/registry.js';
import { analyseCoverage } from './coverage.js';

const settings = { format: 'auto' as const, encoding: 'auto', timeZone: 'UTC' };
let dir: string;
let mx: string;
let other: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mailtrace-coverage-'));
  mx = join(dir, 'mx.log');
  other = join(dir, 'other.log');
  writeFileSync(
    mx,
    [
      'Nov 28 10:00:00 mx1 postfix/smtpd[10]: connect from client.example.com[192.0.2.7]',
      'Nov 28 10:00:01 mx1 postfix/smtpd[10]: frobnicated 12 widgets for 192.0.2.7',
      'Nov 28 10:00:02 mx1 postfix/smtpd[10]: frobnicated 3 widgets for 198.51.100.1',
      'Nov 28 10:00:03 mx1 postfix/smtpd[10]: something else entirely',
      'Nov 28 10:00:04 mx1 policyd-spf[20]: prepend Received-SPF: Pass (mailfrom) identity=mailfrom; client-ip=192.0.2.7; helo=mx.example.org; envelope-from=a@example.org; receiver=<UNKNOWN>',
      'this line has no header at all 42',
      '',
    ].join('\n'),
  );
  writeFileSync(other, 'Nov 28 11:00:00 mx2 postfix/qmgr[30]: 4F1E2D3C2B: removed\n');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('analyseCoverage', () => {
  it('counts lines per host and program, with the shapes of those not recognised', async () => {
    const report = await analyseCoverage({ files: [mx, other, join(dir, 'missing.log')], settings });
    expect(report.files).toEqual([
      { path: mx, bytes: expect.any(Number), lines: 6 },
      { path: other, bytes: expect.any(Number), lines: 1 },
      { path: join(dir, 'missing.log'), bytes: 0, lines: 0, problem: 'no such file' },
    ]);
    expect(report).toMatchObject({ lines: 7, parsed: 2, unknown: 4, invalid: 1 });
    const byName = new Map(report.programs.map((p) => [`${p.host} ${p.program}`, p]));
    expect(byName.get('mx1 postfix/smtpd')).toEqual({
      host: 'mx1',
      program: 'postfix/smtpd',
      parser: 'postfix',
      seen: 4,
      parsed: 1,
      unknown: 3,
      invalid: 0,
      unknownShapes: [
        {
          shape: 'frobnicated <N> widgets for <IP>',
          count: 2,
          example: 'frobnicated 12 widgets for 192.0.2.7',
        },
        { shape: 'something else entirely', count: 1, example: 'something else entirely' },
      ],
      untallied: 0,
      invalidShapes: [],
    });
    expect(byName.get('mx1 policyd-spf')).toMatchObject({ parser: null, seen: 1, parsed: 0, unknown: 1 });
    expect(byName.get('mx2 postfix/qmgr')).toMatchObject({
      parser: 'postfix',
      seen: 1,
      parsed: 1,
      unknown: 0,
    });
    const invalid = report.programs.find((p) => p.invalid > 0);
    expect(invalid?.invalidShapes).toEqual([
      { shape: 'this line has no header at all <N>', count: 1, example: 'this line has no header at all 42' },
    ]);
    // Most lines first.
    expect(report.programs[0]?.program).toBe('postfix/smtpd');
  });

  it('asks declared parsers first', async () => {
    const declared = parseDeclaredParsers(
      `parsers:
  - name: policyd-spf
    programs: [policyd-spf]
    rules:
      - pattern: '^prepend Received-SPF: (?<result>\\w+) .*client-ip=(?<clientIp>[^;]+);'
        event: info
        fields: { label: 'spf-\${result}' }
  - name: frob
    programs: [postfix/smtpd]
    rules:
      - pattern: '^frobnicated '
        event: info
        fields: { label: frob }
`,
      'test.yaml',
    );
    const registry = new ParserRegistry(BUILTIN_PARSERS, declared);
    const report = await analyseCoverage({ files: [mx], settings, registry, top: 1 });
    expect(report).toMatchObject({ lines: 6, parsed: 4, unknown: 1, invalid: 1 });
    const smtpd = report.programs.find((p) => p.program === 'postfix/smtpd');
    // A program's parser is named after the one that read its first line: the built-in `connect from`.
    expect(smtpd).toMatchObject({ parser: 'postfix', seen: 4, parsed: 3, unknown: 1 });
    expect(smtpd?.unknownShapes).toEqual([
      { shape: 'something else entirely', count: 1, example: 'something else entirely' },
    ]);
    expect(report.programs.find((p) => p.program === 'policyd-spf')).toMatchObject({
      parser: 'policyd-spf',
      parsed: 1,
      unknown: 0,
      unknownShapes: [],
    });
  });
});
