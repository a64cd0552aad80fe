/**
 * lists1: Mailman 2.1 behind Postfix. A post arrives from the MX (smtpd), Postfix's local(8) pipes it
 * to `mailman post LIST`; Mailman either holds it (vette log) or sends it to the members through
 * Postfix on localhost (SMTPDirect: `smtp` log, `post` log, `smtp-failure` for members Postfix
 * refused), with envelope sender `LIST-bounces@lists.DOMAIN` and the same Message-ID. Postfix then
 * delivers to mbox1 (local members) or the Internet; bounces go back to `LIST-bounces`, which local(8)
 * pipes to `mailman bounces LIST`. Log formats: Mailman 2.1's Defaults.py (SMTP_LOG_EVERY_MESSAGE,
 * SMTP_LOG_SUCCESS, SMTP_LOG_REFUSED, SMTP_LOG_EACH_FAILURE) and Handlers/Hold.py, each line after
 * StampedLogger's `Nov 28 10:00:00 2026 (pid) `.
 */

import type { Mail, Peer, Rcpt, World } from './engine.js';
import { longLived, type ProcessPool } from './ids.js';
import { type Fate, Outbound, type OwnDelivery, type Plan } from './outbound.js';
import type { HostLog } from './output.js';
import { commandStats, type PostfixHost } from './postfix.js';
import type { Rng } from './random.js';
import { pickRemote, type RemoteDomain, remoteAddress, type Site, unknownLocal } from './site.js';
import type { TextLog } from './textlog.js';
import { US, us } from './time.js';

/** Bytes a hop adds to the queue file. */
const QUEUE_OVERHEAD = 900;
/** Bytes Mailman adds (List-* headers, footer). */
const MAILMAN_OVERHEAD = 1400;
const MAILMAN_COMMAND = '/var/lib/mailman/mail/mailman';

export interface MailingList {
  name: string;
  /** `name@lists.DOMAIN` */
  address: string;
  /** `name-bounces@lists.DOMAIN`: the envelope sender of what the list sends. */
  bounces: string;
  /** Members: local users, people elsewhere, and a few departed local addresses. */
  members: string[];
  /** Non-members' posts are held for the moderator. */
  membersOnly: boolean;
}

export interface MailmanLogs {
  post: TextLog;
  smtp: TextLog;
  smtpFailure: TextLog;
  vette: TextLog;
}

/** The site's lists: 20–300 members each, mostly local. */
export function buildLists(rng: Rng, site: Site, listDomain: string): MailingList[] {
  const names = [
    'estudiantes',
    'profesorado',
    'investigacion-l',
    'seminarios',
    'anuncios',
    'alumni',
    'dept-fisica',
    'becas-info',
    'cultura',
    'deportes',
  ];
  return names.map((name) => {
    const size = rng.int(20, 300);
    const members = new Set<string>();
    for (let guard = 0; members.size < size && guard < size * 4; guard++) {
      const r = rng.next();
      if (r < 0.72) members.add(rng.pick(site.users).address);
      else if (r < 0.99) members.add(remoteAddress(rng, pickRemote(rng, site)));
      else members.add(unknownLocal(rng, site));
    }
    return {
      name,
      address: `${name}@${listDomain}`,
      bounces: `${name}-bounces@${listDomain}`,
      members: [...members],
      membersOnly: rng.chance(0.5),
    };
  });
}

/** Remote fates as for smtp1's mail: greylisting, a dead domain now and then, unknown users. */
function remoteFates(rng: Rng, remote: RemoteDomain, count: number): Fate[] {
  if (rng.chance(0.01)) return Array.from({ length: count }, (): Fate => ({ kind: 'timeout' }));
  const greylist = remote.greylists && rng.chance(0.5) ? rng.int(1, 4) : 0;
  return Array.from({ length: count }, (): Fate => {
    if (rng.chance(0.03)) return { kind: 'bounce' };
    return greylist > 0 ? { kind: 'greylist', left: greylist } : { kind: 'sent' };
  });
}

