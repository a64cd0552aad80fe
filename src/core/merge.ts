import type { DeliveryRecord, EventRecord, Handoff, MessageRecord, QueueRef } from './model.js';

/**
 * Joins two pieces of one logical message into one record. The correlator joins the pieces it holds in
 * memory with this function and the store joins a new piece with one it stored earlier with the same
 * function, so a message reads the same whether its lines came in one import or in several.
 *
 * `older` is the piece that began first; its header facts win where both have one.
 */
export function mergeMessages(older: MessageRecord, newer: MessageRecord): MessageRecord {
  if (newer.firstSeen < older.firstSeen) return mergeMessages(newer, older);
  const queueIds = mergeQueueRefs(older.queueIds, newer.queueIds);
  return {
    kind: older.kind === 'message' || newer.kind === 'message' ? 'message' : 'refused',
    messageId: older.messageId || newer.messageId || older.messageId,
    sender: older.sender ?? newer.sender,
    firstSeen: older.firstSeen,
    lastSeen: Math.max(older.lastSeen, newer.lastSeen),
    subject: older.subject ?? newer.subject,
    size: older.size ?? newer.size,
    clientIp: older.clientIp ?? newer.clientIp,
    clientName: older.clientName ?? newer.clientName,
    helo: older.helo ?? newer.helo,
    saslUser: older.saslUser ?? newer.saslUser,
    spam: older.spam ?? newer.spam,
    virus: older.virus ?? newer.virus,
    // A fragment (a filter or mailbox line with no queue entry) says nothing about where the message began.
    partial: older.queueIds.length > 0 || newer.queueIds.length === 0 ? older.partial : newer.partial,
    complete: queueIds.length > 0 ? queueIds.every((q) => q.closed) : older.complete && newer.complete,
    queueIds,
    deliveries: mergeDeliveries(older.deliveries, newer.deliveries),
    events: mergeEvents(older.events, newer.events),
    links: union(older.links, newer.links),
    bounceOf: older.bounceOf ?? newer.bounceOf,
    handoffs: mergeHandoffs(older.handoffs, newer.handoffs),
  };
}

function mergeQueueRefs(a: QueueRef[], b: QueueRef[]): QueueRef[] {
  const out = a.map((q) => ({ ...q }));
  for (const q of b) {
    const same = out.find((o) => o.host === q.host && o.queueId === q.queueId);
    if (same) {
      same.firstSeen = Math.min(same.firstSeen, q.firstSeen);
      same.lastSeen = Math.max(same.lastSeen, q.lastSeen);
      same.closed = same.closed || q.closed;
    } else {
      out.push({ ...q });
    }
  }
  return out;
}

/**
 * Per recipient, the attempt that came last settles the status (deferred then delivered is delivered;
 * relayed to the next host then saved in a mailbox is the mailbox). A downstream host that expanded
 * a recipient (alias, list) names it as `origRecipient`: its deliveries replace the upstream one.
 */
export function mergeDeliveries(a: DeliveryRecord[], b: DeliveryRecord[]): DeliveryRecord[] {
  const [first, second] = a.length && b.length && b[0]!.at < a[0]!.at ? [b, a] : [a, b];
  const out = first.map((d) => ({ ...d }));
  const expanded = new Set<string>();
  for (const d of second) {
    const same = out.find((o) => o.recipient === d.recipient);
    if (same) {
      combineInto(same, d);
      continue;
    }
    const upstream = d.origRecipient ? out.find((o) => o.recipient === d.origRecipient) : undefined;
    if (upstream && upstream.at <= d.at) {
      expanded.add(upstream.recipient);
      out.push({
        ...d,
        origRecipient: upstream.origRecipient ?? upstream.recipient,
        attempts: d.attempts + upstream.attempts,
      });
      continue;
    }
    out.push({ ...d });
  }
  return expanded.size ? out.filter((d) => !expanded.has(d.recipient)) : out;
}

function combineInto(target: DeliveryRecord, other: DeliveryRecord): void {
  const attempts = target.attempts + other.attempts;
  const origRecipient = target.origRecipient ?? other.origRecipient;
  // The mailbox server (Dovecot) names the folder a moment before the MTA logs its delivery line.
  const mailbox =
    target.status === 'delivered' && other.status === 'delivered' ? (target.mailbox ?? other.mailbox) : null;
  if (supersedes(other, target)) Object.assign(target, other);
  target.attempts = attempts;
  target.origRecipient = origRecipient;
  if (target.status === 'delivered' && target.mailbox === null) target.mailbox = mailbox;
}

/**
 * Whether attempt `a` settles the recipient over attempt `b`. What happened downstream of a hand-off
 * wins over the hand-off itself whatever the clock says: Postfix may log the re-injected message's
 * first attempt before the line that handed it to the content filter.
 */
export function supersedes(a: DeliveryRecord, b: DeliveryRecord): boolean {
  if (b.handoff !== null && a.queueId === b.handoff) return true;
  if (a.handoff !== null && b.queueId === a.handoff) return false;
  return a.at >= b.at;
}

/** Events in time order, each line once (the same line read twice has the same source and offset). */
export function mergeEvents(a: EventRecord[], b: EventRecord[]): EventRecord[] {
  const seen = new Set<string>();
  const out: EventRecord[] = [];
  for (const e of [...a, ...b]) {
    const key = `${e.source}\u0000${e.offset}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(e);
  }
  return out.sort((x, y) => x.at - y.at);
}

function mergeHandoffs(a: Handoff[], b: Handoff[]): Handoff[] {
  if (b.length === 0) return a;
  const out = [...a];
  for (const h of b) if (!out.some((o) => o.queueId === h.queueId)) out.push(h);
  return out;
}

function union(a: string[], b: string[]): string[] {
  return b.every((x) => a.includes(x)) ? a : [...new Set([...a, ...b])];
}
