/**
 * mx1: the inbound MX. postscreen in front of smtpd; spamass-milter asks spamd during the SMTP
 * session; amavisd-new (with clamd) is the content filter (smtp to 127.0.0.1:10024, re-injection on
 * 127.0.0.1:10025 under a new queue id); clean and tagged mail is relayed to mbox1. Subjects are
 * logged by a `header_checks` WARN rule.
 */

import type { Mail, Peer, Rcpt, World } from './engine.js';
import { longLived, type Proc, ProcessPool } from './ids.js';
import type { LocalTarget } from './outbound.js';
import type { HostLog } from './output.js';
import { commandStats, PostfixHost } from './postfix.js';
import { botIp, botName } from './site.js';
import { SPAM_SCORE, Spamd } from './spamd.js';
import type { Subject } from './text.js';
import { compactStamp, MINUTE, postfixDelay, US, us } from './time.js';
import type { Tracked } from './truth.js';

/** spamd's required score is also amavis's tag2 level: at or above, the message is spam. */
export { SPAM_SCORE };
/** amavis kill level: at or above, amavis blocks the message as spam. */
export const KILL_SCORE = 10;
/** spamass-milter's reject level (`-r 20`): at or above, the milter rejects at end of DATA. */
export const REJECT_SCORE = 20;

const QUEUE_OVERHEAD = 380;
const REINJECT_OVERHEAD = 880;
const RCPT_LIMIT = 50;
const MX_IPV6 = '2001:db8:10::25';
/** spamass-milter runs as its own user (Debian: uid 118). */
const SPAMASS_MILTER = { name: 'spamass-milter', uid: 118 };
const TLS_IN = [
  'TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256',
  'TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256',
  'TLSv1.3 with cipher TLS_AES_128_GCM_SHA256 (128/128 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256',
  'TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)',
] as const;

/** An SMTP client of mx1. */
export interface Client extends Peer {
  helo: string;
  port: number;
  /** A reverse name that does not resolve back (smtpd warns and calls the client `unknown`). */
  claimed?: string;
}

/** One RCPT TO as given by the client. */
export interface Given {
  address: string;
  /** Known here (a mailbox or an alias); unknown addresses are rejected at RCPT. */
  valid: boolean;
  /** Final recipients after alias expansion (`orig` set for aliases). */
  targets: { address: string; orig: string | null }[];
}

export interface InboundSpec {
  client: Client;
  /** postscreen has seen the client pass before (PASS OLD) or not (PASS NEW). */
  known: boolean;
  tls: boolean;
  sender: string;
  given: Given[];
  messageId: string;
  subject: Subject | null;
  size: number;
  score: number;
  rules: string;
  virus: string | null;
  dkim: string | null;
  /** Ground truth: the message is spam (as generated, whatever the filters say). */
  spam: boolean;
}

interface AmavisChild extends Proc {
  /** `(12345-07)`: the child's task counter. */
  task: number;
  pidText: string;
  /** The child's temp folder, whose number is its pid (clamd names the parts inside it). */
  tmp: string;
}

/** `%.3f` without trailing zeros, as amavis prints `Hits:`. */
function hits(score: number): string {
  return String(Number(score.toFixed(3)));
}

function bracket(ip: string, port: number): string {
  return `[${ip}]:${port}`;
}

export class Mx {
  readonly pf: PostfixHost;
  private readonly postscreen: Proc;
  private readonly dnsblog: ProcessPool;
  private readonly reinject: ProcessPool;
  private readonly amavis: ProcessPool<AmavisChild>;
  private readonly spamd: Spamd;
  private readonly clamd: Proc;

  constructor(
    private readonly w: World,
    log: HostLog,
    private readonly mailbox: LocalTarget,
  ) {
    const pf = new PostfixHost(w.site.mx1, w.site.mx1Ip, log, w.rng.fork(1), [0x100000, 0xa00000]);
    this.pf = pf;
    const rng = pf.rng;
    this.postscreen = longLived('postfix/postscreen', pf.pids);
    this.dnsblog = pf.pool('postfix/dnsblog');
    this.reinject = pf.pool('postfix/smtpd');
    this.clamd = longLived('clamd', pf.pids);
    this.amavis = new ProcessPool<AmavisChild>(
      'amavis',
      pf.pids,
      rng,
      { maxIdle: Number.POSITIVE_INFINITY, maxUse: 20 },
      (base, t, logged) => {
        const pidText = String(base.pid).padStart(5, '0');
        const started = logged ? t : t - us(rng.real(60, 7200));
        // A child running before the logs begin has served some tasks already.
        const task = logged ? 0 : rng.int(0, 12);
        return {
          ...base,
          uses: task,
          task,
          pidText,
          tmp: `/var/lib/amavis/tmp/amavis-${compactStamp(started)}-${pidText}-${rng.alnum(8)}`,
        };
      },
    );
    this.amavis.prefill(2, w.engine.startUs);
    this.spamd = new Spamd(pf.pids, rng, (t, tag, text) => pf.emit(t, tag, text), w.engine.startUs);
  }

