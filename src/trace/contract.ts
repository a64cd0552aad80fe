import type { MessageRecord } from '../core/model.js';

/**
 * The `trace --json` / `export --format jsonl` document. Stable: fields may be added, never renamed
 * or dropped (docs/json-contract.md). Times are ISO-8601 UTC.
 */
export interface TraceMessageJson {
  kind: 'message' | 'refused';
  messageId: string | null;
  sender: string | null;
  firstSeen: string;
  lastSeen: string;
  subject: string | null;
  size: number | null;
  clientIp: string | null;
  clientName: string | null;
  helo: string | null;
  saslUser: string | null;
  spam: { score: number; required: number | null; isSpam: boolean } | null;
  virus: string | null;
  partial: boolean;
  complete: boolean;
  queueIds: { host: string; queueId: string }[];
  deliveries: {
    recipient: string;
    origRecipient: string | null;
    status: string;
    at: string;
    host: string;
    relay: string | null;
    mailbox: string | null;
    dsn: string | null;
    reason: string | null;
    attempts: number;
    queueId: string | null;
  }[];
  events: { at: string; host: string; program: string; kind: string; text: string }[];
  links: string[];
  bounceOf: { host: string; queueId: string } | null;
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function toContract(m: MessageRecord, options: { events?: boolean } = {}): TraceMessageJson {
  return {
    kind: m.kind,
    messageId: m.messageId,
    sender: m.sender,
    firstSeen: iso(m.firstSeen),
    lastSeen: iso(m.lastSeen),
    subject: m.subject,
    size: m.size,
    clientIp: m.clientIp,
    clientName: m.clientName,
    helo: m.helo,
    saslUser: m.saslUser,
    spam: m.spam,
    virus: m.virus,
    partial: m.partial,
    complete: m.complete,
    queueIds: m.queueIds.map((q) => ({ host: q.host, queueId: q.queueId })),
    deliveries: m.deliveries.map((d) => ({
      recipient: d.recipient,
      origRecipient: d.origRecipient,
      status: d.status,
      at: iso(d.at),
      host: d.host,
      relay: d.relay,
      mailbox: d.mailbox,
      dsn: d.dsn,
      reason: d.reason,
      attempts: d.attempts,
      queueId: d.queueId,
    })),
    events:
      options.events === false
        ? []
        : m.events.map((e) => ({
            at: iso(e.at),
            host: e.host,
            program: e.program,
            kind: e.kind,
            text: e.text,
          })),
    links: m.links,
    bounceOf: m.bounceOf,
  };
}
