/**
 * Streaming output: one log file per host, written in time order through a small time-ordered buffer,
 * and the ground-truth JSONL file. Nothing is kept beyond the lines not yet due, so memory stays
 * bounded however many messages are generated.
 */

import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { type Timed, TimeHeap } from './heap.js';
import type { HeaderFormat } from './time.js';

/** Size of the buffers handed to the file stream: large enough to keep system calls rare. */
const CHUNK = 1 << 20;

/**
 * A file written through a stream, with back-pressure the generator can await. Text is encoded
 * straight into a buffer line by line (building large strings first costs more than it saves).
 */
export class FileSink {
  private readonly stream: WriteStream;
  private buffer = Buffer.allocUnsafe(CHUNK);
  private used = 0;
  private waiting: Promise<void> | null = null;
  private failure: Error | null = null;

  constructor(readonly path: string) {
    this.stream = createWriteStream(path);
    this.stream.on('error', (err) => {
      this.failure = err;
    });
  }

  write(text: string): void {
    // A UTF-8 encoding takes at most 3 bytes per UTF-16 code unit.
    if (this.used + text.length * 3 > this.buffer.length) {
      this.push();
      if (text.length * 3 > this.buffer.length) this.buffer = Buffer.allocUnsafe(text.length * 3);
    }
    this.used += this.buffer.write(text, this.used);
  }

  private push(): void {
    if (this.used === 0) return;
    const ok = this.stream.write(this.buffer.subarray(0, this.used));
    this.buffer = Buffer.allocUnsafe(Math.max(CHUNK, this.buffer.length));
    this.used = 0;
    if (!ok && this.waiting === null) {
      this.waiting = once(this.stream, 'drain').then(() => {
        this.waiting = null;
      });
    }
  }

  /** Resolves when the stream has room again (or at once). */
  async ready(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.waiting) await this.waiting;
  }

  async close(): Promise<void> {
    this.push();
    if (this.failure) throw this.failure;
    await new Promise<void>((resolve, reject) => {
      this.stream.once('error', reject);
      this.stream.end(() => resolve());
    });
  }
}

interface PendingLine extends Timed {
  text: string;
}

/** Hands out one increasing sequence number per emitted line and task, for stable ordering. */
export class Sequence {
  private n = 0;
  next(): number {
    return this.n++;
  }
}

/**
 * One host's `mail.log`. Lines are emitted out of order (a message's hops are generated together),
 * held in a heap, and written once no later work can produce an earlier line.
 */
export class HostLog {
  private readonly pending = new TimeHeap<PendingLine>();
  private flushedUpTo = Number.NEGATIVE_INFINITY;
  lines = 0;

  constructor(
    /** Fully qualified name, e.g. `mx1.example.edu`. */
    readonly fqdn: string,
    private readonly format: HeaderFormat,
    private readonly sink: FileSink,
    private readonly seq: Sequence,
    /** Lines after this time are past the end of the logs and are not written. */
    private readonly endUs: number,
  ) {}

  get path(): string {
    return this.sink.path;
  }

  /** `tag` is `program[pid]` (or `program` alone); `text` the program's message. */
  emit(t: number, tag: string, text: string): void {
    if (t > this.endUs) return;
    if (t < this.flushedUpTo) {
      throw new Error(`generator bug: line at ${t} after ${this.flushedUpTo} was written (${tag}: ${text})`);
    }
    this.pending.push({ t, seq: this.seq.next(), text: `${tag}: ${text}\n` });
  }

  /** Writes every line due at or before `t`: nothing emitted from now on can be earlier. */
  flush(t: number): void {
    const pending = this.pending;
    const format = this.format;
    const sink = this.sink;
    let top = pending.peek();
    while (top !== undefined && top.t <= t) {
      pending.pop();
      sink.write(format.header(top.t) + top.text);
      this.lines++;
      top = pending.peek();
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