export class Lists {
  readonly postfix: Outbound;
  private readonly local: ProcessPool;
  private readonly rng: Rng;
  /** Mailman's qrunners: IncomingRunner (vette) and OutgoingRunner (post, smtp, smtp-failure). */
  private readonly incoming: number;
  private readonly outgoing: number;
  private readonly byAddress = new Map<string, MailingList>();

  constructor(
    private readonly w: World,
    log: HostLog,
    private readonly mm: MailmanLogs,
    readonly lists: MailingList[],
    readonly listDomain: string,
    host: { fqdn: string; ip: string },
  ) {
    this.postfix = new Outbound(w, log, { ...host, inodes: [0x1000000, 0x1800000] });
    const pf = this.postfix.pf;
    this.rng = pf.rng;
    this.local = pf.pool('postfix/local');
    this.incoming = longLived('mailmanctl', pf.pids).pid;
    this.outgoing = longLived('mailmanctl', pf.pids).pid;
    for (const l of lists) this.byAddress.set(l.address, l);
    const own: OwnDelivery = {
      accepts: (address) => address.endsWith(`@${listDomain}`),
      deliver: (t, qid, mail, rcpt, arrival) => this.pipe(t, qid, mail, rcpt, arrival, 'bounces'),
    };
    this.postfix.own = own;
  }

  get pf(): PostfixHost {
    return this.postfix.pf;
  }
  get fqdn(): string {
    return this.pf.fqdn;
  }
  get ip(): string {
    return this.pf.ip;
  }

  list(address: string): MailingList | undefined {
    return this.byAddress.get(address);
  }

  /**
   * The MX hands over a post for `rcpt` (a list address, or a list's `-bounces` address for a DSN):
   * smtpd receives it, local(8) pipes it to Mailman. Returns the queue id and when the 250 is sent.
   */
  receive(t: number, client: Peer, mail: Mail, rcpt: Rcpt): { qid: string; replyAt: number } {
    const pf = this.pf;
    const rng = this.rng;
    const proc = pf.smtpd.acquire(t, t + US);
    const who = `${client.name}[${client.ip}]`;
    pf.anvil.connect(t, 'smtp', client.ip);
    pf.emit(t, proc.tag, `connect from ${who}`);
    const tClient = t + us(rng.real(0.002, 0.012));
    const qid = pf.qids.next(tClient);
    pf.emit(tClient, proc.tag, `${qid}: client=${who}`);
    const tData = tClient + us(rng.real(0.003, 0.02) + mail.size / 50e6);
    pf.messageId(tData, qid, mail.messageId);
    const replyAt = tData + us(rng.real(0.002, 0.01));
    const active = replyAt + us(rng.real(0.0005, 0.004));
    pf.queueActive(active, qid, mail.sender, mail.size + QUEUE_OVERHEAD, 1);
    const quit = replyAt + us(rng.real(0.001, 0.008));
    const stats = commandStats([
      ['ehlo', 1, 1],
      ['mail', 1, 1],
      ['rcpt', 1, 1],
      ['data', 1, 1],
      ['quit', 1, 1],
    ]);
    pf.emit(quit, proc.tag, `disconnect from ${who} ${stats}`);
    proc.busyUntil = quit;
    const bounces = rcpt.address.endsWith(`-bounces@${this.listDomain}`);
    const done = this.pipe(
      active + us(rng.real(0.001, 0.01)),
      qid,
      mail,
      rcpt,
      tClient,
      bounces ? 'bounces' : 'post',
    );
    pf.removed(done + us(rng.real(0.0005, 0.003)), qid);
    return { qid, replyAt };
  }

