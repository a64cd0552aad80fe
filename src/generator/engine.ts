/**
 * The simulation clock: message arrivals come in time order from the main loop; work that happens
 * later (retries, bounces, periodic statistics, background noise) is scheduled here and run when the
 * clock reaches it.
 */

import { type Timed, TimeHeap } from './heap.js';
import type { MessageIds } from './ids.js';
import type { Sequence } from './output.js';
import type { Rng } from './random.js';
import type { Site } from './site.js';
import type { Subject } from './text.js';
import type { Tracked, TruthRecipient, TruthWriter } from './truth.js';

interface Task extends Timed {
  run: (t: number) => void;
}

export class Engine {
  private readonly tasks = new TimeHeap<Task>();

  constructor(
    private readonly seq: Sequence,
    readonly startUs: number,
    readonly endUs: number,
    /** Work closer than this to the end is not started, so that its lines are not cut in half. */
    private readonly marginUs: number,
  ) {}

  /** Schedules message work at `t`; false (and nothing scheduled) when it would not finish before the end. */
  at(t: number, run: (t: number) => void): boolean {
    if (t > this.endUs - this.marginUs) return false;
    this.tasks.push({ t, seq: this.seq.next(), run });
    return true;
  }

  /** Schedules a single-line event (noise, statistics) at `t`, up to the very end. */
  atAny(t: number, run: (t: number) => void): void {
    if (t > this.endUs) return;
    this.tasks.push({ t, seq: this.seq.next(), run });
  }

  nextTime(): number {
    return this.tasks.peek()?.t ?? Number.POSITIVE_INFINITY;
  }

  /** Runs every task due at or before `t`, in time order (tasks may schedule more). */
  runUntil(t: number): void {
    let top = this.tasks.peek();
    while (top !== undefined && top.t <= t) {
      this.tasks.pop();
      top.run(top.t);
      top = this.tasks.peek();
    }
  }
}

/** What travels with a message from hop to hop. */
export interface Mail {
  tracked: Tracked;
  /** Envelope sender, '' for the null sender. */
  sender: string;
  messageId: string;
  subject: Subject | null;
  /** Message size in bytes. */
  size: number;
  /** SpamAssassin score (spamd and amavis agree). */
  score: number;
  rules: string;
  virus: string | null;
  /** amavis `dkim_sd=` value, or null. */
  dkim: string | null;
}

/** One final recipient of a message, tied to its ground-truth slot. */
export interface Rcpt {
  address: string;
  /** The address as given before alias expansion, or null. */
  orig: string | null;
  truth: TruthRecipient;
}

/** What every host simulation shares. */
export interface World {
  rng: Rng;
  engine: Engine;
  site: Site;
  truth: TruthWriter;
  messageIds: MessageIds;
  /** Postfix `maximal_queue_lifetime` of the site (see README). */
  lifetimeUs: number;
}

/** A peer host as an SMTP client: its reverse name and address. */
export interface Peer {
  name: string;
  ip: string;
}
