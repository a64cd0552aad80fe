/**
 * End-to-end test on real mail software: run.sh installs Postfix (two instances), Dovecot, amavisd-new,
 * spamd (through spamass-milter) and clamd from Debian's packages, runs them on loopback, sends the
 * scenarios of scenarios.sh with swaks and collects the log files they wrote. Then the real CLI imports
 * those logs and every scenario's trace is checked against the `trace --json` contract
 * (docs/json-contract.md). See README.md beside this file.
 *
 * Needs root and apt-get (Debian 12); skipped otherwise, unless MAILTRACE_REQUIRE_LAB=1 makes that a
 * failure. MAILTRACE_LAB_LOGS=<folder> skips the lab and checks the logs of an earlier run instead (such
 * as test/mail-lab/captured), which needs neither root nor apt.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const LAB = join(REPO, 'test/mail-lab');
const CLI = join(REPO, 'bin/mailtrace.js');
const LAB_TIMEOUT_MS = 12 * 60_000;

/** The fields of the `trace --json` document this test reads. */
interface TraceDelivery {
  recipient: string;
  origRecipient: string | null;
  status: string;
  at: string;
  relay: string | null;
  mailbox: string | null;
  dsn: string | null;
  reason: string | null;
  attempts: number;
}
interface TraceMessage {
  kind?: string;
  messageId: string | null;
  sender: string | null;
  subject: string | null;
  size: number | null;
  clientIp: string | null;
  saslUser: string | null;
  spam: { score: number; required: number | null; isSpam: boolean } | null;
  virus: string | null;
  partial: boolean;
  queueIds: { host: string; queueId: string }[];
  deliveries: TraceDelivery[];
  events: { at: string; host: string; program: string; kind: string; text: string }[];
}
interface ImportSummaryJson {
  lines: number;
  parsed: number;
  unknown: number;
  invalid: number;
  programs?: { host: string; program: string; seen: number; unknown: number; invalid: number }[];
}

function labUnavailable(): string | null {
  if (process.platform !== 'linux') return 'this is not Linux';
  if (process.getuid?.() !== 0) return 'the test does not run as root';
  if (!existsSync('/etc/debian_version')) return 'this is not Debian';
  if (spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status !== 0) return 'apt-get is unavailable';
  return null;
}

const reuseLogs = process.env['MAILTRACE_LAB_LOGS'];
const unavailable = reuseLogs ? null : labUnavailable();
const required = process.env['MAILTRACE_REQUIRE_LAB'] === '1';
if (unavailable && !required) {
  console.warn(
    `mail lab skipped: ${unavailable} (it needs root and apt-get on Debian 12; MAILTRACE_REQUIRE_LAB=1 makes this a failure)`,
  );
}

/** What a scenario of scenarios.sh must end as, recipient by recipient. */
interface Scenario {
  name: string;
  sender: string;
  subject: string;
  /** Allowed statuses per recipient; the message has exactly these recipients. */
  recipients: Record<string, string[]>;
  /** Queue entries the message went through (before and after amavisd-new, on the remote instance). */
  queueIds: number;
  spam: boolean;
  virus?: RegExp;
  saslUser?: string;
}

