/**
 * One Postfix instance: its processes and the lines every Postfix flow shares (cleanup, qmgr,
 * delivery agents, bounce, anvil). Line shapes follow Postfix 3.x as found in the corpus
 * (lightmeter, modoboa, kdent, pixelpark, dmlinarr logs).
 */

import type { Engine } from './engine.js';
import { longLived, PidSource, type Proc, ProcessPool, QueueIds } from './ids.js';
import type { HostLog } from './output.js';
import type { Rng } from './random.js';
import { classicStamp, dsnStamp, MINUTE, postfixDelay, US, us } from './time.js';

/** Postfix `max_idle` (100 s) and `max_use` (100) for the daemons master(8) starts on demand. */
const POSTFIX_POOL = { maxIdle: 100 * US, maxUse: 100 };

/** `ehlo=2 starttls=1 mail=1 rcpt=1/2 data=1 quit=1 commands=6/7` (Postfix 3.x disconnect statistics). */
export function commandStats(
  counts: readonly (readonly [name: string, ok: number, total: number])[],
): string {
  let ok = 0;
  let total = 0;
  let out = '';
  for (const [name, good, all] of counts) {
    if (all === 0) continue;
    out += good === all ? `${name}=${all} ` : `${name}=${good}/${all} `;
    ok += good;
    total += all;
  }
  return `${out}commands=${ok === total ? total : `${ok}/${total}`}`;
}

export interface NonDelivery {
  qid: string;
  messageId: string;
  /** Time of its first line (cleanup's message-id). */
  firstSeen: number;
  /** Time it is active in the queue, ready for delivery. */
  t: number;
  size: number;
}

export interface DeliveryLine {
  qid: string;
  to: string;
  orig: string | null;
  relay: string;
  /** Seconds: before the queue manager, in it, connection setup, transmission. */
  delays: readonly [number, number, number, number];
  dsn: string;
  status: 'sent' | 'deferred' | 'bounced';
  reply: string;
}

const ANVIL_INTERVAL = 10 * MINUTE;

interface AnvilBucket {
  clients: Map<string, { minute: number; inMinute: number }>;
  rate: number;
  rateKey: string;
  rateAt: number;
  cacheMax: number;
  cacheAt: number;
}

/**
 * Per-interval connection statistics, logged by anvil(8) every `anvil_status_update_time` (10 min).
 * Connections are counted in the interval they happen in (a message's session may be generated a
 * little before its time comes).
 */
class Anvil {
  private readonly buckets = new Map<number, AnvilBucket>();
  private proc: Proc | null = null;

  constructor(
    private readonly host: PostfixHost,
    private readonly pids: PidSource,
  ) {}

  /** A connection from `ip` to `service` (`smtpd`, `smtp`, `submission`) at `t`. */
  connect(t: number, service: string, ip: string): void {
    const index = Math.floor(t / ANVIL_INTERVAL);
    let b = this.buckets.get(index);
    if (b === undefined) {
      b = { clients: new Map(), rate: 0, rateKey: '', rateAt: 0, cacheMax: 0, cacheAt: 0 };
      this.buckets.set(index, b);
    }
    const key = `${service}:${ip}`;
    const minute = Math.floor(t / MINUTE);
    let c = b.clients.get(key);
    if (c === undefined) {
      c = { minute, inMinute: 0 };
      b.clients.set(key, c);
      if (b.clients.size > b.cacheMax) {
        b.cacheMax = b.clients.size;
        b.cacheAt = t;
      }
    }
    if (c.minute !== minute) {
      c.minute = minute;
      c.inMinute = 0;
    }
    c.inMinute++;
    if (c.inMinute > b.rate) {
      b.rate = c.inMinute;
      b.rateKey = key;
      b.rateAt = t;
    }
  }

  /** After interval `index` ended: logs its maxima at `t`; anvil exits after an idle interval. */
  report(t: number, index: number): void {
    const b = this.buckets.get(index);
    this.buckets.delete(index);
    if (b === undefined) {
      this.proc = null;
      return;
    }
    if (this.proc === null) this.proc = longLived('postfix/anvil', this.pids);
    const tag = this.proc.tag;
    const count = b.rate > 3 ? 2 : 1;
    const at = classicStamp(b.rateAt);
    this.host.emit(t, tag, `statistics: max connection rate ${b.rate}/60s for (${b.rateKey}) at ${at}`);
    this.host.emit(t, tag, `statistics: max connection count ${count} for (${b.rateKey}) at ${at}`);
    this.host.emit(t, tag, `statistics: max cache size ${b.cacheMax} at ${classicStamp(b.cacheAt)}`);
  }
}

