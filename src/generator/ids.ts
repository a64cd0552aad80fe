/** Process ids, process pools and queue ids, shaped like the real programs hand them out. */

import type { Rng } from './random.js';

const PID_MAX = 4_194_304;

/** A host's pid counter: new processes get increasing pids, with gaps for the rest of the system. */
export class PidSource {
  private last: number;
  constructor(private readonly rng: Rng) {
    this.last = rng.int(2_000, 900_000);
  }

  next(): number {
    this.last += this.rng.int(1, 40);
    if (this.last >= PID_MAX) this.last = 300 + this.rng.int(0, 1000);
    return this.last;
  }
}

export interface Proc {
  pid: number;
  /** `program[pid]`, ready for the log line. */
  tag: string;
  /** Time the process is busy until (a process serves one client at a time). */
  busyUntil: number;
  /** Requests served so far. */
  uses: number;
}

export interface PoolOptions {
  /** Idle time after which the process exits (Postfix `max_idle`), µs. */
  maxIdle: number;
  /** Requests after which the process exits (Postfix `max_use`, amavisd `max_requests`). */
  maxUse: number;
}

/**
 * Worker processes of one service (smtpd, cleanup, an amavis child...). A free process is reused,
 * processes that served `maxUse` requests or idled `maxIdle` are replaced by new pids, and the pool
 * grows when every process is busy. `P` lets a service keep per-process state (amavis task counters).
 */
export class ProcessPool<P extends Proc = Proc> {
  private readonly procs: P[] = [];

  constructor(
    private readonly program: string,
    private readonly pids: PidSource,
    private readonly rng: Rng,
    private readonly options: PoolOptions,
    /** Builds a process (for extra state); called when a process is started. */
    private readonly make: (base: Proc, t: number, logged: boolean) => P = (base) => base as P,
  ) {}

  /** Processes already running when the logs begin (their start is not logged). */
  prefill(count: number, t: number): void {
    for (let i = 0; i < count; i++) this.procs.push(this.spawn(t, false));
  }

  private spawn(t: number, logged: boolean): P {
    const pid = this.pids.next();
    return this.make({ pid, tag: `${this.program}[${pid}]`, busyUntil: t, uses: 0 }, t, logged);
  }

  /** A process free at `t`, marked busy until `until` (callers may extend `busyUntil` later). */
  acquire(t: number, until: number): P {
    const procs = this.procs;
    let free: P | undefined;
    let freeCount = 0;
    for (let i = procs.length - 1; i >= 0; i--) {
      const p = procs[i] as P;
      if (p.busyUntil > t) continue;
      if (p.uses >= this.options.maxUse || t - p.busyUntil > this.options.maxIdle) {
        procs.splice(i, 1);
        continue;
      }
      freeCount++;
      // Reservoir choice among the free processes: any idle process may get the next client.
      if (this.rng.next() * freeCount < 1) free = p;
    }
    if (free === undefined) {
      free = this.spawn(t, true);
      procs.push(free);
    }
    free.uses++;
    free.busyUntil = until;
    return free;
  }
}

/** A single long-lived process (qmgr, postscreen, clamd, the spamd parent). */
export function longLived(program: string, pids: PidSource): Proc {
  const pid = pids.next();
  return { pid, tag: `${program}[${pid}]`, busyUntil: 0, uses: 0 };
}

/**
 * Postfix short queue ids: five hex digits of the microseconds at creation, then the queue file's
 * inode number in hex. Each host draws inode numbers from its own range, counting up, so ids are
 * unique within a run (up to a few million per host) and never shared between hosts.
 */
export class QueueIds {
  private inode: number;
  constructor(
    private readonly low: number,
    private readonly high: number,
    rng: Rng,
  ) {
    this.inode = low + rng.int(0, 0x3ffff);
  }

  next(t: number): string {
    this.inode += 1;
    if (this.inode >= this.high) this.inode = this.low;
    const micros = (t % 1_000_000).toString(16).toUpperCase().padStart(5, '0');
    return micros + this.inode.toString(16).toUpperCase();
  }
}

export type MessageIdStyle = 'gmail' | 'outlook' | 'uuid' | 'mta' | 'java' | 'spam';

/** A bijection on 32-bit integers (xorshift-multiply rounds): distinct counters, random-looking digits. */
function scramble(n: number): number {
  let x = n >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x45d9f3b) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x45d9f3b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

function hex8(n: number): string {
  return scramble(n).toString(16).padStart(8, '0');
}

/**
 * Message-ids in the shapes common clients make. A run-wide counter, scrambled into fixed-width
 * digits, sits at a fixed position in every shape, so no two messages share an id.
 */
export class MessageIds {
  private n = 0;
  constructor(private readonly rng: Rng) {}

  next(style: MessageIdStyle, domain: string, t: number): string {
    const rng = this.rng;
    const n = ++this.n;
    switch (style) {
      case 'gmail':
        return `CA${rng.base64url(8)}${hex8(n)}${rng.base64url(26)}@mail.gmail.com`;
      case 'outlook': {
        const box = `${rng.pick(['AM0', 'DB9', 'PA4', 'VI1', 'AS8'])}PR0${rng.int(1, 9)}MB${rng.int(1000, 9999)}`;
        return `${box}${hex8(n).toUpperCase()}${rng.upperHex(20)}@${box}.eurprd0${rng.int(1, 9)}.prod.outlook.com`;
      }
      case 'uuid':
        return `${rng.hex(8)}-${rng.hex(4)}-${rng.hex(4)}-${rng.hex(4)}-${hex8(n)}${rng.hex(4)}@${domain}`;
      case 'mta': {
        const d = new Date(Math.floor(t / 1000));
        const stamp = d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
        return `${stamp}.${hex8(n).toUpperCase()}${rng.upperHex(3)}@${domain}`;
      }
      case 'java':
        return `${rng.int(100000000, 999999999)}.${n}.${Math.floor(t / 1000)}.JavaMail.app@${domain}`;
      case 'spam':
        return `${hex8(n)}${rng.hex(6)}.${rng.alnum(6)}@${domain}`;
    }
  }
}
