/**
 * The qmail site's mix: inbound mail to users (~52%, ~40% of it spam), posts to the mailing lists
 * (~12%), mail from authenticated users to the Internet (~36%), viruses (~0.3%), and clients that
 * connect and send nothing.
 */

import type { World } from './engine.js';
import type { MessageIdStyle } from './ids.js';
import type { Lists, MailingList } from './mailman.js';
import type { Fate } from './outbound.js';
import type { QClient, QGiven, QmailMx, Target } from './qmail-mx.js';
import { QUARANTINE_SCORE } from './qmail-mx.js';
import type { Rng } from './random.js';
import { pickRemote, type RemoteDomain, remoteAddress, type Site, spamSender, unknownLocal } from './site.js';
import { SPAM_SCORE } from './spamd.js';
import { encodeSubject, HOSTILE_HELO, pickHamSubject, pickRules, pickSpamSubject, VIRUSES } from './text.js';

const VIRUS = 0.003;
const INBOUND = 0.52;
const LISTS = 0.12;
const SPAM_SHARE = 0.4;

type SpamKind = 'rbl' | 'unknown' | 'quarantine' | 'tagged';
const SPAM_KINDS: readonly (readonly [SpamKind, number])[] = [
  ['rbl', 0.3],
  ['unknown', 0.15],
  ['quarantine', 0.15],
  ['tagged', 0.4],
];

function messageSize(rng: Rng): number {
  return Math.round(Math.min(25_000_000, Math.max(900, rng.logNormal(14_000, 1.2))));
}

function recipientCount(rng: Rng): number {
  return rng.weighted([
    [1, 78],
    [2, 12],
    [3, 6],
    [rng.int(4, 9), 4],
  ]);
}

