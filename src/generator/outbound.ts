/**
 * smtp1: the outbound host. Users submit on port 587 (`postfix/submission/smtpd`, SASL); mail goes
 * to the Internet (sent, greylisted then sent, bounced by the remote, or timing out until it expires)
 * or to mbox1 for local recipients. Bounces come back to the sender as their own messages.
 */

import type { Mail, Peer, Rcpt, World } from './engine.js';
import type { ProcessPool } from './ids.js';
import type { HostLog } from './output.js';
import { commandStats, PostfixHost } from './postfix.js';
import { adHocRemote, botIp, type RemoteDomain, type RemoteHost } from './site.js';
import { US, us } from './time.js';

const QUEUE_OVERHEAD = 420;
/** Postfix `smtp_destination_recipient_limit`: recipients per delivery transaction. */
const RCPT_LIMIT = 50;
const TLS_IN =
  'TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256';
const TLS_OUT = [
  'TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature ECDSA (P-256) server-digest SHA256',
  'TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256',
  'TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)',
] as const;

/** What happens to one recipient. Decided when the message is created; the logs play it out. */
export type Fate =
  | { kind: 'local' }
  | { kind: 'sent' }
  | { kind: 'bounce' }
  /** Deferred `left` more times, then accepted. */
  | { kind: 'greylist'; left: number }
  /** The destination never answers: deferred until the message expires. */
  | { kind: 'timeout' };

export interface Plan {
  rcpt: Rcpt;
  /** null for local recipients (delivered through mbox1). */
  remote: RemoteDomain | null;
  fate: Fate;
}

/** The part of the mailbox host smtp1 needs: handing it local mail. */
export interface LocalTarget {
  readonly fqdn: string;
  readonly ip: string;
  receive(
    t: number,
    client: Peer,
    mail: Mail,
    rcpts: Rcpt[],
    junk: boolean,
  ): { qid: string; replyAt: number };
}

/** A Postfix host that delivers like smtp1 (lists1 in the qmail site): its name, address, inode range. */
export interface OutboundHost {
  fqdn: string;
  ip: string;
  inodes: readonly [number, number];
}

/** Mail for the host's own domain (a list server's `-bounces` address): delivered on the host itself. */
export interface OwnDelivery {
  accepts(address: string): boolean;
  /** Delivers `rcpt` of queue entry `qid` at `t`; returns when the delivery is done. */
  deliver(t: number, qid: string, mail: Mail, rcpt: Rcpt, arrival: number): number;
}

interface Entry {
  qid: string;
  mail: Mail;
  /** Time the message entered the queue. */
  arrival: number;
  pending: Plan[];
  /** Delivery runs so far. */
  runs: number;
}

export class Outbound {
  readonly pf: PostfixHost;
  private readonly submission: ProcessPool;
  /** error(8): defers mail for destinations the queue manager knows are down. */
  private readonly error: ProcessPool;
  /** Set once the mailbox host exists (each needs the other). */
  mailbox: LocalTarget | null = null;
  /** Bounces for the host's own domain, delivered locally (none on smtp1). */
  own: OwnDelivery | null = null;

  constructor(
    private readonly w: World,
    log: HostLog,
    host: OutboundHost = { fqdn: w.site.smtp1, ip: w.site.smtp1Ip, inodes: [0xe00000, 0xfffff0] },
  ) {
    this.pf = new PostfixHost(host.fqdn, host.ip, log, w.rng.fork(3), host.inodes);
    this.submission = this.pf.pool('postfix/submission/smtpd');
    this.error = this.pf.pool('postfix/error');
  }

  get fqdn(): string {
    return this.pf.fqdn;
  }
  get ip(): string {
    return this.pf.ip;
  }

