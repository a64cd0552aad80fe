/**
 * mbox1: Postfix receiving from mx1 and smtp1 and delivering over LMTP to Dovecot 2.3, which logs
 * `saved mail to INBOX`, Sieve's `stored mail into mailbox 'Junk'`, quota failures; plus IMAP and
 * submission logins and authentication failures.
 */

import type { Mail, Peer, Rcpt, World } from './engine.js';
import { ProcessPool } from './ids.js';
import type { HostLog } from './output.js';
import { commandStats, PostfixHost } from './postfix.js';
import { botIp } from './site.js';
import { dsnStamp, US, us } from './time.js';

/** Bytes a hop adds to the queue file (Received:, X-Virus-Scanned:, envelope records). */
const QUEUE_OVERHEAD = 1150;

/** The part of the outbound host mbox1 needs: relaying its bounces to the Internet. */
export interface RelayTarget {
  readonly fqdn: string;
  readonly ip: string;
  /**
   * smtp1 (or the qmail MX) accepts a relayed message (a DSN from mbox1) and delivers it; `reply` is
   * its 250 reply when it is not Postfix's `Ok: queued as`.
   */
  receiveRelay(
    t: number,
    client: Peer,
    mail: Mail,
    rcpts: Rcpt[],
  ): { qid: string; replyAt: number; reply?: string };
}

export class Mailbox {
  readonly pf: PostfixHost;
  private readonly lmtp: ProcessPool;
  /** Dovecot's lmtp and imap processes; Dovecot logs under `dovecot:` with the pid inside the text. */
  private readonly dovecotLmtp: ProcessPool;
  /** Set once the outbound host exists (each needs the other). */
  relay: RelayTarget | null = null;

  constructor(
    private readonly w: World,
    log: HostLog,
  ) {
    this.pf = new PostfixHost(w.site.mbox1, w.site.mbox1Ip, log, w.rng.fork(2), [0xa00000, 0xe00000]);
    this.lmtp = this.pf.pool('postfix/lmtp');
    this.dovecotLmtp = new ProcessPool('lmtp', this.pf.pids, this.pf.rng, { maxIdle: 60 * US, maxUse: 1000 });
  }

  get fqdn(): string {
    return this.pf.fqdn;
  }
  get ip(): string {
    return this.pf.ip;
  }

  /**
   * Port 25 smtpd accepts a relayed message for local mailboxes (all `rcpts` exist here) and queues
   * it; LMTP delivery follows. `junk`: the message is spam-tagged (Sieve files it into Junk).
   */
  receive(
    t: number,
    client: Peer,
    mail: Mail,
    rcpts: Rcpt[],
    junk: boolean,
  ): { qid: string; replyAt: number } {
    const pf = this.pf;
    const rng = pf.rng;
    const proc = pf.smtpd.acquire(t, t + US);
    pf.anvil.connect(t, 'smtp', client.ip);
    pf.emit(t, proc.tag, `connect from ${client.name}[${client.ip}]`);
    const tClient = t + us(rng.real(0.002, 0.012));
    const qid = pf.qids.next(tClient);
    pf.emit(tClient, proc.tag, `${qid}: client=${client.name}[${client.ip}]`);
    const tData = tClient + us(rcpts.length * 0.0004 + rng.real(0.003, 0.02) + mail.size / 50e6);
    if (mail.messageId === '') {
      // A message without Message-ID (a qmail bounce): Postfix adds one for clients in
      // local_header_rewrite_clients (the MX is in mynetworks here), named after the queue file.
      mail.messageId = `${dsnStamp(tClient)}.${qid}@${pf.fqdn}`;
      mail.tracked.entry.messageId = mail.messageId;
    }
    pf.messageId(tData, qid, mail.messageId);
    const replyAt = tData + us(rng.real(0.002, 0.01));
    const active = replyAt + us(rng.real(0.0005, 0.004));
    pf.queueActive(active, qid, mail.sender, mail.size + QUEUE_OVERHEAD, rcpts.length);
    const n = rcpts.length;
    const quit = replyAt + us(rng.real(0.001, 0.008));
    const stats = commandStats([
      ['ehlo', 1, 1],
      ['mail', 1, 1],
      ['rcpt', n, n],
      ['data', 1, 1],
      ['quit', 1, 1],
    ]);
    pf.emit(quit, proc.tag, `disconnect from ${client.name}[${client.ip}] ${stats}`);
    proc.busyUntil = quit;
    const done = this.deliverLocal(active + us(rng.real(0.001, 0.01)), qid, mail, rcpts, junk, tClient);
    pf.removed(done + us(rng.real(0.0005, 0.003)), qid);
    return { qid, replyAt };
  }

