import type { ClientRef, FilterVerdictEvent, SpamResultEvent } from '../core/events.js';
import type {
  DeliveryRecord,
  DeliveryStatus,
  EventRecord,
  Handoff,
  MessageRecord,
  SpamVerdict,
} from '../core/model.js';

/** What Dovecot said about a recipient, waiting for (or completing) the MTA's delivery line. */
export interface MailboxNote {
  mailbox: string | null;
  status: DeliveryStatus;
  detail: string | null;
  at: number;
  host: string;
}

/** Statuses that a later queue event (expiry, hold, deletion) may still change. */
function isOpenStatus(status: DeliveryStatus): boolean {
  return status === 'deferred' || status === 'held';
}

/**
 * One queue entry on one host (a Postfix queue id between its creation and `removed`), or a fragment
 * built around a filter or mailbox line that names no queue entry. It becomes one MessageRecord piece;
 * pieces of one logical message are joined by `mergeMessages` (core/merge.ts).
 */
export class QueueEntry {
  started = false;
  closed = false;
  messageId: string | null = null;
  sender: string | null = null;
  size: number | null = null;
  subject: string | null = null;
  client: ClientRef | null = null;
  helo: string | null = null;
  saslUser: string | null = null;
  spam: SpamVerdict | null = null;
  virus: string | null = null;
  bounceOf: { host: string; queueId: string } | null = null;
  blocked: FilterVerdictEvent | null = null;
  readonly links = new Set<string>();
  readonly handoffs: Handoff[] = [];
  readonly deliveries = new Map<string, DeliveryRecord>();
  readonly mailboxNotes = new Map<string, MailboxNote>();
  readonly events: EventRecord[] = [];
  lastSeen: number;

  constructor(
    readonly host: string,
    readonly queueId: string | null,
    readonly firstSeen: number,
  ) {
    this.lastSeen = firstSeen;
  }

  add(record: EventRecord): void {
    this.events.push(record);
    if (record.at > this.lastSeen) this.lastSeen = record.at;
  }

  setClient(client: ClientRef): void {
    if (!this.client || (!this.client.ip && client.ip)) this.client = client;
  }

  setSpam(result: Pick<SpamResultEvent, 'score' | 'required' | 'isSpam'>): void {
    // A scanner that states the threshold (spamd) is more informative than one that does not.
    if (this.spam && this.spam.required !== null && result.required === undefined) return;
    // spamd logs the exact score (`identified spam (15.3/5.0)`) and then, in `result:`, the same score
    // truncated to an integer (`%2d`): keep the exact one.
    if (this.spam && Number.isInteger(result.score) && Math.trunc(this.spam.score) === result.score) {
      this.spam.isSpam = result.isSpam;
      return;
    }
    this.spam = { score: result.score, required: result.required ?? null, isSpam: result.isSpam };
  }

  addHandoff(queueId: string, at: number, relay: string | null): void {
    if (!this.handoffs.some((h) => h.queueId === queueId)) this.handoffs.push({ queueId, at, relay });
  }

  /** Records one attempt for one recipient; the latest attempt settles the status. */
  attempt(
    recipient: string,
    update: Omit<DeliveryRecord, 'recipient' | 'attempts' | 'origRecipient' | 'queueId' | 'handoff'> & {
      origRecipient?: string | null;
      handoff?: string | null;
    },
  ): DeliveryRecord {
    let record = this.deliveries.get(recipient);
    const handoff = update.handoff ?? null;
    if (!record) {
      record = {
        recipient,
        attempts: 0,
        ...update,
        origRecipient: update.origRecipient ?? null,
        queueId: this.queueId,
        handoff,
      };
      this.deliveries.set(recipient, record);
    } else if (update.at >= record.at) {
      const { origRecipient, ...rest } = update;
      Object.assign(record, rest);
      record.handoff = handoff;
      if (origRecipient) record.origRecipient = origRecipient;
    }
    record.attempts++;
    this.applyMailboxNote(record);
    return record;
  }

  /** Whether an MTA line of this entry named the recipient (as an address, or a bare user name). */
  deliversTo(user: string): boolean {
    if (this.deliveries.has(user)) return true;
    for (const recipient of this.deliveries.keys()) if (localPart(recipient) === user) return true;
    return false;
  }

  /** Dovecot's line names the mailbox; Postfix's lmtp line settles the status. Either may come first. */
  noteMailbox(user: string, note: MailboxNote): void {
    this.mailboxNotes.set(user, note);
    for (const record of this.deliveries.values()) this.applyMailboxNote(record);
  }

  private applyMailboxNote(record: DeliveryRecord): void {
    if (this.mailboxNotes.size === 0) return;
    const note =
      this.mailboxNotes.get(record.recipient) ?? this.mailboxNotes.get(localPart(record.recipient));
    if (!note) return;
    if (note.mailbox) record.mailbox = note.mailbox;
    if (note.status !== 'delivered' && record.status === 'delivered') {
      record.status = note.status;
      record.reason = note.detail ?? record.reason;
    }
  }

  /** Marks every recipient not yet settled (deferred or held) with a queue-wide outcome. */
  settleOpen(status: DeliveryStatus, at: number, reason: string | null): void {
    for (const record of this.deliveries.values()) {
      if (!isOpenStatus(record.status)) continue;
      record.status = status;
      record.at = at;
      if (reason) record.reason = reason;
    }
  }

  /** Applies a content filter's block to the recipients it stopped (their hand-off to it said 250). */
  private applyBlock(): void {
    const verdict = this.blocked;
    if (!verdict) return;
    const status: DeliveryStatus = verdict.quarantine ? 'quarantined' : 'discarded';
    const reason = `${verdict.filter}: ${verdict.action} ${verdict.category}${verdict.virus ? ` (${verdict.virus})` : ''}`;
    const targets = verdict.to.length ? verdict.to : [...this.deliveries.keys()];
    for (const recipient of targets) {
      const record = this.deliveries.get(recipient);
      if (record && record.status !== 'delivered') continue;
      if (record) {
        record.status = status;
        record.reason = reason;
      } else {
        this.deliveries.set(recipient, {
          recipient,
          origRecipient: null,
          status,
          at: this.lastSeen,
          host: this.host,
          relay: null,
          mailbox: null,
          dsn: null,
          reason,
          attempts: 1,
          queueId: this.queueId,
          handoff: null,
        });
      }
    }
  }

  toRecord(kind: MessageRecord['kind'] = 'message'): MessageRecord {
    this.applyBlock();
    // Lines join an entry as they are read, and a session's connect line may join after later ones.
    this.events.sort((a, b) => a.at - b.at);
    const firstLine = this.events[0]?.at ?? this.firstSeen;
    return {
      kind,
      messageId: this.messageId,
      sender: this.sender,
      firstSeen: Math.min(this.firstSeen, firstLine),
      lastSeen: this.lastSeen,
      subject: this.subject,
      size: this.size,
      clientIp: this.client?.ip ?? null,
      clientName: this.client?.name ?? null,
      helo: this.helo,
      saslUser: this.saslUser,
      spam: this.spam,
      virus: this.virus,
      partial: !this.started,
      complete: this.closed,
      queueIds:
        this.queueId === null
          ? []
          : [
              {
                host: this.host,
                queueId: this.queueId,
                firstSeen: this.firstSeen,
                lastSeen: this.lastSeen,
                closed: this.closed,
              },
            ],
      deliveries: [...this.deliveries.values()],
      events: this.events,
      links: [...this.links],
      bounceOf: this.bounceOf,
      handoffs: this.handoffs,
    };
  }
}

export function localPart(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? address : address.slice(0, at);
}
