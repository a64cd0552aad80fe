import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.js';
import { type DatabaseTarget, databaseTargets } from '../support/databases.js';

/**
 * `mailtrace coverage` and `--parsers` as a user runs them (the compiled program: `npm test` builds it
 * first): coverage reads logs without a database; declared parsers change what import and coverage
 * recognise; a wrong declarations file is wrong usage, with every problem listed.
 */
const root = new URL('../..', import.meta.url).pathname;
const bin = join(root, 'bin', 'mailtrace.js');
const EXAMPLE = join(root, 'docs', 'examples', 'parsers.yaml');
let dir: string;
let log: string;
let bad: string;

function mailtrace(...args: string[]) {
  const result = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, MAILTRACE_DB: '', NO_COLOR: '1' },
  });
  return { code: result.status, out: result.stdout, err: result.stderr };
}

// Real lines (postfix/dmlinarr-SecurePostfix-mail.log in the shared corpus), and one made-up line.
const LOG = [
  'Jun  1 09:18:27 postfix postfix/smtpd[3099]: 413BE60672: client=srvMSG01.cyberlab.fhnw.ch[192.168.64.33]',
  'Jun  1 09:18:27 postfix postfix/cleanup[3074]: 413BE60672: message-id=<20240601091826.D04496012B@srvMSG01.cyberlab.fhnw.ch>',
  'Jun  1 09:18:27 postfix policyd-spf[3103]: prepend Received-SPF: None (mailfrom) identity=mailfrom; client-ip=192.168.64.33; helo=srvmsg01.cyberlab.fhnw.ch; envelope-from=reflector@srvmsg01.cyberlab.fhnw.ch; receiver=<UNKNOWN> ',
  'Jun  1 09:18:27 postfix postgrey[989]: action=pass, reason=client whitelist, client_name=srvMSG01.cyberlab.fhnw.ch, client_address=192.168.64.33/32, sender=reflector@srvmsg01.cyberlab.fhnw.ch, recipient=damjan@u10.cyberlab.fhnw.ch',
  'Jun  1 09:18:27 postfix opendkim[774]: 413BE60672: srvMSG01.cyberlab.fhnw.ch [192.168.64.33] not internal',
  'Jun  1 09:18:27 postfix opendkim[774]: 413BE60672: not authenticated',
  'Jun  1 09:18:27 postfix opendkim[774]: 413BE60672: no signature data',
  'Jun  1 09:20:09 postfix opendkim[774]: 2C0AB60671: srvMSG01.cyberlab.fhnw.ch [192.168.64.33] not internal',
  'Jun  1 09:20:11 postfix postfix/smtpd[1]: frobnicated 12 widgets',
].join('\n');

const BAD = `parsers:
  - name: x
    programs: [x]
    rules:
      - pattern: '^(?<result>\\w+)'
        event: delivry
      - pattern: '^(?<result>\\w+)'
        event: info
        fields: { label: 'spf-\${reslt}' }
`;

let targets: DatabaseTarget[];

beforeAll(async () => {
  if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) spawnSync('npm', ['run', 'build'], { cwd: root });
  dir = mkdtempSync(join(tmpdir(), 'mailtrace-coverage-cli-'));
  log = join(dir, 'mail.log');
  bad = join(dir, 'bad.yaml');
  writeFileSync(log, `${LOG}\n`);
  writeFileSync(bad, BAD);
  targets = await databaseTargets('coverage e2e');
});

afterAll(async () => {
  for (const target of targets ?? []) await target.dropAll();
  rmSync(dir, { recursive: true, force: true });
});

