import { type SqlBool, sql } from 'kysely';
import { mergeMessages } from '../core/merge.js';
import type { EventRecord, LooseLine, MessageRecord } from '../core/model.js';
import {
  allocateIds,
  chunks,
  deleteKeys,
  insertAll,
  keyChunks,
  type TableRows,
  type Tx,
  update,
} from './bulk.js';
import {
  dec,
  decOrNull,
  enc,
  HANDOFF_KEYS,
  handoffKeys,
  MESSAGE_COLUMNS,
  messageValues,
  QUEUE_REF_KEYS,
  queueRefKeys,
  RECIPIENT_KEYS,
  recipientKeys,
  toBool,
} from './codec.js';
import { LineMap } from './line-map.js';
import {
  findStoredLines,
  type LineTable,
  placePage,
  placeSlot,
  RecentLines,
  raiseGeneration,
  readGeneration,
  WrittenLines,
} from './lines.js';
import { type Group, groupPieces, type LookupKeys, lookupKeys, type StoredCandidates } from './match.js';
import { BatchNames, type NameCache } from './names.js';
import { loadByIds } from './read.js';
import type { Dialect } from './schema.js';
import type { SaveBatch, SaveResult } from './types.js';
import { type LoosePages, type MessageWrite, placeEventPages, searchRows, startLoosePages } from './write.js';

/**
 * Saving a batch (one transaction, see README.md "Saving and merging"):
 *
 * 1. Give the batch's sources ids (hosts, programs and kinds get theirs as pages are encoded).
 * 2. Find which of the batch's lines are stored already (by origin: source and offset; lines.ts).
 * 3. Fetch stored candidates by the batch's keys — queue ids, hand-off queue ids, message-ids — with
 *    `IN (...)` lists, never one query per message.
 * 4. Group pieces with each other and with stored messages (match.ts).
 * 5. Per group, fold everything oldest first with `mergeMessages` (the same function the correlator
 *    uses). A piece whose lines are all stored already is a re-save and is skipped, so saving a record
 *    twice leaves the database as it was.
 * 6. Write: new messages get new ids; a group holding stored messages keeps the oldest one's id, its
 *    other stored messages' lines are re-pointed to it and their rows deleted. Each written message gets
 *    a slot in the batch's event pages with its new lines and its whole record; its search rows
 *    (recipients, queue entries, hand-offs) are rewritten. Loose lines go to loose pages.
 */

/** What the saver remembers of its own writes between batches (lines.ts). */
export type SaveMemory = Record<LineTable, RecentLines>;

/**
 * Lines remembered. Measured on the benchmark: with the last 400 000 event lines (about 20 batches,
 * 10 MB) 1 line in 750 is looked up in the database, with 100 000 one in 100, each costing a page or
 * more to read. Loose lines come in file order: few are ever looked up.
 */
export function saveMemory(): SaveMemory {
  return { event: new RecentLines(400_000), loose: new RecentLines(100_000) };
}

export interface SaveOutcome {
  result: SaveResult;
  nameIds: Map<string, number>;
  /** To call once the transaction committed: the memory takes in what the batch wrote. */
  committed(): void;
}

