import { sql } from 'kysely';
import { mergeMessages } from '../core/merge.js';
import type { EventRecord, MessageRecord } from '../core/model.js';
import { chunks, deleteIn, insertRows, updateRows } from './bulk.js';
import {
  boolWriter,
  DELIVERY_COLUMNS,
  dec,
  decOrNull,
  deliveryValues,
  EVENT_COLUMNS,
  enc,
  encOrNull,
  eventKey,
  HANDOFF_COLUMNS,
  handoffValues,
  LOOSE_LINE_COLUMNS,
  lineKey,
  MESSAGE_COLUMNS,
  messageValues,
  QUEUE_REF_COLUMNS,
  queueRefValues,
  toBool,
} from './codec.js';
import { type Group, groupPieces, type LookupKeys, lookupKeys, type StoredCandidates } from './match.js';
import type { NameCache } from './names.js';
import { loadByIds } from './read.js';
import type { Db, Dialect } from './schema.js';
import type { LooseLine, SaveBatch, SaveResult } from './types.js';

/**
 * Saving a batch (one transaction, see README.md "Saving and merging"):
 *
 * 1. Resolve the batch's names (hosts, programs, kinds, sources) to ids.
 * 2. Find which of the batch's lines are stored already (by origin: source and offset).
 * 3. Fetch stored candidates by the batch's keys — queue ids, hand-off queue ids, message-ids — with
 *    `IN (...)` lists, never one query per message.
 * 4. Group pieces with each other and with stored messages (match.ts).
 * 5. Per group, fold everything oldest first with `mergeMessages` (the same function the correlator
 *    uses). A piece whose lines are all stored already is a re-save and is skipped, so saving a record
 *    twice leaves the database as it was.
 * 6. Write: new messages get new ids; a group holding stored messages keeps the oldest one's id, its
 *    other stored messages' events are re-pointed to it and their rows deleted; children (deliveries,
 *    queue entries, hand-offs) of a merged message are rewritten; only events not stored are inserted.
 */
export async function saveInTransaction(
  tx: Db,
  dialect: Dialect,
  names: NameCache,
  batch: SaveBatch,
): Promise<{ result: SaveResult; nameIds: Map<string, number> }> {
  const result: SaveResult = {
    inserted: 0,
    merged: 0,
    collapsed: 0,
    duplicates: 0,
    events: 0,
    looseLines: 0,
  };
  const nameIds = await names.resolve(tx, dialect, batchNames(batch));
  if (batch.messages.length > 0) await saveMessages(tx, dialect, names, batch.messages, nameIds, result);
  if (batch.looseLines.length > 0) {
    result.looseLines = await insertLooseLines(tx, dialect, batch.looseLines, nameIds);
  }
  return { result, nameIds };
}

function* batchNames(batch: SaveBatch): Iterable<string> {
  for (const m of batch.messages) {
    for (const e of m.events) {
      yield e.host;
      yield e.program;
      yield e.kind;
      yield e.source;
    }
  }
  for (const l of batch.looseLines) {
    yield l.host;
    yield l.program;
    yield l.kind;
    yield l.source;
  }
}

/** How one group is written. */
interface Plan {
  merged: MessageRecord;
  /** Row id to keep (oldest stored message), or null for a new message. */
  keep: number | null;
  /** Other stored messages of the group, collapsed into `keep`. */
  drop: number[];
  /** Events to insert (not stored yet), with the firstSeen of the piece each came with. */
  events: { event: EventRecord; pieceStart: number }[];
}

async function saveMessages(
  tx: Db,
  dialect: Dialect,
  names: NameCache,
  pieces: readonly MessageRecord[],
  nameIds: Map<string, number>,
  result: SaveResult,
): Promise<void> {
  const stored = await storedLineKeys(tx, pieces, nameIds);
  const candidates = await findCandidates(tx, lookupKeys(pieces));
  const groups = groupPieces(pieces, { ...candidates, lines: stored });
  const records = await loadByIds(tx, names, [...new Set(groups.flatMap((g) => g.stored))]);
  const plans: Plan[] = [];
  for (const group of groups) {
    const plan = planGroup(group, pieces, records, stored, result);
    if (plan) plans.push(plan);
  }
  await writePlans(tx, dialect, plans, nameIds, result);
}

