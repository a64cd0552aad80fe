/**
 * What the correlator produces and the store keeps: logical messages and per-recipient deliveries.
 * The `trace --json` contract (docs/json-contract.md) is a rendering of these records.
 */

/** Final status of one recipient of one message. */
export type DeliveryStatus =
  | 'delivered'
  | 'deferred'
  | 'bounced'
  | 'rejected'
  | 'expired'
  | 'discarded'
  | 'quarantined'
  | 'held'
  | 'deleted';

export const DELIVERY_STATUSES: readonly DeliveryStatus[] = [
  'delivered',
  'deferred',
  'bounced',
  'rejected',
  'expired',
  'discarded',
  'quarantined',
  'held',
  'deleted',
];

export interface QueueRef {
  host: string;
  queueId: string;
  firstSeen: number;
  lastSeen: number;
  /** The queue entry ended (`removed`, expired, deleted) within what was read. */
  closed: boolean;
}

export interface DeliveryRecord {
  /** Final recipient, normalised. */
  recipient: string;
  /** Recipient as the sender addressed it, when an alias or forward rewrote it. */
  origRecipient: string | null;
  status: DeliveryStatus;
  /** Time of the attempt that settled this status (epoch ms). */
  at: number;
  /** Host that made that attempt. */
  host: string;
  relay: string | null;
  mailbox: string | null;
  dsn: string | null;
  /** Reply text or reason, bounded. */
  reason: string | null;
  /** Number of delivery attempts seen for this recipient, across hops. */
  attempts: number;
  /** Queue entry (on `host`) that made the settling attempt; null for a mailbox-server line. */
  queueId: string | null;
  /**
   * The settling attempt handed the message on (`queued as X`): X. A hand-off is the final word only
   * while nothing downstream of X is known (see `mergeDeliveries`).
   */
  handoff: string | null;
}

export interface SpamVerdict {
  score: number;
  required: number | null;
  isSpam: boolean;
}

/** One line of evidence behind a message, in time order. */
export interface EventRecord {
  at: number;
  host: string;
  program: string;
  /** Event kind (`delivery`, `queue-active`...), `unknown` never appears here. */
  kind: string;
  /** The raw log line. */
  text: string;
  /** Provenance for dedup and exactly-once: `file:offset` as `source\u0000file` + offset. */
  source: string;
  offset: number;
}

/**
 * A logical message: one per message-id and sender, across queue ids, content-filter re-injection
 * and hand-offs between hosts. A connection refused before queueing with no message becomes a
 * message of `kind: 'refused'` (no message-id, one rejected delivery per refused recipient).
 */
export interface MessageRecord {
  kind: 'message' | 'refused';
  messageId: string | null;
  /** Envelope sender, normalised ('' is the null sender of bounces), null when no line gave it. */
  sender: string | null;
  firstSeen: number;
  lastSeen: number;
  subject: string | null;
  size: number | null;
  clientIp: string | null;
  clientName: string | null;
  helo: string | null;
  saslUser: string | null;
  spam: SpamVerdict | null;
  virus: string | null;
  /** The message began before the window that was read: its start is missing. */
  partial: boolean;
  /** Every queue entry of the message was seen to end. */
  complete: boolean;
  queueIds: QueueRef[];
  deliveries: DeliveryRecord[];
  events: EventRecord[];
  /** How pieces were joined, for the trace to say (e.g. `queued_as`, `message-id`, `amavis-pid`). */
  links: string[];
  /** For a DSN (bounce) message: the queue entry of the message it reports on. */
  bounceOf: { host: string; queueId: string } | null;
  /**
   * Queue ids this message was handed to (`queued as X` in a delivery reply, amavis `queued_as:`),
   * on this host or the next one. A piece that later shows up with one of these queue ids at about
   * that time is the same message.
   */
  handoffs: Handoff[];
}

export interface Handoff {
  queueId: string;
  at: number;
  /** Where it was handed, as the delivery line named it (`relay=`). */
  relay: string | null;
}

/**
 * A line kept but not part of any message: `unknown` (no parser recognised it), `invalid` (its header
 * could not be read), or a known event that belongs to no message (a login, a connection that sent
 * no mail). Nothing read is dropped: these are stored and counted too.
 */
export interface LooseLine {
  at: number;
  host: string;
  program: string;
  /** `unknown`, `invalid`, or the event kind (`login`, `connect`...). */
  kind: string;
  /** The raw line. */
  text: string;
  source: string;
  offset: number;
  /** Why it is loose: the framing error for `invalid`, the parser name for `unknown`. */
  reason?: string;
}

/** Line counts of one import (or one collection interval) for one host and program. */
export interface LineStats {
  host: string;
  program: string;
  /** The parser that handled the program, null when none did. */
  parser: string | null;
  seen: number;
  parsed: number;
  unknown: number;
  invalid: number;
}

/** What a trace can look for. */
export type QueryKind = 'message-id' | 'address' | 'sender' | 'recipient' | 'queue-id' | 'ip' | 'subject';

export const QUERY_KINDS: readonly QueryKind[] = [
  'message-id',
  'address',
  'sender',
  'recipient',
  'queue-id',
  'ip',
  'subject',
];
