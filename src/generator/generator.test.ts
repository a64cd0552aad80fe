import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import libmime from 'libmime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GenerateSummary, generate, queueLifetime } from './index.js';
import { commandStats } from './postfix.js';
import { Rng } from './random.js';
import { ANY_HEADER, SHAPES, shapeOf } from './testing/shapes.js';
import { encodeSubject } from './text.js';
import { classicStamp, DAY, HOUR, postfixDelay } from './time.js';

// ---- line shapes, each grounded in real lines (fixtures/real-lines.txt): see testing/shapes.ts ----

describe('line shapes', () => {
  it('every shape matches the real lines it was taken from', async () => {
    const fixture = await readFile(new URL('./fixtures/real-lines.txt', import.meta.url), 'utf8');
    const covered = new Set<string>();
    let count = 0;
    for (const line of fixture.split('\n')) {
      const m = /^\[([\w-]+)\] (.*)$/.exec(line);
      if (!m) continue;
      const [, shape = '', real = ''] = m;
      const rx = SHAPES[shape];
      expect(rx, `unknown shape ${shape}`).toBeDefined();
      expect(rx?.test(real.replace(ANY_HEADER, '')), `${shape}: ${real}`).toBe(true);
      covered.add(shape);
      count++;
    }
    expect(count).toBeGreaterThan(60);
    // Every shape the generator may write has at least one real sample.
    expect([...covered].sort()).toEqual(Object.keys(SHAPES).sort());
  });
});

// ---- one medium run shared by the checks below ----

interface Parsed {
  host: string;
  /** Sortable time key: `DD HH:MM:SS` (classic) or the RFC 3339 stamp. */
  key: string;
  stamp: string;
  text: string;
}

const CLASSIC = /^(Nov [ \d]\d \d\d:\d\d:\d\d) (mx1|smtp1) (.*)$/;
const PRECISE = /^(2026-11-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00) mbox1 (.*)$/;

