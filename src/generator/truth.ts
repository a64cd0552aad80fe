/**
 * Ground truth: one JSON object per logical message or refused attempt, with the final status of each
 * recipient after all hops. An entry is written once every recipient has settled.
 */

import type { DeliveryStatus } from '../core/model.js';
import type { FileSink } from './output.js';
import { isoMillis } from './time.js';

export type FinalStatus = DeliveryStatus;

export interface TruthRecipient {
  recipient: string;
  origRecipient: string | null;
  status: FinalStatus;
  mailbox: string | null;
}

export interface TruthEntry {
  kind: 'message' | 'refused';
  messageId: string | null;
  sender: string;
  subject: string | null;
  clientIp: string | null;
  /** µs; written as ISO 8601. */
  firstSeen: number;
  spam: boolean;
  virus: string | null;
  recipients: TruthRecipient[];
}

/** A ground-truth entry whose recipients are still being delivered. */
export class Tracked {
  private unsettled = 0;
  private sealed = false;
  private written = false;
  constructor(
    readonly entry: TruthEntry,
    private readonly writer: TruthWriter,
  ) {}

  /** Adds a recipient whose status is not known yet. */
  add(recipient: string, origRecipient: string | null): TruthRecipient {
    const r: TruthRecipient = { recipient, origRecipient, status: 'deferred', mailbox: null };
    this.entry.recipients.push(r);
    this.unsettled++;
    return r;
  }

  /** Records the final status of `r`; the entry is written when the last recipient settles. */
  settle(r: TruthRecipient, status: FinalStatus, mailbox: string | null = null): void {
    r.status = status;
    r.mailbox = mailbox;
    this.unsettled--;
    this.maybeWrite();
  }

  /** Removes a recipient not settled yet: the logs will never name it. */
  drop(r: TruthRecipient): void {
    const i = this.entry.recipients.indexOf(r);
    if (i < 0 || r.status !== 'deferred') return;
    this.entry.recipients.splice(i, 1);
    this.unsettled--;
    this.maybeWrite();
  }

  /** No more recipients will be added (some may still be in flight). */
  seal(): void {
    this.sealed = true;
    this.maybeWrite();
  }

  private maybeWrite(): void {
    if (!this.sealed || this.unsettled > 0 || this.written) return;
    this.written = true;
    this.writer.write(this.entry);
  }
}

export class TruthWriter {
  entries = 0;
  constructor(private readonly sink: FileSink) {}

  /** Starts an entry; recipients are added with `Tracked.add` and settled later. */
  track(entry: Omit<TruthEntry, 'recipients'>): Tracked {
    return new Tracked({ ...entry, recipients: [] }, this);
  }

  write(e: TruthEntry): void {
    // Fixed key order, so that files compare byte for byte.
    const line = JSON.stringify({
      kind: e.kind,
      messageId: e.messageId,
      sender: e.sender,
      subject: e.subject,
      clientIp: e.clientIp,
      firstSeen: isoMillis(e.firstSeen),
      spam: e.spam,
      virus: e.virus,
      recipients: e.recipients.map((r) => ({
        recipient: r.recipient,
        origRecipient: r.origRecipient,
        status: r.status,
        mailbox: r.mailbox,
      })),
    });
    this.sink.write(`${line}\n`);
    this.entries++;
  }

  ready(): Promise<void> {
    return this.sink.ready();
  }

  close(): Promise<void> {
    return this.sink.close();
  }
}
