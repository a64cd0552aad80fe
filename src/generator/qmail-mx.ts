/**
 * mx2: qmail (netqmail 1.06) under daemontools. `tcpserver -v ... rblsmtpd -r zen.spamhaus.org
 * qmail-smtpd` with the chkuser patch logs to `qmail-smtpd/current` (multilog); QMAILQUEUE is
 * qmail-scanner, which asks spamd (spamc, as user qscand) and clamd and logs its verdict to syslog;
 * qmail-send (`qmail-send/current`) delivers everything by qmail-remote (smtproutes: example.edu to
 * mbox1, lists.example.edu to lists1, the rest by MX). Formats from ucspi-tcp 0.88 (tcpserver.c,
 * rblsmtpd.c), chkuser 2.0.9 (chkuser_commonlog), qmail-scanner's log_msg, and qmail-send.c.
 */

import type { Mail, Peer, Rcpt, World } from './engine.js';
import { longLived, PidSource, type Proc } from './ids.js';
import type { Mailbox, RelayTarget } from './mailbox.js';
import type { Lists } from './mailman.js';
import type { Fate } from './outbound.js';
import type { HostLog } from './output.js';
import { type QMsg, QmailSend, type QRcpt, qmailText, type RemoteResult, UID_QMAILD } from './qmail-send.js';
import type { Rng } from './random.js';
import { adHocRemote, type RemoteDomain, type RemoteHost } from './site.js';
import { SPAM_SCORE, Spamd } from './spamd.js';
import type { Subject } from './text.js';
import type { TextLog } from './textlog.js';
import { MINUTE, US, us } from './time.js';

/** qmail-scanner quarantines spam at or above this score (sa_quarantine); below it, SA only tags. */
export const QUARANTINE_SCORE = 15;
/** qmail-scanner runs spamc as its own user. */
const QSCAND = { name: 'qscand', uid: 1004 };
const TCPSERVER_LIMIT = 100;
/** Chance that a delivery to an internal host finds its port closed (a restart): a deferral. */
const INTERNAL_REFUSED = 0.004;
/** qmail-remote's connect timeout per address (control/timeoutconnect). */
const CONNECT_TIMEOUT = 60;
const NOT_AGAIN = "I'm not going to try again; this message has been in the queue too long.\n";
const NO_CONNECTION = "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)\n";

/** An SMTP client of mx2 (tcpserver looks up no names: `-H`, `-R`). */
export interface QClient {
  ip: string;
  port: number;
  helo: string;
}

/** Where qmail-send takes a recipient. */
export type Target =
  | { kind: 'user' }
  | { kind: 'list' }
  | { kind: 'remote'; remote: RemoteDomain; fate: Fate };

/** One RCPT TO: unknown local addresses (`target` null) are refused by chkuser. */
export interface QGiven {
  address: string;
  target: Target | null;
}

export interface QInbound {
  client: QClient;
  /** An authenticated user (RELAYCLIENT): `RC:1`, and qmail-scanner skips SpamAssassin. */
  relay: boolean;
  sender: string;
  given: QGiven[];
  messageId: string;
  subject: Subject | null;
  size: number;
  score: number;
  rules: string;
  virus: string | null;
  spam: boolean;
}

interface Scan {
  client: QClient;
  relay: boolean;
  mail: Mail;
  /** The message's ground truth starts here (not for a DSN relayed from mbox1): date it. */
  dates: boolean;
  rcpts: { rcpt: Rcpt; target: Target }[];
}

/** qmail-remote's report for an accepted message. */
function accepted(ip: string, reply: string): string {
  return qmailText(`${ip} accepted message.\nRemote host said: ${reply}\n`);
}

/** qmail-remote's report for a refused recipient (raw); multi-line replies keep their line breaks. */
function refusedRcpt(ip: string, reply: string): string {
  const lines = reply.replace(/ (?=\d{3}[ -]\d\.\d\.\d )/g, '\n');
  return `${ip} does not like recipient.\nRemote host said: ${lines}\nGiving up on ${ip}.\n`;
}

