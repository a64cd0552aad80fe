/**
 * The traffic mix: what kind of message arrives next, with its sender, recipients, content and fate.
 * Inbound ~65% (of which ~40% spam), outbound ~25%, internal ~10%, viruses ~0.3% of all.
 */

import type { Mail, Peer, Rcpt, World } from './engine.js';
import type { MessageIdStyle } from './ids.js';
import {
  type Client,
  type Given,
  type InboundSpec,
  KILL_SCORE,
  type Mx,
  REJECT_SCORE,
  SPAM_SCORE,
} from './mx.js';
import type { Fate, Outbound, Plan } from './outbound.js';
import type { Rng } from './random.js';
import {
  botIp,
  botName,
  pickRemote,
  type RemoteDomain,
  remoteAddress,
  type Site,
  spamSender,
  unknownLocal,
} from './site.js';
import { encodeSubject, HOSTILE_HELO, pickHamSubject, pickRules, pickSpamSubject, VIRUSES } from './text.js';

const INBOUND = 0.65;
const OUTBOUND = 0.25;
/** Share of all messages carrying a virus (all inbound). */
const VIRUS = 0.003;
const SPAM_SHARE = 0.4;

type SpamKind = 'dnsbl' | 'rbl' | 'unknown' | 'milter' | 'blocked' | 'tagged';
const SPAM_KINDS: readonly (readonly [SpamKind, number])[] = [
  ['dnsbl', 0.3],
  ['rbl', 0.1],
  ['unknown', 0.12],
  ['milter', 0.05],
  ['blocked', 0.1],
  ['tagged', 0.33],
];

function isKnown(site: Site, address: string): boolean {
  return site.userByAddress.has(address) || site.aliases.some((a) => a.address === address);
}

function messageSize(rng: Rng): number {
  return Math.round(Math.min(25_000_000, Math.max(900, rng.logNormal(14_000, 1.2))));
}

/** How many recipients: usually 1–3, sometimes 10–50. */
function recipientCount(rng: Rng): number {
  return rng.weighted([
    [1, 75],
    [2, 12],
    [3, 6],
    [rng.int(4, 9), 5],
    [rng.int(10, 50), 2],
  ]);
}

export class Traffic {
  private readonly rng: Rng;

  constructor(
    private readonly w: World,
    private readonly mx: Mx,
    private readonly out: Outbound,
  ) {
    this.rng = w.rng.fork(7);
  }

  /** One new message (or refused attempt) starting at `t`. */
  next(t: number): void {
    const r = this.rng.next();
    if (r < VIRUS) this.virus(t);
    else if (r < INBOUND) {
      if (this.rng.chance(SPAM_SHARE)) this.spam(t);
      else this.ham(t);
    } else if (r < INBOUND + OUTBOUND) this.outbound(t);
    else this.internal(t);
  }

  // ---- inbound ----

  /** Local recipients as given at RCPT: mailboxes and aliases, no duplicates after expansion. */
  private localGiven(count: number): Given[] {
    const rng = this.rng;
    const site = this.w.site;
    const seen = new Set<string>();
    const out: Given[] = [];
    for (let guard = 0; out.length < count && guard < count * 4; guard++) {
      const alias = rng.chance(0.1) ? rng.pick(site.aliases) : null;
      if (alias && !alias.members.some((m) => seen.has(m)) && !seen.has(alias.address)) {
        seen.add(alias.address);
        for (const m of alias.members) seen.add(m);
        out.push({
          address: alias.address,
          valid: true,
          targets: alias.members.map((m) => ({ address: m, orig: alias.address })),
        });
        continue;
      }
      const user = rng.pick(site.users).address;
      if (seen.has(user)) continue;
      seen.add(user);
      out.push({ address: user, valid: true, targets: [{ address: user, orig: null }] });
    }
    return out;
  }

  private unknownGiven(): Given {
    const site = this.w.site;
    let address = unknownLocal(this.rng, site);
    while (isKnown(site, address)) address = unknownLocal(this.rng, site);
    return { address, valid: false, targets: [] };
  }

  private legitClient(remote: RemoteDomain): Client {
    const rng = this.rng;
    const host = rng.pick(remote.senders);
    return { name: host.name, ip: host.ip, helo: host.name, port: rng.int(20000, 65000) };
  }

  private spamClient(): Client {
    const rng = this.rng;
    const ip = botIp(rng);
    const name = botName(rng, ip);
    let helo: string;
    const h = rng.next();
    if (h < 0.04) helo = HOSTILE_HELO;
    else if (name !== 'unknown' && h < 0.5) helo = name;
    else if (h < 0.7 && !ip.includes(':')) helo = `[${ip}]`;
    else
      helo = rng.chance(0.5)
        ? 'User'
        : `${rng.lower(rng.int(5, 10))}.${rng.pick(['com', 'net', 'org', 'info'])}`;
    const claimed =
      name === 'unknown' && rng.chance(0.15) ? `${rng.lower(6)}.${rng.pick(['net', 'com'])}` : undefined;
    return { name, ip, helo, port: rng.int(1024, 65535), ...(claimed ? { claimed } : {}) };
  }

