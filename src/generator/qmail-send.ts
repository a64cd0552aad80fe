/**
 * qmail-send on mx2, written to its multilog (`qmail-send/current`) in netqmail 1.06's formats
 * (qmail-send.c, qsutil.c): `new msg N`, `info msg N: bytes B from <s> qp P uid U`, `starting delivery
 * D: msg N to remote R`, `delivery D: success|deferral|failure: text`, `status: local l/10 remote
 * r/20`, `bounce msg N qp M`, `end msg N`, and one restart (`status: exiting`).
 *
 * Message numbers are inode numbers: allocated when `new msg` is written and freed at `end msg`, so
 * they are reused. Delivery numbers count up from 1 and start again after the restart. Both, and the
 * concurrency in `status:` lines, are assigned when the lines are written, in time order, as
 * qmail-send would have.
 */

import type { Mail, Rcpt, World } from './engine.js';
import type { PidSource } from './ids.js';
import type { Rng } from './random.js';
import type { LineText, TextLog } from './textlog.js';
import { MINUTE, US, us } from './time.js';

/** Life with qmail's user ids: qmaild (qmail-smtpd, so the messages it queues) and qmails (bounces). */
export const UID_QMAILD = 7791;
export const UID_QMAILS = 7796;
/** The double-bounce sender (`#@[]`) and where double bounces go (control/doublebounceto). */
export const DOUBLE_BOUNCE_SENDER = '#@[]';

const CONCURRENCY_LOCAL = 10;
const CONCURRENCY_REMOTE = 20;
/** chanskip of the remote channel: retries at birth + (sqrt(age) + 20)^2 seconds. */
const REMOTE_SKIP = 20;

/** What a qmail-remote run reports (already in qmail's log form: `_` for spaces, `/` for newlines). */
export interface RemoteResult {
  status: 'success' | 'deferral' | 'failure';
  text: string;
  /** When qmail-remote reports back. */
  at: number;
}

/** One recipient of a queued message and how to deliver it. */
export interface QRcpt {
  rcpt: Rcpt;
  /** Runs qmail-remote at `t` for this recipient; `dying`: the queue lifetime has run out. */
  deliver: (t: number, msg: QMsg, dying: boolean) => RemoteResult;
}

export interface QMsg {
  mail: Mail;
  /** Envelope sender as qmail-queue got it: '' for bounces, `#@[]` for double bounces. */
  sender: string;
  /** Bytes of the queued message (qmail-scanner's headers included). */
  bytes: number;
  qp: number;
  uid: number;
  /** Time of `new msg`: the message's birth for retries and the queue lifetime. */
  birth: number;
  pending: QRcpt[];
  /** Failed recipients with their reports, for the bounce. */
  failures: { address: string; text: string }[];
  /** The inode number, set when `new msg` is written. */
  number: { n: number };
}

/** Converts a report to qmail's log form (`logsafe` and the spawn's `_` for spaces, `/` for newlines). */
export function qmailText(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    out += c === 32 ? '_' : c === 10 ? '/' : c < 32 || c > 126 ? '?' : text[i];
  }
  return out;
}

export class QmailSend {
  private readonly rng: Rng;
  private readonly inodeRng: Rng;
  private masterDelId = 1;
  private remoteUsed = 0;
  private nextInode: number;
  /** Freed inode numbers, for reuse. */
  private readonly freeInodes: number[] = [];
  /** qmail-send stops (after its running deliveries) at `restartAt` and is back `RESTART_GAP` later. */
  readonly restartAt: number;
  private static readonly RESTART_GAP = 3 * US;
  /** control/doublebounceto @ control/doublebouncehost: where failed bounces go. */
  doubleBounceTo: string;