/** A deferral turned into a failure when the queue lifetime has run out (qmail-send's `flagdying`). */
function deferral(text: string, dying: boolean, at: number): RemoteResult {
  return dying
    ? { status: 'failure', text: qmailText(text + NOT_AGAIN), at }
    : { status: 'deferral', text: qmailText(text), at };
}

/** `Perl's` tv_interval as qmail-scanner logs it (at most 8 characters). */
function elapsed(seconds: number): string {
  return String(Number(seconds.toFixed(6))).slice(0, 8);
}

/** qmail-scanner's log_msg field: whitespace to `_` (or `|`), bounded, `<>` when empty. */
function field(value: string, max: number, space = '_'): string {
  if (value === '') return '<>';
  return value.replace(/\s/g, space).slice(0, max);
}

export class QmailMx implements RelayTarget {
  readonly send: QmailSend;
  readonly pids: PidSource;
  private readonly rng: Rng;
  private readonly spamd: Spamd;
  private readonly clamd: Proc;
  private sessions = 0;
  private readonly inside: Peer;

  constructor(
    private readonly w: World,
    private readonly smtpd: TextLog,
    sendLog: TextLog,
    private readonly maillog: HostLog,
    private readonly mailbox: Mailbox,
    private readonly lists: Lists,
    readonly fqdn: string,
    /** Internal address (mbox1 and lists1 see mx2 here; mbox1 relays to it). */
    readonly ip: string,
    /** Public address the MX record points at. */
    private readonly publicIp: string,
  ) {
    this.rng = w.rng.fork(11);
    this.pids = new PidSource(this.rng);
    this.send = new QmailSend(w, sendLog, this.pids, this.rng.fork(1), `postmaster@${w.site.domain}`);
    this.send.router = (rcpt) => this.deliverer(rcpt, this.targetOf(rcpt.address, false), false);
    this.clamd = longLived('clamd', this.pids);
    this.spamd = new Spamd(
      this.pids,
      this.rng,
      (t, tag, text) => maillog.emit(t, tag, text),
      w.engine.startUs,
    );
    this.inside = { name: fqdn, ip };
  }

  /** clamd's database check every 10 minutes. */
  startTimers(): void {
    const engine = this.w.engine;
    const tick = (t: number): void => {
      this.maillog.emit(t, this.clamd.tag, 'SelfCheck: Database status OK.');
      engine.atAny(t + 10 * MINUTE, tick);
    };
    engine.atAny(engine.startUs + us(this.rng.real(1, 600)), tick);
  }

  // ---- tcpserver ----

  /** tcpserver accepts: its status (after counting the child), then the child's `pid` and `ok` lines. */
  private open(t: number, c: QClient, localIp: string): number {
    const pid = this.pids.next();
    this.smtpd.emit(t, () => `tcpserver: status: ${++this.sessions}/${TCPSERVER_LIMIT}`);
    this.smtpd.emit(t + us(0.0002), `tcpserver: pid ${pid} from ${c.ip}`);
    this.smtpd.emit(
      t + us(this.rng.real(0.0005, 0.004)),
      `tcpserver: ok ${pid} ${this.fqdn}:${localIp}:25 :${c.ip}::${c.port}`,
    );
    return pid;
  }

  private close(t: number, pid: number): void {
    this.smtpd.emit(t, `tcpserver: end ${pid} status 0`);
    this.smtpd.emit(t + us(0.00005), () => {
      this.sessions = Math.max(0, this.sessions - 1);
      return `tcpserver: status: ${this.sessions}/${TCPSERVER_LIMIT}`;
    });
  }