  get fqdn(): string {
    return this.pf.fqdn;
  }

  /** clamd's periodic database check and anvil's statistics. */
  startTimers(): void {
    const engine = this.w.engine;
    const tick = (t: number): void => {
      this.pf.emit(t, this.clamd.tag, 'SelfCheck: Database status OK.');
      engine.atAny(t + 10 * MINUTE, tick);
    };
    engine.atAny(engine.startUs + us(this.pf.rng.real(1, 600)), tick);
    this.pf.startAnvil(engine, engine.startUs);
  }

  private connectLine(t: number, c: Client): void {
    const target = c.ip.includes(':') ? MX_IPV6 : this.w.site.mxPublicIp;
    this.pf.emit(t, this.postscreen.tag, `CONNECT from ${bracket(c.ip, c.port)} to [${target}]:25`);
  }

  /** postscreen lets the client through to smtpd; returns when smtpd has the connection. */
  private postscreenPass(t: number, c: Client, known: boolean): number {
    const rng = this.pf.rng;
    this.connectLine(t, c);
    const passed = t + us(known ? rng.real(0.0002, 0.12) : rng.real(6, 6.4));
    this.pf.emit(passed, this.postscreen.tag, `${known ? 'PASS OLD' : 'PASS NEW'} ${bracket(c.ip, c.port)}`);
    return passed + us(rng.real(0.001, 0.01));
  }

  /** smtpd's `connect from` (after its reverse-lookup warning, if any). */
  private smtpdConnect(t: number, proc: Proc, c: Client): string {
    const who = `${c.name}[${c.ip}]`;
    if (c.claimed) {
      this.pf.emit(
        t,
        proc.tag,
        `warning: hostname ${c.claimed} does not resolve to address ${c.ip}: Name or service not known`,
      );
    }
    this.pf.anvil.connect(t, 'smtpd', c.ip);
    this.pf.emit(t, proc.tag, `connect from ${who}`);
    return who;
  }