describe('mailtrace coverage', () => {
  it('prints lines per host and program and the shapes of those not recognised', () => {
    const { code, out, err } = mailtrace('coverage', '--tz', 'UTC', log);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toContain(
      'Coverage of 1 file: 9 lines, 2 parsed (22.2 %), 7 not recognised, 0 with an unreadable header',
    );
    expect(out).toMatch(/postfix\s+opendkim\s+–\s+4\s+0\.0 %\s+4\s+0/);
    expect(out).toMatch(/postfix\s+postfix\/smtpd\s+postfix\s+2\s+50\.0 %\s+1\s+0/);
    expect(out).toContain('     2  <ID>: <HOST> [<IP>] not internal');
    expect(out).toContain('     1  frobnicated <N> widgets');
    expect(out).not.toContain('e.g.');
  });

  it('prints JSON with --json, --top shapes per program, and an example of each', () => {
    const { code, out } = mailtrace('coverage', '--json', '--top', '1', log);
    expect(code).toBe(0);
    const report = JSON.parse(out);
    expect(report).toMatchObject({ lines: 9, parsed: 2, unknown: 7, invalid: 0 });
    expect(report.files).toEqual([{ path: log, bytes: LOG.length + 1, lines: 9 }]);
    const opendkim = report.programs.find((p: { program: string }) => p.program === 'opendkim');
    expect(opendkim).toEqual({
      host: 'postfix',
      program: 'opendkim',
      parser: null,
      seen: 4,
      parsed: 0,
      unknown: 4,
      invalid: 0,
      unknownShapes: [
        {
          shape: '<ID>: <HOST> [<IP>] not internal',
          count: 2,
          example: '413BE60672: srvMSG01.cyberlab.fhnw.ch [192.168.64.33] not internal',
        },
      ],
      untallied: 0,
      invalidShapes: [],
    });
  });

  it('recognises what declared parsers declare (--parsers)', () => {
    const { code, out } = mailtrace('coverage', '--json', '--parsers', EXAMPLE, log);
    expect(code).toBe(0);
    const report = JSON.parse(out);
    expect(report).toMatchObject({ lines: 9, parsed: 8, unknown: 1 });
    const parsers = Object.fromEntries(
      report.programs.map((p: { program: string; parser: string; parsed: number }) => [
        p.program,
        [p.parser, p.parsed],
      ]),
    );
    expect(parsers).toEqual({
      opendkim: ['opendkim', 4],
      'postfix/cleanup': ['postfix', 1],
      'postfix/smtpd': ['postfix', 1],
      'policyd-spf': ['policyd-spf', 1],
      postgrey: ['postgrey', 1],
    });
  });

  it('refuses a wrong declarations file with exit code 2, listing every problem', () => {
    const { code, out, err } = mailtrace('coverage', '--parsers', bad, log);
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err.split('\n')).toEqual([
      `mailtrace: ${bad}: 2 problems in the declared parsers:`,
      expect.stringMatching(
        new RegExp(
          `^  ${bad}:6:16: parsers\\[0\\]\\.rules\\[0\\]\\.event: "delivry" is not an event kind; one of: connect, `,
        ),
      ),
      `  ${bad}:9:26: parsers[0].rules[1].fields.label: \${reslt}: no such named group in the pattern (its groups: result)`,
      '',
    ]);
  });

  it('exits 3 when a file cannot be read, and counts the others', () => {
    const { code, out } = mailtrace('coverage', '--json', log, join(dir, 'missing.log'));
    expect(code).toBe(3);
    expect(JSON.parse(out).files[1]).toEqual({
      path: join(dir, 'missing.log'),
      bytes: 0,
      lines: 0,
      problem: 'no such file',
    });
  });
});

describe('mailtrace import --parsers', () => {
  it('refuses a wrong declarations file before opening the database', () => {
    const db = join(dir, 'never.db');
    const { code, err } = mailtrace('import', '--db', db, '--parsers', bad, log);
    expect(code).toBe(2);
    expect(err).toContain('2 problems in the declared parsers');
    expect(existsSync(db)).toBe(false);
  });

  it.each(['sqlite', 'postgres'] as const)(
    'imports with declared parsers and stores the unknown shapes (%s)',
    async (name) => {
      const target = targets.find((t) => t.name === name)!;
      if (!target.enabled) return;
      const db = await target.create();
      const { code, out } = mailtrace(
        'import',
        '--db',
        db,
        '--retention',
        '0',
        '--json',
        '--parsers',
        EXAMPLE,
        log,
      );
      expect(code).toBe(0);
      const summary = JSON.parse(out);
      expect(summary).toMatchObject({ lines: 9, parsed: 8, unknown: 1 });
      expect(summary.unknownShapes).toEqual([
        {
          host: 'postfix',
          program: 'postfix/smtpd',
          shapes: [{ shape: 'frobnicated <N> widgets', count: 1, example: 'frobnicated 12 widgets' }],
          untallied: 0,
        },
      ]);
      const store = await openStore(db);
      try {
        const [run] = await store.importRuns();
        expect(run?.stats.find((s) => s.program === 'policyd-spf')).toMatchObject({
          parser: 'policyd-spf',
          parsed: 1,
        });
        expect(await store.unknownShapes(run!.id)).toEqual([
          {
            host: 'postfix',
            program: 'postfix/smtpd',
            shapes: [{ shape: 'frobnicated <N> widgets', count: 1, example: 'frobnicated 12 widgets' }],
          },
        ]);
        expect(await store.unknownShapes(run!.id + 1)).toEqual([]);
        // The opendkim lines name Postfix queue ids: they are kept with those queue entries.
        const traced = await store.trace({ by: 'queue-id', value: '413BE60672' });
        expect(traced).toHaveLength(1);
        const events = traced[0]?.events ?? [];
        expect(events.map((e) => e.program)).toEqual([
          'postfix/smtpd',
          'postfix/cleanup',
          'opendkim',
          'opendkim',
          'opendkim',
        ]);
        const text = (line: string) => line.slice(line.indexOf(']: ') + 3);
        expect(events.filter((e) => e.program === 'opendkim').map((e) => [e.kind, text(e.text)])).toEqual([
          ['info', '413BE60672: srvMSG01.cyberlab.fhnw.ch [192.168.64.33] not internal'],
          ['info', '413BE60672: not authenticated'],
          ['info', '413BE60672: no signature data'],
        ]);
      } finally {
        await store.close();
      }
    },
  );
});
