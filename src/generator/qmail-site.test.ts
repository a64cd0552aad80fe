import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GenerateSummary, generate } from './index.js';
import { qmailText } from './qmail-send.js';
import { ADDR, ANY_HEADER, HOSTIP, QID, SHAPES, TAIL } from './testing/shapes.js';
import { mailmanStamp, tai64n } from './textlog.js';

// ---- line shapes of the qmail site, each checked against fixtures/qmail-real-lines.txt ----

const MSGID = '<[^<>\\s]*>';
const SCANNER_TAIL = ` \\d+(\\.\\d+)? \\d+ \\S+ \\S+ \\S+ ${MSGID} \\S+`;
const SA = '(SA:[01]\\(-?\\d+\\.\\d/\\d+\\.\\d\\):)?';

/** One regex per kind of line the qmail site writes that the Postfix site does not. */
const QSHAPES: Record<string, RegExp> = Object.fromEntries(
  Object.entries({
    'qs-new': 'new msg \\d+',
    'qs-info': 'info msg \\d+: bytes \\d+ from <[^<>\\s]*> qp \\d+ uid \\d+',
    'qs-start': 'starting delivery \\d+: msg \\d+ to (local|remote) \\S+',
    'qs-status': 'status: local \\d+/\\d+ remote \\d+/\\d+',
    'qs-success': 'delivery \\d+: success: .+/',
    'qs-deferral': 'delivery \\d+: deferral: \\S+/',
    'qs-failure': 'delivery \\d+: failure: \\S+/',
    'qs-bounce': 'bounce msg \\d+ qp \\d+',
    'qs-end': 'end msg \\d+',
    'qs-exiting': 'status: exiting',
    'tcpserver-status': 'tcpserver: status: \\d+/\\d+',
    'tcpserver-pid': 'tcpserver: pid \\d+ from [\\d.]+',
    'tcpserver-ok': 'tcpserver: ok \\d+ [^:\\s]+:[\\d.]+:\\d+ [^:\\s]*:[\\d.]+:[^:\\s]*:\\d+',
    'tcpserver-end': 'tcpserver: end \\d+ status \\d+',
    rblsmtpd: 'rblsmtpd: [\\d.]+ pid \\d+(:| [a-z0-9.-]+:) [45]\\d\\d \\S+',
    chkuser:
      'CHKUSER rejected rcpt: from <[^<>|]*\\|remoteinfo/auth:[^|]*\\|chkuser-identify:[^|]*> remote <helo:[^|]*\\|remotehostname:[^|]*\\|remotehostip:[\\d.]+> rcpt <[^<>\\s]*> : not existing recipient',
    'qmail-scanner-clear': `qmail-scanner\\[\\d+\\]: Clear:RC:[01]\\([\\d.]+\\):${SA}${SCANNER_TAIL}`,
    'qmail-scanner-blocked': `qmail-scanner\\[\\d+\\]: (CLAMDSCAN:[\\w.-]+|Policy:\\w+):RC:[01]\\([\\d.]+\\):${SA}${SCANNER_TAIL}`,
    'clamd-qscan': 'clamd\\[\\d+\\]: /var/spool/qscan/tmp/\\S+/\\S+: \\S+ FOUND',
    'mailman-smtp': `\\(\\d+\\) ${MSGID} smtp to \\S+ for \\d+ recips, completed in \\d+\\.\\d+ seconds`,
    'mailman-post': `\\(\\d+\\) post to [\\w.-]+ from \\S+, size=\\d+, message-id=${MSGID}, (success|\\d+ failures)`,
    'mailman-smtp-failure': '\\(\\d+\\) delivery to \\S+ failed with code \\d{3}: .+',
    'mailman-vette': `\\(\\d+\\) [\\w.-]+ post from \\S+ held, message-id=${MSGID}: .+`,
    // Queue ids of any length: the real samples come from hosts with shorter inode numbers.
    'postfix-local': `postfix/local\\[\\d+\\]: [0-9A-F]{6,12}: to=<${ADDR}>, (orig_to=<${ADDR}>, )?relay=local, delay=[\\d.]+, delays=[\\d.]+/[\\d.]+/[\\d.]+/[\\d.]+, dsn=2\\.0\\.0, status=sent \\(delivered to command: .+\\)`,
    'smtpd-reject-relay': `postfix/smtpd\\[\\d+\\]: (NOQUEUE|${QID}): reject: RCPT from ${HOSTIP}: 550 5\\.1\\.1 <${ADDR}>: Recipient address rejected: User unknown in (virtual mailbox|relay recipient) table; ${TAIL}`,
  }).map(([name, source]) => [name, new RegExp(`^${source}$`)]),
);