  /**
   * LMTP to Dovecot for the queue entry `qid`: one Dovecot line per recipient, then Postfix's lines
   * with Dovecot's replies. Settles the recipients; over-quota ones bounce with a DSN to the sender.
   * Returns the time the entry is done.
   */
  private deliverLocal(
    t: number,
    qid: string,
    mail: Mail,
    rcpts: Rcpt[],
    junk: boolean,
    arrival: number,
  ): number {
    const pf = this.pf;
    const rng = pf.rng;
    const site = this.w.site;
    const lmtp = this.lmtp.acquire(t, t + US);
    const dovecot = this.dovecotLmtp.acquire(t, t + US).pid;
    pf.emit(t + us(0.0008), 'dovecot', `lmtp(${dovecot}): Connect from local`);
    const session = rng.base64(22);
    let tt = t + us(0.002);
    const outcomes: { rcpt: Rcpt; session: string; mailbox: string | null }[] = [];
    for (let i = 0; i < rcpts.length; i++) {
      const rcpt = rcpts[i] as Rcpt;
      tt += us(rng.real(0.003, 0.025));
      const user = site.userByAddress.get(rcpt.address);
      const sess = i === 0 ? session : `${session}:${i + 1}`;
      const prefix = `lmtp(${rcpt.address})<${dovecot}><${sess}>: `;
      let mailbox: string | null;
      if (user?.quotaFull) {
        mailbox = null;
        pf.emit(
          tt,
          'dovecot',
          `${prefix}msgid=<${mail.messageId}>: save failed to INBOX: Quota exceeded (mailbox for user is full)`,
        );
      } else if (user?.sieve) {
        mailbox = junk ? 'Junk' : 'INBOX';
        pf.emit(
          tt,
          'dovecot',
          `${prefix}sieve: msgid=<${mail.messageId}>: stored mail into mailbox '${mailbox}'`,
        );
      } else {
        mailbox = 'INBOX';
        pf.emit(tt, 'dovecot', `${prefix}msgid=<${mail.messageId}>: saved mail to INBOX`);
      }
      outcomes.push({ rcpt, session: sess, mailbox });
    }
    const replied = tt + us(rng.real(0.001, 0.004));
    const before = (t - arrival) / US;
    const transfer = (replied - t) / US;
    const bounced: Rcpt[] = [];
    for (const o of outcomes) {
      const to = o.rcpt.address;
      const line = {
        qid,
        to,
        orig: null,
        relay: `${pf.fqdn}[private/dovecot-lmtp]`,
        delays: [before, rng.real(0, 0.01), rng.real(0, 0.01), transfer] as const,
      };
      if (o.mailbox === null) {
        pf.delivery(replied, lmtp, {
          ...line,
          dsn: '5.2.2',
          status: 'bounced',
          reply: `host ${pf.fqdn}[private/dovecot-lmtp] said: 552 5.2.2 <${to}> Quota exceeded (mailbox for user is full) (in reply to end of DATA command)`,
        });
        mail.tracked.settle(o.rcpt.truth, 'bounced');
        bounced.push(o.rcpt);
      } else {
        pf.delivery(replied, lmtp, {
          ...line,
          dsn: '2.0.0',
          status: 'sent',
          reply: `250 2.0.0 <${to}> ${o.session} Saved`,
        });
        mail.tracked.settle(o.rcpt.truth, 'delivered', o.mailbox);
      }
    }
    const quit = replied + us(rng.real(0.0005, 0.002));
    pf.emit(
      quit,
      'dovecot',
      `lmtp(${dovecot}): Disconnect from local: Client has quit the connection (state=READY)`,
    );
    lmtp.busyUntil = quit;
    if (bounced.length === 0 || mail.sender === '') return quit;
    return this.bounceToSender(quit + us(rng.real(0.005, 0.03)), qid, mail);
  }