/** Bots and spam sources: 100.64.0.0/10 (tcpserver here speaks IPv4 only). */
function botIp(rng: Rng): string {
  return `100.${rng.int(64, 127)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
}

export class QmailTraffic {
  private readonly rng: Rng;
  private readonly site: Site;

  constructor(
    private readonly w: World,
    private readonly mx: QmailMx,
    private readonly lists: Lists,
  ) {
    this.rng = w.rng.fork(17);
    this.site = w.site;
  }

  next(t: number): void {
    const rng = this.rng;
    const r = rng.next();
    if (r < VIRUS) this.virus(t);
    else if (r < INBOUND) {
      if (rng.chance(SPAM_SHARE)) this.spam(t);
      else this.ham(t);
    } else if (r < INBOUND + LISTS) this.listPost(t);
    else this.outbound(t);
  }

  /** A connection that sends no mail (scanners, dropped sessions); `rate` per second. */
  startNoise(ratePerSecond: number): void {
    const engine = this.w.engine;
    const rng = this.rng;
    const mean = 1 / (ratePerSecond * 0.25);
    const tick = (t: number): void => {
      this.mx.idle(t, { ip: botIp(rng), port: rng.int(1024, 65535), helo: '' });
      engine.atAny(t + Math.round(rng.exp(mean) * 1e6), tick);
    };
    engine.atAny(engine.startUs + Math.round(rng.exp(mean) * 1e6), tick);
  }

  private users(count: number, exclude = ''): QGiven[] {
    const rng = this.rng;
    const seen = new Set<string>([exclude]);
    const out: QGiven[] = [];
    for (let guard = 0; out.length < count && guard < count * 4; guard++) {
      const address = rng.pick(this.site.users).address;
      if (seen.has(address)) continue;
      seen.add(address);
      out.push({ address, target: { kind: 'user' } });
    }
    return out;
  }

  /** Addresses that do not exist here (dictionary attacks, typos), none given twice. */
  private unknowns(count: number): QGiven[] {
    const site = this.site;
    const seen = new Set<string>();
    for (let guard = 0; seen.size < count && guard < count * 8; guard++) {
      const address = unknownLocal(this.rng, site);
      if (!site.userByAddress.has(address)) seen.add(address);
    }
    return [...seen].map((address) => ({ address, target: null }));
  }

  private messageId(style: MessageIdStyle, domain: string, t: number): string {
    return this.w.messageIds.next(style, domain, t);
  }

  /** Message-id shapes short enough for qmail-scanner's 80-character field (Outlook's are not). */
  private styleFor(remote: RemoteDomain): MessageIdStyle {
    if (remote.domain === 'gmail.com') return 'gmail';
    return this.rng.weighted([
      ['uuid', 3],
      ['mta', 2],
      ['java', 1],
    ] as const);
  }

  private legitClient(remote: RemoteDomain): QClient {
    const rng = this.rng;
    const host = rng.pick(remote.senders);
    return { ip: host.ip, port: rng.int(20000, 65000), helo: host.name };
  }

  private spamClient(): QClient {
    const rng = this.rng;
    const ip = botIp(rng);
    const h = rng.next();
    const helo =
      h < 0.04
        ? HOSTILE_HELO
        : h < 0.4
          ? `[${ip}]`
          : rng.chance(0.5)
            ? 'User'
            : `${rng.lower(rng.int(5, 10))}.${rng.pick(['com', 'net', 'org', 'info'])}`;
    return { ip, port: rng.int(1024, 65535), helo };
  }

  /** A user's mail client, authenticated (RELAYCLIENT): from the campus or from home. */
  private userClient(): QClient {
    const rng = this.rng;
    const ip = rng.chance(0.5)
      ? `10.20.${rng.int(0, 255)}.${rng.int(1, 254)}`
      : `203.0.113.${rng.int(1, 254)}`;
    return {
      ip,
      port: rng.int(20000, 65000),
      helo: rng.pick(['[192.168.1.10]', 'localhost', 'laptop', 'PC-AULA12']),
    };
  }

  private ham(t: number): void {
    const rng = this.rng;
    const remote = pickRemote(rng, this.site);
    const given = this.users(recipientCount(rng));
    if (rng.chance(0.03)) given.splice(rng.int(0, given.length), 0, ...this.unknowns(1));
    this.mx.receive(t, {
      client: this.legitClient(remote),
      relay: false,
      sender: remoteAddress(rng, remote),
      given,
      messageId: this.messageId(this.styleFor(remote), remote.domain, t),
      subject: rng.chance(0.99) ? encodeSubject(rng, pickHamSubject(rng)) : null,
      size: messageSize(rng),
      score: Number(rng.real(-4, 4.5).toFixed(3)),
      rules: pickRules(rng, false),
      virus: null,
      spam: false,
    });
  }

  private spam(t: number): void {
    const rng = this.rng;
    const kind = rng.weighted(SPAM_KINDS);
    const client = this.spamClient();
    if (kind === 'rbl') {
      this.mx.rblRefused(t, client);
      return;
    }
    const sender = spamSender(rng);
    const domain = sender.slice(sender.indexOf('@') + 1);
    const given =
      kind === 'unknown' ? this.unknowns(rng.int(1, 4)) : this.users(rng.chance(0.85) ? 1 : rng.int(2, 5));
    if (kind !== 'unknown' && rng.chance(0.15)) given.push(...this.unknowns(1));
    const score =
      kind === 'quarantine' ? rng.real(QUARANTINE_SCORE, 40) : rng.real(SPAM_SCORE, QUARANTINE_SCORE - 0.01);
    this.mx.receive(t, {
      client,
      relay: false,
      sender,
      given,
      messageId: this.messageId(rng.chance(0.8) ? 'spam' : 'java', domain, t),
      subject: rng.chance(0.97) ? encodeSubject(rng, pickSpamSubject(rng)) : null,
      size: messageSize(rng),
      score: Number(score.toFixed(3)),
      rules: pickRules(rng, true),
      virus: null,
      spam: true,
    });
  }

  private virus(t: number): void {
    const rng = this.rng;
    const fromSpammer = rng.chance(0.6);
    const remote = pickRemote(rng, this.site);
    const sender = fromSpammer ? spamSender(rng) : remoteAddress(rng, remote);
    const domain = sender.slice(sender.indexOf('@') + 1);
    this.mx.receive(t, {
      client: fromSpammer ? this.spamClient() : this.legitClient(remote),
      relay: false,
      sender,
      given: this.users(rng.chance(0.8) ? 1 : rng.int(2, 4)),
      messageId: this.messageId(fromSpammer ? 'spam' : this.styleFor(remote), domain, t),
      subject: encodeSubject(rng, rng.pick(['Factura pendiente', 'Invoice attached', 'Documento escaneado'])),
      size: Math.round(rng.real(20_000, 600_000)),
      score: Number(rng.real(-1, 4.5).toFixed(3)),
      rules: pickRules(rng, false),
      virus: rng.pick(VIRUSES),
      spam: false,
    });
  }

  /** A post to one list, from someone elsewhere or from a user (authenticated, so `RC:1`). */
  private listPost(t: number): void {
    const rng = this.rng;
    const list: MailingList = rng.pick(this.lists.lists);
    const local = rng.chance(0.3);
    const remote = pickRemote(rng, this.site);
    // Members post more often than outsiders.
    const member = rng.chance(0.7) ? rng.pick(list.members) : null;
    const sender = local
      ? rng.pick(this.site.users).address
      : member && !member.endsWith(`@${this.site.domain}`)
        ? member
        : remoteAddress(rng, remote);
    this.mx.receive(t, {
      client: local ? this.userClient() : this.legitClient(remote),
      relay: local,
      sender,
      given: [{ address: list.address, target: { kind: 'list' } }],
      messageId: this.messageId(
        local ? 'uuid' : this.styleFor(remote),
        local ? this.site.domain : remote.domain,
        t,
      ),
      subject: encodeSubject(rng, pickHamSubject(rng)),
      size: Math.round(Math.max(1500, rng.logNormal(6_000, 0.8))),
      score: Number(rng.real(-3, 3).toFixed(3)),
      rules: pickRules(rng, false),
      virus: null,
      spam: false,
    });
  }

  /** Fates for one remote domain's recipients: the domain may be down, greylisting, or not know them. */
  private remoteFates(remote: RemoteDomain, count: number): Fate[] {
    const rng = this.rng;
    if (rng.chance(0.015)) return Array.from({ length: count }, (): Fate => ({ kind: 'timeout' }));
    const greylist = remote.greylists && rng.chance(0.6) ? rng.int(1, 4) : 0;
    return Array.from({ length: count }, (): Fate => {
      if (rng.chance(0.03)) return { kind: 'bounce' };
      return greylist > 0 ? { kind: 'greylist', left: greylist } : { kind: 'sent' };
    });
  }

  /** A user sends through mx2 (SMTP AUTH): remote recipients, now and then a colleague too. */
  private outbound(t: number): void {
    const rng = this.rng;
    const site = this.site;
    const sender = rng.pick(site.users).address;
    const byDomain = new Map<RemoteDomain, string[]>();
    const seen = new Set<string>();
    const count = recipientCount(rng);
    for (let i = 0; i < count; i++) {
      const remote = pickRemote(rng, site);
      const address = remoteAddress(rng, remote);
      if (seen.has(address)) continue;
      seen.add(address);
      const list = byDomain.get(remote);
      if (list) list.push(address);
      else byDomain.set(remote, [address]);
    }
    const given: QGiven[] = [];
    for (const [remote, addresses] of byDomain) {
      const fates = this.remoteFates(remote, addresses.length);
      addresses.forEach((address, i) => {
        const target: Target = { kind: 'remote', remote, fate: fates[i] ?? { kind: 'sent' } };
        given.push({ address, target });
      });
    }
    if (rng.chance(0.1)) given.push(...this.users(1, sender));
    this.mx.receive(t, {
      client: this.userClient(),
      relay: true,
      sender,
      given,
      messageId: this.messageId(rng.chance(0.6) ? 'uuid' : 'mta', site.domain, t),
      subject: encodeSubject(rng, pickHamSubject(rng)),
      size: messageSize(rng),
      score: 0,
      rules: '',
      virus: null,
      spam: false,
    });
  }
}