const FRANK = 'frank@lab.test';
const SCENARIOS: Scenario[] = [
  {
    name: 'local-two',
    sender: FRANK,
    subject: 'Lab: local delivery to two',
    recipients: { 'alice@lab.test': ['delivered'], 'bob@lab.test': ['delivered'] },
    queueIds: 2,
    spam: false,
  },
  {
    name: 'remote-ok',
    sender: FRANK,
    subject: 'Lab: to remote.test',
    recipients: { 'dave@remote.test': ['delivered'] },
    queueIds: 3,
    spam: false,
  },
  {
    name: 'remote-unknown',
    sender: FRANK,
    subject: 'Lab: unknown remote user',
    recipients: { 'zed@remote.test': ['bounced'] },
    queueIds: 2,
    spam: false,
  },
  {
    name: 'down',
    sender: FRANK,
    subject: 'Lab: destination down',
    recipients: { 'ops@down.test': ['deferred'] },
    queueIds: 2,
    spam: false,
  },
  {
    name: 'mixed',
    sender: FRANK,
    subject: 'Lab: one valid, one unknown',
    recipients: { 'carol@lab.test': ['delivered'], 'ghost@lab.test': ['rejected'] },
    queueIds: 2,
    spam: false,
  },
  {
    name: 'spam-gtube',
    sender: FRANK,
    subject: 'Lab: GTUBE',
    recipients: { 'alice@lab.test': ['delivered'] },
    queueIds: 2,
    spam: true,
  },
  {
    name: 'virus-eicar',
    sender: FRANK,
    subject: 'Lab: EICAR',
    // amavisd-new logs "Blocked INFECTED ... {DiscardedInternal,Quarantined}": either reading is right.
    recipients: { 'bob@lab.test': ['discarded', 'quarantined'] },
    queueIds: 1,
    spam: false,
    virus: /^Eicar-Test-Signature/,
  },
  {
    name: 'submission',
    sender: 'alice@lab.test',
    subject: 'Lab: submission with SASL',
    recipients: { 'erin@remote.test': ['delivered'] },
    queueIds: 3,
    spam: false,
    saslUser: 'alice@lab.test',
  },
];

function messageIdOf(name: string): string {
  return `lab-${name}@client.lab.test`;
}

function runCli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: REPO,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

