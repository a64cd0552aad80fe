/**
 * The queue's own daemons: qmgr(8) (a message enters the active queue, expires, leaves), pickup(8)
 * (local submissions), postsuper(1) (administrator's queue operations) and bounce(8) (the DSNs it
 * creates, also when run as `defer` or `trace`).
 */
import { normalizeAddress } from '../../core/address.js';
import type {
  MailEvent,
  NotificationEvent,
  QueueActiveEvent,
  QueueAdminEvent,
  QueuePickupEvent,
} from '../../core/events.js';
import { parseDelivery } from './delivery.js';
import { closeAngle, info, isQueueId, queueIdEnd } from './shared.js';

/** Reads the sender of `from=<a>` (or old-style `from=a`) at `start`; returns it and where it ended. */
function senderAt(text: string, start: number): { from: string; end: number } | null {
  if (!text.startsWith('from=', start)) return null;
  if (text.charCodeAt(start + 5) === 60) {
    const close = closeAngle(text, start + 6);
    if (close < 0) return null;
    return { from: normalizeAddress(text.slice(start + 6, close)), end: close + 1 };
  }
  let end = text.indexOf(', ', start + 5);
  if (end < 0) end = text.indexOf(' ', start + 5);
  if (end < 0) end = text.length;
  return { from: normalizeAddress(text.slice(start + 5, end)), end };
}

/** `removed` as the whole text after the queue id (tolerating annotations after a space). */
function isWord(rest: string, word: string): boolean {
  return rest.startsWith(word) && (rest.length === word.length || rest.charCodeAt(word.length) === 32);
}

/** Integer value of `key=N` in `text`, or undefined. */
function intField(text: string, key: string): number | undefined {
  const i = text.indexOf(key);
  if (i < 0) return undefined;
  let p = i + key.length;
  let n = 0;
  const start = p;
  while (p < text.length && p - start < 15) {
    const d = text.charCodeAt(p) - 48;
    if (d < 0 || d > 9) break;
    n = n * 10 + d;
    p++;
  }
  return p > start ? n : undefined;
}

/**
 * qmgr: `QID: from=<a>, size=123, nrcpt=2 (queue active)`, `QID: from=<a>, status=expired, returned to
 * sender` (also `status=force-expired`, postsuper -e), `QID: removed`, `QID: skipped, still being
 * delivered`, and the delivery lines qmgr writes itself (`status=deferred (delivery temporarily
 * suspended: ...)`, bounces of unroutable recipients).
 */
export function parseQmgr(text: string): MailEvent | null {
  const colon = queueIdEnd(text);
  if (colon < 0) return null;
  const queueId = text.slice(0, colon);
  const rest = text.slice(colon + 2);
  if (rest.startsWith('from=')) return qmgrFromLine(queueId, rest);
  if (isWord(rest, 'removed')) return { kind: 'queue-removed', queueId };
  if (rest.startsWith('to=')) return parseDelivery(queueId, rest, 'qmgr');
  if (rest.startsWith('skipped, still being delivered')) return info('skipped', queueId);
  return null;
}

function qmgrFromLine(queueId: string, rest: string): MailEvent | null {
  const sender = senderAt(rest, 0);
  if (sender === null) return null;
  const after = rest.slice(sender.end);
  if (after.startsWith(', status=expired') || after.startsWith(', status=force-expired')) {
    return { kind: 'queue-expired', queueId, from: sender.from };
  }
  if (!after.includes('(queue active)')) return null;
  const event: QueueActiveEvent = { kind: 'queue-active', queueId, from: sender.from };
  const size = intField(after, ', size=');
  if (size !== undefined) event.size = size;
  const nrcpt = intField(after, ', nrcpt=');
  if (nrcpt !== undefined) event.nrcpt = nrcpt;
  return event;
}

/** pickup: `QID: uid=1000 from=<alice>` (local submission through sendmail/postdrop). */
export function parsePickup(text: string): MailEvent | null {
  const colon = queueIdEnd(text);
  if (colon < 0 || !text.startsWith('uid=', colon + 2)) return null;
  const rest = text.slice(colon + 2);
  const event: QueuePickupEvent = { kind: 'queue-pickup', queueId: text.slice(0, colon) };
  const uid = intField(rest, 'uid=');
  if (uid !== undefined) event.uid = uid;
  const fromAt = rest.indexOf(' from=');
  if (fromAt > 0) {
    const sender = senderAt(rest, fromAt + 1);
    if (sender !== null) event.from = sender.from;
  }
  return event;
}

const ADMIN_ACTIONS: readonly (readonly [string, QueueAdminEvent['action']])[] = [
  ['removed', 'deleted'],
  ['placed on hold', 'held'],
  ['released from hold', 'released'],
  ['requeued', 'requeued'],
];

/** Totals postsuper prints after an operation: `Deleted: 3 messages`, `Requeued: 1 message`... */
const ADMIN_TOTALS = ['Deleted: ', 'Requeued: ', 'Placed on hold: ', 'Released from hold: '];

/**
 * postsuper: `QID: removed` (deleted by the administrator: not the normal end of a delivered message,
 * which qmgr logs), `QID: placed on hold`, `QID: released from hold`, `QID: requeued`.
 */
export function parsePostsuper(text: string): MailEvent | null {
  const colon = queueIdEnd(text);
  if (colon > 0) {
    const rest = text.slice(colon + 2);
    for (const [phrase, action] of ADMIN_ACTIONS) {
      if (isWord(rest, phrase)) return { kind: 'queue-admin', queueId: text.slice(0, colon), action };
    }
    return null;
  }
  for (const prefix of ADMIN_TOTALS) {
    if (text.startsWith(prefix)) return info('queue-admin-total');
  }
  return null;
}

/**
 * bounce: `QID: sender non-delivery notification: NEWQID`, `sender delay notification`, `sender
 * delivery status notification` (success DSN), `postmaster non-delivery notification`...
 * The notification names the kind: `non-delivery`, `delay`, `delivery`, `postmaster non-delivery`.
 */
export function parseBounce(text: string): MailEvent | null {
  const colon = queueIdEnd(text);
  if (colon < 0) return null;
  const rest = text.slice(colon + 2);
  const end = rest.indexOf(' notification: ');
  if (end < 0 || end > 60) return null;
  const newId = rest.slice(end + 15).trimEnd();
  if (!isQueueId(newId)) return null;
  let kind: string;
  if (rest.startsWith('sender ')) kind = rest.slice(7, end);
  else if (rest.startsWith('postmaster ')) kind = rest.slice(0, end);
  else return null;
  if (kind === 'delivery status') kind = 'delivery';
  else if (kind === 'postmaster delivery status') kind = 'postmaster delivery';
  const event: NotificationEvent = {
    kind: 'notification',
    queueId: text.slice(0, colon),
    notificationQueueId: newId,
    notification: kind,
  };
  return event;
}