export class PostfixHost {
  readonly pids: PidSource;
  readonly qids: QueueIds;
  readonly qmgr: Proc;
  readonly smtpd: ProcessPool;
  readonly cleanup: ProcessPool;
  readonly smtp: ProcessPool;
  readonly bounce: ProcessPool;
  readonly anvil: Anvil;

  constructor(
    readonly fqdn: string,
    /** Address other hosts see this one at. */
    readonly ip: string,
    readonly log: HostLog,
    readonly rng: Rng,
    inodes: readonly [number, number],
    /** Program name of the port 25 smtpd (`postfix/smtpd`). */
    smtpdProgram = 'postfix/smtpd',
  ) {
    this.pids = new PidSource(rng);
    this.qids = new QueueIds(inodes[0], inodes[1], rng);
    this.qmgr = longLived('postfix/qmgr', this.pids);
    this.smtpd = this.pool(smtpdProgram);
    this.cleanup = this.pool('postfix/cleanup');
    this.smtp = this.pool('postfix/smtp');
    this.bounce = this.pool('postfix/bounce');
    this.anvil = new Anvil(this, this.pids);
  }

  pool(program: string): ProcessPool {
    return new ProcessPool(program, this.pids, this.rng, POSTFIX_POOL);
  }

  emit(t: number, tag: string, text: string): void {
    this.log.emit(t, tag, text);
  }

  /** Starts anvil's 10-minute statistics on this host (at interval boundaries, plus a small lag). */
  startAnvil(engine: Engine, from: number): void {
    const lag = us(this.rng.real(0.5, 30));
    const tick = (t: number): void => {
      this.anvil.report(t, Math.floor((t - lag) / ANVIL_INTERVAL) - 1);
      engine.atAny(t + ANVIL_INTERVAL, tick);
    };
    engine.atAny((Math.floor(from / ANVIL_INTERVAL) + 1) * ANVIL_INTERVAL + lag, tick);
  }

  /** cleanup's `QID: message-id=<...>`; returns the cleanup process for later lines of the same message. */
  messageId(t: number, qid: string, messageId: string): Proc {
    const proc = this.cleanup.acquire(t, t + us(0.05));
    this.emit(t, proc.tag, `${qid}: message-id=<${messageId}>`);
    return proc;
  }

  queueActive(t: number, qid: string, sender: string, size: number, nrcpt: number): void {
    this.emit(t, this.qmgr.tag, `${qid}: from=<${sender}>, size=${size}, nrcpt=${nrcpt} (queue active)`);
  }

  removed(t: number, qid: string): void {
    this.emit(t, this.qmgr.tag, `${qid}: removed`);
  }

  expired(t: number, qid: string, sender: string): void {
    this.emit(t, this.qmgr.tag, `${qid}: from=<${sender}>, status=expired, returned to sender`);
  }

  delivery(t: number, proc: Proc, d: DeliveryLine): void {
    const [a, b, c, e] = d.delays;
    const orig = d.orig ? `, orig_to=<${d.orig}>` : '';
    this.emit(
      t,
      proc.tag,
      `${d.qid}: to=<${d.to}>${orig}, relay=${d.relay}, delay=${postfixDelay(a + b + c + e)}, delays=${postfixDelay(
        a,
      )}/${postfixDelay(b)}/${postfixDelay(c)}/${postfixDelay(e)}, dsn=${d.dsn}, status=${d.status} (${d.reply})`,
    );
  }

  /**
   * A non-delivery notification for `qid`, from the bounce daemon: a new queue id with the null
   * sender and a Postfix-made message-id. Returns its id, message-id and the time it is queued.
   */
  nonDelivery(t: number, qid: string, size: number): NonDelivery {
    const bounceProc = this.bounce.acquire(t, t + us(0.1));
    const t1 = t + us(this.rng.real(0.005, 0.05));
    const bqid = this.qids.next(t1);
    const messageId = `${dsnStamp(t1)}.${bqid}@${this.fqdn}`;
    const dsnSize = size + this.rng.int(2200, 3500);
    this.messageId(t1, bqid, messageId);
    const t2 = t1 + us(this.rng.real(0.002, 0.02));
    this.queueActive(t2, bqid, '', dsnSize, 1);
    this.emit(t2 + us(0.0005), bounceProc.tag, `${qid}: sender non-delivery notification: ${bqid}`);
    return { qid: bqid, messageId, firstSeen: t1, t: t2 + us(0.001), size: dsnSize };
  }
}