  private messageId(style: MessageIdStyle, domain: string, t: number): string {
    return this.w.messageIds.next(style, domain, t);
  }

  private styleFor(remote: RemoteDomain): MessageIdStyle {
    if (remote.domain === 'gmail.com') return 'gmail';
    if (remote.domain === 'outlook.com' || remote.domain === 'hotmail.com') return 'outlook';
    return this.rng.weighted([
      ['uuid', 3],
      ['mta', 2],
      ['java', 1],
    ] as const);
  }

  private ham(t: number): void {
    const rng = this.rng;
    const remote = pickRemote(rng, this.w.site);
    const given = this.localGiven(recipientCount(rng));
    // A typo'd or departed colleague among the recipients now and then.
    if (rng.chance(0.03)) given.splice(rng.int(0, given.length), 0, this.unknownGiven());
    const spec: InboundSpec = {
      client: this.legitClient(remote),
      known: rng.chance(0.9),
      tls: rng.chance(0.85),
      sender: remoteAddress(rng, remote),
      given,
      messageId: this.messageId(this.styleFor(remote), remote.domain, t),
      subject: rng.chance(0.99) ? encodeSubject(rng, pickHamSubject(rng)) : null,
      size: messageSize(rng),
      score: Number(rng.real(-4, 4.5).toFixed(3)),
      rules: pickRules(rng, false),
      virus: null,
      dkim: remote.dkim,
      spam: false,
    };
    this.mx.receive(t, spec);
  }

  private spamSpec(t: number, kind: SpamKind): InboundSpec {
    const rng = this.rng;
    const sender = spamSender(rng);
    const domain = sender.slice(sender.indexOf('@') + 1);
    let given: Given[];
    if (kind === 'unknown') given = Array.from({ length: rng.int(1, 5) }, () => this.unknownGiven());
    else if (kind === 'dnsbl' || kind === 'rbl') {
      given = this.localGiven(rng.int(1, 3));
      if (rng.chance(0.3)) given.push(this.unknownGiven());
    } else given = this.localGiven(rng.chance(0.85) ? 1 : rng.int(2, 6));
    const score =
      kind === 'milter'
        ? rng.real(REJECT_SCORE, 45)
        : kind === 'blocked'
          ? rng.real(KILL_SCORE, REJECT_SCORE - 0.01)
          : rng.real(SPAM_SCORE, KILL_SCORE - 0.01);
    return {
      client: this.spamClient(),
      known: rng.chance(0.5),
      tls: rng.chance(0.3),
      sender,
      given,
      messageId: this.messageId(rng.chance(0.8) ? 'spam' : 'java', domain, t),
      subject: rng.chance(0.97) ? encodeSubject(rng, pickSpamSubject(rng)) : null,
      size: messageSize(rng),
      score: Number(score.toFixed(3)),
      rules: pickRules(rng, true),
      virus: null,
      dkim: null,
      spam: true,
    };
  }

  private spam(t: number): void {
    const kind = this.rng.weighted(SPAM_KINDS);
    const spec = this.spamSpec(t, kind);
    if (kind === 'dnsbl') this.mx.dnsblRefused(t, spec);
    else if (kind === 'rbl') this.mx.rblRefused(t, spec);
    else this.mx.receive(t, spec);
  }

  private virus(t: number): void {
    const rng = this.rng;
    const fromSpammer = rng.chance(0.6);
    const remote = pickRemote(rng, this.w.site);
    const sender = fromSpammer ? spamSender(rng) : remoteAddress(rng, remote);
    const domain = sender.slice(sender.indexOf('@') + 1);
    this.mx.receive(t, {
      client: fromSpammer ? this.spamClient() : this.legitClient(remote),
      known: rng.chance(0.6),
      tls: rng.chance(0.5),
      sender,
      given: this.localGiven(rng.chance(0.8) ? 1 : rng.int(2, 4)),
      messageId: this.messageId(fromSpammer ? 'spam' : this.styleFor(remote), domain, t),
      subject: encodeSubject(
        rng,
        rng.pick([
          'Factura pendiente',
          'Invoice attached',
          'Documento escaneado',
          'Ihre Rechnung',
          'Re: pedido',
        ]),
      ),
      size: Math.round(rng.real(20_000, 600_000)),
      score: Number(rng.real(-1, 4.5).toFixed(3)),
      rules: pickRules(rng, false),
      virus: rng.pick(VIRUSES),
      dkim: fromSpammer ? null : remote.dkim,
      spam: false,
    });
  }

  // ---- outbound and internal (smtp1) ----