export async function saveInTransaction(
  tx: Tx,
  cache: NameCache,
  memory: SaveMemory,
  batch: SaveBatch,
): Promise<SaveOutcome> {
  const result: SaveResult = {
    inserted: 0,
    merged: 0,
    collapsed: 0,
    duplicates: 0,
    events: 0,
    looseLines: 0,
  };
  const generation = await readGeneration(tx.db);
  for (const recent of Object.values(memory)) if (recent.generation !== generation) recent.reset(generation);
  // Sources (and queue entries' hosts) are needed from the start; the other names get their ids as
  // the pages are written (write.ts), which spares a pass over every line for names nearly always known.
  const names = new BatchNames(cache, tx.db, tx.dialect);
  await names.ensure(batchSources(batch));
  // Loose pages first: they compress (compressor.ts) while the messages are worked out and written.
  const loose =
    batch.looseLines.length > 0 ? await startLooseLines(tx, batch.looseLines, names, memory.loose) : null;
  const events =
    batch.messages.length > 0
      ? await saveMessages(tx, cache, batch.messages, names, memory.event, result)
      : null;
  // The pages last, once compressed: one statement for both kinds on PostgreSQL.
  const pages: TableRows[] = [];
  if (events?.pageRows) pages.push(await events.pageRows);
  if (loose) pages.push(...(await loose.rows));
  await insertAll(tx, pages);
  result.looseLines = loose?.lines ?? 0;
  const wrote = result.inserted + result.merged + result.events + result.looseLines > 0;
  const next = wrote ? await raiseGeneration(tx.db) : generation;
  return {
    result,
    nameIds: names.created,
    committed: () => {
      memory.event.generation = next;
      memory.loose.generation = next;
      if (events) memory.event.add(events.written);
      if (loose) memory.loose.add(loose.written);
    },
  };
}

/** The batch's line sources and queue entries' hosts (a source equal to the previous line's is skipped). */
function batchSources(batch: SaveBatch): Set<string> {
  const out = new Set<string>();
  let last: string | null = null;
  const take = (source: string) => {
    if (source === last) return;
    out.add(source);
    last = source;
  };
  for (const m of batch.messages) {
    for (const e of m.events) take(e.source);
    for (const q of m.queueIds) out.add(q.host);
  }
  for (const l of batch.looseLines) take(l.source);
  return out;
}

/** How one group is written. */
interface Plan {
  merged: MessageRecord;
  /** Row id to keep (oldest stored message), or null for a new message. */
  keep: number | null;
  /** Other stored messages of the group, collapsed into `keep`. */
  drop: number[];
  /** Lines to write (not stored yet) ... */
  events: readonly EventRecord[];
  /** ... and the firstSeen of the piece each came with (or one value for all). */
  pieceStarts: number | readonly number[];
}

async function saveMessages(
  tx: Tx,
  cache: NameCache,
  pieces: readonly MessageRecord[],
  names: BatchNames,
  recent: RecentLines,
  result: SaveResult,
): Promise<MessagesWritten> {
  const stored = await storedLines(tx, pieces, names, recent);
  const candidates = await findCandidates(tx, cache, lookupKeys(pieces));
  const groups = groupPieces(pieces, { ...candidates, lines: stored });
  const records = await loadByIds(tx.db, cache, [...new Set(groups.flatMap((g) => g.stored))]);
  const plans: Plan[] = [];
  for (const group of groups) {
    const plan = planGroup(group, pieces, records, stored, result);
    if (plan) plans.push(plan);
  }
  // Stored records bring the hosts of their queue entries, which need ids too (usually cached).
  await names.ensure([...records.values()].flatMap((r) => r.queueIds.map((q) => q.host)));
  return writePlans(tx, plans, records, names, result);
}

function holdsStoredLine(piece: MessageRecord, storedLines: LineMap<number>): boolean {
  return storedLines.size > 0 && piece.events.some((e) => storedLines.has(e.source, e.offset));
}