  constructor(
    private readonly w: World,
    private readonly log: TextLog,
    private readonly pids: PidSource,
    rng: Rng,
    doubleBounceTo: string,
  ) {
    this.rng = rng;
    this.inodeRng = rng.fork(1);
    this.doubleBounceTo = doubleBounceTo;
    this.nextInode = rng.int(400_000, 2_600_000);
    const span = w.engine.endUs - w.engine.startUs;
    this.restartAt = w.engine.startUs + Math.floor(span * rng.real(0.35, 0.45));
    log.emit(this.restartAt, 'status: exiting');
    log.emit(this.restartAt + QmailSend.RESTART_GAP, () => {
      // A new qmail-send numbers its deliveries from 1 again.
      this.masterDelId = 1;
      this.remoteUsed = 0;
      return this.status();
    });
  }

  private status(): string {
    return `status: local 0/${CONCURRENCY_LOCAL} remote ${this.remoteUsed}/${CONCURRENCY_REMOTE}`;
  }

  /** Moves `t` (and the `span` of work after it) out of the restart window: qmail-send logs nothing then. */
  available(t: number, span = 0): number {
    const from = this.restartAt - us(0.001);
    const to = this.restartAt + QmailSend.RESTART_GAP;
    if (t + span >= from && t <= to) return to + us(this.rng.real(0.01, 0.4));
    return t;
  }

  private emit(t: number, text: LineText): void {
    this.log.emit(t, text);
  }

  /**
   * qmail-queue has queued the message (its todo file): qmail-send's `new msg` / `info msg`, then the
   * deliveries. Returns the time of `new msg`.
   */
  queued(
    t: number,
    mail: Mail,
    sender: string,
    bytes: number,
    qp: number,
    uid: number,
    rcpts: QRcpt[],
  ): number {
    const birth = this.available(t);
    const msg: QMsg = {
      mail,
      sender,
      bytes,
      qp,
      uid,
      birth,
      pending: rcpts,
      failures: [],
      number: { n: 0 },
    };
    const number = msg.number;
    this.emit(birth, () => {
      number.n = this.allocInode();
      return `new msg ${number.n}`;
    });
    this.emit(
      birth + us(0.0001),
      () => `info msg ${number.n}: bytes ${bytes} from <${qmailText(sender)}> qp ${qp} uid ${uid}`,
    );
    this.pass(msg, birth + us(this.rng.real(0.002, 0.03)));
    return birth;
  }

  /**
   * A free inode: often one a finished message freed (ext4 reuses them), otherwise a new one. Runs
   * when `new msg` is written, with its own random stream so that write timing changes nothing else.
   */
  private allocInode(): number {
    const free = this.freeInodes;
    const rng = this.inodeRng;
    if (free.length > 0 && (free.length > 500 || rng.chance(0.6))) {
      const i = rng.int(0, free.length - 1);
      const n = free[i] as number;
      free[i] = free[free.length - 1] as number;
      free.pop();
      return n;
    }
    return this.nextInode++;
  }

  /** One pass over the message's pending recipients: a delivery each, then retry, bounce or end. */
  private pass(msg: QMsg, t0: number): void {
    const rng = this.rng;
    const dying = t0 > msg.birth + this.w.lifetimeUs;
    const still: QRcpt[] = [];
    let t = t0;
    let end = t0;
    for (const q of msg.pending) {
      // qmail-remote runs take a few seconds at most except connection timeouts (checked by deliver).
      t = this.available(t + us(rng.real(0.0003, 0.004)), 2 * MINUTE);
      const result = q.deliver(t + us(0.0005), msg, dying);
      const at = Math.max(result.at, t + us(0.001));
      this.delivery(t, at, msg, q.rcpt.address, result);
      if (result.status === 'deferral') still.push(q);
      else if (result.status === 'failure') {
        msg.failures.push({ address: q.rcpt.address, text: result.text });
        msg.mail.tracked.settle(q.rcpt.truth, 'bounced');
      }
      end = Math.max(end, at);
    }
    msg.pending = still;
    if (still.length > 0) {
      this.retry(msg, t0);
      return;
    }
    this.done(msg, end + us(rng.real(0.0005, 0.004)));
  }