const MULTILOG = /^@4000000[0-9a-f]{17} /;
const MAILMAN = /^[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d \d{4} /;

function stripHeader(line: string): string {
  return line.replace(MULTILOG, '').replace(MAILMAN, '').replace(ANY_HEADER, '');
}

function qshapeOf(text: string): string | null {
  for (const [name, rx] of Object.entries(QSHAPES)) if (rx.test(text)) return name;
  return null;
}

describe('qmail line shapes', () => {
  it('every shape matches the lines it was taken from, real ones marked apart from format-derived ones', async () => {
    const fixture = await readFile(new URL('./fixtures/qmail-real-lines.txt', import.meta.url), 'utf8');
    const real = new Set<string>();
    const covered = new Set<string>();
    for (const line of fixture.split('\n')) {
      const m = /^\[([\w-]+)\](!?) (.*)$/.exec(line);
      if (!m) continue;
      const [, shape = '', derived, sample = ''] = m;
      const rx = QSHAPES[shape];
      expect(rx, `unknown shape ${shape}`).toBeDefined();
      expect(rx?.test(stripHeader(sample)), `${shape}: ${sample}`).toBe(true);
      covered.add(shape);
      if (derived === '') real.add(shape);
    }
    expect([...covered].sort()).toEqual(Object.keys(QSHAPES).sort());
    // The shapes no public log shows, written from the programs' format strings (see the fixture).
    expect(Object.keys(QSHAPES).filter((s) => !real.has(s))).toEqual([
      'qs-exiting',
      'chkuser',
      'qmail-scanner-blocked',
      'clamd-qscan',
      'mailman-post',
      'mailman-smtp-failure',
      'mailman-vette',
    ]);
  });

  it('writes TAI64N labels as multilog does and Mailman stamps as StampedLogger does', () => {
    // vipwoody qmail-send: Gmail's reply `OK 1272943914` sits in the line labelled @400000004bdf9534
    // (TAI = UTC + 10 s); the generator's clock has microseconds, so nanoseconds end in 000.
    expect(tai64n(1_272_943_914_000_000 + 744_721)).toBe('@400000004bdf95342c638a68');
    expect(mailmanStamp(Date.UTC(2008, 11, 1, 1, 20, 4) * 1000)).toBe('Dec 01 01:20:04 2008');
    expect(qmailText("Sorry, I wasn't able.\nRemote host said: 250 ok\n")).toBe(
      "Sorry,_I_wasn't_able./Remote_host_said:_250_ok/",
    );
  });
});

// ---- one run shared by the checks below ----

interface Line {
  file: string;
  /** Time in µs from the line's header. */
  t: number;
  text: string;
}

interface Truth {
  kind: 'message' | 'refused';
  messageId: string | null;
  sender: string;
  subject: string | null;
  clientIp: string | null;
  firstSeen: string;
  spam: boolean;
  virus: string | null;
  recipients: { recipient: string; origRecipient: string | null; status: string; mailbox: string | null }[];
}

const END = new Date('2026-11-08T06:00:00Z');
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function parseTime(line: string): { t: number; text: string } | null {
  const multilog = MULTILOG.exec(line);
  if (multilog) {
    const secs = Number.parseInt(line.slice(9, 17), 16) - 10;
    const nanos = Number.parseInt(line.slice(17, 25), 16);
    return { t: secs * 1_000_000 + nanos / 1000, text: line.slice(26) };
  }
  const mailman = /^([A-Z][a-z]{2}) (\d\d) (\d\d):(\d\d):(\d\d) (\d{4}) (.*)$/.exec(line);
  if (mailman) {
    const [, mon = '', d, h, mi, s, y, text = ''] = mailman;
    return {
      t: Date.UTC(Number(y), MONTHS.indexOf(mon), Number(d), Number(h), Number(mi), Number(s)) * 1000,
      text,
    };
  }
  const classic = /^([A-Z][a-z]{2}) ([ \d]\d) (\d\d):(\d\d):(\d\d) (mx2|lists1) (.*)$/.exec(line);
  if (classic) {
    const [, mon = '', d = '', h, mi, s, , text = ''] = classic;
    return {
      t: Date.UTC(2026, MONTHS.indexOf(mon), Number(d.trim()), Number(h), Number(mi), Number(s)) * 1000,
      text,
    };
  }
  const precise = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{6})\+00:00 mbox1 (.*)$/.exec(line);
  if (precise) {
    const [, stamp = '', micros = '', text = ''] = precise;
    return { t: Date.parse(`${stamp}Z`) * 1000 + Number(micros), text };
  }
  return null;
}