function planGroup(
  group: Group,
  pieces: readonly MessageRecord[],
  records: Map<number, MessageRecord>,
  storedLines: LineMap<number>,
  result: SaveResult,
): Plan | null {
  const first = pieces[group.pieces[0]!]!;
  if (group.pieces.length === 1 && group.stored.length === 0 && !holdsStoredLine(first, storedLines)) {
    // The common case, a new message none of whose lines is stored: no merge, no line bookkeeping.
    return { merged: first, keep: null, drop: [], events: first.events, pieceStarts: first.firstSeen };
  }
  const stored = group.stored
    .map((id) => ({ id, record: records.get(id)! }))
    .sort((a, b) => a.record.firstSeen - b.record.firstSeen || a.id - b.id);
  // Oldest first; the sort is stable, so at equal times stored messages come before pieces.
  const items: { record: MessageRecord; piece: boolean }[] = [
    ...stored.map((s) => ({ record: s.record, piece: false })),
    ...group.pieces.map((i) => ({ record: pieces[i]!, piece: true })),
  ].sort((a, b) => a.record.firstSeen - b.record.firstSeen);

  // Line -> firstSeen of the first piece (in fold order) that brought it.
  const pieceStart = new LineMap<number>();
  const lines: (readonly EventRecord[])[] = [];
  let merged: MessageRecord | null = null;
  let fresh = 0;
  for (const { record, piece } of items) {
    if (piece) {
      if (isResave(record, storedLines, pieceStart)) {
        result.duplicates++;
        continue;
      }
      fresh++;
      for (const e of record.events) {
        if (!pieceStart.has(e.source, e.offset)) pieceStart.set(e.source, e.offset, record.firstSeen);
      }
    }
    lines.push(record.events);
    const bare = record.events.length > 0 ? { ...record, events: [] } : record;
    merged = merged === null ? bare : mergeMessages(merged, bare);
  }
  if (fresh === 0 || merged === null) return null;

  const events: EventRecord[] = [];
  const pieceStarts: number[] = [];
  for (const e of lines.length === 1 ? lines[0]! : foldEvents(lines)) {
    if (storedLines.has(e.source, e.offset)) continue;
    events.push(e);
    pieceStarts.push(pieceStart.get(e.source, e.offset) ?? merged.firstSeen);
  }
  const [keep, ...drop] = stored.map((s) => s.id);
  return { merged, keep: keep ?? null, drop, events, pieceStarts };
}

/**
 * The lines of records folded in this order, as `mergeMessages` leaves them: each line once (its first
 * occurrence), in time order, lines of the same time in fold order. Folding the records without their
 * lines and ordering the lines once gives the same as merging them at every step, for less.
 */
function foldEvents(lists: readonly (readonly EventRecord[])[]): EventRecord[] {
  const seen = new LineMap<true>();
  const out: EventRecord[] = [];
  for (const list of lists) {
    for (const e of list) {
      if (seen.has(e.source, e.offset)) continue;
      seen.set(e.source, e.offset, true);
      out.push(e);
    }
  }
  // Array.prototype.sort is stable: lines of the same time keep their fold order.
  return out.sort((x, y) => x.at - y.at);
}

/** A piece whose every line is stored (or already folded in this batch) was saved before. */
function isResave(piece: MessageRecord, storedLines: LineMap<number>, folded: LineMap<number>): boolean {
  if (piece.events.length === 0) return false;
  return piece.events.every((e) => storedLines.has(e.source, e.offset) || folded.has(e.source, e.offset));
}

/** Offsets of the given lines per origin id (lines given as lists). */
function offsetsByOrigin(
  lists: readonly (readonly { source: string; offset: number }[])[],
  names: BatchNames,
): Map<number, number[]> {
  const out = new Map<number, number[]>();
  let source: string | null = null;
  let list: number[] = [];
  for (const lines of lists) {
    for (const line of lines) {
      if (line.source !== source) {
        source = line.source;
        const originId = names.idOf(source);
        let existing = out.get(originId);
        if (!existing) {
          existing = [];
          out.set(originId, existing);
        }
        list = existing;
      }
      list.push(line.offset);
    }
  }
  return out;
}

/** The batch's event lines that are stored already, with the id of the message holding each. */
async function storedLines(
  tx: Tx,
  pieces: readonly MessageRecord[],
  names: BatchNames,
  recent: RecentLines,
): Promise<LineMap<number>> {
  const out = new LineMap<number>();
  const lists = pieces.map((p) => p.events);
  const wanted = offsetsByOrigin(lists, names);
  const found = await findStoredLines(tx.db, 'event', wanted, recent);
  if (found.size === 0) return out;
  const pages = new Set<number>();
  for (const byOffset of found.values()) for (const at of byOffset.values()) pages.add(placePage(at));
  const owner = new Map<string, number>();
  for (const chunk of chunks([...pages])) {
    const rows = await tx.db
      .selectFrom('event_slots')
      .select(['page_id', 'slot', 'message_id'])
      .where('page_id', 'in', chunk)
      .execute();
    for (const row of rows) owner.set(`${row.page_id}/${row.slot}`, Number(row.message_id));
  }
  const sourceOf = new Map<number, string>();
  let last: string | null = null;
  for (const list of lists) {
    for (const e of list) {
      if (e.source === last) continue;
      last = e.source;
      sourceOf.set(names.idOf(last), last);
    }
  }
  for (const [originId, byOffset] of found) {
    const source = sourceOf.get(originId)!;
    for (const [offset, at] of byOffset) {
      // A slot without an owner belonged to a purged message: its lines count as not stored.
      const message = owner.get(`${placePage(at)}/${placeSlot(at)}`);
      if (message !== undefined) out.set(source, offset, message);
    }
  }
  return out;
}