  /** A user's mail client submits a message (STARTTLS, SASL), which is then delivered. */
  submit(t: number, client: Peer, user: string, mail: Mail, plans: Plan[]): void {
    const pf = this.pf;
    const rng = pf.rng;
    const proc = this.submission.acquire(t, t + US);
    pf.anvil.connect(t, 'submission', client.ip);
    const who = `${client.name}[${client.ip}]`;
    pf.emit(t, proc.tag, `connect from ${who}`);
    pf.emit(
      t + us(rng.real(0.03, 0.2)),
      proc.tag,
      `Anonymous TLS connection established from ${who}: ${TLS_IN}`,
    );
    const tClient = t + us(rng.real(0.25, 1.2));
    const qid = pf.qids.next(tClient);
    const method = rng.chance(0.8) ? 'PLAIN' : 'LOGIN';
    pf.emit(tClient, proc.tag, `${qid}: client=${who}, sasl_method=${method}, sasl_username=${user}`);
    mail.tracked.entry.firstSeen = tClient;
    const n = plans.length;
    const tData = tClient + us(n * 0.004 + rng.real(0.05, 0.4) + mail.size / 2e6);
    pf.messageId(tData, qid, mail.messageId);
    const active = tData + us(rng.real(0.005, 0.05));
    pf.queueActive(active, qid, mail.sender, mail.size + QUEUE_OVERHEAD, n);
    const quit = active + us(rng.real(0.001, 0.08));
    const stats = commandStats([
      ['ehlo', 2, 2],
      ['starttls', 1, 1],
      ['auth', 1, 1],
      ['mail', 1, 1],
      ['rcpt', n, n],
      ['data', 1, 1],
      ['quit', 1, 1],
    ]);
    pf.emit(quit, proc.tag, `disconnect from ${who} ${stats}`);
    proc.busyUntil = quit;
    this.attempt(
      { qid, mail, arrival: tClient, pending: plans, runs: 0 },
      active + us(rng.real(0.002, 0.03)),
    );
  }

  /** mbox1 relays a message for the Internet (a bounce to a remote sender) on port 25. */
  receiveRelay(t: number, client: Peer, mail: Mail, rcpts: Rcpt[]): { qid: string; replyAt: number } {
    const pf = this.pf;
    const rng = pf.rng;
    const proc = pf.smtpd.acquire(t, t + US);
    pf.anvil.connect(t, 'smtp', client.ip);
    const who = `${client.name}[${client.ip}]`;
    pf.emit(t, proc.tag, `connect from ${who}`);
    const tClient = t + us(rng.real(0.002, 0.01));
    const qid = pf.qids.next(tClient);
    pf.emit(tClient, proc.tag, `${qid}: client=${who}`);
    const tData = tClient + us(rng.real(0.003, 0.02));
    pf.messageId(tData, qid, mail.messageId);
    const replyAt = tData + us(rng.real(0.002, 0.008));
    const active = replyAt + us(rng.real(0.0005, 0.004));
    pf.queueActive(active, qid, mail.sender, mail.size + QUEUE_OVERHEAD, rcpts.length);
    const quit = replyAt + us(rng.real(0.001, 0.006));
    const n = rcpts.length;
    const stats = commandStats([
      ['ehlo', 1, 1],
      ['mail', 1, 1],
      ['rcpt', n, n],
      ['data', 1, 1],
      ['quit', 1, 1],
    ]);
    pf.emit(quit, proc.tag, `disconnect from ${who} ${stats}`);
    proc.busyUntil = quit;
    const site = this.w.site;
    const plans = rcpts.map((rcpt): Plan => {
      const domain = rcpt.address.slice(rcpt.address.lastIndexOf('@') + 1);
      if (domain === site.domain) return { rcpt, remote: null, fate: { kind: 'local' } };
      const remote = site.remotes.find((r) => r.domain === domain) ?? adHocRemote(rng, domain);
      return { rcpt, remote, fate: { kind: 'sent' } };
    });
    this.attempt(
      { qid, mail, arrival: tClient, pending: plans, runs: 0 },
      active + us(rng.real(0.002, 0.02)),
    );
    return { qid, replyAt };
  }

  /** A message already queued as `qid` (its arrival lines written by the caller) starts delivery at `t`. */
  queue(t: number, qid: string, mail: Mail, arrival: number, plans: Plan[]): void {
    this.attempt({ qid, mail, arrival, pending: plans, runs: 0 }, t);
  }