  /** rblsmtpd finds the client in zen.spamhaus.org: one line, then 451 to every command until QUIT. */
  rblRefused(t: number, c: QClient): void {
    const rng = this.rng;
    const pid = this.open(t, c, this.publicIp);
    this.smtpd.emit(
      t + us(rng.real(0.01, 0.3)),
      `rblsmtpd: ${c.ip} pid ${pid}: 451 http://www.spamhaus.org/query/bl?ip=${c.ip}`,
    );
    this.close(t + us(rng.real(0.5, 8)), pid);
  }

  /** A client that connects and leaves without a transaction (scanners, bots, dropped sessions). */
  idle(t: number, c: QClient): void {
    const pid = this.open(t, c, this.publicIp);
    this.close(t + us(this.rng.real(0.2, 25)), pid);
  }

  // ---- SMTP sessions with mail ----

  /** A session that reaches RCPT: chkuser refuses unknown local recipients; DATA for the others. */
  receive(t0: number, spec: QInbound): void {
    const rng = this.rng;
    const c = spec.client;
    const pid = this.open(t0, c, this.publicIp);
    let t = t0 + us(rng.real(0.05, 0.4));
    const refused: string[] = [];
    let firstRefusal = 0;
    const valid: { address: string; target: Target }[] = [];
    for (const g of spec.given) {
      t += us(rng.real(0.01, 0.08));
      if (g.target === null) {
        this.smtpd.emit(
          t,
          `CHKUSER rejected rcpt: from <${spec.sender}|remoteinfo/auth:|chkuser-identify:> remote <helo:${c.helo}|remotehostname:unknown|remotehostip:${c.ip}> rcpt <${g.address}> : not existing recipient`,
        );
        if (refused.length === 0) firstRefusal = t;
        refused.push(g.address);
      } else valid.push({ address: g.address, target: g.target });
    }
    if (refused.length > 0) this.refusedTruth(spec, firstRefusal, refused);
    if (valid.length === 0) {
      this.close(t + us(rng.real(0.05, 2)), pid);
      return;
    }
    const tracked = this.w.truth.track({
      kind: 'message',
      messageId: spec.messageId,
      sender: spec.sender,
      // qmail-scanner logs the raw Subject with its spaces turned into `_`, cut at 80: not the subject.
      subject: null,
      clientIp: c.ip,
      firstSeen: 0,
      spam: spec.spam,
      virus: spec.virus,
    });
    const rcpts = valid.map((v) => ({
      rcpt: { address: v.address, orig: null, truth: tracked.add(v.address, null) },
      target: v.target,
    }));
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
      dkim: null,
    };
    const tData = t + us(rng.real(0.05, 0.3) + spec.size / rng.real(1e6, 5e6));
    const { end } = this.scan(tData, { client: c, relay: spec.relay, mail, dates: true, rcpts });
    this.close(end + us(rng.real(0.01, 0.3)), pid);
  }

  /**
   * mbox1 relays a DSN through the MX (its relayhost): a session from mbox1, qmail-scanner (`RC:1`),
   * qmail-send. The reply is qmail-smtpd's `250 ok <time> qp <qp>`.
   */
  receiveRelay(
    t: number,
    client: Peer,
    mail: Mail,
    rcpts: Rcpt[],
  ): { qid: string; replyAt: number; reply: string } {
    const rng = this.rng;
    const c: QClient = { ip: client.ip, port: rng.int(32768, 60999), helo: client.name };
    const pid = this.open(t, c, this.ip);
    const tData = t + us(rng.real(0.005, 0.03) + mail.size / 50e6);
    const scanned = this.scan(tData, {
      client: c,
      relay: true,
      mail,
      dates: false,
      rcpts: rcpts.map((rcpt) => ({ rcpt, target: this.targetOf(rcpt.address, mail.sender === '') })),
    });
    this.close(scanned.end + us(rng.real(0.002, 0.02)), pid);
    const replyAt = scanned.end + us(0.0005);
    return { qid: '', replyAt, reply: `250 ok ${Math.floor(replyAt / US)} qp ${scanned.qp}` };
  }

  /** A refused attempt (chkuser): its own ground-truth entry (no log ties it to the accepted message). */
  private refusedTruth(spec: QInbound, at: number, addresses: string[]): void {
    const tracked = this.w.truth.track({
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
   * qmail-scanner as qmail-queue: spamd (unless relaying), clamd, then either the quarantine or the
   * hand-over to qmail-queue (qp = its pid) and qmail-send; one log line per recipient. Returns when
   * qmail-smtpd has its answer and the qp.
   */
  private scan(tData: number, s: Scan): { end: number; qp: number } {
    const rng = this.rng;
    const mail = s.mail;
    const qp = this.pids.next();
    const fileId = `${Math.floor(tData / US)}.${qp}-0.${this.fqdn}`;
    let t = tData + us(rng.real(0.01, 0.05));
    if (!s.relay) t = this.spamd.check(t, mail, QSCAND);
    if (mail.virus !== null) {
      const part = rng.pick([
        'factura.zip',
        'documento.doc',
        'scan_0042.pdf.exe',
        'eicar.com',
        'invoice.html',
      ]);
      t += us(rng.real(0.05, 0.3));
      this.maillog.emit(t, this.clamd.tag, `/var/spool/qscan/tmp/${fileId}/${part}: ${mail.virus} FOUND`);
    }
    t += us(rng.real(0.01, 0.06));
    const rc = `RC:${s.relay ? 1 : 0}(${s.client.ip}):`;
    const sa = s.relay ? '' : `SA:${mail.score >= SPAM_SCORE ? 1 : 0}(${mail.score.toFixed(1)}/5.0):`;
    let status: string;
    let logAt: number;
    let end: number;
    if (mail.virus !== null || mail.score >= QUARANTINE_SCORE) {
      // Quarantined: never handed to qmail-queue, so qmail-send never sees it.
      status = mail.virus !== null ? `CLAMDSCAN:${mail.virus}:${rc}` : `Policy:SA_Spam:${rc}${sa}`;
      logAt = t;
      end = t + us(rng.real(0.001, 0.01));
      if (s.dates) mail.tracked.entry.firstSeen = logAt;
      for (const r of s.rcpts) mail.tracked.settle(r.rcpt.truth, 'quarantined');
    } else {
      status = `Clear:${rc}${sa}`;
      const bytes = mail.size + rng.int(350, 900);
      const qrcpts: QRcpt[] = s.rcpts.map((r) => ({
        rcpt: r.rcpt,
        deliver: this.deliverer(r.rcpt, r.target, mail.score >= SPAM_SCORE),
      }));
      // The truth entry is dated before any recipient settles (an entry is written when the last does).
      const birth = this.send.available(t + us(rng.real(0.001, 0.006)));
      if (s.dates) mail.tracked.entry.firstSeen = birth;
      this.send.queued(birth, mail, mail.sender, bytes, qp, UID_QMAILD, qrcpts);
      // qmail-scanner logs once qmail-queue has exited, about when qmail-send picks the message up.
      logAt = Math.max(t, birth + us(rng.real(-0.003, 0.012)));
      end = Math.max(logAt, birth) + us(rng.real(0.001, 0.01));
    }
    const took = elapsed((logAt - tData) / US);
    // Postfix's DSNs (relayed from mbox1) carry its fixed Subject; the generator's DSN mail has none.
    const raw = mail.subject?.raw ?? (mail.sender === '' ? 'Undelivered Mail Returned to Sender' : '');
    const subject = field(raw, 80);
    const head = `${status} ${took} ${mail.size} ${field(mail.sender, 100)}`;
    const tail = `${subject} ${field(`<${mail.messageId}>`, 80)} ${fileId}:${Math.round(mail.size * 0.7)}`;
    for (const r of s.rcpts) {
      this.maillog.emit(logAt, `qmail-scanner[${qp}]`, `${head} ${field(r.rcpt.address, 100, '|')} ${tail}`);
    }
    return { end, qp };
  }

  // ---- qmail-remote ----

  /** Where an address goes; DSNs to unknown domains (forged spam senders) often fail. */
  private targetOf(address: string, bounce: boolean): Target {
    const domain = address.slice(address.lastIndexOf('@') + 1);
    if (domain === this.w.site.domain) return { kind: 'user' };
    if (domain === this.lists.listDomain) return { kind: 'list' };
    const known = this.w.site.remotes.find((r) => r.domain === domain);
    if (known) return { kind: 'remote', remote: known, fate: { kind: 'sent' } };
    const rng = this.rng;
    const fate: Fate = !bounce
      ? { kind: 'sent' }
      : rng.weighted<Fate>([
          [{ kind: 'sent' }, 0.35],
          [{ kind: 'bounce' }, 0.4],
          [{ kind: 'timeout' }, 0.25],
        ]);
    return { kind: 'remote', remote: adHocRemote(rng, domain), fate };
  }

  /** The qmail-remote run for one recipient, by target. */
  private deliverer(rcpt: Rcpt, target: Target, junk: boolean): QRcpt['deliver'] {
    const rng = this.rng;
    if (target.kind === 'user') {
      return (t, msg, dying) => {
        const mailbox = this.mailbox;
        if (rng.chance(INTERNAL_REFUSED))
          return deferral(NO_CONNECTION, dying, t + us(rng.real(0.001, 0.01)));
        const { qid, replyAt } = mailbox.receive(
          t + us(rng.real(0.002, 0.01)),
          this.inside,
          msg.mail,
          [rcpt],
          junk,
        );
        const at = replyAt + us(rng.real(0.001, 0.006));
        return { status: 'success', text: accepted(mailbox.ip, `250 2.0.0 Ok: queued as ${qid}`), at };
      };
    }
    if (target.kind === 'list') {
      return (t, msg, dying) => {
        const lists = this.lists;
        if (rng.chance(INTERNAL_REFUSED))
          return deferral(NO_CONNECTION, dying, t + us(rng.real(0.001, 0.01)));
        const { qid, replyAt } = lists.receive(t + us(rng.real(0.002, 0.01)), this.inside, msg.mail, rcpt);
        const at = replyAt + us(rng.real(0.001, 0.006));
        return { status: 'success', text: accepted(lists.ip, `250 2.0.0 Ok: queued as ${qid}`), at };
      };
    }
    return (t, msg, dying) => this.remote(t, msg, rcpt, target.remote, target.fate, dying);
  }

  /** qmail-remote to a domain's MX: the fate decides; greylisting lets a later try through. */
  private remote(
    t: number,
    msg: QMsg,
    rcpt: Rcpt,
    remote: RemoteDomain,
    fate: Fate,
    dying: boolean,
  ): RemoteResult {
    const rng = this.rng;
    if (fate.kind === 'timeout') {
      return deferral(
        NO_CONNECTION,
        dying,
        t + us(CONNECT_TIMEOUT * remote.mx.length + rng.real(0.001, 0.02)),
      );
    }
    const mx = remote.mx[0] as RemoteHost;
    const at = t + us(rng.real(0.2, 1.5) + msg.bytes / 3e6);
    if (fate.kind === 'greylist' && fate.left > 0) {
      fate.left--;
      const reply = `450 4.2.0 <${rcpt.address}>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/${remote.domain}.html`;
      return deferral(refusedRcpt(mx.ip, reply), dying, at);
    }
    if (fate.kind === 'bounce') {
      return {
        status: 'failure',
        text: qmailText(refusedRcpt(mx.ip, remote.unknownUser(rng, rcpt.address))),
        at,
      };
    }
    msg.mail.tracked.settle(rcpt.truth, 'delivered');
    return {
      status: 'success',
      text: accepted(mx.ip, remote.accept(rng, msg.mail.messageId, msg.bytes, at)),
      at,
    };
  }
}