/** `column IN (values)`, or `column = any(values)` on PostgreSQL (see `keyChunks`). */
function oneOf(dialect: Dialect, column: string, values: readonly string[]) {
  return dialect === 'postgres'
    ? sql<SqlBool>`${sql.ref(column)} = any(${values}::text[])`
    : sql<SqlBool>`${sql.ref(column)} in (${sql.join(values)})`;
}

async function findCandidates(
  tx: Tx,
  names: NameCache,
  keys: LookupKeys,
): Promise<Omit<StoredCandidates, 'lines'>> {
  const out: Omit<StoredCandidates, 'lines'> = { refs: [], handoffs: [], headers: [] };
  for (const chunk of keyChunks(tx.dialect, keys.refQueueIds.map(enc))) {
    const rows = await tx.db
      .selectFrom('queue_refs')
      .select(['message_id', 'host_id', 'queue_id', 'first_seen', 'last_seen', 'closed'])
      .where(oneOf(tx.dialect, 'queue_id', chunk))
      .where('last_seen', '>=', keys.refWindow[0])
      .where('first_seen', '<=', keys.refWindow[1])
      .execute();
    const hosts = await names.values(
      tx.db,
      rows.map((r) => r.host_id),
    );
    for (const r of rows) {
      out.refs.push({
        message: Number(r.message_id),
        host: hosts.get(r.host_id) ?? '',
        queueId: dec(r.queue_id),
        firstSeen: Number(r.first_seen),
        lastSeen: Number(r.last_seen),
        closed: toBool(r.closed),
      });
    }
  }
  for (const chunk of keyChunks(tx.dialect, keys.handoffQueueIds.map(enc))) {
    const rows = await tx.db
      .selectFrom('handoffs')
      .select(['message_id', 'queue_id', 'at'])
      .where(oneOf(tx.dialect, 'queue_id', chunk))
      .where('at', '>=', keys.handoffWindow[0])
      .where('at', '<=', keys.handoffWindow[1])
      .execute();
    for (const r of rows) {
      out.handoffs.push({ message: Number(r.message_id), queueId: dec(r.queue_id), at: Number(r.at) });
    }
  }
  for (const chunk of keyChunks(tx.dialect, keys.messageIds.map(enc))) {
    const rows = await tx.db
      .selectFrom('messages')
      .select(['id', 'message_id', 'sender', 'first_seen'])
      .where(oneOf(tx.dialect, 'message_id', chunk))
      .where('first_seen', '>=', keys.messageIdWindow[0])
      .where('first_seen', '<=', keys.messageIdWindow[1])
      .execute();
    for (const r of rows) {
      out.headers.push({
        message: Number(r.id),
        messageId: dec(r.message_id ?? ''),
        sender: decOrNull(r.sender),
        firstSeen: Number(r.first_seen),
      });
    }
  }
  return out;
}

/** What a batch's messages leave to write: their pages, once compressed, and which lines they hold. */
interface MessagesWritten {
  written: WrittenLines;
  pageRows: Promise<TableRows> | null;
}

/**
 * Writes the plans: message rows, search rows, slots and spans in one go (one statement on
 * PostgreSQL, sent before the pages are encoded, so that the server inserts while this process
 * encodes); the pages themselves are left to the caller, which writes them with the loose pages.
 */