let dir = '';
let summary: GenerateSummary;
const byFile: Record<string, Line[]> = {};
let all: Line[] = [];
let truth: Truth[] = [];

function lines(suffix: string): Line[] {
  const key = Object.keys(byFile).find((f) => f.endsWith(suffix));
  return key ? (byFile[key] ?? []) : [];
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mailtrace-qmail-'));
  summary = await generate({ messages: 5000, days: 2, seed: 42, end: END, outDir: dir, site: 'qmail' });
  for (const file of summary.files) {
    const content = await readFile(file, 'utf8');
    const rel = file.slice(dir.length + 1);
    const parsed: Line[] = [];
    const raw = content.split('\n');
    expect(raw.pop(), rel).toBe('');
    for (const line of raw) {
      const p = parseTime(line);
      if (p === null) expect.fail(`${rel}: unreadable header: ${line}`);
      parsed.push({ file: rel, t: p.t, text: p.text });
    }
    byFile[rel] = parsed;
  }
  all = Object.values(byFile).flat();
  truth = (await readFile(summary.groundTruth, 'utf8'))
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Truth);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('generate qmail site', () => {
  it('writes each program to its real file and counts what it wrote', () => {
    expect(summary.files.map((f) => f.slice(dir.length + 1))).toEqual([
      'mx2.example.edu/qmail-send/current',
      'mx2.example.edu/qmail-smtpd/current',
      'mx2.example.edu/maillog',
      'lists1.example.edu/mail.log',
      'lists1.example.edu/mailman/post',
      'lists1.example.edu/mailman/smtp',
      'lists1.example.edu/mailman/smtp-failure',
      'lists1.example.edu/mailman/vette',
      'mbox1.example.edu/mail.log',
    ]);
    expect(summary.lines).toBe(all.length);
    expect(summary.messages).toBe(truth.length);
    for (const f of summary.files) expect(byFile[f.slice(dir.length + 1)]?.length, f).toBeGreaterThan(0);
  });

  it('keeps every file in time order (to the header precision)', () => {
    for (const [file, ls] of Object.entries(byFile)) {
      for (let i = 1; i < ls.length; i++) {
        if ((ls[i]?.t ?? 0) < (ls[i - 1]?.t ?? 0)) expect.fail(`${file} line ${i + 1} goes back in time`);
      }
    }
  });

  it('writes only lines of known real shapes, and every qmail shape appears', () => {
    const seen = new Set<string>();
    for (const l of all) {
      const shape = qshapeOf(l.text);
      if (shape !== null) {
        seen.add(shape);
        continue;
      }
      const postfix =
        l.file.startsWith('mx2') && !l.file.endsWith('maillog') ? null : qshapeOrPostfix(l.text);
      if (postfix === null) expect.fail(`${l.file}: unknown line shape: ${l.text}`);
    }
    expect([...seen].sort()).toEqual(Object.keys(QSHAPES).sort());
  });
});

function qshapeOrPostfix(text: string): string | null {
  for (const [name, rx] of Object.entries(SHAPES)) if (rx.test(text)) return name;
  return null;
}