  /**
   * The non-delivery notification for `qid`, delivered to its sender here or through smtp1. Returns
   * the time the original entry may be removed (its bounce is queued).
   */
  private bounceToSender(t: number, qid: string, mail: Mail): number {
    const pf = this.pf;
    const rng = pf.rng;
    const dsn = pf.nonDelivery(t, qid, mail.size);
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
    const rcpt: Rcpt = { address: mail.sender, orig: null, truth: tracked.add(mail.sender, null) };
    tracked.seal();
    const dsnMail: Mail = {
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
    const start = dsn.t + us(rng.real(0.002, 0.02));
    let done: number;
    if (this.w.site.userByAddress.has(mail.sender)) {
      done = this.deliverLocal(start, dsn.qid, dsnMail, [rcpt], false, dsn.firstSeen);
    } else {
      done = this.relayOut(start, dsn.qid, dsnMail, [rcpt], dsn.firstSeen);
    }
    pf.removed(done + us(rng.real(0.0005, 0.003)), dsn.qid);
    return dsn.t;
  }

  /** Hands a message for the outside world to smtp1 (mbox1's relayhost). */
  private relayOut(t: number, qid: string, mail: Mail, rcpts: Rcpt[], arrival: number): number {
    const pf = this.pf;
    const rng = pf.rng;
    const relay = this.relay;
    if (relay === null) throw new Error('generator bug: mbox1 has no relay host');
    const proc = pf.smtp.acquire(t, t + US);
    const {
      qid: next,
      replyAt,
      reply,
    } = relay.receiveRelay(t + us(rng.real(0.001, 0.005)), { name: pf.fqdn, ip: pf.ip }, mail, rcpts);
    const at = replyAt + us(rng.real(0.0005, 0.003));
    for (const r of rcpts) {
      pf.delivery(at, proc, {
        qid,
        to: r.address,
        orig: null,
        relay: `${relay.fqdn}[${relay.ip}]:25`,
        delays: [(t - arrival) / US, rng.real(0, 0.01), rng.real(0, 0.01), (at - t) / US],
        dsn: '2.0.0',
        status: 'sent',
        reply: reply ?? `250 2.0.0 Ok: queued as ${next}`,
      });
    }
    proc.busyUntil = at;
    return at;
  }

  /** Background noise: IMAP sessions, submission logins, password guessing (not tied to messages). */
  startNoise(ratePerSecond: number): void {
    const engine = this.w.engine;
    const rng = this.pf.rng;
    const schedule = (mean: number, run: (t: number) => void): void => {
      const tick = (t: number): void => {
        run(t);
        engine.atAny(t + us(rng.exp(mean)), tick);
      };
      engine.atAny(engine.startUs + us(rng.exp(mean)), tick);
    };
    schedule(1 / (ratePerSecond * 0.45), (t) => this.imapSession(t, 'imap'));
    schedule(1 / (ratePerSecond * 0.08), (t) => this.imapSession(t, 'submission'));
    schedule(1 / (ratePerSecond * 0.06), (t) => this.authFailure(t));
  }

  private clientIp(): string {
    const rng = this.pf.rng;
    return rng.chance(0.5) ? `10.20.${rng.int(0, 255)}.${rng.int(1, 254)}` : `203.0.113.${rng.int(1, 254)}`;
  }

  private imapSession(t: number, service: 'imap' | 'submission'): void {
    const pf = this.pf;
    const rng = pf.rng;
    const user = rng.pick(this.w.site.users).address;
    const pid = pf.pids.next();
    const session = rng.base64(16);
    const rip = this.clientIp();
    pf.emit(
      t,
      'dovecot',
      `${service}-login: Login: user=<${user}>, method=PLAIN, rip=${rip}, lip=${pf.ip}, mpid=${pid}, TLS, session=<${session}>`,
    );
    if (service !== 'imap') return;
    const duration = rng.exp(8 * 60);
    const inBytes = rng.int(60, 40000);
    const outBytes = rng.int(500, 2_000_000);
    const end = t + us(duration);
    const stats = `in=${inBytes} out=${outBytes} deleted=0 expunged=0 trashed=0 hdr_count=${rng.int(0, 20)} hdr_bytes=${rng.int(0, 9000)} body_count=${rng.int(0, 5)} body_bytes=${rng.int(0, 90000)}`;
    const how = rng.next();
    const text =
      how < 0.6
        ? `Logged out ${stats}`
        : how < 0.85
          ? `Connection closed (IDLE running for 0.001 + waiting input for ${duration.toFixed(3)} secs, 2 B in + 10 B out, state=wait-input) ${stats}`
          : `Disconnected for inactivity ${stats}`;
    this.w.engine.atAny(end, (te) => pf.emit(te, 'dovecot', `imap(${user})<${pid}><${session}>: ${text}`));
  }

  /** Password guessing against IMAP: the auth process's verdict, then the login process gives up. */
  private authFailure(t: number): void {
    const pf = this.pf;
    const rng = pf.rng;
    const ip = botIp(rng);
    const known = rng.chance(0.5);
    const user = known
      ? rng.pick(this.w.site.users).address
      : rng.pick(['admin', 'test', 'info', 'webmaster', 'user1', 'oracle']);
    const session = rng.base64(16);
    const verdict = known ? 'Password mismatch (for LDAP bind)' : 'unknown user';
    pf.emit(t, 'dovecot', `auth: ldap(${user},${ip},<${session}>): ${verdict}`);
    const attempts = rng.int(1, 3);
    const secs = rng.int(2, 20);
    pf.emit(
      t + us(rng.real(1.5, 3)),
      'dovecot',
      `imap-login: Disconnected: Aborted login (auth failed, ${attempts} attempts in ${secs} secs): user=<${user}>, method=PLAIN, rip=${ip}, lip=${pf.ip}, TLS, session=<${session}>`,
    );
  }
}
