import { readFileSync } from 'node:fs';
import type { MessageRecord } from '../../src/core/model.js';

/** One line of the generator's ground-truth.jsonl (src/generator). */
export interface TruthMessage {
  kind: 'message' | 'refused';
  messageId: string | null;
  sender: string;
  subject: string | null;
  clientIp: string | null;
  spam: boolean;
  virus: string | null;
  recipients: { recipient: string; origRecipient: string | null; status: string; mailbox: string | null }[];
}

export function readTruth(path: string): TruthMessage[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as TruthMessage);
}

/**
 * Compares correlated messages with the ground truth and returns one line per difference (empty when
 * everything matches): every truth message found exactly once, same sender, subject and virus, and
 * per recipient the same final status and mailbox.
 */
export function compareWithTruth(truth: TruthMessage[], got: MessageRecord[]): string[] {
  const problems: string[] = [];
  const byMessageId = new Map<string, MessageRecord[]>();
  for (const m of got) {
    if (!m.messageId) continue;
    const list = byMessageId.get(m.messageId) ?? [];
    list.push(m);
    byMessageId.set(m.messageId, list);
  }
  const refused = got.filter((m) => m.kind === 'refused');
  let matched = 0;
  for (const t of truth) {
    const candidates = t.messageId
      ? (byMessageId.get(t.messageId) ?? [])
      : refused.filter(
          (m) =>
            m.sender === t.sender &&
            m.clientIp === t.clientIp &&
            t.recipients.every((r) => m.deliveries.some((d) => d.recipient === r.recipient)),
        );
    const label = t.messageId ?? `refused ${t.sender} from ${t.clientIp}`;
    if (candidates.length !== 1) {
      problems.push(`${label}: found ${candidates.length} messages`);
      continue;
    }
    matched++;
    const m = candidates[0]!;
    if (m.sender !== t.sender) problems.push(`${label}: sender ${m.sender} != ${t.sender}`);
    if (t.subject !== null && m.subject !== t.subject)
      problems.push(`${label}: subject ${JSON.stringify(m.subject)} != ${JSON.stringify(t.subject)}`);
    if (t.virus !== null && m.virus !== t.virus) problems.push(`${label}: virus ${m.virus} != ${t.virus}`);
    const unique = new Map(t.recipients.map((r) => [r.recipient, r]));
    if (m.deliveries.length !== unique.size)
      problems.push(`${label}: ${m.deliveries.length} deliveries != ${unique.size} recipients`);
    for (const r of unique.values()) {
      const d = m.deliveries.find((x) => x.recipient === r.recipient);
      if (!d) problems.push(`${label}: no delivery for ${r.recipient}`);
      else if (d.status !== r.status) problems.push(`${label}: ${r.recipient} ${d.status} != ${r.status}`);
      else if (r.mailbox !== null && d.mailbox !== r.mailbox)
        problems.push(`${label}: ${r.recipient} mailbox ${d.mailbox} != ${r.mailbox}`);
      if (d && r.origRecipient !== null && d.origRecipient !== r.origRecipient)
        problems.push(`${label}: ${r.recipient} orig ${d.origRecipient} != ${r.origRecipient}`);
    }
  }
  if (matched > 0 && got.length > truth.length)
    problems.push(`${got.length} messages stored for ${truth.length} in the ground truth`);
  return problems;
}
