import type { MessageRecord, QueueRef } from '../core/model.js';
import { LineMap } from './line-map.js';

/**
 * Which pieces of a batch and which stored messages are one logical message. Pure functions over the
 * candidate rows the saver fetched (save.ts), so the rules are tested without a database. The rules,
 * also in README.md:
 *
 * 1. Queue entry: same host and queue id, and either the earlier of the two is not closed (the entry
 *    lives on into the later one) or their [firstSeen, lastSeen] spans overlap (the same lines read
 *    again). Postfix reuses queue ids, so a closed entry never absorbs a later one that does not
 *    overlap. Only within 10 days (gap between the earlier's lastSeen and the later's firstSeen).
 * 2. Message-id: same non-empty message-id, senders equal or either unknown (null), firstSeen within
 *    ±3 days.
 * 3. Hand-off: one side handed the message to a queue id (`queued as X`), the other has a queue entry
 *    with that id whose firstSeen is within an hour of the hand-off.
 * 4. Same line: a log line belongs to one message, so a piece carrying a line that is stored already
 *    joins the message holding it. Within a batch, pieces with none of the keys above (refused
 *    connections) are joined when they share a line; keyed pieces sharing lines match by their keys.
 *
 * Matching is transitive (union-find): everything connected is merged into one message.
 */
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
export const QUEUE_ID_WINDOW = 10 * DAY;
export const MESSAGE_ID_WINDOW = 3 * DAY;
export const HANDOFF_WINDOW = HOUR;

/**
 * Within a batch, pieces sharing a key are compared with at most this many later neighbours (in time
 * order): hostile input repeating one message-id thousands of times must not cost a quadratic number
 * of comparisons. Genuine pieces of one message are few and close in time.
 */
const NEIGHBOUR_CAP = 64;

type Span = Pick<QueueRef, 'firstSeen' | 'lastSeen' | 'closed'>;

/** Rule 1, the host and queue id being equal. */
export function queueRefsMatch(a: Span, b: Span): boolean {
  const [early, late] = a.firstSeen <= b.firstSeen ? [a, b] : [b, a];
  if (late.firstSeen - early.lastSeen > QUEUE_ID_WINDOW) return false;
  return late.firstSeen <= early.lastSeen || !early.closed;
}

interface IdentitySide {
  sender: string | null;
  firstSeen: number;
}

/** Rule 2, the message-ids being equal and non-empty. */
export function sameMessageIdMatch(a: IdentitySide, b: IdentitySide): boolean {
  return (
    (a.sender === null || b.sender === null || a.sender === b.sender) &&
    Math.abs(a.firstSeen - b.firstSeen) <= MESSAGE_ID_WINDOW
  );
}

/** Rule 3, the queue ids being equal. */
export function handoffMatch(handoffAt: number, refFirstSeen: number): boolean {
  return Math.abs(handoffAt - refFirstSeen) <= HANDOFF_WINDOW;
}

export interface StoredRef {
  message: number;
  host: string;
  queueId: string;
  firstSeen: number;
  lastSeen: number;
  closed: boolean;
}

export interface StoredHandoff {
  message: number;
  queueId: string;
  at: number;
}

export interface StoredHeader {
  message: number;
  messageId: string;
  sender: string | null;
  firstSeen: number;
}

export interface StoredCandidates {
  refs: StoredRef[];
  handoffs: StoredHandoff[];
  headers: StoredHeader[];
  /** Stored lines among the batch's: (source, offset) -> message id. */
  lines: LineMap<number>;
}

/** What the saver asks the database for, with coarse time bounds (the rules above filter exactly). */
export interface LookupKeys {
  /** Queue ids of the pieces' queue entries and hand-offs: stored queue entries with these ids. */
  refQueueIds: string[];
  refWindow: [number, number];
  /** Queue ids of the pieces' queue entries: stored hand-offs to these ids. */
  handoffQueueIds: string[];
  handoffWindow: [number, number];
  messageIds: string[];
  messageIdWindow: [number, number];
}