  /** A session that reaches RCPT: recipients accepted or rejected, then DATA for the accepted ones. */
  receive(t0: number, spec: InboundSpec): void {
    const pf = this.pf;
    const rng = pf.rng;
    const c = spec.client;
    let t = this.postscreenPass(t0, c, spec.known);
    const proc = pf.smtpd.acquire(t, t + 60 * US);
    const who = this.smtpdConnect(t, proc, c);
    let ehlo = 1;
    let starttls = 0;
    if (spec.tls) {
      t += us(rng.real(0.05, 0.25));
      pf.emit(t, proc.tag, `Anonymous TLS connection established from ${who}: ${rng.pick(TLS_IN)}`);
      ehlo = 2;
      starttls = 1;
    }
    t += us(rng.real(0.05, 0.4));
    let qid: string | null = null;
    let tClient = 0;
    let firstReject = 0;
    const rejected: string[] = [];
    const accepted: Given[] = [];
    const tail = (to: string): string => `from=<${spec.sender}> to=<${to}> proto=ESMTP helo=<${c.helo}>`;
    for (const g of spec.given) {
      t += us(rng.real(0.01, 0.08));
      if (g.valid) {
        if (qid === null) {
          qid = pf.qids.next(t);
          tClient = t;
          pf.emit(t, proc.tag, `${qid}: client=${who}`);
        }
        accepted.push(g);
      } else {
        pf.emit(
          t,
          proc.tag,
          `${qid ?? 'NOQUEUE'}: reject: RCPT from ${who}: 550 5.1.1 <${g.address}>: Recipient address rejected: User unknown in virtual mailbox table; ${tail(g.address)}`,
        );
        if (rejected.length === 0) firstReject = t;
        rejected.push(g.address);
      }
    }
    const nGiven = spec.given.length;
    const first = accepted[0];
    if (qid === null || first === undefined) {
      this.refused(spec, firstReject, rejected);
      const quit = t + us(rng.real(0.05, 0.5));
      const stats = commandStats([
        ['ehlo', ehlo, ehlo],
        ['starttls', starttls, starttls],
        ['mail', 1, 1],
        ['rcpt', 0, nGiven],
        ['quit', 1, 1],
      ]);
      pf.emit(quit, proc.tag, `disconnect from ${who} ${stats}`);
      proc.busyUntil = quit;
      return;
    }
    const tracked = this.w.truth.track({
      kind: 'message',
      messageId: spec.messageId,
      sender: spec.sender,
      subject: spec.subject?.decoded ?? null,
      clientIp: c.ip,
      firstSeen: tClient,
      spam: spec.spam,
      virus: spec.virus,
    });
    for (const address of rejected) tracked.settle(tracked.add(address, null), 'rejected');
    const rcpts: Rcpt[] = [];
    for (const g of accepted) {
      for (const target of g.targets)
        rcpts.push({ ...target, truth: tracked.add(target.address, target.orig) });
    }
    tracked.seal();
    const mail: Mail = {
      tracked,
      sender: spec.sender,
      messageId: spec.messageId,
      subject: spec.subject,
      size: spec.size,
      score: spec.score,
      rules: spec.rules,
      virus: spec.virus,
      dkim: spec.dkim,
    };
    // DATA: cleanup logs the message-id and, through the header_checks WARN rule, the Subject.
    t += us(rng.real(0.05, 0.3) + spec.size / rng.real(1e6, 5e6));
    const cleanup = pf.messageId(t, qid, spec.messageId);
    if (spec.subject) {
      pf.emit(
        t + us(0.0004),
        cleanup.tag,
        `${qid}: warning: header Subject: ${spec.subject.raw} from ${who}; ${tail(first.address)}`,
      );
    }
    const scanned = this.spamdCheck(t + us(rng.real(0.002, 0.02)), mail);
    const okRcpt = accepted.length;
    if (spec.score >= REJECT_SCORE) {
      pf.emit(
        scanned,
        cleanup.tag,
        `${qid}: milter-reject: END-OF-MESSAGE from ${who}: 5.7.1 Blocked by SpamAssassin; ${tail(first.address)}`,
      );
      // Postfix's milter-reject line names one recipient, as the client gave it; the others (and the
      // alias expansion) appear in no log, so the ground truth holds what the logs can establish.
      const logged = tracked.add(first.address, null);
      for (const r of rcpts) tracked.drop(r.truth);
      tracked.settle(logged, 'rejected');
      const quit = scanned + us(rng.real(0.05, 0.6));
      const stats = commandStats([
        ['ehlo', ehlo, ehlo],
        ['starttls', starttls, starttls],
        ['mail', 1, 1],
        ['rcpt', okRcpt, nGiven],
        ['data', 0, 1],
        ['quit', 1, 1],
      ]);
      pf.emit(quit, proc.tag, `disconnect from ${who} ${stats}`);
      proc.busyUntil = quit;
      return;
    }
    const active = scanned + us(rng.real(0.002, 0.03));
    pf.queueActive(active, qid, spec.sender, spec.size + QUEUE_OVERHEAD, rcpts.length);
    const quit = active + us(rng.real(0.001, 0.06));
    const stats = commandStats([
      ['ehlo', ehlo, ehlo],
      ['starttls', starttls, starttls],
      ['mail', 1, 1],
      ['rcpt', okRcpt, nGiven],
      ['data', 1, 1],
      ['quit', 1, 1],
    ]);
    pf.emit(quit, proc.tag, `disconnect from ${who} ${stats}`);
    proc.busyUntil = quit;
    this.contentFilter(active + us(rng.real(0.002, 0.03)), qid, tClient, c, mail, rcpts);
  }

  /** A refused attempt (nothing queued): its own ground-truth entry. */
  private refused(spec: InboundSpec, at: number, addresses: string[]): void {
    const tracked: Tracked = this.w.truth.track({
      kind: 'refused',
      messageId: null,
      sender: spec.sender,
      subject: null,
      clientIp: spec.client.ip,
      firstSeen: at,
      spam: spec.spam,
      virus: null,
    });
    for (const address of addresses) tracked.settle(tracked.add(address, null), 'rejected');
    tracked.seal();
  }

