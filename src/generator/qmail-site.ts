/**
 * The qmail site (`generate({ site: 'qmail' })`): mx2 runs qmail with qmail-scanner, spamd and clamd;
 * list mail goes to lists1 (Postfix + Mailman 2.1), the rest to mbox1 (Postfix + Dovecot, as in the
 * Postfix site). See README.md for the model and the files.
 */

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Arrivals } from './arrivals.js';
import { Engine, type World } from './engine.js';
import { MessageIds } from './ids.js';
import type { GenerateOptions, GenerateSummary } from './index.js';
import { Mailbox } from './mailbox.js';
import { buildLists, Lists } from './mailman.js';
import { FileSink, HostLog, Sequence } from './output.js';
import { QmailMx } from './qmail-mx.js';
import { QmailTraffic } from './qmail-traffic.js';
import { Rng } from './random.js';
import { buildSite } from './site.js';
import { mailmanHeader, multilogStamp, TextLog } from './textlog.js';
import { ClassicHeader, PreciseHeader, US } from './time.js';
import { TruthWriter } from './truth.js';

/** What the Postfix site's `generate` settles before handing over (shared limits and margins). */
export interface SiteTiming {
  lifetimeUs: number;
  endMarginUs: number;
  arrivalMarginUs: number;
  /** How often (in messages) output back-pressure is honoured and progress reported. */
  batch: number;
}

/** Any of the site's log files. */
interface Log {
  readonly path: string;
  readonly lines: number;
  flush(t: number): void;
  ready(): Promise<void>;
  close(): Promise<void>;
}

/** Share of users whose mailbox is full here: their mail bounces back through the MX. */
const QUOTA_FULL = 0.02;

export async function generateQmailSite(opts: GenerateOptions, timing: SiteTiming): Promise<GenerateSummary> {
  const domain = opts.domain ?? 'example.edu';
  const listDomain = `lists.${domain}`;
  const endUs = opts.end.getTime() * 1000;
  const startUs = endUs - Math.round(opts.days * 86_400 * US);
  const rng = new Rng(opts.seed);
  const site = buildSite(rng.fork(1), domain, opts.messages);
  const quotaRng = rng.fork(5);
  for (const user of site.users) if (quotaRng.chance(QUOTA_FULL)) user.quotaFull = true;
  const mx2 = `mx2.${domain}`;
  const lists1 = `lists1.${domain}`;
  const dirs = [join(mx2, 'qmail-send'), join(mx2, 'qmail-smtpd'), join(lists1, 'mailman'), site.mbox1];
  await Promise.all(dirs.map((d) => mkdir(join(opts.outDir, d), { recursive: true })));

  const seq = new Sequence();
  const file = (...parts: string[]): FileSink => new FileSink(join(opts.outDir, ...parts));
  const text = (sink: FileSink, stamp: (t: number) => string): TextLog =>
    new TextLog(sink, seq, stamp, endUs);
  const sendLog = text(file(mx2, 'qmail-send', 'current'), multilogStamp);
  const smtpdLog = text(file(mx2, 'qmail-smtpd', 'current'), multilogStamp);
  const maillog = new HostLog(mx2, new ClassicHeader('mx2'), file(mx2, 'maillog'), seq, endUs);
  const listsLog = new HostLog(lists1, new ClassicHeader('lists1'), file(lists1, 'mail.log'), seq, endUs);
  const mailman = {
    post: text(file(lists1, 'mailman', 'post'), mailmanHeader),
    smtp: text(file(lists1, 'mailman', 'smtp'), mailmanHeader),
    smtpFailure: text(file(lists1, 'mailman', 'smtp-failure'), mailmanHeader),
    vette: text(file(lists1, 'mailman', 'vette'), mailmanHeader),
  };
  const mboxLog = new HostLog(
    site.mbox1,
    new PreciseHeader('mbox1'),
    file(site.mbox1, 'mail.log'),
    seq,
    endUs,
  );
  const logs: Log[] = [
    sendLog,
    smtpdLog,
    maillog,
    listsLog,
    mailman.post,
    mailman.smtp,
    mailman.smtpFailure,
    mailman.vette,
    mboxLog,
  ];
  const groundTruth = join(opts.outDir, 'ground-truth.jsonl');
  const truth = new TruthWriter(new FileSink(groundTruth));

  const engine = new Engine(seq, startUs, endUs, timing.endMarginUs);
  const world: World = {
    rng: rng.fork(2),
    engine,
    site,
    truth,
    messageIds: new MessageIds(rng.fork(3)),
    lifetimeUs: timing.lifetimeUs,
  };
  const mailbox = new Mailbox(world, mboxLog);
  const lists = new Lists(world, listsLog, mailman, buildLists(rng.fork(6), site, listDomain), listDomain, {
    fqdn: lists1,
    ip: '10.10.0.40',
  });
  const mx = new QmailMx(world, smtpdLog, sendLog, maillog, mailbox, lists, mx2, '10.10.0.11', '192.0.2.26');
  mailbox.relay = mx;
  lists.postfix.mailbox = mailbox;
  const traffic = new QmailTraffic(world, mx, lists);

  const arrivalEnd = Math.max(startUs + 1, endUs - timing.arrivalMarginUs);
  mx.startTimers();
  mailbox.pf.startAnvil(engine, startUs);
  lists.pf.startAnvil(engine, startUs);
  if (opts.messages > 0) {
    const perSecond = opts.messages / ((arrivalEnd - startUs) / US);
    traffic.startNoise(perSecond);
    mailbox.startNoise(perSecond);
  }

  const arrivals = new Arrivals(rng.fork(4), startUs, arrivalEnd, opts.messages);
  let t = arrivals.next();
  let done = 0;
  while (t !== null) {
    engine.runUntil(t);
    traffic.next(t);
    done++;
    const next = arrivals.next();
    const watermark = Math.min(next ?? endUs, engine.nextTime());
    for (const log of logs) log.flush(watermark);
    t = next;
    if (done % timing.batch === 0) {
      await Promise.all([...logs.map((l) => l.ready()), truth.ready()]);
      opts.onProgress?.(done);
    }
  }
  engine.runUntil(endUs);
  for (const log of logs) await log.close();
  await truth.close();
  opts.onProgress?.(done);
  return {
    messages: truth.entries,
    lines: logs.reduce((sum, l) => sum + l.lines, 0),
    files: logs.map((l) => l.path),
    groundTruth,
  };
}
