/**
 * The simulated site: a university (`example.edu` by default) with its users, aliases and hosts, and
 * the outside world it exchanges mail with (big providers, other organisations, spammers). Built from
 * its own random stream so it depends only on the seed and the message count.
 */

import type { Rng } from './random.js';
import { FIRST_NAMES, LAST_NAMES, spamDomain } from './text.js';

export interface LocalUser {
  address: string;
  /** Has a Sieve script (the webmail's "spam to Junk" rule): deliveries log `sieve: ... stored mail into mailbox`. */
  sieve: boolean;
  /** Mailbox over quota: LMTP deliveries fail with 552 5.2.2 and bounce. */
  quotaFull: boolean;
}

export interface Alias {
  address: string;
  members: string[];
}

/** A server of the outside world. */
export interface RemoteHost {
  name: string;
  ip: string;
}

export type TlsTrust = 'Verified' | 'Trusted' | 'Untrusted';

export interface RemoteDomain {
  domain: string;
  weight: number;
  /** Its MX hosts (where outbound mail goes). */
  mx: RemoteHost[];
  /** Names of its sending servers (where inbound mail comes from). */
  senders: RemoteHost[];
  /** DKIM `selector:domain` amavis reports, or null. */
  dkim: string | null;
  tls: TlsTrust | null;
  /** Greylists first deliveries (postgrey). */
  greylists: boolean;
  /** The 250 reply of its MX to an accepted message. */
  accept(rng: Rng, messageId: string, size: number, t: number): string;
  /** The 5xx reply for an unknown mailbox (without the `host ... said:` part). */
  unknownUser(rng: Rng, rcpt: string): string;
}

export interface Site {
  domain: string;
  mx1: string;
  mbox1: string;
  smtp1: string;
  /** Public address of mx1 (postscreen's `to [ip]:25`). */
  mxPublicIp: string;
  mx1Ip: string;
  mbox1Ip: string;
  smtp1Ip: string;
  users: LocalUser[];
  userByAddress: Map<string, LocalUser>;
  aliases: Alias[];
  remotes: RemoteDomain[];
}