async function writePlans(
  tx: Tx,
  plans: readonly Plan[],
  records: Map<number, MessageRecord>,
  names: BatchNames,
  result: SaveResult,
): Promise<MessagesWritten> {
  if (plans.length === 0) return { written: new WrittenLines(), pageRows: null };
  const fresh = plans.filter((p) => p.keep === null);
  const newIds = await allocateIds(tx, 'messages', fresh.length);
  let next = 0;
  const writes: MessageWrite[] = plans.map((p) => ({
    id: p.keep ?? newIds[next++]!,
    record: p.merged,
    events: p.events,
    pieceStarts: p.pieceStarts,
  }));
  const pages = await placeEventPages(tx, writes, names);
  result.events += pages.lines;

  const rows = writes.map((w, i) =>
    messageValues(w.id, w.record, pages.records[i]!.pageId, pages.records[i]!.slot),
  );
  result.inserted += fresh.length;
  if (fresh.length < plans.length) {
    // Before the inserts: the stored messages' old search rows go first.
    await update(
      tx,
      'messages',
      MESSAGE_COLUMNS,
      rows.filter((_, i) => plans[i]!.keep !== null),
    );
    result.merged += plans.length - fresh.length;
    result.collapsed += await rewriteStored(tx, plans, records);
  }
  const tables = [
    { table: 'messages', columns: MESSAGE_COLUMNS, rows: rows.filter((_, i) => plans[i]!.keep === null) },
    ...searchRows(tx, writes, names),
    ...pages.rows,
  ];
  // Work on both sides at once. SQLite writes on this thread: start the pages' compression (on the
  // worker) first. PostgreSQL writes on the server: send the rows first, then encode.
  if (tx.sqlite) {
    const { rows: pageRows } = await pages.compress();
    await insertAll(tx, tables);
    return { written: pages.written, pageRows };
  }
  const writing = insertAll(tx, tables);
  writing.catch(() => undefined);
  const { rows: pageRows } = await pages.compress();
  await writing;
  return { written: pages.written, pageRows };
}

/**
 * Merged groups: the stored messages' search rows go (they are rewritten from the merged record), the
 * lines of the collapsed messages are re-pointed to the kept one and their rows deleted. Returns the
 * number collapsed.
 */
async function rewriteStored(
  tx: Tx,
  plans: readonly Plan[],
  records: Map<number, MessageRecord>,
): Promise<number> {
  const kept = plans.filter((p) => p.keep !== null);
  const old = kept.flatMap((p) => [p.keep!, ...p.drop]).map((id) => ({ id, record: records.get(id)! }));
  await deleteKeys(
    tx,
    'recipients',
    RECIPIENT_KEYS,
    old.flatMap((o) => recipientKeys(o.id, o.record)),
  );
  await deleteKeys(
    tx,
    'queue_refs',
    QUEUE_REF_KEYS,
    old.flatMap((o) => queueRefKeys(o.id, o.record)),
  );
  await deleteKeys(
    tx,
    'handoffs',
    HANDOFF_KEYS,
    old.flatMap((o) => handoffKeys(o.id, o.record)),
  );
  const repoint = kept.flatMap((p) => p.drop.map((d) => [d, p.keep!]));
  if (repoint.length === 0) return 0;
  await update(
    tx,
    'event_slots',
    [
      ['message_id', 'int8'],
      ['message_id', 'int8'],
    ],
    repoint,
  );
  return deleteKeys(
    tx,
    'messages',
    [['id', 'int8']],
    repoint.map(([d]) => [d]),
  );
}

/** Starts writing the loose lines not stored yet. */
async function startLooseLines(
  tx: Tx,
  lines: readonly LooseLine[],
  names: BatchNames,
  recent: RecentLines,
): Promise<LoosePages> {
  const found = await findStoredLines(tx.db, 'loose', offsetsByOrigin([lines], names), recent);
  const fresh =
    found.size === 0 ? lines : lines.filter((l) => !found.get(names.idOf(l.source))?.has(l.offset));
  return startLoosePages(tx, fresh, names);
}
