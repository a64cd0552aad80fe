import type { MessageRecord } from '../core/model.js';
import { explainDelivery, formatDuration } from './explain.js';

export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  status(status: string, s: string): string;
}

const ESC = '\u001b[';
export const PLAIN: Style = { bold: (s) => s, dim: (s) => s, status: (_status, s) => s };
export const ANSI: Style = {
  bold: (s) => `${ESC}1m${s}${ESC}22m`,
  dim: (s) => `${ESC}2m${s}${ESC}22m`,
  status: (status, s) => `${ESC}${STATUS_COLOURS[status] ?? '0'}m${s}${ESC}39m`,
};
const STATUS_COLOURS: Record<string, string> = {
  delivered: '32',
  deferred: '33',
  held: '33',
  bounced: '31',
  rejected: '31',
  expired: '31',
  discarded: '35',
  quarantined: '35',
  deleted: '35',
};

/**
 * Log text is attacker-controlled: a subject may carry terminal escape sequences. Control characters
 * are shown as `\xNN`, and very long values are cut.
 */
export function safe(text: string | null | undefined, max = 400): string {
  if (text === null || text === undefined) return '';
  let out = '';
  let plainFrom = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x20 && (code < 0x7f || code > 0x9f)) continue;
    out += text.slice(plainFrom, i) + (code === 10 ? '\\n' : `\\x${code.toString(16).padStart(2, '0')}`);
    plainFrom = i + 1;
  }
  out = plainFrom === 0 ? text : out + text.slice(plainFrom);
  return out.length > max ? `${out.slice(0, max)}…` : out;
}

function when(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', ' UTC');
}

/** The trace of one message as people read it in a terminal: facts, one line per recipient, timeline. */
export function renderMessage(m: MessageRecord, style: Style, options: { lines?: boolean } = {}): string {
  const out: string[] = [];
  const title =
    m.kind === 'refused'
      ? 'Refused SMTP attempt (no message was queued)'
      : `Message ${safe(m.messageId) ? `<${safe(m.messageId)}>` : '(no message-id)'}`;
  out.push(style.bold(title));
  const facts: [string, string | null][] = [
    ['From', m.sender === '' ? '<> (bounce or notification)' : safe(m.sender) || null],
    ['Subject', m.subject !== null ? safe(m.subject) : null],
    [
      'Date',
      `${when(m.firstSeen)}${m.lastSeen > m.firstSeen ? ` … ${when(m.lastSeen)} (${formatDuration(m.lastSeen - m.firstSeen)})` : ''}`,
    ],
    ['Size', m.size !== null ? `${m.size} bytes` : null],
    [
      'Client',
      m.clientIp || m.clientName
        ? `${safe(m.clientName) || 'unknown'}[${safe(m.clientIp) || '?'}]${m.helo ? ` helo=${safe(m.helo)}` : ''}`
        : null,
    ],
    ['Auth user', safe(m.saslUser) || null],
    [
      'Spam',
      m.spam
        ? `${m.spam.isSpam ? 'SPAM' : 'not spam'} (score ${m.spam.score}${m.spam.required !== null ? ` / ${m.spam.required}` : ''})`
        : null,
    ],
    ['Virus', m.virus ? safe(m.virus) : null],
    [
      'Queue ids',
      m.queueIds.length ? m.queueIds.map((q) => `${safe(q.queueId)}@${safe(q.host)}`).join(', ') : null,
    ],
    ['Bounce of', m.bounceOf ? `${safe(m.bounceOf.queueId)}@${safe(m.bounceOf.host)}` : null],
  ];
  for (const [label, value] of facts) if (value) out.push(`  ${style.dim(label.padEnd(10))} ${value}`);
  if (m.partial)
    out.push(
      `  ${style.status('deferred', 'Partial:')} the message began before the logs that were read; its start is missing.`,
    );
  if (!m.complete && m.kind === 'message')
    out.push(`  ${style.dim('Still open: not every queue entry was seen to end.')}`);
  out.push('');
  out.push(style.bold(`  Recipients (${m.deliveries.length})`));
  if (m.deliveries.length === 0) out.push('    none known from the logs read');
  for (const d of m.deliveries) {
    const orig = d.origRecipient ? ` (sent to ${safe(d.origRecipient)})` : '';
    out.push(
      `    ${style.status(d.status, d.status.toUpperCase().padEnd(11))} ${safe(d.recipient) || '(none)'}${orig}`,
    );
    out.push(`      ${safe(explainDelivery(d, m), 600)}${d.attempts > 1 ? ` [${d.attempts} attempts]` : ''}`);
  }
  out.push('');
  out.push(style.bold(`  Timeline (${m.events.length} lines)`));
  for (const e of m.events) {
    const head = `    ${when(e.at).slice(0, 19)} ${safe(e.host).padEnd(12)} ${safe(e.program).padEnd(18)} ${e.kind}`;
    out.push(head);
    if (options.lines !== false) out.push(`      ${style.dim(safe(e.text, 2000))}`);
  }
  return out.join('\n');
}
