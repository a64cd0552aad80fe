/**
 * Log files that are not syslog: daemontools multilog (`@4000000069... text`, qmail-send and
 * tcpserver/qmail-smtpd) and Mailman 2.1's own logs (`Nov 28 10:00:00 2026 (12345) text`). Like
 * HostLog, lines are held in a small time-ordered heap and written once no later work can produce an
 * earlier line. A line may be rendered when it is written rather than when it is emitted: qmail-send
 * numbers its deliveries and reports its concurrency in log order, which is only known then.
 */

import { type Timed, TimeHeap } from './heap.js';
import type { FileSink, Sequence } from './output.js';
import { US } from './time.js';

/** Either the line's text, or a function giving it when the line is written (in time order). */
export type LineText = string | (() => string);

interface PendingText extends Timed {
  text: LineText;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** TAI64 labels count from 2^62; daemontools' clock is UTC + 10 s (tai64nlocal subtracts it back). */
const TAI_OFFSET = 10;

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/** `@4000000069298f1c2a2b3c4d`: multilog's TAI64N label for time `t` (µs), nanoseconds as multilog writes them. */
export function tai64n(t: number): string {
  const seconds = Math.floor(t / US);
  const nanos = (t - seconds * US) * 1000;
  return `@40000000${hex8(seconds + TAI_OFFSET)}${hex8(nanos)}`;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** `Nov 08 10:00:00 2026`: Mailman 2.1's StampedLogger stamp (`%b %d %H:%M:%S %Y`, zero-padded day). */
export function mailmanStamp(t: number): string {
  const d = new Date(Math.floor(t / 1000));
  return `${MONTHS[d.getUTCMonth()]} ${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(
    d.getUTCMinutes(),
  )}:${pad2(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

export class TextLog {
  private readonly pending = new TimeHeap<PendingText>();
  private flushedUpTo = Number.NEGATIVE_INFINITY;
  lines = 0;

  constructor(
    private readonly sink: FileSink,
    private readonly seq: Sequence,
    /** The header before the text, with its separating space. */
    private readonly stamp: (t: number) => string,
    /** Lines after this time are past the end of the logs and are not written. */
    private readonly endUs: number,
  ) {}

  get path(): string {
    return this.sink.path;
  }

  emit(t: number, text: LineText): void {
    if (t > this.endUs) return;
    if (t < this.flushedUpTo)
      throw new Error(`generator bug: line at ${t} after ${this.flushedUpTo} was written`);
    this.pending.push({ t, seq: this.seq.next(), text });
  }

  /** Writes every line due at or before `t`: nothing emitted from now on can be earlier. */
  flush(t: number): void {
    let top = this.pending.peek();
    while (top !== undefined && top.t <= t) {
      this.pending.pop();
      const text = typeof top.text === 'string' ? top.text : top.text();
      this.sink.write(`${this.stamp(top.t)}${text}\n`);
      this.lines++;
      top = this.pending.peek();
    }
    if (t > this.flushedUpTo) this.flushedUpTo = t;
  }

  ready(): Promise<void> {
    return this.sink.ready();
  }

  async close(): Promise<void> {
    this.flush(Number.POSITIVE_INFINITY);
    await this.sink.close();
  }
}

/** multilog's header: the TAI64N label and one space. */
export function multilogStamp(t: number): string {
  return `${tai64n(t)} `;
}

/** Mailman's header: the stamp and one space (the `(pid)` is part of the text). */
export function mailmanHeader(t: number): string {
  return `${mailmanStamp(t)} `;
}