function parseLog(host: string, content: string): Parsed[] {
  const out: Parsed[] = [];
  const lines = content.split('\n');
  expect(lines.pop()).toBe('');
  for (const line of lines) {
    if (host.startsWith('mbox1')) {
      const m = PRECISE.exec(line);
      expect(m, line).not.toBeNull();
      out.push({ host, key: m?.[1] ?? '', stamp: m?.[1] ?? '', text: m?.[2] ?? '' });
    } else {
      const m = CLASSIC.exec(line);
      expect(m, line).not.toBeNull();
      const stamp = m?.[1] ?? '';
      out.push({ host, key: stamp.slice(4).replace(' ', '0'), stamp, text: m?.[3] ?? '' });
    }
  }
  return out;
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
let dir = '';
let summary: GenerateSummary;
let logs: Parsed[] = [];
let byHost: Record<string, Parsed[]> = {};
let truth: Truth[] = [];

function count(pred: (p: Parsed) => boolean): number {
  return logs.reduce((n, p) => n + (pred(p) ? 1 : 0), 0);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mailtrace-gen-'));
  summary = await generate({ messages: 6000, days: 3, seed: 42, end: END, outDir: dir });
  byHost = {};
  for (const file of summary.files) {
    const host = file.split('/').at(-2) ?? '';
    byHost[host] = parseLog(host, await readFile(file, 'utf8'));
  }
  logs = Object.values(byHost).flat();
  truth = (await readFile(summary.groundTruth, 'utf8'))
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Truth);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('generate', () => {
  it('writes one classic or RFC 3339 log per host and a ground truth with the summary counts', () => {
    expect(summary.files.map((f) => f.split('/').slice(-2).join('/'))).toEqual([
      'mx1.example.edu/mail.log',
      'mbox1.example.edu/mail.log',
      'smtp1.example.edu/mail.log',
    ]);
    expect(summary.groundTruth).toBe(join(dir, 'ground-truth.jsonl'));
    expect(summary.lines).toBe(logs.length);
    expect(summary.messages).toBe(truth.length);
    expect(truth.length).toBeGreaterThan(6000);
    // Days below 10 are padded with a space, as syslog does.
    expect(byHost['mx1.example.edu']?.[0]?.stamp).toMatch(/^Nov {2}5 /);
  });

  it('keeps every file in time order', () => {
    for (const [host, lines] of Object.entries(byHost)) {
      for (let i = 1; i < lines.length; i++) {
        const prev = lines[i - 1]?.key ?? '';
        const cur = lines[i]?.key ?? '';
        if (cur < prev) expect.fail(`${host} line ${i + 1} goes back in time: ${prev} > ${cur}`);
      }
    }
  });

  it('writes only lines of known real shapes, and every shape appears', () => {
    const seen = new Set<string>();
    for (const p of logs) {
      const shape = shapeOf(p.text);
      if (shape === null) expect.fail(`${p.host}: unknown line shape: ${p.text}`);
      seen.add(shape);
    }
    expect([...seen].sort()).toEqual(Object.keys(SHAPES).sort());
  });

  it('uses short Postfix queue ids, each created once in the run', () => {
    const created = new Map<string, number>();
    for (const p of logs) {
      const m = /: ([0-9A-F]+): (?:client=|message-id=)/.exec(p.text);
      if (m?.[1] && /: client=/.test(p.text)) created.set(m[1], (created.get(m[1]) ?? 0) + 1);
    }
    // DSNs start with cleanup's message-id line (no client=).
    for (const p of logs) {
      const m = /^postfix\/bounce\[\d+\]: [0-9A-F]+: sender non-delivery notification: ([0-9A-F]+)$/.exec(
        p.text,
      );
      if (m?.[1]) created.set(m[1], (created.get(m[1]) ?? 0) + 1);
    }
    expect(created.size).toBeGreaterThan(10000);
    for (const [qid, n] of created) {
      expect(qid).toMatch(/^[0-9A-F]{10,11}$/);
      if (n !== 1) expect.fail(`queue id ${qid} created ${n} times`);
    }
  });

  it('gives every message a unique message-id that the logs show', () => {
    const ids = truth.filter((t) => t.kind === 'message').map((t) => t.messageId);
    expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    const logged = new Set<string>();
    for (const p of logs) {
      const m = /(?:message-id|msgid)=<([^<>\s]+)>/.exec(p.text);
      if (m?.[1]) logged.add(m[1]);
    }
    for (const id of ids) if (!logged.has(id ?? '')) expect.fail(`message-id ${id} not in the logs`);
    for (const t of truth.filter((x) => x.kind === 'refused')) expect(t.messageId).toBeNull();
  });
});

describe('ground truth against the logs', () => {
  const statuses = (
    status: string,
    where: (r: Truth['recipients'][number], t: Truth) => boolean = () => true,
  ) => truth.reduce((n, t) => n + t.recipients.filter((r) => r.status === status && where(r, t)).length, 0);

  it('has the mix of outcomes the site produces', () => {
    for (const s of ['delivered', 'deferred', 'bounced', 'rejected', 'expired', 'quarantined']) {
      expect(statuses(s), s).toBeGreaterThan(0);
    }
    const inbound = truth.filter((t) => t.subject !== null || t.kind === 'refused').length;
    expect(inbound / truth.length).toBeGreaterThan(0.5);
    expect(truth.filter((t) => t.spam).length / truth.length).toBeGreaterThan(0.15);
    expect(truth.some((t) => t.recipients.length >= 10)).toBe(true);
    expect(truth.some((t) => t.recipients.some((r) => r.origRecipient !== null))).toBe(true);
  });

  it('counts one status=bounced line per bounced recipient, and one bounce message per bounce', () => {
    expect(count((p) => p.text.includes(', status=bounced ('))).toBe(statuses('bounced'));
    const dsns = truth.filter((t) => t.sender === '');
    expect(count((p) => p.text.includes(': sender non-delivery notification: '))).toBe(dsns.length);
    for (const d of dsns) {
      expect(d.kind).toBe('message');
      expect(d.recipients).toHaveLength(1);
      expect(d.clientIp).toBeNull();
    }
    // Over-quota mailboxes are the only local bounces.
    const quota = statuses('bounced', (r) => r.recipient.endsWith('@example.edu'));
    expect(count((p) => p.text.includes(': save failed to INBOX: Quota exceeded'))).toBe(quota);
  });

  it('has one mailbox line per recipient delivered into a mailbox', () => {
    const stored = count((p) => /: saved mail to INBOX$|: stored mail into mailbox '/.test(p.text));
    expect(stored).toBe(statuses('delivered', (r) => r.mailbox !== null));
    expect(count((p) => p.text.endsWith(": stored mail into mailbox 'Junk'"))).toBe(
      statuses('delivered', (r) => r.mailbox === 'Junk'),
    );
    for (const t of truth) {
      for (const r of t.recipients) {
        if (r.mailbox !== null) expect(r.status).toBe('delivered');
        if (r.status === 'delivered' && r.recipient.endsWith('@example.edu'))
          expect(r.mailbox).not.toBeNull();
      }
    }
  });

  it('marks amavis-blocked recipients quarantined, viruses with their clamd signature', () => {
    expect(count((p) => p.text.includes(', dsn=2.7.0, status=sent (250 2.7.0 Ok, discarded, id='))).toBe(
      statuses('quarantined'),
    );
    const infected = truth.filter((t) => t.virus !== null);
    expect(infected.length).toBeGreaterThan(0);
    const blockedLines = logs.filter((p) => p.text.includes(' Blocked INFECTED ('));
    for (const t of infected) {
      expect(t.recipients.every((r) => r.status === 'quarantined')).toBe(true);
      expect(t.spam).toBe(false);
      const line = blockedLines.find((p) => p.text.includes(`Message-ID: <${t.messageId}>`));
      expect(line?.text).toContain(`Blocked INFECTED (${t.virus})`);
    }
  });

  it('links each clamd verdict to the amavis child whose pid names the temp folder', () => {
    const mx = byHost['mx1.example.edu'] ?? [];
    const found = mx.filter((p) => p.text.startsWith('clamd['));
    const verdicts = found.filter((p) => p.text.endsWith(' FOUND'));
    expect(verdicts.length).toBeGreaterThan(0);
    for (const v of verdicts) {
      const m = /amavis-\d{8}T\d{6}-(\d+)-\w+\/parts\/p\d{3}: (\S+) FOUND$/.exec(v.text);
      expect(m, v.text).not.toBeNull();
      const pid = Number(m?.[1]);
      const next = mx.find(
        (p) =>
          p.key >= v.key && p.text.startsWith(`amavis[${pid}]: (`) && p.text.includes(' Blocked INFECTED ('),
      );
      expect(next?.text, v.text).toContain(`Blocked INFECTED (${m?.[2]})`);
    }
  });

  it('shows every refused recipient in a reject line from the same sender', () => {
    const pairs = new Set<string>();
    for (const p of logs) {
      const m = /reject: RCPT from .* from=<([^>]*)>,? to=<([^>]*)>/.exec(p.text);
      if (m) pairs.add(`${m[1]}|${m[2]}`);
    }
    const refused = truth.filter((t) => t.kind === 'refused');
    expect(refused.length).toBeGreaterThan(0);
    for (const t of refused) {
      expect(t.clientIp).not.toBeNull();
      expect(t.spam).toBe(true);
      for (const r of t.recipients) {
        expect(r.status).toBe('rejected');
        expect(pairs.has(`${t.sender}|${r.recipient}`), `${t.sender} -> ${r.recipient}`).toBe(true);
      }
    }
    const rejectLines = count((p) => /reject: RCPT from /.test(p.text));
    const milterRejected = truth.filter(
      (t) => t.kind === 'message' && t.recipients.every((r) => r.status === 'rejected'),
    );
    expect(count((p) => p.text.includes(': milter-reject: END-OF-MESSAGE from '))).toBe(
      milterRejected.length,
    );
    expect(statuses('rejected')).toBeGreaterThanOrEqual(rejectLines);
  });

  it('leaves deferred and expired recipients with a last attempt that was deferred', () => {
    const smtp1 = byHost['smtp1.example.edu'] ?? [];
    const queuesOf = new Map<string, string[]>();
    for (const p of smtp1) {
      const m = /^postfix\/cleanup\[\d+\]: ([0-9A-F]+): message-id=<([^>]+)>$/.exec(p.text);
      if (m?.[1] && m[2]) queuesOf.set(m[2], [...(queuesOf.get(m[2]) ?? []), m[1]]);
    }
    const expiredQueues = new Set(
      smtp1
        .map((p) => /^postfix\/qmgr\[\d+\]: ([0-9A-F]+): from=<[^>]*>, status=expired/.exec(p.text)?.[1])
        .filter(Boolean),
    );
    let checked = 0;
    for (const t of truth) {
      for (const r of t.recipients) {
        if (r.status !== 'deferred' && r.status !== 'expired') continue;
        const queues = queuesOf.get(t.messageId ?? '') ?? [];
        const attempts = smtp1.filter((p) =>
          queues.some((q) => p.text.includes(`: ${q}: to=<${r.recipient}>,`)),
        );
        expect(attempts.at(-1)?.text, `${t.messageId} ${r.recipient}`).toContain(', status=deferred (');
        if (r.status === 'expired') expect(queues.some((q) => expiredQueues.has(q))).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(0);
    const expiredMessages = truth.filter((t) => t.recipients.some((r) => r.status === 'expired')).length;
    expect(count((p) => p.text.includes(', status=expired, returned to sender'))).toBe(expiredMessages);
  });

  it('gives the decoded Subject that mx1 logs, and null where no host logs it', () => {
    const mx = byHost['mx1.example.edu'] ?? [];
    const midOf = new Map<string, string>();
    const subjects = new Map<string, string[]>();
    for (const p of mx) {
      const id = /^postfix\/cleanup\[\d+\]: ([0-9A-F]+): message-id=<([^>]+)>$/.exec(p.text);
      if (id?.[1] && id[2]) midOf.set(id[1], id[2]);
      const subject =
        /^postfix\/cleanup\[\d+\]: ([0-9A-F]+): warning: header Subject: (.*) from \S+\[[^\]]+\]; from=/.exec(
          p.text,
        );
      if (subject?.[1] && subject[2] !== undefined) {
        const mid = midOf.get(subject[1]) ?? '';
        subjects.set(mid, [...(subjects.get(mid) ?? []), libmime.decodeWords(subject[2])]);
      }
    }
    let checked = 0;
    for (const t of truth) {
      const logged = subjects.get(t.messageId ?? '');
      if (t.subject === null) {
        expect(logged, `${t.messageId}`).toBeUndefined();
      } else {
        expect(logged).toContain(t.subject);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(1000);
    expect(truth.some((t) => t.subject?.includes('<script>'))).toBe(true);
    expect(truth.some((t) => t.subject !== null && /[áéíóúñ]/.test(t.subject))).toBe(true);
  });

  it('dates each message at its first queue line', () => {
    const firstLine = new Map<string, string[]>();
    const qidTime = new Map<string, string>();
    for (const p of logs) {
      const client = /: ([0-9A-F]+): client=/.exec(p.text);
      if (client?.[1]) qidTime.set(client[1], p.stamp);
      const id = /^postfix\/cleanup\[\d+\]: ([0-9A-F]+): message-id=<([^>]+)>$/.exec(p.text);
      if (id?.[1] && id[2]) {
        const at = qidTime.get(id[1]) ?? p.stamp;
        firstLine.set(id[2], [...(firstLine.get(id[2]) ?? []), at]);
      }
    }
    for (const t of truth.filter((x) => x.kind === 'message')) {
      const seen = new Date(t.firstSeen).getTime() * 1000;
      const classic = classicStamp(seen);
      const precise = `${t.firstSeen.slice(0, 23)}`;
      const stamps = firstLine.get(t.messageId ?? '') ?? [];
      expect(
        stamps.some((s) => s === classic || s.startsWith(precise)),
        `${t.messageId} ${t.firstSeen} ${stamps.join(',')}`,
      ).toBe(true);
    }
  });
});

describe('determinism and speed', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  async function run(seed: number): Promise<{ summary: GenerateSummary; contents: string[]; ms: number }> {
    const out = await mkdtemp(join(tmpdir(), 'mailtrace-gen-'));
    dirs.push(out);
    const started = Date.now();
    const s = await generate({ messages: 400, days: 1, seed, end: END, outDir: out });
    const ms = Date.now() - started;
    const contents = await Promise.all([...s.files, s.groundTruth].map((f) => readFile(f, 'utf8')));
    return { summary: s, contents, ms };
  }

  it('gives byte-identical files for the same options, other files for another seed, quickly', async () => {
    const a = await run(7);
    const b = await run(7);
    const c = await run(8);
    expect(b.contents).toEqual(a.contents);
    expect(a.summary.lines).toBe(b.summary.lines);
    expect(c.contents[0]).not.toEqual(a.contents[0]);
    expect(c.contents[3]).not.toEqual(a.contents[3]);
    expect(a.summary.messages).toBeGreaterThanOrEqual(400);
    expect(a.ms).toBeLessThan(10_000);
  });

  it('writes empty logs for zero messages and rejects bad options', async () => {
    const out = await mkdtemp(join(tmpdir(), 'mailtrace-gen-'));
    dirs.push(out);
    const s = await generate({ messages: 0, days: 1, seed: 1, end: END, outDir: out });
    expect(s.messages).toBe(0);
    expect(await readFile(s.groundTruth, 'utf8')).toBe('');
    await expect(generate({ messages: -1, days: 1, seed: 1, end: END, outDir: out })).rejects.toThrow(
      /messages/,
    );
    await expect(generate({ messages: 1, days: 0, seed: 1, end: END, outDir: out })).rejects.toThrow(/days/);
    await expect(
      generate({ messages: 1, days: 1, seed: 1, end: new Date('x'), outDir: out }),
    ).rejects.toThrow(/end/);
  });
});

describe('helpers', () => {
  it('formats Postfix delays like Postfix', () => {
    expect([0.004, 0.05, 0.2, 0.38, 0.999, 1.94, 2.01, 9.97, 10.6, 2071.3].map(postfixDelay)).toEqual([
      '0',
      '0.05',
      '0.2',
      '0.38',
      '1',
      '1.9',
      '2',
      '10',
      '10',
      '2071',
    ]);
  });

  it('writes Postfix 3.x disconnect statistics', () => {
    // As in corpus postfix/lightmeter/20_rejected.log.
    expect(
      commandStats([
        ['ehlo', 2, 2],
        ['starttls', 1, 1],
        ['auth', 1, 1],
        ['mail', 1, 1],
        ['rcpt', 1, 2],
        ['data', 0, 0],
        ['quit', 1, 1],
      ]),
    ).toBe('ehlo=2 starttls=1 auth=1 mail=1 rcpt=1/2 quit=1 commands=7/8');
    expect(commandStats([['ehlo', 1, 1]])).toBe('ehlo=1 commands=1');
  });

  it('encodes subjects that decode back to themselves', () => {
    const rng = new Rng(3);
    const samples = [
      'Reunión del consejo',
      '会議の議事録',
      'Plain ASCII',
      'Änderung der Prüfungsordnung',
      'Pedido \u202Efdp.exe',
    ];
    const styles = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const decoded = rng.pick(samples);
      const s = encodeSubject(rng, decoded);
      expect(s.decoded).toBe(decoded);
      expect(libmime.decodeWords(s.raw)).toBe(decoded);
      expect(s.raw.length).toBeLessThanOrEqual(180);
      styles.add(s.raw.startsWith('=?') ? s.raw.slice(0, s.raw.indexOf('?', 2) + 3) : 'raw');
    }
    expect(styles).toContain('=?UTF-8?B?');
    expect(styles).toContain('=?UTF-8?Q?');
    expect(styles).toContain('=?ISO-8859-1?Q?');
    expect(styles).toContain('raw');
  });

  it('keeps the 5-day queue lifetime only when the logs are long enough', () => {
    expect(queueLifetime(6)).toBe(5 * DAY);
    expect(queueLifetime(30)).toBe(5 * DAY);
    expect(queueLifetime(1)).toBe(8 * HOUR);
    expect(queueLifetime(0.1)).toBe(2 * HOUR);
  });
});