describe('qmail-send and tcpserver bookkeeping', () => {
  it('reuses message numbers only after end msg, and bounces before ending', () => {
    const open = new Set<string>();
    let reused = 0;
    const ended = new Set<string>();
    for (const l of lines('qmail-send/current')) {
      const n = /^(new|end) msg (\d+)$/.exec(l.text);
      const b = /^bounce msg (\d+) qp \d+$/.exec(l.text);
      if (n?.[1] === 'new') {
        if (open.has(n[2] ?? '')) expect.fail(`msg ${n[2]} started twice`);
        if (ended.has(n[2] ?? '')) reused++;
        open.add(n[2] ?? '');
      } else if (n?.[1] === 'end') {
        expect(open.delete(n[2] ?? ''), l.text).toBe(true);
        ended.add(n[2] ?? '');
      } else if (b) expect(open.has(b[1] ?? ''), l.text).toBe(true);
    }
    expect(reused).toBeGreaterThan(100);
  });

  it('numbers deliveries from 1 again after the restart, and reports concurrency as it is', () => {
    const send = lines('qmail-send/current');
    expect(send.filter((l) => l.text === 'status: exiting')).toHaveLength(1);
    let running = new Set<string>();
    let last = 0;
    let restarts = 0;
    for (const l of send) {
      if (l.text === 'status: exiting') {
        expect(running.size).toBe(0);
        running = new Set();
        last = 0;
        restarts++;
        continue;
      }
      const start = /^starting delivery (\d+): /.exec(l.text);
      const result = /^delivery (\d+): (success|deferral|failure): /.exec(l.text);
      const status = /^status: local 0\/10 remote (\d+)\/20$/.exec(l.text);
      if (start) {
        const d = Number(start[1]);
        expect(d).toBe(last + 1);
        last = d;
        running.add(String(d));
      } else if (result) expect(running.delete(result[1] ?? ''), l.text).toBe(true);
      else if (status) expect(Number(status[1])).toBe(running.size);
    }
    expect(restarts).toBe(1);
  });

  it('opens and ends every tcpserver session, with the count of sessions in its status lines', () => {
    const sessions = new Set<string>();
    let count = 0;
    for (const l of lines('qmail-smtpd/current')) {
      const pid = /^tcpserver: pid (\d+) from /.exec(l.text);
      const end = /^tcpserver: end (\d+) status 0$/.exec(l.text);
      const status = /^tcpserver: status: (\d+)\/100$/.exec(l.text);
      if (pid) sessions.add(pid[1] ?? '');
      else if (end) expect(sessions.delete(end[1] ?? ''), l.text).toBe(true);
      else if (status) {
        count++;
        expect(Number(status[1]), l.text).toBeGreaterThanOrEqual(sessions.size);
      }
    }
    expect(count).toBeGreaterThan(1000);
  });

  it('logs qmail-scanner verdicts under the pid that qmail-send names as qp, and blocked ones under none', () => {
    const qps = new Set<string>();
    for (const l of lines('qmail-send/current')) {
      const m = / qp (\d+) uid 7791$/.exec(l.text);
      if (m) qps.add(m[1] ?? '');
    }
    let clear = 0;
    let blocked = 0;
    for (const l of lines('maillog')) {
      const m = /^qmail-scanner\[(\d+)\]: (\S+) /.exec(l.text);
      if (!m) continue;
      if (m[2]?.startsWith('Clear:')) {
        expect(qps.has(m[1] ?? ''), l.text).toBe(true);
        clear++;
      } else {
        expect(qps.has(m[1] ?? ''), l.text).toBe(false);
        blocked++;
      }
    }
    expect(clear).toBeGreaterThan(1000);
    expect(blocked).toBeGreaterThan(50);
  });
});

