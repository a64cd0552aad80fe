import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** The `mailtrace` command as a user runs it (the compiled program: `npm test` builds it first). */
const root = new URL('../..', import.meta.url).pathname;
const bin = join(root, 'bin', 'mailtrace.js');
let dir: string;
let db: string;

function mailtrace(...args: string[]) {
  const result = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, MAILTRACE_DB: '' },
  });
  return { code: result.status, out: result.stdout, err: result.stderr };
}

const LOG = [
  'Nov 28 10:00:00 mx1 postfix/smtpd[10]: connect from client.example.com[192.0.2.7]',
  'Nov 28 10:00:01 mx1 postfix/smtpd[10]: 4F1E2D3C2B: client=client.example.com[192.0.2.7], sasl_method=PLAIN, sasl_username=alice',
  'Nov 28 10:00:01 mx1 postfix/cleanup[11]: 4F1E2D3C2B: message-id=<cli-test@example.com>',
  'Nov 28 10:00:01 mx1 postfix/cleanup[11]: 4F1E2D3C2B: warning: header Subject: =?UTF-8?B?w5xiZXJncsO2w59l?= <script>alert(1)</script> from client.example.com[192.0.2.7]; from=<alice@example.com> to=<bob@example.org> proto=ESMTP helo=<client>',
  'Nov 28 10:00:02 mx1 postfix/qmgr[12]: 4F1E2D3C2B: from=<alice@example.com>, size=2048, nrcpt=1 (queue active)',
  'Nov 28 10:00:02 mx1 postfix/smtpd[10]: disconnect from client.example.com[192.0.2.7] ehlo=1 auth=1 mail=1 rcpt=1 data=1 quit=1 commands=6',
  'Nov 28 10:00:03 mx1 postfix/smtp[13]: 4F1E2D3C2B: to=<bob@example.org>, relay=mx.example.org[198.51.100.5]:25, delay=2, delays=0.1/0/0.9/1, dsn=5.1.1, status=bounced (host mx.example.org[198.51.100.5] said: 550 5.1.1 <bob@example.org>: Recipient address rejected: User unknown (in reply to RCPT TO command))',
  'Nov 28 10:00:03 mx1 postfix/qmgr[12]: 4F1E2D3C2B: removed',
].join('\n');

beforeAll(() => {
  if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) spawnSync('npm', ['run', 'build'], { cwd: root });
  dir = mkdtempSync(join(tmpdir(), 'mailtrace-cli-'));
  db = join(dir, 'cli.db');
  writeFileSync(join(dir, 'mail.log'), `${LOG}\n`);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('mailtrace command', () => {
  it('should print help with every command and the exit codes', () => {
    const { code, out } = mailtrace('--help');
    expect(code).toBe(0);
    for (const command of ['import', 'trace', 'export', 'generate', 'purge', 'demo'])
      expect(out).toContain(command);
    expect(out).toContain('Exit codes');
  });

  it('should exit 2 on wrong usage', () => {
    expect(mailtrace('frobnicate').code).toBe(2);
    expect(mailtrace('import', '--db', db, '--format', 'nonsense', 'x.log').code).toBe(2);
  });

  it('should import a log and print a summary, then trace it as the JSON contract says', () => {
    const imported = mailtrace('import', '--db', db, '--retention', '0', '--json', join(dir, 'mail.log'));
    expect(imported.code).toBe(0);
    expect(JSON.parse(imported.out)).toMatchObject({
      lines: 8,
      parsed: 8,
      unknown: 0,
      newMessages: 1,
      newDeliveries: 1,
    });

    const traced = mailtrace('trace', '--db', db, '--json', '<cli-test@example.com>');
    expect(traced.code).toBe(0);
    const doc = JSON.parse(traced.out);
    expect(doc.searchedAs).toBe('message-id');
    expect(doc.messages).toHaveLength(1);
    const m = doc.messages[0];
    expect(m).toMatchObject({
      messageId: 'cli-test@example.com',
      sender: 'alice@example.com',
      subject: 'Übergröße <script>alert(1)</script>',
      size: 2048,
      clientIp: '192.0.2.7',
      saslUser: 'alice',
      spam: null,
      virus: null,
      partial: false,
      queueIds: [{ host: 'mx1', queueId: '4F1E2D3C2B' }],
    });
    expect(m.deliveries).toEqual([
      expect.objectContaining({
        recipient: 'bob@example.org',
        origRecipient: null,
        status: 'bounced',
        dsn: '5.1.1',
        relay: 'mx.example.org[198.51.100.5]:25',
        attempts: 1,
      }),
    ]);
    expect(m.deliveries[0].reason).toContain('550 5.1.1');
    expect(m.events).toHaveLength(8);
    expect(m.events[0]).toEqual({
      at: expect.stringMatching(/-11-28T10:00:00\.000Z$/),
      host: 'mx1',
      program: 'postfix/smtpd',
      kind: 'connect',
      text: LOG.split('\n')[0],
    });
  });

  it('should trace by address and explain the outcome in plain words', () => {
    const { code, out } = mailtrace('trace', '--db', db, 'bob@example.org');
    expect(code).toBe(0);
    expect(out).toContain('BOUNCED');
    expect(out).toContain('the mailbox does not exist: check the address');
    expect(out).toContain('alice@example.com');
  });

  it('should exit 4 and say what to try when nothing matches', () => {
    const { code, err } = mailtrace('trace', '--db', db, 'nobody@nowhere.example');
    expect(code).toBe(4);
    expect(err).toMatch(/No message found .* Try a wider time window/);
  });

  it('should export CSV with one row per recipient', () => {
    const { code, out } = mailtrace('export', '--db', db, '--format', 'csv');
    expect(code).toBe(0);
    const [header, row, end] = out.split('\n');
    expect(header).toMatch(/^first_seen,kind,message_id,sender,subject/);
    expect(row).toContain('cli-test@example.com');
    expect(row).toContain('bounced');
    expect(end).toBe('');
  });

  it('should exit 3 when a file could not be read, and still import the others', () => {
    const { code, out } = mailtrace(
      'import',
      '--db',
      db,
      '--retention',
      '0',
      join(dir, 'missing.log'),
      join(dir, 'mail.log'),
    );
    expect(code).toBe(3);
    expect(out).toContain('missing.log: no such file');
  });
});