  /** local(8) pipes the message to `mailman post|bounces LIST`; returns when the command has exited. */
  private pipe(
    t: number,
    qid: string,
    mail: Mail,
    rcpt: Rcpt,
    arrival: number,
    command: 'post' | 'bounces',
  ): number {
    const pf = this.pf;
    const rng = this.rng;
    const proc = this.local.acquire(t, t + US);
    const name = rcpt.address.slice(0, rcpt.address.indexOf('@')).replace(/-bounces$/, '');
    const took = rng.real(0.08, 0.4);
    const at = t + us(took);
    pf.delivery(at, proc, {
      qid,
      to: rcpt.address,
      orig: null,
      relay: 'local',
      delays: [(t - arrival) / US, rng.real(0, 0.01), rng.real(0, 0.01), took],
      dsn: '2.0.0',
      status: 'sent',
      reply: `delivered to command: ${MAILMAN_COMMAND} ${command} ${name}`,
    });
    proc.busyUntil = at;
    const list = this.list(`${name}@${this.listDomain}`);
    if (command === 'bounces' || list === undefined) {
      // Mailman's BounceRunner takes it; the bounce log is not part of this site's logs.
      mail.tracked.settle(rcpt.truth, 'delivered');
      return at;
    }
    this.post(at + us(rng.real(0.5, 4)), list, mail, rcpt);
    return at;
  }

  /** IncomingRunner: hold the post (vette) or hand it to OutgoingRunner, which sends it to the members. */
  private post(t: number, list: MailingList, mail: Mail, listRcpt: Rcpt): void {
    const rng = this.rng;
    const tracked = mail.tracked;
    const member = list.members.includes(mail.sender);
    if (list.membersOnly && !member && rng.chance(0.85)) {
      this.mm.vette.emit(
        t,
        `(${this.incoming}) ${list.name} post from ${mail.sender} held, message-id=<${mail.messageId}>: Post by non-member to a members-only list`,
      );
      tracked.settle(listRcpt.truth, 'held');
      return;
    }
    // The list expands to its members: they replace the list address in the ground truth.
    const rcpts: Rcpt[] = list.members.map((address) => ({
      address,
      orig: null,
      truth: tracked.add(address, list.address),
    }));
    tracked.drop(listRcpt.truth);
    this.distribute(t + us(rng.real(0.2, 2)), list, mail, rcpts);
  }

  /**
   * SMTPDirect: one SMTP transaction to Postfix on localhost with every member; Postfix refuses the
   * departed local ones at RCPT. Then Mailman's `smtp`, `post` and `smtp-failure` lines, and Postfix
   * delivers the rest.
   */
  private distribute(t: number, list: MailingList, mail: Mail, rcpts: Rcpt[]): void {
    const pf = this.pf;
    const rng = this.rng;
    const site = this.w.site;
    const proc = pf.smtpd.acquire(t, t + 30 * US);
    const who = 'localhost[127.0.0.1]';
    pf.anvil.connect(t, 'smtp', '127.0.0.1');
    pf.emit(t, proc.tag, `connect from ${who}`);
    let tt = t + us(rng.real(0.002, 0.01));
    let qid: string | null = null;
    let tClient = 0;
    const accepted: Rcpt[] = [];
    const refused: Rcpt[] = [];
    for (const r of rcpts) {
      tt += us(rng.real(0.0002, 0.002));
      const departed = r.address.endsWith(`@${site.domain}`) && !site.userByAddress.has(r.address);
      if (departed) {
        pf.emit(
          tt,
          proc.tag,
          `${qid ?? 'NOQUEUE'}: reject: RCPT from ${who}: 550 5.1.1 <${r.address}>: Recipient address rejected: User unknown in relay recipient table; from=<${list.bounces}> to=<${r.address}> proto=ESMTP helo=<${pf.fqdn}>`,
        );
        refused.push(r);
        continue;
      }
      if (qid === null) {
        qid = pf.qids.next(tt);
        tClient = tt;
        pf.emit(tt, proc.tag, `${qid}: client=${who}`);
      }
      accepted.push(r);
    }
    const size = mail.size + MAILMAN_OVERHEAD;
    const n = rcpts.length;
    let quit: number;
    if (qid !== null) {
      const tData = tt + us(rng.real(0.005, 0.03) + size / 30e6);
      pf.messageId(tData, qid, mail.messageId);
      const active = tData + us(rng.real(0.002, 0.01));
      pf.queueActive(active, qid, list.bounces, size + QUEUE_OVERHEAD, accepted.length);
      quit = active + us(rng.real(0.001, 0.01));
      pf.emit(
        quit,
        proc.tag,
        `disconnect from ${who} ${commandStats([
          ['ehlo', 1, 1],
          ['mail', 1, 1],
          ['rcpt', accepted.length, n],
          ['data', 1, 1],
          ['quit', 1, 1],
        ])}`,
      );
      const resend: Mail = { ...mail, sender: list.bounces, size };
      const plans = this.plans(accepted);
      this.postfix.queue(active + us(rng.real(0.002, 0.03)), qid, resend, tClient, plans);
    } else {
      quit = tt + us(rng.real(0.001, 0.01));
      pf.emit(
        quit,
        proc.tag,
        `disconnect from ${who} ${commandStats([
          ['ehlo', 1, 1],
          ['mail', 1, 1],
          ['rcpt', 0, n],
          ['quit', 1, 1],
        ])}`,
      );
    }
    proc.busyUntil = quit;
    this.logDistribution(quit + us(rng.real(0.001, 0.01)), t, list, mail, size, n, refused);
  }