describe('qmail ground truth against the logs', () => {
  const recipients = (where: (r: Truth['recipients'][number], t: Truth) => boolean) =>
    truth.reduce((n, t) => n + t.recipients.filter((r) => where(r, t)).length, 0);
  const count = (suffix: string, pred: (text: string) => boolean) =>
    lines(suffix).reduce((n, l) => n + (pred(l.text) ? 1 : 0), 0);

  it('has every outcome the site produces, spam, viruses, lists and double bounces', () => {
    for (const s of ['delivered', 'bounced', 'rejected', 'quarantined', 'held']) {
      expect(
        recipients((r) => r.status === s),
        s,
      ).toBeGreaterThan(0);
    }
    expect(truth.some((t) => t.spam)).toBe(true);
    expect(truth.some((t) => t.virus !== null)).toBe(true);
    expect(truth.some((t) => t.sender === '#@[]')).toBe(true);
    expect(
      truth.some((t) => t.recipients.length >= 20 && t.recipients.every((r) => r.origRecipient !== null)),
    ).toBe(true);
    expect(truth.every((t) => t.subject === null)).toBe(true);
    expect(count('qmail-send/current', (x) => x.includes("I'm_not_going_to_try_again"))).toBeGreaterThan(0);
    expect(count('qmail-send/current', (x) => / deferral: /.test(x))).toBeGreaterThan(0);
  });

  it('gives every message a message-id that the logs show, and no two the same', () => {
    const logged = new Set<string>();
    for (const l of all)
      for (const m of l.text.matchAll(/(?:message-id|msgid|mid)=<([^<>\s]+)>| (<[^<>\s]+>) /g)) {
        logged.add(m[1] ?? (m[2] ?? '').slice(1, -1));
      }
    const ids = truth.filter((t) => t.kind === 'message').map((t) => t.messageId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) if (id === null || !logged.has(id)) expect.fail(`message-id ${id} not in the logs`);
  });

  it('matches refusals to chkuser lines, quarantines to qmail-scanner lines, holds to vette lines', () => {
    const chkuser = new Set<string>();
    for (const l of lines('qmail-smtpd/current')) {
      const m = /^CHKUSER rejected rcpt: from <([^|]*)\|.*remotehostip:([\d.]+)> rcpt <([^>]*)>/.exec(l.text);
      if (m) chkuser.add(`${m[1]}|${m[2]}|${m[3]}`);
    }
    const refused = truth.filter((t) => t.kind === 'refused');
    expect(refused.length).toBeGreaterThan(0);
    for (const t of refused) {
      for (const r of t.recipients) {
        expect(r.status).toBe('rejected');
        expect(chkuser.has(`${t.sender}|${t.clientIp}|${r.recipient}`), r.recipient).toBe(true);
      }
    }
    expect(recipients((r, t) => r.status === 'rejected' && t.kind === 'refused')).toBe(chkuser.size);
    const blockedLines = count('maillog', (x) => /^qmail-scanner\[\d+\]: (?!Clear:)/.test(x));
    expect(recipients((r) => r.status === 'quarantined')).toBe(blockedLines);
    for (const t of truth.filter((x) => x.virus !== null)) {
      expect(t.recipients.every((r) => r.status === 'quarantined')).toBe(true);
      expect(
        count('maillog', (x) => x.includes(`CLAMDSCAN:${t.virus}:`) && x.includes(`<${t.messageId}>`)),
      ).toBe(t.recipients.length);
    }
    expect(recipients((r) => r.status === 'held')).toBe(count('mailman/vette', () => true));
    // Members Postfix refused at RCPT, which Mailman logs as failures.
    const failures = new Set<string>();
    for (const l of lines('mailman/smtp-failure'))
      failures.add(/^\(\d+\) delivery to (\S+) /.exec(l.text)?.[1] ?? '');
    const refusedMembers = truth.flatMap((t) =>
      t.recipients.filter((r) => r.origRecipient !== null && r.status === 'rejected'),
    );
    expect(refusedMembers.length).toBe(count('mailman/smtp-failure', () => true));
    for (const r of refusedMembers) expect(failures.has(r.recipient), r.recipient).toBe(true);
  });

  it('counts one bounce message per qmail bounce and per Postfix non-delivery notification', () => {
    const qmailBounces = count('qmail-send/current', (x) => /^bounce msg /.test(x));
    const postfixDsns = all.filter((l) => / sender non-delivery notification: /.test(l.text)).length;
    const bounces = truth.filter((t) => t.sender === '' || t.sender === '#@[]');
    expect(qmailBounces).toBeGreaterThan(0);
    expect(bounces.length).toBe(qmailBounces + postfixDsns);
    expect(truth.filter((t) => t.sender === '#@[]').length).toBe(
      count('qmail-send/current', (x) => /^info msg \d+: bytes \d+ from <#@\[\]> /.test(x)),
    );
    for (const b of bounces) expect(b.recipients).toHaveLength(1);
  });

  it('dates each queued message at its first queue line', () => {
    const births = new Set<number>();
    for (const l of lines('qmail-send/current'))
      if (/^new msg /.test(l.text)) births.add(Math.floor(l.t / 1000));
    let checked = 0;
    for (const t of truth) {
      if (t.kind !== 'message' || t.clientIp === null || t.virus !== null) continue;
      if (t.recipients.every((r) => r.status === 'quarantined')) continue;
      expect(births.has(Date.parse(t.firstSeen)), `${t.messageId} ${t.firstSeen}`).toBe(true);
      checked++;
    }
    expect(checked).toBeGreaterThan(1000);
  });
});

describe('qmail site determinism and speed', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  async function run(seed: number): Promise<{ contents: string[]; ms: number; lines: number }> {
    const out = await mkdtemp(join(tmpdir(), 'mailtrace-qmail-'));
    dirs.push(out);
    const started = Date.now();
    const s = await generate({ messages: 400, days: 1, seed, end: END, outDir: out, site: 'qmail' });
    const ms = Date.now() - started;
    return {
      contents: await Promise.all([...s.files, s.groundTruth].map((f) => readFile(f, 'utf8'))),
      ms,
      lines: s.lines,
    };
  }

  it('gives byte-identical files for the same options, other files for another seed, quickly', async () => {
    const a = await run(7);
    const b = await run(7);
    const c = await run(8);
    expect(b.contents).toEqual(a.contents);
    expect(c.contents[0]).not.toEqual(a.contents[0]);
    expect(a.lines).toBeGreaterThan(5000);
    expect(a.ms).toBeLessThan(10_000);
  });

  it('rejects an unknown site', async () => {
    const out = await mkdtemp(join(tmpdir(), 'mailtrace-qmail-'));
    dirs.push(out);
    await expect(
      generate({ messages: 1, days: 1, seed: 1, end: END, outDir: out, site: 'exim' as 'qmail' }),
    ).rejects.toThrow(/site/);
  });
});