  /**
   * postscreen's DNSBL verdict: dnsblog replies, the rank, then the 550 for every RCPT; the client
   * never reaches smtpd.
   */
  dnsblRefused(t: number, spec: InboundSpec): void {
    const pf = this.pf;
    const rng = pf.rng;
    const c = spec.client;
    this.connectLine(t, c);
    const dnsblog = this.dnsblog.acquire(t, t + us(0.05));
    const listings = rng.int(1, 3);
    const codes = [2, 3, 4, 9, 10, 11];
    for (let i = 0; i < listings; i++) {
      pf.emit(
        t + us(0.004 + i * 0.0003),
        dnsblog.tag,
        `addr ${c.ip} listed by domain zen.spamhaus.org as 127.0.0.${rng.pick(codes)}`,
      );
    }
    let tt = t + us(rng.real(6, 6.5));
    pf.emit(tt, this.postscreen.tag, `DNSBL rank ${listings + 1} for ${bracket(c.ip, c.port)}`);
    const addresses: string[] = [];
    let first = 0;
    for (const g of spec.given) {
      tt += us(rng.real(0.02, 0.4));
      if (first === 0) first = tt;
      pf.emit(
        tt,
        this.postscreen.tag,
        `NOQUEUE: reject: RCPT from ${bracket(c.ip, c.port)}: 550 5.7.1 Service unavailable; client [${c.ip}] blocked using zen.spamhaus.org; from=<${spec.sender}>, to=<${g.address}>, proto=ESMTP, helo=<${c.helo}>`,
      );
      addresses.push(g.address);
    }
    pf.emit(tt + us(rng.real(0.01, 0.3)), this.postscreen.tag, `DISCONNECT ${bracket(c.ip, c.port)}`);
    this.refused(spec, first, addresses);
  }

  /** smtpd's `reject_rbl_client bl.spamcop.net`: every RCPT refused with 554. */
  rblRefused(t0: number, spec: InboundSpec): void {
    const pf = this.pf;
    const rng = pf.rng;
    const c = spec.client;
    let t = this.postscreenPass(t0, c, spec.known);
    const proc = pf.smtpd.acquire(t, t + 30 * US);
    const who = this.smtpdConnect(t, proc, c);
    t += us(rng.real(0.1, 0.6));
    const addresses: string[] = [];
    let first = 0;
    for (const g of spec.given) {
      t += us(rng.real(0.01, 0.1));
      if (first === 0) first = t;
      pf.emit(
        t,
        proc.tag,
        `NOQUEUE: reject: RCPT from ${who}: 554 5.7.1 Service unavailable; Client host [${c.ip}] blocked using bl.spamcop.net; Blocked - see https://www.spamcop.net/bl.shtml?${c.ip}; from=<${spec.sender}> to=<${g.address}> proto=ESMTP helo=<${c.helo}>`,
      );
      addresses.push(g.address);
    }
    this.refused(spec, first, addresses);
    const n = spec.given.length;
    const quit = t + us(rng.real(0.05, 0.5));
    if (rng.chance(0.4)) {
      pf.emit(quit, proc.tag, `lost connection after RCPT from ${who}`);
      pf.emit(
        quit + us(0.0002),
        proc.tag,
        `disconnect from ${who} ${commandStats([
          ['ehlo', 1, 1],
          ['mail', 1, 1],
          ['rcpt', 0, n],
        ])}`,
      );
    } else {
      const stats = commandStats([
        ['ehlo', 1, 1],
        ['mail', 1, 1],
        ['rcpt', 0, n],
        ['data', 0, 1],
        ['quit', 1, 1],
      ]);
      pf.emit(quit, proc.tag, `disconnect from ${who} ${stats}`);
    }
    proc.busyUntil = quit;
  }

  /** spamass-milter hands the message to spamd at end of DATA; returns when the milter has its answer. */
  private spamdCheck(t: number, mail: Mail): number {
    return this.spamd.check(t, mail, SPAMASS_MILTER);
  }