  /** `starting delivery D: msg N to remote R`, its status line, the result and the status after it. */
  private delivery(t: number, at: number, msg: QMsg, to: string, result: RemoteResult): void {
    const ref = { d: 0 };
    const number = msg.number;
    this.emit(t, () => {
      ref.d = this.masterDelId++;
      this.remoteUsed++;
      return `starting delivery ${ref.d}: msg ${number.n} to remote ${qmailText(to)}`;
    });
    this.emit(t + us(0.00005), () => this.status());
    const at2 = this.available(at);
    this.emit(at2, () => {
      this.remoteUsed = Math.max(0, this.remoteUsed - 1);
      return `delivery ${ref.d}: ${result.status}: ${result.text}`;
    });
    this.emit(at2 + us(0.00005), () => this.status());
  }

  /** The next pass at qmail's retry time, or the recipients stay deferred when the logs end first. */
  private retry(msg: QMsg, attempt: number): void {
    const ageSeconds = Math.max(0, (attempt - msg.birth) / US);
    const n = Math.floor(Math.sqrt(ageSeconds)) + REMOTE_SKIP;
    const next = msg.birth + n * n * US;
    const scheduled = this.w.engine.at(next, (tr) => this.pass(msg, tr + us(this.rng.real(0.001, 0.4))));
    if (!scheduled) for (const q of msg.pending) msg.mail.tracked.settle(q.rcpt.truth, 'deferred');
  }

  /** Every recipient is done: the bounce (if any recipient failed), then `end msg`. */
  private done(msg: QMsg, t: number): void {
    const number = msg.number;
    let tt = this.available(t);
    if (msg.failures.length > 0) tt = this.bounce(msg, tt);
    this.emit(tt, () => {
      const n = number.n;
      this.freeInodes.push(n);
      return `end msg ${n}`;
    });
  }

  /**
   * injectbounce(): a bounce to the sender (from `<>`), or for a failed bounce a double bounce to the
   * postmaster (from `#@[]`); a failed double bounce is discarded (`triple bounce`). Returns the time
   * of `end msg`.
   */
  private bounce(msg: QMsg, t: number): number {
    const number = msg.number;
    if (msg.sender === DOUBLE_BOUNCE_SENDER) {
      this.emit(t, () => `triple bounce: discarding bounce/${number.n}`);
      return t + us(0.0002);
    }
    const qp = this.pids.next();
    this.emit(t, () => `bounce msg ${number.n} qp ${qp}`);
    const double = msg.sender === '';
    const to = double ? this.doubleBounceTo : msg.sender;
    const sender = double ? DOUBLE_BOUNCE_SENDER : '';
    const reportBytes = msg.failures.reduce((sum, f) => sum + f.address.length + f.text.length + 6, 0);
    // qmail's bounce: its own short header and text, the reports, then the whole original message.
    const bytes = 380 + reportBytes + msg.bytes;
    const tracked = this.w.truth.track({
      kind: 'message',
      // qmail-send's bounce has no Message-ID header; the mailbox host's Postfix adds one (see README).
      messageId: null,
      sender,
      subject: null,
      clientIp: null,
      firstSeen: 0,
      spam: false,
      virus: null,
    });
    const bounceMail: Mail = {
      tracked,
      sender,
      messageId: '',
      subject: null,
      size: bytes,
      score: 0,
      rules: '',
      virus: null,
      dkim: null,
    };
    const rcpt: Rcpt = { address: to, orig: null, truth: tracked.add(to, null) };
    tracked.seal();
    const deliver = this.router(rcpt);
    const end = t + us(0.0002);
    const birth = this.available(end + us(this.rng.real(0.001, 0.01)));
    tracked.entry.firstSeen = birth;
    this.queued(birth, bounceMail, sender, bytes, qp, UID_QMAILS, [{ rcpt, deliver }]);
    return end;
  }

  /** How a bounce reaches its recipient; set by the site (local addresses go to the mailbox host). */
  router: (rcpt: Rcpt) => QRcpt['deliver'] = () => {
    throw new Error('generator bug: qmail-send has no bounce router');
  };
}
