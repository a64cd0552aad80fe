/**
 * `mailtrace generate`: deterministic, realistic multi-host mail logs (Postfix, postscreen, amavisd-new,
 * clamd, spamd, Dovecot) of a small university site, with a ground-truth file to check the correlator
 * against. See README.md in this folder for the site model and the formats.
 */

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Arrivals } from './arrivals.js';
import { Engine, type World } from './engine.js';
import { MessageIds } from './ids.js';
import { Mailbox } from './mailbox.js';
import { Mx } from './mx.js';
import { Outbound } from './outbound.js';
import { FileSink, HostLog, Sequence } from './output.js';
import { generateQmailSite } from './qmail-site.js';
import { Rng } from './random.js';
import { buildSite } from './site.js';
import { ClassicHeader, DAY, HOUR, MINUTE, PreciseHeader, US } from './time.js';
import { Traffic } from './traffic.js';
import { TruthWriter } from './truth.js';

export interface GenerateOptions {
  /** Messages (and refused attempts) to generate; bounces come on top. */
  messages: number;
  /** Days the logs span, ending at `end`. */
  days: number;
  seed: number;
  /** Time of the end of the logs. */
  end: Date;
  outDir: string;
  /** The site's mail domain (default `example.edu`). */
  domain?: string;
  /**
   * `postfix` (default): mx1/mbox1/smtp1, Postfix with amavisd-new. `qmail`: mx2 with qmail,
   * qmail-scanner, spamd and clamd, lists1 with Mailman, mbox1 (see README).
   */
  site?: 'postfix' | 'qmail';
  /** Called now and then with the number of messages generated so far. */
  onProgress?: (done: number) => void;
}

export interface GenerateSummary {
  /** Ground-truth entries written: messages, refused attempts and bounces. */
  messages: number;
  lines: number;
  /** The log files, one per host. */
  files: string[];
  groundTruth: string;
}

/** No message work starts this close to the end, so that every hop it logs is in the files. */
const END_MARGIN = 2 * MINUTE;
/** Arrivals stop this long before the end: an arriving message's hops take up to about a minute. */
const ARRIVAL_MARGIN = 5 * MINUTE;
/** How often (in messages) output back-pressure is honoured and progress reported. */
const BATCH = 1000;

/**
 * Postfix `maximal_queue_lifetime` of the simulated site: the default 5 days when the logs span at
 * least 6 days, otherwise 35% of the span (at least 2 hours), so that expiries show up in short logs.
 */
export function queueLifetime(days: number): number {
  if (days >= 6) return 5 * DAY;
  return Math.max(2 * HOUR, Math.round((days * DAY * 0.35) / HOUR) * HOUR);
}

function validate(opts: GenerateOptions): void {
  if (!Number.isInteger(opts.messages) || opts.messages < 0)
    throw new Error(`messages must be a non-negative integer: ${opts.messages}`);
  if (!(opts.days > 0) || !Number.isFinite(opts.days)) throw new Error(`days must be positive: ${opts.days}`);
  if (!Number.isFinite(opts.seed)) throw new Error(`seed must be a number: ${opts.seed}`);
  if (Number.isNaN(opts.end.getTime())) throw new Error('end is not a valid date');
  if (opts.site !== undefined && opts.site !== 'postfix' && opts.site !== 'qmail')
    throw new Error(`site must be postfix or qmail: ${opts.site}`);
}

export async function generate(opts: GenerateOptions): Promise<GenerateSummary> {
  validate(opts);
  if (opts.site === 'qmail') {
    return generateQmailSite(opts, {
      lifetimeUs: queueLifetime(opts.days),
      endMarginUs: END_MARGIN,
      arrivalMarginUs: ARRIVAL_MARGIN,
      batch: BATCH,
    });
  }
  const domain = opts.domain ?? 'example.edu';
  const endUs = opts.end.getTime() * 1000;
  const startUs = endUs - Math.round(opts.days * DAY);
  const rng = new Rng(opts.seed);
  const site = buildSite(rng.fork(1), domain, opts.messages);

  const hosts = [site.mx1, site.mbox1, site.smtp1];
  await Promise.all(hosts.map((h) => mkdir(join(opts.outDir, h), { recursive: true })));
  const seq = new Sequence();
  const logFor = (fqdn: string, precise: boolean): HostLog => {
    const short = fqdn.slice(0, fqdn.indexOf('.'));
    const format = precise ? new PreciseHeader(short) : new ClassicHeader(short);
    return new HostLog(fqdn, format, new FileSink(join(opts.outDir, fqdn, 'mail.log')), seq, endUs);
  };
  const mxLog = logFor(site.mx1, false);
  const mboxLog = logFor(site.mbox1, true);
  const smtpLog = logFor(site.smtp1, false);
  const logs = [mxLog, mboxLog, smtpLog];
  const groundTruth = join(opts.outDir, 'ground-truth.jsonl');
  const truth = new TruthWriter(new FileSink(groundTruth));

  const engine = new Engine(seq, startUs, endUs, END_MARGIN);
  const world: World = {
    rng: rng.fork(2),
    engine,
    site,
    truth,
    messageIds: new MessageIds(rng.fork(3)),
    lifetimeUs: queueLifetime(opts.days),
  };
  const mailbox = new Mailbox(world, mboxLog);
  const outbound = new Outbound(world, smtpLog);
  const mx = new Mx(world, mxLog, mailbox);
  mailbox.relay = outbound;
  outbound.mailbox = mailbox;
  const traffic = new Traffic(world, mx, outbound);

  const arrivalEnd = Math.max(startUs + 1, endUs - ARRIVAL_MARGIN);
  mx.startTimers();
  mailbox.pf.startAnvil(engine, startUs);
  outbound.pf.startAnvil(engine, startUs);
  if (opts.messages > 0) {
    const perSecond = opts.messages / ((arrivalEnd - startUs) / US);
    mx.startNoise(perSecond);
    mailbox.startNoise(perSecond);
    outbound.startNoise(perSecond);
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
    if (done % BATCH === 0) {
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