function planGroup(
  group: Group,
  pieces: readonly MessageRecord[],
  records: Map<number, MessageRecord>,
  storedLines: Map<string, number>,
  result: SaveResult,
): Plan | null {
  if (group.pieces.length === 1 && group.stored.length === 0 && storedLines.size === 0) {
    // The common case, a new message none of whose lines is stored: no merge, no key bookkeeping.
    const piece = pieces[group.pieces[0]!]!;
    const events = piece.events.map((event) => ({ event, pieceStart: piece.firstSeen }));
    return { merged: piece, keep: null, drop: [], events };
  }
  const stored = group.stored
    .map((id) => ({ id, record: records.get(id)! }))
    .sort((a, b) => a.record.firstSeen - b.record.firstSeen || a.id - b.id);
  // Oldest first; the sort is stable, so at equal times stored messages come before pieces.
  const items: { record: MessageRecord; piece: boolean }[] = [
    ...stored.map((s) => ({ record: s.record, piece: false })),
    ...group.pieces.map((i) => ({ record: pieces[i]!, piece: true })),
  ].sort((a, b) => a.record.firstSeen - b.record.firstSeen);

  // Line key -> firstSeen of the first piece (in fold order) that brought the line.
  const pieceStart = new Map<string, number>();
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
        const key = eventKey(e);
        if (!pieceStart.has(key)) pieceStart.set(key, record.firstSeen);
      }
    }
    merged = merged === null ? record : mergeMessages(merged, record);
  }
  if (fresh === 0 || merged === null) return null;

  // A line shared by two groups (which a sane correlator never emits) is written once: the insert
  // ignores conflicts on the line's origin.
  const events: Plan['events'] = [];
  for (const e of merged.events) {
    const key = eventKey(e);
    if (!storedLines.has(key)) events.push({ event: e, pieceStart: pieceStart.get(key) ?? merged.firstSeen });
  }
  const [keep, ...drop] = stored.map((s) => s.id);
  return { merged, keep: keep ?? null, drop, events };
}

/** A piece whose every line is stored (or already folded in this batch) was saved before. */
function isResave(
  piece: MessageRecord,
  storedLines: Map<string, number>,
  folded: Map<string, number>,
): boolean {
  if (piece.events.length === 0) return false;
  return piece.events.every((e) => {
    const key = eventKey(e);
    return storedLines.has(key) || folded.has(key);
  });
}

/**
 * The batch's event lines that are stored already: line key (`lineKey`) -> id of the message holding
 * the line. Per source, one `max(offset)`
 * probe first: an import reading a file forward only ever brings offsets beyond it, and then no
 * further lookup is needed.
 */
async function storedLineKeys(
  tx: Db,
  pieces: readonly MessageRecord[],
  nameIds: Map<string, number>,
): Promise<Map<string, number>> {
  const offsetsBySource = new Map<string, number[]>();
  for (const p of pieces) {
    for (const e of p.events) {
      const list = offsetsBySource.get(e.source);
      if (list) list.push(e.offset);
      else offsetsBySource.set(e.source, [e.offset]);
    }
  }
  const found = new Map<string, number>();
  for (const [source, offsets] of offsetsBySource) {
    const originId = nameIds.get(source)!;
    const top = await tx
      .selectFrom('events')
      .select((eb) => eb.fn.max('line_offset').as('max'))
      .where('origin_id', '=', originId)
      .executeTakeFirst();
    const max = top?.max;
    if (max === null || max === undefined) continue;
    const candidates = [...new Set(offsets.filter((o) => o <= max))];
    for (const chunk of chunks(candidates)) {
      const rows = await tx
        .selectFrom('events')
        .select(['line_offset', 'message_id'])
        .where('origin_id', '=', originId)
        .where('line_offset', 'in', chunk)
        .execute();
      for (const row of rows) found.set(lineKey(source, row.line_offset), row.message_id);
    }
  }
  return found;
}

async function findCandidates(tx: Db, keys: LookupKeys): Promise<Omit<StoredCandidates, 'lines'>> {
  const out: Omit<StoredCandidates, 'lines'> = { refs: [], handoffs: [], headers: [] };
  for (const chunk of chunks(keys.refQueueIds.map(enc))) {
    const rows = await tx
      .selectFrom('queue_refs')
      .select(['message_id', 'host', 'queue_id', 'first_seen', 'last_seen', 'closed'])
      .where('queue_id', 'in', chunk)
      .where('last_seen', '>=', keys.refWindow[0])
      .where('first_seen', '<=', keys.refWindow[1])
      .execute();
    for (const r of rows) {
      out.refs.push({
        message: r.message_id,
        host: dec(r.host),
        queueId: dec(r.queue_id),
        firstSeen: r.first_seen,
        lastSeen: r.last_seen,
        closed: toBool(r.closed),
      });
    }
  }
  for (const chunk of chunks(keys.handoffQueueIds.map(enc))) {
    const rows = await tx
      .selectFrom('handoffs')
      .select(['message_id', 'queue_id', 'at'])
      .where('queue_id', 'in', chunk)
      .where('at', '>=', keys.handoffWindow[0])
      .where('at', '<=', keys.handoffWindow[1])
      .execute();
    for (const r of rows) out.handoffs.push({ message: r.message_id, queueId: dec(r.queue_id), at: r.at });
  }
  for (const chunk of chunks(keys.messageIds.map(enc))) {
    const rows = await tx
      .selectFrom('messages')
      .select(['id', 'message_id', 'sender', 'first_seen'])
      .where('message_id', 'in', chunk)
      .where('first_seen', '>=', keys.messageIdWindow[0])
      .where('first_seen', '<=', keys.messageIdWindow[1])
      .execute();
    for (const r of rows) {
      out.headers.push({
        message: r.id,
        messageId: dec(r.message_id ?? ''),
        sender: decOrNull(r.sender),
        firstSeen: r.first_seen,
      });
    }
  }
  return out;
}