  /** One delivery run over the pending recipients; then bounce, expire, retry later, or finish. */
  private attempt(entry: Entry, t: number): void {
    entry.runs++;
    const pf = this.pf;
    const rng = pf.rng;
    const local: Plan[] = [];
    const byDomain = new Map<RemoteDomain, Plan[]>();
    for (const plan of entry.pending) {
      if (plan.remote === null) local.push(plan);
      else {
        const list = byDomain.get(plan.remote);
        if (list) list.push(plan);
        else byDomain.set(plan.remote, [plan]);
      }
    }
    let end = t;
    const still: Plan[] = [];
    const bounced: Plan[] = [];
    for (let i = 0; i < local.length; i += RCPT_LIMIT) {
      end = Math.max(
        end,
        this.deliverLocal(t + us(rng.real(0.001, 0.03)), entry, local.slice(i, i + RCPT_LIMIT)),
      );
    }
    for (const [remote, plans] of byDomain) {
      for (let i = 0; i < plans.length; i += RCPT_LIMIT) {
        const start = t + us(rng.real(0.001, 0.05));
        end = Math.max(
          end,
          this.deliverRemote(start, entry, remote, plans.slice(i, i + RCPT_LIMIT), still, bounced),
        );
      }
    }
    entry.pending = still;
    this.afterRun(entry, end, bounced);
  }

  private deliverLocal(t: number, entry: Entry, plans: Plan[]): number {
    const pf = this.pf;
    const rng = pf.rng;
    const mailbox = this.mailbox;
    if (mailbox === null) throw new Error('generator bug: smtp1 has no mailbox host');
    const proc = pf.smtp.acquire(t, t + US);
    const rcpts = plans.map((p) => p.rcpt);
    const { qid, replyAt } = mailbox.receive(
      t + us(rng.real(0.001, 0.006)),
      { name: pf.fqdn, ip: pf.ip },
      entry.mail,
      rcpts,
      false,
    );
    const at = replyAt + us(rng.real(0.0005, 0.003));
    const before = (t - entry.arrival) / US;
    for (const r of rcpts) {
      pf.delivery(at, proc, {
        qid: entry.qid,
        to: r.address,
        orig: r.orig,
        relay: `${mailbox.fqdn}[${mailbox.ip}]:25`,
        delays: [before, rng.real(0, 0.02), rng.real(0, 0.01), (at - t) / US],
        dsn: '2.0.0',
        status: 'sent',
        reply: `250 2.0.0 Ok: queued as ${qid}`,
      });
    }
    proc.busyUntil = at;
    return at;
  }