  /** Postfix hands the queued message to amavis (10024); amavis passes it back (10025) or blocks it. */
  private contentFilter(t: number, qid: string, arrival: number, c: Client, mail: Mail, rcpts: Rcpt[]): void {
    const pf = this.pf;
    const rng = pf.rng;
    const smtp = pf.smtp.acquire(t, t + 30 * US);
    const child = this.amavis.acquire(t + us(0.001), t + 30 * US);
    child.task++;
    const amid = `${child.pidText}-${String(child.task).padStart(2, '0')}`;
    const infected = mail.virus !== null;
    const duration = infected ? rng.real(0.08, 0.6) : Math.min(15, Math.max(0.07, rng.logNormal(0.9, 0.7)));
    const done = t + us(duration);
    if (mail.virus !== null) {
      const parts = rng.chance(0.7) ? ['p002'] : ['p002', 'p004'];
      parts.forEach((part, i) => {
        pf.emit(
          t + us(duration * 0.55 + i * 0.0004),
          this.clamd.tag,
          `${child.tmp}/parts/${part}: ${mail.virus} FOUND`,
        );
      });
    }
    const mailId = rng.base64url(12);
    const head = `(${amid}) `;
    const envelope = `${bracket(c.ip, c.port)} [${c.ip}] <${mail.sender}> -> ${rcpts.map((r) => `<${r.address}>`).join(',')}`;
    const ids = `Queue-ID: ${qid}, Message-ID: <${mail.messageId}>, mail_id: ${mailId}`;
    const dkim = mail.dkim ? `, dkim_sd=${mail.dkim}` : '';
    const ms = `${Math.round(duration * 1000)} ms`;
    const before = (t - arrival) / US;
    const line = (to: Rcpt) => ({
      qid,
      to: to.address,
      orig: to.orig,
      relay: '127.0.0.1[127.0.0.1]:10024',
      delays: [before, rng.real(0, 0.02), rng.real(0, 0.01), duration] as const,
    });
    const replied = done + us(0.0003);
    if (infected || mail.score >= KILL_SCORE) {
      const label = infected ? `Blocked INFECTED (${mail.virus})` : 'Blocked SPAM';
      const quarantine = infected ? `${mailId[0]}/virus-${mailId}` : `${mailId[0]}/spam-${mailId}.gz`;
      pf.emit(
        done,
        child.tag,
        `${head}${label} {DiscardedInbound,Quarantined}, ${envelope}, quarantine: ${quarantine}, ${ids}, Hits: ${infected ? '-' : hits(mail.score)}, size: ${mail.size}${dkim}, ${ms}`,
      );
      const why = infected ? `INFECTED: ${mail.virus}` : 'spam';
      for (const r of rcpts) {
        pf.delivery(replied, smtp, {
          ...line(r),
          dsn: '2.7.0',
          status: 'sent',
          reply: `250 2.7.0 Ok, discarded, id=${amid} - ${why}`,
        });
        mail.tracked.settle(r.truth, 'quarantined');
      }
      pf.removed(replied + us(rng.real(0.0005, 0.003)), qid);
    } else {
      const spammy = mail.score >= SPAM_SCORE;
      const back = this.reinjected(done - us(rng.real(0.02, 0.04)), mail, rcpts.length);
      pf.emit(
        done,
        child.tag,
        `${head}Passed ${spammy ? 'SPAMMY {RelayedTaggedInbound}' : 'CLEAN {RelayedInbound}'}, ${envelope}, ${ids}, Hits: ${hits(mail.score)}, size: ${mail.size}, queued_as: ${back.qid}${dkim}, ${ms}`,
      );
      const reply = `250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as ${back.qid}`;
      for (const r of rcpts) pf.delivery(replied, smtp, { ...line(r), dsn: '2.0.0', status: 'sent', reply });
      pf.removed(replied + us(rng.real(0.0005, 0.003)), qid);
      this.relay(back.active + us(rng.real(0.002, 0.03)), back.qid, back.arrival, mail, rcpts, spammy);
    }
    smtp.busyUntil = replied;
    child.busyUntil = done + us(0.005);
    if (child.task >= 20) {
      pf.emit(
        done + us(0.004),
        child.tag,
        `${head}Requesting process rundown after ${child.task} tasks (and ${child.task} sessions)`,
      );
    }
  }

  /** amavis re-injects the message on 127.0.0.1:10025: a new queue id. */
  private reinjected(t: number, mail: Mail, nrcpt: number): { qid: string; arrival: number; active: number } {
    const pf = this.pf;
    const rng = pf.rng;
    const proc = this.reinject.acquire(t, t + US);
    const who = 'localhost[127.0.0.1]';
    pf.emit(t, proc.tag, `connect from ${who}`);
    const tClient = t + us(rng.real(0.001, 0.003));
    const qid = pf.qids.next(tClient);
    pf.emit(tClient, proc.tag, `${qid}: client=${who}`);
    const tData = tClient + us(rng.real(0.002, 0.008));
    pf.messageId(tData, qid, mail.messageId);
    const active = tData + us(rng.real(0.002, 0.006));
    pf.queueActive(active, qid, mail.sender, mail.size + REINJECT_OVERHEAD, nrcpt);
    const quit = active + us(rng.real(0.0005, 0.002));
    const stats = commandStats([
      ['ehlo', 1, 1],
      ['mail', 1, 1],
      ['rcpt', nrcpt, nrcpt],
      ['data', 1, 1],
      ['quit', 1, 1],
    ]);
    pf.emit(quit, proc.tag, `disconnect from ${who} ${stats}`);
    proc.busyUntil = quit;
    return { qid, arrival: tClient, active };
  }