export function lookupKeys(pieces: readonly MessageRecord[]): LookupKeys {
  const refQueueIds = new Set<string>();
  const handoffQueueIds = new Set<string>();
  const messageIds = new Set<string>();
  const refSpan = new TimeSpan();
  const handoffSpan = new TimeSpan();
  const midSpan = new TimeSpan();
  for (const p of pieces) {
    for (const q of p.queueIds) {
      refQueueIds.add(q.queueId);
      handoffQueueIds.add(q.queueId);
      refSpan.add(q.firstSeen, q.lastSeen);
      handoffSpan.add(q.firstSeen, q.firstSeen);
    }
    for (const h of p.handoffs) {
      refQueueIds.add(h.queueId);
      refSpan.add(h.at, h.at);
    }
    if (p.messageId) {
      messageIds.add(p.messageId);
      midSpan.add(p.firstSeen, p.firstSeen);
    }
  }
  return {
    refQueueIds: [...refQueueIds],
    refWindow: refSpan.widen(QUEUE_ID_WINDOW),
    handoffQueueIds: [...handoffQueueIds],
    handoffWindow: handoffSpan.widen(HANDOFF_WINDOW),
    messageIds: [...messageIds],
    messageIdWindow: midSpan.widen(MESSAGE_ID_WINDOW),
  };
}

class TimeSpan {
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;
  /** Both ends count either way: a malformed span (to < from) must not make the window empty. */
  add(from: number, to: number): void {
    this.min = Math.min(this.min, from, to);
    this.max = Math.max(this.max, from, to);
  }
  widen(by: number): [number, number] {
    return this.min <= this.max ? [this.min - by, this.max + by] : [0, 0];
  }
}

/** Pieces (by index in the batch) and stored messages (by row id) that are one message. */
export interface Group {
  pieces: number[];
  stored: number[];
}

