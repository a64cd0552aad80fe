import { describe, expect, it } from 'vitest';
import type { MessageRecord, QueueRef } from '../core/model.js';
import { LineMap } from './line-map.js';
import {
  groupPieces,
  HANDOFF_WINDOW,
  handoffMatch,
  lookupKeys,
  MESSAGE_ID_WINDOW,
  QUEUE_ID_WINDOW,
  queueRefsMatch,
  type StoredCandidates,
  sameMessageIdMatch,
} from './match.js';

const T0 = Date.UTC(2026, 10, 20, 10, 0, 0);
const MINUTE = 60_000;
const DAY = 86_400_000;

function span(firstSeen: number, lastSeen: number, closed: boolean) {
  return { firstSeen, lastSeen, closed };
}

function ref(queueId: string, firstSeen: number, over: Partial<QueueRef> = {}): QueueRef {
  return { host: 'mx1', queueId, firstSeen, lastSeen: firstSeen + MINUTE, closed: false, ...over };
}

let offset = 0;

function piece(over: Partial<MessageRecord> = {}): MessageRecord {
  const firstSeen = over.firstSeen ?? T0;
  offset += 100;
  return {
    kind: 'message',
    messageId: null,
    sender: 'alice@example.org',
    firstSeen,
    lastSeen: firstSeen + MINUTE,
    subject: null,
    size: null,
    clientIp: null,
    clientName: null,
    helo: null,
    saslUser: null,
    spam: null,
    virus: null,
    partial: false,
    complete: false,
    queueIds: [],
    deliveries: [],
    events: [{ at: firstSeen, host: 'mx1', program: 'p', kind: 'k', text: 't', source: 's', offset }],
    links: [],
    bounceOf: null,
    handoffs: [],
    ...over,
  };
}

function storedLine(source: string, offset: number, message: number): LineMap<number> {
  const lines = new LineMap<number>();
  lines.set(source, offset, message);
  return lines;
}

const NONE: StoredCandidates = { refs: [], handoffs: [], headers: [], lines: new LineMap() };

describe('queueRefsMatch (rule 1)', () => {
  it('an open earlier entry reaches a later one within 10 days, in either argument order', () => {
    const early = span(T0, T0 + MINUTE, false);
    const late = span(T0 + MINUTE + QUEUE_ID_WINDOW, T0 + QUEUE_ID_WINDOW + 2 * MINUTE, true);
    expect(queueRefsMatch(early, late)).toBe(true);
    expect(queueRefsMatch(late, early)).toBe(true);
    const tooLate = span(late.firstSeen + 1, late.lastSeen, true);
    expect(queueRefsMatch(early, tooLate)).toBe(false);
  });

  it('a closed earlier entry only matches what overlaps it', () => {
    const closed = span(T0, T0 + 10 * MINUTE, true);
    expect(queueRefsMatch(closed, span(T0 + 10 * MINUTE, T0 + 11 * MINUTE, false))).toBe(true);
    expect(queueRefsMatch(closed, span(T0 + 10 * MINUTE + 1, T0 + 11 * MINUTE, false))).toBe(false);
    expect(queueRefsMatch(span(T0 + 10 * MINUTE + 1, T0 + 11 * MINUTE, false), closed)).toBe(false);
  });

  it('whether the later entry is closed does not matter', () => {
    expect(queueRefsMatch(span(T0, T0, false), span(T0 + DAY, T0 + DAY, true))).toBe(true);
    expect(queueRefsMatch(span(T0, T0, true), span(T0 + DAY, T0 + DAY, false))).toBe(false);
  });
});

describe('sameMessageIdMatch (rule 2)', () => {
  it('needs equal senders or an unknown one, within 3 days', () => {
    const a = { sender: 'a@x', firstSeen: T0 };
    expect(sameMessageIdMatch(a, { sender: 'a@x', firstSeen: T0 + MESSAGE_ID_WINDOW })).toBe(true);
    expect(sameMessageIdMatch(a, { sender: 'a@x', firstSeen: T0 - MESSAGE_ID_WINDOW - 1 })).toBe(false);
    expect(sameMessageIdMatch(a, { sender: null, firstSeen: T0 })).toBe(true);
    expect(sameMessageIdMatch({ sender: null, firstSeen: T0 }, a)).toBe(true);
    expect(sameMessageIdMatch(a, { sender: 'b@x', firstSeen: T0 })).toBe(false);
    expect(sameMessageIdMatch(a, { sender: '', firstSeen: T0 })).toBe(false);
  });
});

describe('handoffMatch (rule 3)', () => {
  it('within an hour either side', () => {
    expect(handoffMatch(T0, T0 + HANDOFF_WINDOW)).toBe(true);
    expect(handoffMatch(T0, T0 - HANDOFF_WINDOW)).toBe(true);
    expect(handoffMatch(T0, T0 + HANDOFF_WINDOW + 1)).toBe(false);
  });
});