  /** Mailman's account of the distribution: `smtp`, then `post`, then one `smtp-failure` per refusal. */
  private logDistribution(
    t: number,
    began: number,
    list: MailingList,
    mail: Mail,
    size: number,
    recips: number,
    refused: Rcpt[],
  ): void {
    const pid = this.outgoing;
    const mid = `<${mail.messageId}>`;
    const seconds = ((t - began) / US).toFixed(3);
    this.mm.smtp.emit(
      t,
      `(${pid}) ${mid} smtp to ${list.name} for ${recips} recips, completed in ${seconds} seconds`,
    );
    const outcome = refused.length > 0 ? `${refused.length} failures` : 'success';
    this.mm.post.emit(
      t + us(0.0002),
      `(${pid}) post to ${list.name} from ${mail.sender}, size=${size}, message-id=${mid}, ${outcome}`,
    );
    for (const r of refused) {
      this.mm.smtpFailure.emit(
        t + us(0.0004),
        `(${pid}) delivery to ${r.address} failed with code 550: 5.1.1 <${r.address}>: Recipient address rejected: User unknown in relay recipient table`,
      );
      // Refused at RCPT by Postfix on lists1: the site's `rejected` (Mailman reports it as a failure).
      mail.tracked.settle(r.truth, 'rejected');
    }
  }

  /** Local members go to mbox1; the others to their domain's MX, with one fate draw per domain. */
  private plans(rcpts: Rcpt[]): Plan[] {
    const site = this.w.site;
    const plans: Plan[] = [];
    const byDomain = new Map<RemoteDomain, Rcpt[]>();
    for (const rcpt of rcpts) {
      const domain = rcpt.address.slice(rcpt.address.lastIndexOf('@') + 1);
      const remote = domain === site.domain ? undefined : site.remotes.find((r) => r.domain === domain);
      if (remote === undefined) {
        plans.push({ rcpt, remote: null, fate: { kind: 'local' } });
        continue;
      }
      const list = byDomain.get(remote);
      if (list) list.push(rcpt);
      else byDomain.set(remote, [rcpt]);
    }
    for (const [remote, list] of byDomain) {
      const fates = remoteFates(this.rng, remote, list.length);
      list.forEach((rcpt, i) => {
        plans.push({ rcpt, remote, fate: fates[i] ?? { kind: 'sent' } });
      });
    }
    return plans;
  }
}