  /** The re-injected message goes to mbox1, up to 50 recipients per transaction. */
  private relay(t: number, qid: string, arrival: number, mail: Mail, rcpts: Rcpt[], junk: boolean): void {
    const pf = this.pf;
    const rng = pf.rng;
    const mbox = this.mailbox;
    let end = t;
    for (let i = 0; i < rcpts.length; i += RCPT_LIMIT) {
      const chunk = rcpts.slice(i, i + RCPT_LIMIT);
      const start = t + us(rng.real(0.001, 0.02));
      const proc = pf.smtp.acquire(start, start + US);
      const { qid: next, replyAt } = mbox.receive(
        start + us(rng.real(0.001, 0.004)),
        { name: pf.fqdn, ip: pf.ip },
        mail,
        chunk,
        junk,
      );
      const at = replyAt + us(rng.real(0.0005, 0.003));
      for (const r of chunk) {
        pf.delivery(at, proc, {
          qid,
          to: r.address,
          orig: null,
          relay: `${mbox.fqdn}[${mbox.ip}]:25`,
          delays: [(start - arrival) / US, rng.real(0, 0.01), rng.real(0, 0.005), (at - start) / US],
          dsn: '2.0.0',
          status: 'sent',
          reply: `250 2.0.0 Ok: queued as ${next}`,
        });
      }
      proc.busyUntil = at;
      end = Math.max(end, at);
    }
    pf.removed(end + us(rng.real(0.0005, 0.003)), qid);
  }

  /** Bots and scanners that never send mail: PREGREET, HANGUP, connections dropped after EHLO. */
  startNoise(ratePerSecond: number): void {
    const engine = this.w.engine;
    const rng = this.pf.rng;
    const mean = 1 / (ratePerSecond * 0.3);
    const tick = (t: number): void => {
      this.bot(t);
      engine.atAny(t + us(rng.exp(mean)), tick);
    };
    engine.atAny(engine.startUs + us(rng.exp(mean)), tick);
  }

  private bot(t: number): void {
    const pf = this.pf;
    const rng = pf.rng;
    const ip = botIp(rng);
    const c: Client = { name: botName(rng, ip), ip, helo: '', port: rng.int(1024, 65535) };
    const kind = rng.next();
    if (kind < 0.5) {
      this.connectLine(t, c);
      const greet = rng.pick(['EHLO User\\r\\n', 'EHLO ylmf-pc\\r\\n']);
      const bytes = greet.length - 2;
      const after = rng.real(0.1, 0.4);
      pf.emit(
        t + us(after),
        this.postscreen.tag,
        `PREGREET ${bytes} after ${postfixDelay(after)} from ${bracket(ip, c.port)}: ${greet}`,
      );
      let end = t + us(after + 0.001);
      if (rng.chance(0.5)) {
        end = t + us(after + rng.real(0.001, 1));
        pf.emit(end, this.postscreen.tag, `DNSBL rank ${rng.int(2, 4)} for ${bracket(ip, c.port)}`);
      }
      pf.emit(end + us(rng.real(0.2, 0.6)), this.postscreen.tag, `DISCONNECT ${bracket(ip, c.port)}`);
    } else if (kind < 0.75) {
      this.connectLine(t, c);
      const after = rng.real(0.5, 6);
      pf.emit(
        t + us(after),
        this.postscreen.tag,
        `HANGUP after ${postfixDelay(after)} from ${bracket(ip, c.port)} in tests after SMTP handshake`,
      );
      pf.emit(t + us(after + 0.0002), this.postscreen.tag, `DISCONNECT ${bracket(ip, c.port)}`);
    } else {
      const tt = this.postscreenPass(t, c, rng.chance(0.3));
      const proc = pf.smtpd.acquire(tt, tt + 10 * US);
      const who = this.smtpdConnect(tt, proc, c);
      const lost = tt + us(rng.real(0.2, 5));
      pf.emit(lost, proc.tag, `lost connection after EHLO from ${who}`);
      pf.emit(lost + us(0.0002), proc.tag, `disconnect from ${who} ehlo=1 commands=1`);
      proc.busyUntil = lost + us(0.0002);
    }
  }
}
