import type { DeliveryRecord, MessageRecord } from '../core/model.js';

/**
 * Plain-language meaning of the enhanced status codes people meet most (RFC 3463, RFC 7372 and common
 * practice), so that a trace says what a reply means and what to do about it.
 */
const DSN_MEANINGS: Record<string, string> = {
  '5.1.1': 'the mailbox does not exist: check the address',
  '5.1.2': 'the destination domain does not exist or accepts no mail: check the domain',
  '5.1.3': 'the address is not valid',
  '5.1.6': 'the mailbox has moved',
  '5.1.8': "the sender's domain was refused",
  '5.1.10': 'the recipient domain accepts no mail (null MX)',
  '5.2.1': 'the mailbox is disabled',
  '5.2.2': 'the mailbox is full',
  '4.2.2': 'the mailbox is full for now',
  '5.2.3': 'the message is larger than the recipient accepts',
  '5.3.4': 'the message is larger than the server accepts',
  '5.4.1': 'the receiving server refused the recipient (no such user or relay denied)',
  '4.4.1': 'the receiving server did not answer; delivery is retried',
  '4.4.2': 'the connection to the receiving server broke; delivery is retried',
  '5.4.4': 'the destination could not be found',
  '4.4.3': 'a DNS lookup failed for now; delivery is retried',
  '5.4.6': 'a mail loop was detected',
  '4.4.7': 'the message waited too long in the queue',
  '5.4.7': 'the message waited too long in the queue and was returned',
  '4.7.1': 'the receiving server asks to try again later (greylisting or rate limit)',
  '5.7.1': 'the receiving server refused the message by policy (spam, relay or sender not allowed)',
  '5.7.23': 'SPF check failed',
  '5.7.25': 'the sending server has no reverse DNS',
  '5.7.26': 'the message failed DMARC/DKIM/SPF authentication',
  '5.7.27': 'the sender domain accepts no mail (null MX)',
  '5.7.0': 'refused for security or policy reasons',
  '5.5.0': 'the receiving server refused a command',
};

export function meaningOfDsn(dsn: string | null): string | null {
  if (!dsn) return null;
  return DSN_MEANINGS[dsn] ?? null;
}

function clock(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
}

function relayName(relay: string | null): string | null {
  if (!relay || relay === 'none') return null;
  return relay;
}

/** One sentence saying what became of one recipient. */
export function explainDelivery(d: DeliveryRecord, message?: Pick<MessageRecord, 'firstSeen'>): string {
  const when = clock(d.at);
  const relay = relayName(d.relay);
  const meaning = meaningOfDsn(d.dsn);
  const reply = d.reason ? `: ${d.reason}` : '';
  const hint = meaning ? ` (${meaning})` : '';
  switch (d.status) {
    case 'delivered': {
      const after = message ? ` (${formatDuration(d.at - message.firstSeen)} after it arrived)` : '';
      if (d.mailbox) return `Delivered into mailbox ${d.mailbox} on ${d.host} at ${when}${after}.`;
      if (relay && /\[|:\d+$/.test(relay))
        return `Handed over to ${relay} by ${d.host} at ${when}${after}${reply}.`;
      return `Delivered by ${d.host}${relay ? ` via ${relay}` : ''} at ${when}${after}${reply}.`;
    }
    case 'deferred':
      return `Not delivered yet: ${d.host} will try again${relay ? ` (${relay})` : ''}. Last attempt at ${when}${reply}${hint}.`;
    case 'bounced':
      return `Bounced at ${when}${relay ? `, ${relay} answered` : ''}${reply}${hint}. The sender gets a non-delivery report.`;
    case 'rejected':
      return `Refused during the SMTP conversation by ${d.host} at ${when}${reply}${hint}. The sending server was told at once.`;
    case 'expired':
      return `Given up at ${when}: the message stayed in the queue too long${reply}. The sender gets a non-delivery report.`;
    case 'discarded':
      return `Discarded at ${when} without delivery${reply}.`;
    case 'quarantined':
      return `Quarantined at ${when}${reply}. An administrator can release it.`;
    case 'held':
      return `Held in the queue on ${d.host} since ${when}${reply}; it waits for an administrator.`;
    case 'deleted':
      return `Deleted from the queue of ${d.host} by an administrator at ${when}.`;
  }
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
}