  private submitter(): Peer {
    const rng = this.rng;
    if (rng.chance(0.5)) return { name: 'unknown', ip: `10.20.${rng.int(0, 255)}.${rng.int(1, 254)}` };
    const ip = `203.0.113.${rng.int(1, 254)}`;
    return { name: `${ip.replace(/\./g, '-')}.red.example.net`, ip };
  }

  /** Fates for one remote domain's recipients: the domain may be down or greylisting. */
  private remoteFates(remote: RemoteDomain, count: number): Fate[] {
    const rng = this.rng;
    if (rng.chance(0.012)) return Array.from({ length: count }, (): Fate => ({ kind: 'timeout' }));
    const greylist = remote.greylists && rng.chance(0.6) ? rng.int(1, 5) : 0;
    return Array.from({ length: count }, (): Fate => {
      if (rng.chance(0.025)) return { kind: 'bounce' };
      return greylist > 0 ? { kind: 'greylist', left: greylist } : { kind: 'sent' };
    });
  }

  /** Builds the plans: local recipients (aliases expanded on smtp1) and remote ones with their fates. */
  private plans(mail: Mail, locals: Given[], remotes: { address: string; remote: RemoteDomain }[]): Plan[] {
    const tracked = mail.tracked;
    const plans: Plan[] = [];
    for (const g of locals) {
      for (const target of g.targets) {
        const rcpt: Rcpt = { ...target, truth: tracked.add(target.address, target.orig) };
        plans.push({ rcpt, remote: null, fate: { kind: 'local' } });
      }
    }
    const byDomain = new Map<RemoteDomain, string[]>();
    for (const r of remotes) {
      const list = byDomain.get(r.remote);
      if (list) list.push(r.address);
      else byDomain.set(r.remote, [r.address]);
    }
    for (const [remote, addresses] of byDomain) {
      const fates = this.remoteFates(remote, addresses.length);
      addresses.forEach((address, i) => {
        const rcpt: Rcpt = { address, orig: null, truth: tracked.add(address, null) };
        plans.push({ rcpt, remote, fate: fates[i] ?? { kind: 'sent' } });
      });
    }
    tracked.seal();
    return plans;
  }

  private newMail(t: number, sender: string, client: Peer): Mail {
    const rng = this.rng;
    const site = this.w.site;
    const tracked = this.w.truth.track({
      kind: 'message',
      messageId: null,
      sender,
      // smtp1 has no Subject-logging rule: the logs cannot tell the subject.
      subject: null,
      clientIp: client.ip,
      firstSeen: t,
      spam: false,
      virus: null,
    });
    const messageId = this.messageId(rng.chance(0.6) ? 'uuid' : 'mta', site.domain, t);
    tracked.entry.messageId = messageId;
    return {
      tracked,
      sender,
      messageId,
      subject: null,
      size: messageSize(rng),
      score: 0,
      rules: '',
      virus: null,
      dkim: null,
    };
  }

  private outbound(t: number): void {
    const rng = this.rng;
    const site = this.w.site;
    const sender = rng.pick(site.users).address;
    const client = this.submitter();
    const mail = this.newMail(t, sender, client);
    const fanOut = rng.chance(0.004);
    const count = fanOut ? rng.int(180, 220) : recipientCount(rng);
    const localShare = fanOut ? 0.85 : 0.1;
    const locals: Given[] = [];
    const remotes: { address: string; remote: RemoteDomain }[] = [];
    const seen = new Set<string>();
    let localCount = 0;
    for (let i = 0; i < count; i++) {
      if (rng.chance(localShare)) localCount++;
      else {
        const remote = pickRemote(rng, site);
        const address = remoteAddress(rng, remote);
        if (seen.has(address)) continue;
        seen.add(address);
        remotes.push({ address, remote });
      }
    }
    if (localCount > 0) locals.push(...this.localGiven(localCount).filter((g) => g.address !== sender));
    if (locals.length === 0 && remotes.length === 0) {
      const remote = pickRemote(rng, site);
      remotes.push({ address: remoteAddress(rng, remote), remote });
    }
    const plans = this.plans(mail, locals, remotes);
    this.out.submit(t, client, sender, mail, plans);
  }

  private internal(t: number): void {
    const rng = this.rng;
    const site = this.w.site;
    const sender = rng.pick(site.users).address;
    const client = this.submitter();
    const mail = this.newMail(t, sender, client);
    const count = rng.weighted([
      [1, 75],
      [rng.int(2, 5), 20],
      [rng.int(6, 30), 5],
    ]);
    let locals = this.localGiven(count).filter((g) => g.address !== sender);
    if (locals.length === 0) locals = this.localGiven(1).filter((g) => g.address !== sender);
    if (locals.length === 0) {
      // Every pick was the sender: write to a colleague instead.
      const other = site.users.find((u) => u.address !== sender);
      if (other)
        locals = [{ address: other.address, valid: true, targets: [{ address: other.address, orig: null }] }];
    }
    const plans = this.plans(mail, locals, []);
    this.out.submit(t, client, sender, mail, plans);
  }
}