  /** One SMTP transaction to a remote domain's MX. Deferred plans go to `still`, bounced ones to `bounced`. */
  private deliverRemote(
    t: number,
    entry: Entry,
    remote: RemoteDomain,
    plans: Plan[],
    still: Plan[],
    bounced: Plan[],
  ): number {
    const pf = this.pf;
    const rng = pf.rng;
    const before = (t - entry.arrival) / US;
    const tracked = entry.mail.tracked;
    if (plans.every((p) => p.fate.kind === 'timeout')) {
      // Every MX is tried; each connect times out after smtp_connect_timeout (30 s). On a retry the
      // destination is often still marked dead: qmgr hands the mail to error(8) without trying.
      const last = remote.mx[remote.mx.length - 1] as RemoteHost;
      const suspended = entry.runs > 1 && rng.chance(0.5);
      const proc = (suspended ? this.error : pf.smtp).acquire(t, t + 60 * US);
      const wait = suspended ? 0 : 30 * remote.mx.length;
      const at = t + us(wait + rng.real(0.001, 0.01));
      const reply = `connect to ${last.name}[${last.ip}]:25: Connection timed out`;
      for (const p of plans) {
        pf.delivery(at, proc, {
          qid: entry.qid,
          to: p.rcpt.address,
          orig: p.rcpt.orig,
          relay: 'none',
          delays: [before, rng.real(0, 0.05), wait, 0],
          dsn: '4.4.1',
          status: 'deferred',
          reply: suspended ? `delivery temporarily suspended: ${reply}` : reply,
        });
        still.push(p);
      }
      proc.busyUntil = at;
      return at;
    }
    const proc = pf.smtp.acquire(t, t + 60 * US);
    const mx = remote.mx[0] as RemoteHost;
    const connect = rng.real(0.05, 0.6);
    if (remote.tls) {
      pf.emit(
        t + us(connect * 0.9),
        proc.tag,
        `${remote.tls} TLS connection established to ${mx.name}[${mx.ip}]:25: ${rng.pick(TLS_OUT)}`,
      );
    }
    const transfer = rng.real(0.05, 0.5) + entry.mail.size / 3e6;
    const at = t + us(connect + transfer);
    const said = `host ${mx.name}[${mx.ip}] said:`;
    for (const p of plans) {
      const base = {
        qid: entry.qid,
        to: p.rcpt.address,
        orig: p.rcpt.orig,
        relay: `${mx.name}[${mx.ip}]:25`,
        delays: [before, rng.real(0, 0.05), connect, transfer] as const,
      };
      const fate = p.fate;
      if (fate.kind === 'bounce') {
        const reply = remote.unknownUser(rng, p.rcpt.address);
        pf.delivery(at, proc, {
          ...base,
          dsn: enhancedCode(reply, '5.1.1'),
          status: 'bounced',
          reply: `${said} ${reply} (in reply to RCPT TO command)`,
        });
        tracked.settle(p.rcpt.truth, 'bounced');
        bounced.push(p);
      } else if (fate.kind === 'greylist' && fate.left > 0) {
        fate.left--;
        pf.delivery(at, proc, {
          ...base,
          dsn: '4.2.0',
          status: 'deferred',
          reply: `${said} 450 4.2.0 <${p.rcpt.address}>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/${remote.domain}.html (in reply to RCPT TO command)`,
        });
        still.push(p);
      } else {
        pf.delivery(at, proc, {
          ...base,
          dsn: '2.0.0',
          status: 'sent',
          reply: `${remote.accept(rng, entry.mail.messageId, entry.mail.size + QUEUE_OVERHEAD, at)}`,
        });
        tracked.settle(p.rcpt.truth, 'delivered');
      }
    }
    proc.busyUntil = at;
    return at;
  }

  /** After a run: send a bounce if needed, then finish, expire, or schedule the next try. */
  private afterRun(entry: Entry, t: number, bounced: Plan[]): void {
    const pf = this.pf;
    const rng = pf.rng;
    const w = this.w;
    const tracked = entry.mail.tracked;
    let tt = t + us(rng.real(0.002, 0.02));
    if (entry.pending.length > 0 && tt - entry.arrival >= w.lifetimeUs) {
      pf.expired(tt, entry.qid, entry.mail.sender);
      for (const p of entry.pending) tracked.settle(p.rcpt.truth, 'expired');
      bounced.push(...entry.pending);
      entry.pending = [];
      tt += us(0.001);
    }
    if (bounced.length > 0 && entry.mail.sender !== '') tt = this.bounceToSender(tt, entry);
    if (entry.pending.length === 0) {
      pf.removed(tt + us(rng.real(0.0005, 0.003)), entry.qid);
      return;
    }
    // Postfix backs off by the message's age, between minimal (300 s) and maximal (4000 s)
    // backoff time, and picks deferred mail up on its 5-minute queue scans.
    const age = (tt - entry.arrival) / US;
    const next = tt + us(Math.min(4000, Math.max(300, age)) + rng.real(0, 300));
    const scheduled = w.engine.at(next, (tr) => {
      pf.queueActive(
        tr,
        entry.qid,
        entry.mail.sender,
        entry.mail.size + QUEUE_OVERHEAD,
        entry.pending.length,
      );
      this.attempt(entry, tr + us(rng.real(0.002, 0.05)));
    });
    if (!scheduled) {
      // Still in the queue when the logs end.
      for (const p of entry.pending) tracked.settle(p.rcpt.truth, 'deferred');
    }
  }