describe('lookupKeys', () => {
  it('collects queue ids, hand-off targets and message-ids with widened windows', () => {
    const keys = lookupKeys([
      piece({
        queueIds: [ref('Q1', T0)],
        messageId: 'm1',
        handoffs: [{ queueId: 'Q9', at: T0 + 2 * DAY, relay: null }],
      }),
      piece({ firstSeen: T0 + DAY, queueIds: [ref('Q2', T0 + DAY)], messageId: '' }),
    ]);
    expect(keys.refQueueIds.sort()).toEqual(['Q1', 'Q2', 'Q9']);
    expect(keys.handoffQueueIds.sort()).toEqual(['Q1', 'Q2']);
    expect(keys.messageIds).toEqual(['m1']);
    expect(keys.refWindow).toEqual([T0 - QUEUE_ID_WINDOW, T0 + 2 * DAY + QUEUE_ID_WINDOW]);
    expect(keys.handoffWindow).toEqual([T0 - HANDOFF_WINDOW, T0 + DAY + HANDOFF_WINDOW]);
    expect(keys.messageIdWindow).toEqual([T0 - MESSAGE_ID_WINDOW, T0 + MESSAGE_ID_WINDOW]);
  });

  it('keeps a window around a malformed span (lastSeen before firstSeen)', () => {
    const keys = lookupKeys([piece({ queueIds: [ref('Q1', T0 + DAY, { lastSeen: T0 })] })]);
    expect(keys.refWindow).toEqual([T0 - QUEUE_ID_WINDOW, T0 + DAY + QUEUE_ID_WINDOW]);
  });
});

describe('groupPieces', () => {
  it('joins a chain within the batch transitively and leaves the rest alone', () => {
    const pieces = [
      piece({ queueIds: [ref('Q1', T0)], handoffs: [{ queueId: 'Q2', at: T0 + MINUTE, relay: null }] }),
      piece({ firstSeen: T0 + MINUTE, queueIds: [ref('Q2', T0 + MINUTE, { host: 'mx2' })], messageId: 'm' }),
      piece({ firstSeen: T0 + DAY, messageId: 'm', sender: null }),
      piece({ queueIds: [ref('Q1', T0, { host: 'mx3' })] }),
    ];
    expect(groupPieces(pieces, NONE)).toEqual([
      { pieces: [0, 1, 2], stored: [] },
      { pieces: [3], stored: [] },
    ]);
  });

  it('joins pieces to the stored messages each rule names', () => {
    const pieces = [
      piece({ queueIds: [ref('Q1', T0 + DAY)] }),
      piece({ messageId: 'm' }),
      piece({ queueIds: [ref('Q3', T0)] }),
      piece({ handoffs: [{ queueId: 'Q4', at: T0, relay: null }] }),
      piece(),
      piece({ queueIds: [ref('Q1', T0 + DAY, { host: 'other' })] }),
    ];
    const stored: StoredCandidates = {
      refs: [
        { message: 10, host: 'mx1', queueId: 'Q1', firstSeen: T0, lastSeen: T0, closed: false },
        {
          message: 11,
          host: 'mx1',
          queueId: 'Q4',
          firstSeen: T0 + 59 * MINUTE,
          lastSeen: T0 + DAY,
          closed: true,
        },
      ],
      handoffs: [{ message: 12, queueId: 'Q3', at: T0 - MINUTE }],
      headers: [
        { message: 13, messageId: 'm', sender: 'alice@example.org', firstSeen: T0 - DAY },
        { message: 14, messageId: 'm', sender: 'bob@example.org', firstSeen: T0 },
      ],
      lines: storedLine('s', pieces[4]!.events[0]!.offset, 15),
    };
    expect(groupPieces(pieces, stored)).toEqual([
      { pieces: [0], stored: [10] },
      { pieces: [1], stored: [13] },
      { pieces: [2], stored: [12] },
      { pieces: [3], stored: [11] },
      { pieces: [4], stored: [15] },
      { pieces: [5], stored: [] },
    ]);
  });

  it('joins keyless pieces that share a line, not keyless pieces that share nothing', () => {
    const a = piece({ kind: 'refused' });
    const b = piece({ kind: 'refused' });
    expect(groupPieces([a, b, { ...a }], NONE)).toEqual([
      { pieces: [0, 2], stored: [] },
      { pieces: [1], stored: [] },
    ]);
  });

  it('stays fast on hostile input repeating one message-id', () => {
    const many = Array.from({ length: 5000 }, (_, i) =>
      piece({ messageId: 'same@x', sender: `s${i % 2}@x`, firstSeen: T0 + i }),
    );
    const started = performance.now();
    const groups = groupPieces(many, NONE);
    expect(performance.now() - started).toBeLessThan(2000);
    // Each sender's pieces are within 3 days of their neighbours: one group per sender.
    expect(groups.map((g) => g.pieces.length)).toEqual([2500, 2500]);
  });
});