async function allocateIds(tx: Db, dialect: Dialect, count: number): Promise<number[]> {
  if (count === 0) return [];
  if (dialect === 'postgres') {
    const { rows } = await sql<{ id: number }>`
      select nextval(pg_get_serial_sequence('messages', 'id')) as id from generate_series(1, ${count})
    `.execute(tx);
    return rows.map((r) => r.id);
  }
  // Safe under `begin immediate`: no other writer can take ids until this transaction ends.
  const top = await tx
    .selectFrom('messages')
    .select((eb) => eb.fn.max('id').as('max'))
    .executeTakeFirst();
  const base = top?.max ?? 0;
  return Array.from({ length: count }, (_, i) => base + i + 1);
}

async function writePlans(
  tx: Db,
  dialect: Dialect,
  plans: readonly Plan[],
  nameIds: Map<string, number>,
  result: SaveResult,
): Promise<void> {
  const bool = boolWriter(dialect);
  const fresh = plans.filter((p) => p.keep === null);
  const kept = plans.filter((p) => p.keep !== null);
  const newIds = await allocateIds(tx, dialect, fresh.length);
  const idOf = new Map<Plan, number>();
  for (const [i, p] of fresh.entries()) idOf.set(p, newIds[i]!);
  for (const p of kept) idOf.set(p, p.keep!);

  await insertRows(
    tx,
    dialect,
    'messages',
    MESSAGE_COLUMNS,
    fresh.map((p) => messageValues(idOf.get(p)!, p.merged, bool)),
  );
  result.inserted += fresh.length;

  if (kept.length > 0) {
    // Children of merged messages are rewritten whole; events are only ever added or re-pointed.
    const touched = kept.flatMap((p) => [p.keep!, ...p.drop]);
    await deleteIn(tx, 'deliveries', 'message_id', touched);
    await deleteIn(tx, 'queue_refs', 'message_id', touched);
    await deleteIn(tx, 'handoffs', 'message_id', touched);
    const repoint = kept.flatMap((p) => p.drop.map((d) => [d, p.keep!]));
    if (repoint.length > 0) {
      await updateRows(
        tx,
        dialect,
        'events',
        [
          ['message_id', 'int8'],
          ['message_id', 'int8'],
        ],
        repoint,
      );
      result.collapsed += await deleteIn(
        tx,
        'messages',
        'id',
        repoint.map(([d]) => d!),
      );
    }
    await updateRows(
      tx,
      dialect,
      'messages',
      MESSAGE_COLUMNS,
      kept.map((p) => messageValues(p.keep!, p.merged, bool)),
    );
    result.merged += kept.length;
  }

  const deliveries: unknown[][] = [];
  const refs: unknown[][] = [];
  const handoffs: unknown[][] = [];
  const events: unknown[][] = [];
  for (const p of plans) {
    const id = idOf.get(p)!;
    p.merged.deliveries.forEach((d, seq) => {
      deliveries.push(deliveryValues(id, seq, d));
    });
    p.merged.queueIds.forEach((q, seq) => {
      refs.push(queueRefValues(id, seq, q, bool));
    });
    p.merged.handoffs.forEach((h, seq) => {
      handoffs.push(handoffValues(id, seq, h));
    });
    for (const { event, pieceStart } of p.events) events.push(eventValues(id, event, pieceStart, nameIds));
  }
  await insertRows(tx, dialect, 'deliveries', DELIVERY_COLUMNS, deliveries);
  await insertRows(tx, dialect, 'queue_refs', QUEUE_REF_COLUMNS, refs);
  await insertRows(tx, dialect, 'handoffs', HANDOFF_COLUMNS, handoffs);
  result.events += await insertRows(
    tx,
    dialect,
    'events',
    EVENT_COLUMNS,
    events,
    ' on conflict ("origin_id", "line_offset") do nothing',
  );
}

function eventValues(
  messageId: number,
  e: EventRecord,
  pieceStart: number,
  nameIds: Map<string, number>,
): unknown[] {
  return [
    messageId,
    e.at,
    nameIds.get(e.host)!,
    nameIds.get(e.program)!,
    nameIds.get(e.kind)!,
    nameIds.get(e.source)!,
    e.offset,
    pieceStart,
    enc(e.text),
  ];
}

async function insertLooseLines(
  tx: Db,
  dialect: Dialect,
  lines: readonly LooseLine[],
  nameIds: Map<string, number>,
): Promise<number> {
  const rows = lines.map((l) => [
    l.at,
    nameIds.get(l.host)!,
    nameIds.get(l.program)!,
    nameIds.get(l.kind)!,
    nameIds.get(l.source)!,
    l.offset,
    enc(l.text),
    encOrNull(l.reason),
  ]);
  return insertRows(
    tx,
    dialect,
    'loose_lines',
    LOOSE_LINE_COLUMNS,
    rows,
    ' on conflict ("origin_id", "line_offset") do nothing',
  );
}
