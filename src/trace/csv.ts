import type { MessageRecord } from '../core/model.js';
import { iso } from './contract.js';

/** One row per recipient; a message with no known recipient still gets one row. */
export const CSV_COLUMNS = [
  'first_seen',
  'kind',
  'message_id',
  'sender',
  'subject',
  'size',
  'client_ip',
  'sasl_user',
  'spam_score',
  'is_spam',
  'virus',
  'recipient',
  'orig_recipient',
  'status',
  'status_at',
  'host',
  'relay',
  'mailbox',
  'dsn',
  'reason',
  'attempts',
  'queue_ids',
] as const;

export function csvRows(m: MessageRecord): string {
  const common = [
    iso(m.firstSeen),
    m.kind,
    m.messageId,
    m.sender,
    m.subject,
    m.size,
    m.clientIp,
    m.saslUser,
    m.spam?.score ?? null,
    m.spam ? String(m.spam.isSpam) : null,
    m.virus,
  ];
  const queueIds = m.queueIds.map((q) => `${q.queueId}@${q.host}`).join(' ');
  const deliveries = m.deliveries.length ? m.deliveries : [null];
  return deliveries
    .map((d) =>
      [
        ...common,
        d?.recipient,
        d?.origRecipient,
        d?.status,
        d ? iso(d.at) : null,
        d?.host,
        d?.relay,
        d?.mailbox,
        d?.dsn,
        d?.reason,
        d?.attempts,
        queueIds,
      ]
        .map(csvField)
        .join(','),
    )
    .map((row) => `${row}\n`)
    .join('');
}

/**
 * RFC 4180 quoting, plus a guard against formula injection: log text is attacker-controlled and a
 * spreadsheet would run a cell that starts with = + - @ as a formula.
 */
export function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  let s = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) || s !== String(value) ? `"${s.replace(/"/g, '""')}"` : s;
}