describe.skipIf(unavailable !== null && !required)('mail lab: real Debian mail software on loopback', () => {
  let work = '';
  let logs = '';
  let db = '';
  let window = { first: 0, last: 0 };
  let labHost = '';
  let labZone = '';
  let importSummary: ImportSummaryJson | null = null;

  beforeAll(() => {
    if (unavailable) throw new Error(`MAILTRACE_REQUIRE_LAB=1 but the mail lab cannot run: ${unavailable}`);
    work = mkdtempSync(join(tmpdir(), 'mailtrace-lab-'));
    db = join(work, 'lab.db');
    logs = reuseLogs ? resolve(reuseLogs) : runLab(join(work, 'logs'));
    ensureBuilt();
    window = logWindow(join(logs, 'mail.log'));
    // rsyslog writes the machine's short host name; Dovecot's own log file carries none, nor a zone.
    labHost = readFileSync(join(logs, 'mail.log'), 'utf8').split(' ', 2)[1] ?? '';
    labZone = labInfo(logs)['timezone'] ?? 'UTC';
    const imported = importLogs(db, ['mail.log', 'dovecot.log', 'postfix-remote.log']);
    if (imported.status !== 0) {
      throw new Error(`import failed (exit ${imported.status}):\n${imported.stderr}\n${imported.stdout}`);
    }
    importSummary = JSON.parse(imported.stdout) as ImportSummaryJson;
  }, LAB_TIMEOUT_MS + 120_000);

  function importLogs(database: string, files: string[]) {
    return runCli([
      'import',
      '--db',
      database,
      '--retention',
      '0',
      '--host',
      labHost,
      '--tz',
      labZone,
      '--json',
      ...files.map((f) => join(logs, f)),
    ]);
  }

  afterAll(() => {
    // Keep the logs of a failed run for a look; MAILTRACE_KEEP_LAB=1 keeps them always.
    if (work && process.env['MAILTRACE_KEEP_LAB'] !== '1' && importSummary !== null) {
      // Only the temporary folder: MAILTRACE_LAB_LOGS points elsewhere and stays.
      rmSync(work, { recursive: true, force: true });
    }
  });

  function trace(query: string): TraceMessage[] {
    const r = runCli(['trace', '--db', db, query, '--json']);
    if (r.status !== 0 && r.status !== 4) {
      throw new Error(`trace ${query} failed (exit ${r.status}):\n${r.stderr}\n${r.stdout}`);
    }
    if (r.status === 4) return [];
    return (JSON.parse(r.stdout) as { messages: TraceMessage[] }).messages;
  }

  function expectWithinRun(at: string): void {
    const t = Date.parse(at);
    // mail.log's RFC 3339 stamps bound the run; the Dovecot and Postfix maillog_file lines have no zone
    // nor year, and a wrong reading of them shows up here as hours or a year off.
    expect(t).toBeGreaterThanOrEqual(window.first - 60_000);
    expect(t).toBeLessThanOrEqual(window.last + 60_000);
  }

  it('imports every line of the lab logs as known', () => {
    const summary = importSummary!;
    const notKnown = (summary.programs ?? []).filter((p) => p.unknown + p.invalid > 0);
    expect(summary.lines).toBeGreaterThan(100);
    expect(notKnown, `programs with unknown lines: ${JSON.stringify(notKnown)}`).toEqual([]);
    expect(summary.unknown).toBe(0);
    expect(summary.invalid).toBe(0);
    expect(summary.parsed).toBe(summary.lines);
  });

  it("imports clamd's own LogFile as known", () => {
    const r = importLogs(join(work, 'clamd.db'), ['clamd.log']);
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as ImportSummaryJson;
    expect(summary.lines).toBeGreaterThan(10);
    expect(summary.unknown).toBe(0);
    expect(summary.invalid).toBe(0);
  });

  for (const scenario of SCENARIOS) {
    it(`traces ${scenario.name}`, () => {
      const messages = trace(`<${messageIdOf(scenario.name)}>`);
      expect(messages).toHaveLength(1);
      const m = messages[0]!;
      expect(m.messageId).toBe(messageIdOf(scenario.name));
      expect(m.sender).toBe(scenario.sender);
      expect(m.subject).toBe(scenario.subject);
      expect(m.clientIp).toBe('127.0.0.1');
      expect(m.saslUser).toBe(scenario.saslUser ?? null);
      expect(m.partial).toBe(false);
      expect(m.size).toBeGreaterThan(0);
      expect(m.queueIds).toHaveLength(scenario.queueIds);

      // spamd (through spamass-milter) scanned every message that reached DATA on port 25 and 587.
      expect(m.spam).not.toBeNull();
      expect(m.spam!.isSpam).toBe(scenario.spam);
      if (scenario.spam) expect(m.spam!.score).toBeGreaterThanOrEqual(1000);
      else expect(m.spam!.score).toBeLessThan(5);
      expect(m.spam!.required).toBe(5);

      if (scenario.virus) expect(m.virus).toMatch(scenario.virus);
      else expect(m.virus).toBeNull();

      const recipients = m.deliveries.map((d) => d.recipient).sort();
      expect(recipients).toEqual(Object.keys(scenario.recipients).sort());
      for (const d of m.deliveries) {
        expect(scenario.recipients[d.recipient], `status of ${d.recipient}`).toContain(d.status);
        expect(d.attempts).toBeGreaterThanOrEqual(d.status === 'rejected' ? 0 : 1);
        expectWithinRun(d.at);
      }
      expect(m.events.length).toBeGreaterThan(0);
      for (const e of m.events) expectWithinRun(e.at);
    });
  }

  it('gives the reasons and codes of the failures', () => {
    const bounced = trace(`<${messageIdOf('remote-unknown')}>`)[0]!.deliveries[0]!;
    expect(bounced.dsn).toBe('5.1.1');
    expect(bounced.reason).toContain('550 5.1.1 <zed@remote.test>');
    expect(bounced.relay).toContain('127.0.0.2');

    const deferred = trace(`<${messageIdOf('down')}>`)[0]!.deliveries[0]!;
    expect(deferred.dsn).toBe('4.4.1');
    expect(deferred.reason).toContain('Connection refused');

    const ghost = trace(`<${messageIdOf('mixed')}>`)[0]!.deliveries.find(
      (d) => d.recipient === 'ghost@lab.test',
    )!;
    expect(ghost.dsn).toBe('5.1.1');
    expect(ghost.reason).toContain('User unknown in virtual mailbox table');
  });

  it('records the Dovecot mailbox of local deliveries', () => {
    for (const name of ['local-two', 'spam-gtube', 'mixed']) {
      const m = trace(`<${messageIdOf(name)}>`)[0]!;
      for (const d of m.deliveries.filter((x) => x.status === 'delivered')) {
        expect(d.mailbox, `${name} ${d.recipient}`).toBe('INBOX');
        expect(d.dsn).toBe('2.0.0');
      }
    }
  });

  it('ties the clamd detection and the amavis verdict to the infected message', () => {
    const m = trace(`<${messageIdOf('virus-eicar')}>`)[0]!;
    const programs = new Set(m.events.map((e) => e.program));
    expect(programs).toContain('clamd');
    expect(programs).toContain('amavis');
    expect(m.events.some((e) => e.text.includes('Blocked INFECTED'))).toBe(true);
  });

  it('traces the session refused at RCPT by its recipient address', () => {
    const refused = trace('nobody@lab.test');
    expect(refused).toHaveLength(1);
    const m = refused[0]!;
    expect(m.messageId).toBeNull();
    expect(m.kind).toBe('refused');
    expect(m.clientIp).toBe('127.0.0.1');
    expect(m.deliveries).toHaveLength(1);
    const d = m.deliveries[0]!;
    expect(d.recipient).toBe('nobody@lab.test');
    expect(d.status).toBe('rejected');
    expect(d.dsn).toBe('5.1.1');
    expect(d.reason).toContain('User unknown in virtual mailbox table');
    expectWithinRun(d.at);
  });

  it('traces the non-delivery notification back to its sender', () => {
    const dsn = trace(FRANK).filter((m) => m.sender === '');
    expect(dsn).toHaveLength(1);
    const m = dsn[0]!;
    expect(m.deliveries.map((d) => [d.recipient, d.status])).toEqual([[FRANK, 'delivered']]);
    expect(m.messageId).toMatch(/@mx\.lab\.test$/);
  });
});

