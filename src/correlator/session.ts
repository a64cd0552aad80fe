import type { ClientRef, RejectEvent } from '../core/events.js';
import type { EventRecord } from '../core/model.js';

/** A refusal before queueing, waiting to learn whether its SMTP session goes on to queue a message. */
export interface PendingReject {
  event: RejectEvent;
  record: EventRecord;
  at: number;
}

/** One SMTP server process's current client (Postfix smtpd handles one client at a time per pid). */
export class SmtpSession {
  helo: string | null = null;
  /** Queue entries this session created, most recent last. */
  readonly queueIds: string[] = [];
  /** Refusals since the session's last queued message. */
  pending: PendingReject[] = [];
  readonly lines: EventRecord[] = [];
  lastAt: number;

  constructor(
    readonly host: string,
    readonly client: ClientRef,
    readonly startedAt: number,
  ) {
    this.lastAt = startedAt;
  }

  touch(at: number): void {
    if (at > this.lastAt) this.lastAt = at;
  }
}