class UnionFind {
  private readonly parent: number[];
  constructor(size: number) {
    this.parent = Array.from({ length: size }, (_, i) => i);
  }
  find(x: number): number {
    let root = x;
    while (this.parent[root] !== root) root = this.parent[root]!;
    while (this.parent[x] !== root) {
      const next = this.parent[x]!;
      this.parent[x] = root;
      x = next;
    }
    return root;
  }
  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function refKey(host: string, queueId: string): string {
  return `${host}\u0000${queueId}`;
}

/** Groups the batch's pieces with each other and with the stored candidates; groups are in piece order. */
export function groupPieces(pieces: readonly MessageRecord[], stored: StoredCandidates): Group[] {
  const storedIds = [
    ...new Set([
      ...stored.refs.map((r) => r.message),
      ...stored.handoffs.map((h) => h.message),
      ...stored.headers.map((h) => h.message),
      ...stored.lines.values(),
    ]),
  ];
  const nodeOfStored = new Map(storedIds.map((id, i) => [id, pieces.length + i]));
  const uf = new UnionFind(pieces.length + storedIds.length);
  const storedNode = (message: number) => nodeOfStored.get(message)!;

  linkPiecesByQueueRef(pieces, uf);
  linkPiecesByMessageId(pieces, uf);
  linkPiecesByHandoff(pieces, uf);
  linkKeylessPiecesByLine(pieces, uf);
  linkToStored(pieces, stored, uf, storedNode);

  const byRoot = new Map<number, Group>();
  const groups: Group[] = [];
  const groupOf = (node: number): Group => {
    const root = uf.find(node);
    let group = byRoot.get(root);
    if (!group) {
      group = { pieces: [], stored: [] };
      byRoot.set(root, group);
      groups.push(group);
    }
    return group;
  };
  for (let i = 0; i < pieces.length; i++) groupOf(i).pieces.push(i);
  for (const id of storedIds) {
    const root = uf.find(storedNode(id));
    byRoot.get(root)?.stored.push(id);
  }
  return groups;
}

function linkPiecesByQueueRef(pieces: readonly MessageRecord[], uf: UnionFind): void {
  const byKey = new Map<string, { piece: number; ref: QueueRef }[]>();
  pieces.forEach((p, piece) => {
    for (const ref of p.queueIds) push(byKey, refKey(ref.host, ref.queueId), { piece, ref });
  });
  for (const list of byKey.values()) {
    if (list.length < 2) continue;
    list.sort((a, b) => a.ref.firstSeen - b.ref.firstSeen);
    for (let i = 0; i < list.length; i++) {
      const early = list[i]!;
      for (let j = i + 1; j < list.length && j <= i + NEIGHBOUR_CAP; j++) {
        const late = list[j]!;
        if (late.ref.firstSeen - early.ref.lastSeen > QUEUE_ID_WINDOW) break;
        if (queueRefsMatch(early.ref, late.ref)) uf.union(early.piece, late.piece);
      }
    }
  }
}

function linkPiecesByMessageId(pieces: readonly MessageRecord[], uf: UnionFind): void {
  const byId = new Map<string, number[]>();
  pieces.forEach((p, piece) => {
    if (p.messageId) push(byId, p.messageId, piece);
  });
  for (const list of byId.values()) {
    if (list.length < 2) continue;
    list.sort((a, b) => pieces[a]!.firstSeen - pieces[b]!.firstSeen);
    for (let i = 0; i < list.length; i++) {
      const a = pieces[list[i]!]!;
      for (let j = i + 1; j < list.length && j <= i + NEIGHBOUR_CAP; j++) {
        const b = pieces[list[j]!]!;
        if (b.firstSeen - a.firstSeen > MESSAGE_ID_WINDOW) break;
        if (sameMessageIdMatch(a, b)) uf.union(list[i]!, list[j]!);
      }
    }
  }
}

function linkPiecesByHandoff(pieces: readonly MessageRecord[], uf: UnionFind): void {
  const byQueueId = new Map<string, { piece: number; at: number }[]>();
  pieces.forEach((p, piece) => {
    for (const h of p.handoffs) push(byQueueId, h.queueId, { piece, at: h.at });
  });
  if (byQueueId.size === 0) return;
  pieces.forEach((p, piece) => {
    for (const ref of p.queueIds) {
      const handoffs = byQueueId.get(ref.queueId);
      if (!handoffs) continue;
      for (let k = 0; k < handoffs.length && k < NEIGHBOUR_CAP; k++) {
        const h = handoffs[k]!;
        if (handoffMatch(h.at, ref.firstSeen)) uf.union(piece, h.piece);
      }
    }
  });
}

function isKeyless(p: MessageRecord): boolean {
  return p.queueIds.length === 0 && !p.messageId && p.handoffs.length === 0;
}

function linkKeylessPiecesByLine(pieces: readonly MessageRecord[], uf: UnionFind): void {
  const pieceOfLine = new LineMap<number>();
  pieces.forEach((p, piece) => {
    if (!isKeyless(p)) return;
    for (const e of p.events) {
      const other = pieceOfLine.get(e.source, e.offset);
      if (other === undefined) pieceOfLine.set(e.source, e.offset, piece);
      else uf.union(other, piece);
    }
  });
}

function linkToStored(
  pieces: readonly MessageRecord[],
  stored: StoredCandidates,
  uf: UnionFind,
  storedNode: (message: number) => number,
): void {
  const refsByKey = new Map<string, StoredRef[]>();
  const refsByQueueId = new Map<string, StoredRef[]>();
  for (const r of stored.refs) {
    push(refsByKey, refKey(r.host, r.queueId), r);
    push(refsByQueueId, r.queueId, r);
  }
  const handoffsByQueueId = new Map<string, StoredHandoff[]>();
  for (const h of stored.handoffs) push(handoffsByQueueId, h.queueId, h);
  const headersById = new Map<string, StoredHeader[]>();
  for (const h of stored.headers) push(headersById, h.messageId, h);

  pieces.forEach((p, piece) => {
    for (const ref of p.queueIds) {
      for (const s of refsByKey.get(refKey(ref.host, ref.queueId)) ?? []) {
        if (queueRefsMatch(ref, s)) uf.union(piece, storedNode(s.message));
      }
      for (const h of handoffsByQueueId.get(ref.queueId) ?? []) {
        if (handoffMatch(h.at, ref.firstSeen)) uf.union(piece, storedNode(h.message));
      }
    }
    for (const h of p.handoffs) {
      for (const s of refsByQueueId.get(h.queueId) ?? []) {
        if (handoffMatch(h.at, s.firstSeen)) uf.union(piece, storedNode(s.message));
      }
    }
    if (p.messageId) {
      for (const s of headersById.get(p.messageId) ?? []) {
        if (sameMessageIdMatch(p, s)) uf.union(piece, storedNode(s.message));
      }
    }
    if (stored.lines.size > 0) {
      for (const e of p.events) {
        const message = stored.lines.get(e.source, e.offset);
        if (message !== undefined) uf.union(piece, storedNode(message));
      }
    }
  });
}