  /** The sender is a local user: the bounce is delivered to them through mbox1. Returns when it is queued. */
  private bounceToSender(t: number, entry: Entry): number {
    const pf = this.pf;
    const rng = pf.rng;
    const sender = entry.mail.sender;
    const dsn = pf.nonDelivery(t, entry.qid, entry.mail.size);
    const tracked = this.w.truth.track({
      kind: 'message',
      messageId: dsn.messageId,
      sender: '',
      subject: null,
      clientIp: null,
      firstSeen: dsn.firstSeen,
      spam: false,
      virus: null,
    });
    const rcpt: Rcpt = { address: sender, orig: null, truth: tracked.add(sender, null) };
    tracked.seal();
    const mail: Mail = {
      tracked,
      sender: '',
      messageId: dsn.messageId,
      subject: null,
      size: dsn.size,
      score: 0,
      rules: '',
      virus: null,
      dkim: null,
    };
    if (this.own?.accepts(sender)) {
      const done = this.own.deliver(dsn.t + us(rng.real(0.002, 0.02)), dsn.qid, mail, rcpt, dsn.firstSeen);
      pf.removed(done + us(rng.real(0.0005, 0.003)), dsn.qid);
      return dsn.t;
    }
    const dsnEntry: Entry = {
      qid: dsn.qid,
      mail,
      arrival: dsn.firstSeen,
      pending: [{ rcpt, remote: null, fate: { kind: 'local' } }],
      runs: 0,
    };
    this.attempt(dsnEntry, dsn.t + us(rng.real(0.002, 0.02)));
    return dsn.t;
  }

  /** Password guessing on the submission port (not tied to messages). */
  startNoise(ratePerSecond: number): void {
    const engine = this.w.engine;
    const rng = this.pf.rng;
    const mean = 1 / (ratePerSecond * 0.05);
    const tick = (t: number): void => {
      this.saslFailure(t);
      engine.atAny(t + us(rng.exp(mean)), tick);
    };
    engine.atAny(engine.startUs + us(rng.exp(mean)), tick);
  }

  private saslFailure(t: number): void {
    const pf = this.pf;
    const rng = pf.rng;
    const ip = botIp(rng);
    const who = `unknown[${ip}]`;
    const proc = this.submission.acquire(t, t + 30 * US);
    pf.anvil.connect(t, 'submission', ip);
    pf.emit(t, proc.tag, `connect from ${who}`);
    pf.emit(
      t + us(rng.real(0.1, 0.5)),
      proc.tag,
      `Anonymous TLS connection established from ${who}: ${TLS_IN}`,
    );
    const tries = rng.int(1, 3);
    let tt = t + us(rng.real(1, 3));
    const mech = rng.chance(0.5) ? 'LOGIN' : 'PLAIN';
    for (let i = 0; i < tries; i++) {
      pf.emit(tt, proc.tag, `warning: ${who}: SASL ${mech} authentication failed: authentication failure`);
      tt += us(rng.real(1.5, 4));
    }
    const quit = rng.chance(0.6);
    const stats = commandStats([
      ['ehlo', 2, 2],
      ['starttls', 1, 1],
      ['auth', 0, tries],
      ['quit', quit ? 1 : 0, quit ? 1 : 0],
    ]);
    if (!quit) pf.emit(tt, proc.tag, `lost connection after AUTH from ${who}`);
    pf.emit(tt + us(0.001), proc.tag, `disconnect from ${who} ${stats}`);
    proc.busyUntil = tt + us(0.001);
  }
}

/** The enhanced status code in a remote reply (`550 5.1.1 ...` → `5.1.1`), or `fallback`. */
function enhancedCode(reply: string, fallback: string): string {
  const m = /\b([245]\.\d{1,3}\.\d{1,3})\b/.exec(reply);
  return m?.[1] ?? fallback;
}