/** An address in TEST-NET / benchmark space, so that no real host is named a spammer. */
export function remoteIp(rng: Rng): string {
  const r = rng.next();
  if (r < 0.7) return `198.${rng.int(18, 19)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
  if (r < 0.85) return `203.0.113.${rng.int(1, 254)}`;
  return `198.51.100.${rng.int(1, 254)}`;
}

/** Spam and bot sources: the shared address space 100.64.0.0/10, a few IPv6 ones. */
export function botIp(rng: Rng): string {
  if (rng.chance(0.05)) return `2001:db8:${rng.hex(4)}::${rng.hex(3)}`;
  return `100.${rng.int(64, 127)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
}

/** Reverse name of a consumer/bot address, `unknown` when it has none. */
export function botName(rng: Rng, ip: string): string {
  if (rng.chance(0.45) || ip.includes(':')) return 'unknown';
  const isps = [
    'dynamic.vivo.example',
    'static.ttnet.example',
    'res.rr.example',
    'pool.telstra.example',
    'dsl.telecom.example',
  ];
  return `${ip.replace(/\./g, '-')}.${rng.pick(isps)}`;
}

function host(rng: Rng, name: string): RemoteHost {
  return { name, ip: remoteIp(rng) };
}

function postfixQueued(rng: Rng): string {
  return `250 2.0.0 Ok: queued as ${rng.upperHex(rng.int(10, 11))}`;
}

function genericUnknown(_rng: Rng, rcpt: string): string {
  return `550 5.1.1 <${rcpt}>: Recipient address rejected: User unknown in virtual mailbox table`;
}

function providers(rng: Rng): RemoteDomain[] {
  const google = (domain: string, weight: number): RemoteDomain => ({
    domain,
    weight,
    mx: [host(rng, 'gmail-smtp-in.l.google.com'), host(rng, 'alt1.gmail-smtp-in.l.google.com')],
    senders: Array.from({ length: 6 }, () =>
      host(
        rng,
        `mail-${rng.pick(['wr1', 'wm1', 'ed1', 'ej1', 'lf1', 'pj1', 'qk1', 'oi1'])}-f${rng.int(41, 199)}.google.com`,
      ),
    ),
    dkim: '20230601:gmail.com',
    tls: 'Verified',
    greylists: false,
    accept: (r, _mid, _size, t) =>
      `250 2.0.0 OK  ${Math.floor(t / 1e6)} ${r.lower(2)}${r.int(1, 9)}si${r.int(100000, 9999999)}${r.lower(3)}.${r.int(1, 400)} - gsmtp`,
    unknownUser: (r) =>
      `550-5.1.1 The email account that you tried to reach does not exist. Please try 550-5.1.1 double-checking the recipient's email address for typos or 550-5.1.1 unnecessary spaces. For more information, go to 550 5.1.1  https://support.google.com/mail/?p=NoSuchUser ${r.lower(2)}${r.int(1, 9)}si${r.int(100000, 9999999)}${r.lower(3)}.${r.int(1, 400)} - gsmtp`,
  });
  const microsoft = (domain: string, weight: number): RemoteDomain => {
    const mxName = `${domain.replace('.', '-')}.olc.protection.outlook.com`;
    return {
      domain,
      weight,
      mx: [host(rng, mxName)],
      senders: Array.from({ length: 6 }, () =>
        host(
          rng,
          `mail-${rng.pick(['db8eur05', 'am7eur03', 'vi1eur04', 'he1eur04', 'pr3eur02'])}olkn20${rng.int(10, 99)}.outbound.protection.outlook.com`,
        ),
      ),
      dkim: null,
      tls: 'Trusted',
      greylists: false,
      accept: (r, mid, size) =>
        `250 2.6.0 <${mid}> [InternalId=${r.int(10000000, 99999999)}${r.int(1000, 9999)}, Hostname=AM${r.int(0, 9)}PR0${r.int(1, 9)}MB${r.int(1000, 9999)}.eurprd0${r.int(1, 9)}.prod.outlook.com] ${size} bytes in 0.${r.int(100, 999)}, ${r.int(10, 999)}.${r.int(100, 999)} KB/sec Queued mail for delivery`,
      unknownUser: (r) =>
        `550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302). [AM${r.int(0, 9)}PR0${r.int(1, 9)}MB${r.int(1000, 9999)}.eurprd0${r.int(1, 9)}.prod.outlook.com]`,
    };
  };
  const yahoo: RemoteDomain = {
    domain: 'yahoo.com',
    weight: 4,
    mx: [host(rng, 'mta6.am0.yahoodns.net'), host(rng, 'mta7.am0.yahoodns.net')],
    senders: Array.from({ length: 4 }, () =>
      host(rng, `sonic${rng.int(301, 330)}-${rng.int(1, 40)}.consmr.mail.ir2.yahoo.com`),
    ),
    dkim: 's2048:yahoo.com',
    tls: 'Trusted',
    greylists: false,
    accept: () => '250 ok dirdel',
    unknownUser: () =>
      "554 delivery error: dd This user doesn't have a yahoo.com account - mta4160.mail.ir2.yahoo.com",
  };
  const gmx: RemoteDomain = {
    domain: 'gmx.de',
    weight: 3,
    mx: [host(rng, 'mx00.emig.gmx.net'), host(rng, 'mx01.emig.gmx.net')],
    senders: [host(rng, 'mout.gmx.net')],
    dkim: 'badeba3b8450:gmx.net',
    tls: 'Trusted',
    greylists: false,
    accept: (r) => `250 Requested mail action okay, completed: id=${r.alnum(7)}-${r.alnum(10)}-${r.alnum(6)}`,
    unknownUser: (_r, rcpt) => `550 Requested action not taken: mailbox unavailable <${rcpt}>`,
  };
  return [google('gmail.com', 30), microsoft('outlook.com', 12), microsoft('hotmail.com', 6), yahoo, gmx];
}

function organisations(rng: Rng): RemoteDomain[] {
  const names = [
    'uni-beispiel.de',
    'universite-exemple.fr',
    'universidad-ejemplo.es',
    'research.example.org',
    'partner.example.com',
    'college.example.net',
    'consultora.example.com',
    'editorial.example.org',
    'hospital.example.net',
    'ayuntamiento.example.es',
    'fundacion.example.org',
    'lab.example.net',
  ];
  return names.map((domain) => {
    const mxName = rng.chance(0.5) ? `mx.${domain}` : `mail.${domain}`;
    const mx = host(rng, mxName);
    return {
      domain,
      weight: rng.int(1, 4),
      mx: [mx],
      senders: [rng.chance(0.6) ? mx : host(rng, `smtp.${domain}`)],
      dkim: rng.chance(0.5) ? `mail:${domain}` : null,
      tls: rng.chance(0.8) ? rng.pick(['Trusted', 'Untrusted', 'Verified'] as const) : null,
      greylists: rng.chance(0.35),
      accept: (r: Rng) => postfixQueued(r),
      unknownUser: genericUnknown,
    };
  });
}

export function buildSite(rng: Rng, domain: string, messages: number): Site {
  const userCount = Math.max(120, Math.min(5000, Math.round(Math.sqrt(messages) * 20)));
  const users: LocalUser[] = [];
  const userByAddress = new Map<string, LocalUser>();
  while (users.length < userCount) {
    const first = rng.pick(FIRST_NAMES);
    const last = rng.pick(LAST_NAMES);
    const style = rng.next();
    let local =
      style < 0.7
        ? `${first}.${last}`
        : style < 0.9
          ? `${first[0]}${last}`
          : `${first}.${last}${rng.int(1, 99)}`;
    if (userByAddress.has(`${local}@${domain}`)) local = `${local}${rng.int(2, 9)}`;
    const address = `${local}@${domain}`;
    if (userByAddress.has(address)) continue;
    const sieve = rng.chance(0.6);
    const user: LocalUser = { address, sieve, quotaFull: !sieve && rng.chance(0.006) };
    users.push(user);
    userByAddress.set(address, user);
  }
  const aliasNames = [
    'info',
    'secretaria',
    'soporte',
    'admisiones',
    'biblioteca',
    'rectorado',
    'postmaster',
    'investigacion',
  ];
  const aliases: Alias[] = aliasNames.map((name) => {
    const members = new Set<string>();
    const n = rng.int(1, 3);
    while (members.size < n) {
      const u = rng.pick(users);
      if (!u.quotaFull) members.add(u.address);
    }
    return { address: `${name}@${domain}`, members: [...members] };
  });
  return {
    domain,
    mx1: `mx1.${domain}`,
    mbox1: `mbox1.${domain}`,
    smtp1: `smtp1.${domain}`,
    mxPublicIp: '192.0.2.25',
    mx1Ip: '10.10.0.10',
    mbox1Ip: '10.10.0.20',
    smtp1Ip: '10.10.0.30',
    users,
    userByAddress,
    aliases,
    remotes: [...providers(rng), ...organisations(rng)],
  };
}

/** A domain outside the known list (a spammer's, say): one MX that accepts like Postfix. */
export function adHocRemote(rng: Rng, domain: string): RemoteDomain {
  return {
    domain,
    weight: 0,
    mx: [host(rng, `mx.${domain}`)],
    senders: [],
    dkim: null,
    tls: null,
    greylists: false,
    accept: (r: Rng) => postfixQueued(r),
    unknownUser: genericUnknown,
  };
}

export function pickRemote(rng: Rng, site: Site): RemoteDomain {
  return rng.weighted(site.remotes.map((r) => [r, r.weight] as const));
}

/** A plausible mailbox at a remote domain. */
export function remoteAddress(rng: Rng, remote: RemoteDomain): string {
  const first = rng.pick(FIRST_NAMES);
  const last = rng.pick(LAST_NAMES);
  const style = rng.next();
  if (style < 0.5) return `${first}.${last}@${remote.domain}`;
  if (style < 0.8) return `${first}${last}${rng.int(1, 99)}@${remote.domain}`;
  return `${first[0]}${last}@${remote.domain}`;
}

/** A spammer's envelope sender. */
export function spamSender(rng: Rng): string {
  const domain = spamDomain(rng);
  return rng.chance(0.5)
    ? `${rng.lower(rng.int(4, 10))}@${domain}`
    : `${rng.pick(['info', 'noreply', 'support', 'news', 'admin'])}@${domain}`;
}

/** An address at the site that does not exist (dictionary attacks, typos). */
export function unknownLocal(rng: Rng, site: Site): string {
  const guesses = [
    'admin',
    'sales',
    'webmaster',
    'test',
    'contact',
    'office',
    'hr',
    'billing',
    'marketing',
    'ceo',
  ];
  const local = rng.chance(0.5)
    ? rng.pick(guesses)
    : `${rng.pick(FIRST_NAMES)}.${rng.pick(LAST_NAMES)}${rng.int(100, 999)}`;
  return `${local}@${site.domain}`;
}