/** Runs the lab (run.sh) and returns the folder its logs were collected into. */
function runLab(out: string): string {
  const lab = spawnSync('bash', [join(LAB, 'run.sh'), out], {
    encoding: 'utf8',
    timeout: LAB_TIMEOUT_MS,
    maxBuffer: 16 * 1024 * 1024,
  });
  if (lab.status !== 0) {
    throw new Error(
      `run.sh failed (exit ${lab.status}${lab.signal ? `, ${lab.signal}` : ''}):\n${lab.stderr}\n${lab.stdout}\nlogs: ${out}`,
    );
  }
  return out;
}

/** First and last time stamp of an RFC 3339 syslog file. */
function logWindow(file: string): { first: number; last: number } {
  const stamps = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => Date.parse(l.slice(0, l.indexOf(' '))));
  const first = stamps[0];
  const last = stamps[stamps.length - 1];
  if (first === undefined || last === undefined || Number.isNaN(first) || Number.isNaN(last)) {
    throw new Error(`${file} does not start and end with RFC 3339 time stamps`);
  }
  return { first, last };
}

/** collect.sh's lab-info.txt: `key=value` lines (timezone, hostname). */
function labInfo(folder: string): Record<string, string> {
  const file = join(folder, 'lab-info.txt');
  if (!existsSync(file)) return {};
  const entries = readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.split('=', 2) as [string, string?])
    .filter((kv): kv is [string, string] => kv[1] !== undefined);
  return Object.fromEntries(entries);
}

/** The CLI runs from dist/; build it when this checkout has not been built yet. */
function ensureBuilt(): void {
  if (existsSync(join(REPO, 'dist/cli/main.js'))) return;
  const build = spawnSync('npm', ['run', 'build'], { cwd: REPO, encoding: 'utf8', timeout: 300_000 });
  if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}\n${build.stderr}`);
}
