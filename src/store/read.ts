import { type Expression, type ExpressionBuilder, type SqlBool, sql } from 'kysely';
import { normalizeAddress, normalizeMessageId } from '../core/address.js';
import type { EventRecord, MessageRecord } from '../core/model.js';
import { chunks } from './bulk.js';
import {
  dec,
  decOrNull,
  deliveryFromRow,
  enc,
  foldSubject,
  handoffFromRow,
  messageFromRow,
  queueRefFromRow,
} from './codec.js';
import type { NameCache } from './names.js';
import type { Database, Db, Dialect, MessagesTable } from './schema.js';
import type { LooseLine, LooseLineQuery, TimeRange, TraceQuery } from './types.js';

export const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 10_000;
/** Messages per export page: bounds memory whatever the range. */
export const EXPORT_PAGE = 500;

/** A row limit within [1, 10000]; the default (100) when absent or not a number. */
export function clampLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_LIMIT;
  return Math.min(Math.max(Math.trunc(limit), 1), MAX_LIMIT);
}

/** Full records for message rows, in the rows' order. Events are read only when asked. */
export async function assemble(
  db: Db,
  names: NameCache,
  rows: readonly MessagesTable[],
  withEvents: boolean,
): Promise<MessageRecord[]> {
  const records = new Map<number, MessageRecord>();
  for (const row of rows) records.set(row.id, messageFromRow(row));
  const ids = [...records.keys()];
  for (const chunk of chunks(ids)) {
    const deliveries = await db
      .selectFrom('deliveries')
      .selectAll()
      .where('message_id', 'in', chunk)
      .orderBy('message_id')
      .orderBy('seq')
      .execute();
    for (const d of deliveries) records.get(d.message_id)?.deliveries.push(deliveryFromRow(d));
    const refs = await db
      .selectFrom('queue_refs')
      .selectAll()
      .where('message_id', 'in', chunk)
      .orderBy('message_id')
      .orderBy('seq')
      .execute();
    for (const q of refs) records.get(q.message_id)?.queueIds.push(queueRefFromRow(q));
    const handoffs = await db
      .selectFrom('handoffs')
      .selectAll()
      .where('message_id', 'in', chunk)
      .orderBy('message_id')
      .orderBy('seq')
      .execute();
    for (const h of handoffs) records.get(h.message_id)?.handoffs.push(handoffFromRow(h));
    if (withEvents) await readEvents(db, names, chunk, records);
  }
  return rows.map((row) => records.get(row.id)!);
}

/**
 * Events in time order. Lines logged at the same time: by the firstSeen of the piece each came with,
 * then in the order they were written. That is the order `mergeMessages` gives when it folds all of a
 * message's pieces oldest first, so a message reads the same whether its pieces were saved in one
 * batch or several, in any order.
 */
async function readEvents(
  db: Db,
  names: NameCache,
  ids: number[],
  records: Map<number, MessageRecord>,
): Promise<void> {
  const rows = await db
    .selectFrom('events')
    .select(['message_id', 'at', 'host_id', 'program_id', 'kind_id', 'origin_id', 'line_offset', 'text'])
    .where('message_id', 'in', ids)
    .orderBy('message_id')
    .orderBy('at')
    .orderBy('piece_start')
    .orderBy('id')
    .execute();
  const values = await names.values(
    db,
    rows.flatMap((r) => [r.host_id, r.program_id, r.kind_id, r.origin_id]),
  );
  for (const r of rows) {
    const event: EventRecord = {
      at: r.at,
      host: values.get(r.host_id) ?? '',
      program: values.get(r.program_id) ?? '',
      kind: values.get(r.kind_id) ?? '',
      text: dec(r.text),
      source: values.get(r.origin_id) ?? '',
      offset: r.line_offset,
    };
    records.get(r.message_id)?.events.push(event);
  }
}

/** Stored records by id, without events (what the saver merges into). */
export async function loadByIds(
  db: Db,
  names: NameCache,
  ids: readonly number[],
): Promise<Map<number, MessageRecord>> {
  const rows: MessagesTable[] = [];
  for (const chunk of chunks(ids)) {
    rows.push(...(await db.selectFrom('messages').selectAll().where('id', 'in', chunk).execute()));
  }
  const records = await assemble(db, names, rows, false);
  return new Map(rows.map((row, i) => [row.id, records[i]!]));
}

type MessagesEb = ExpressionBuilder<Database, 'messages'>;

/** `[firstSeen, lastSeen]` overlaps `[from, to]`. */
function overlaps(eb: MessagesEb, range: TimeRange): Expression<SqlBool> {
  const conditions: Expression<SqlBool>[] = [];
  if (range.from !== undefined) conditions.push(eb('messages.last_seen', '>=', range.from));
  if (range.to !== undefined) conditions.push(eb('messages.first_seen', '<=', range.to));
  return eb.and(conditions);
}

/** The condition selecting the messages a query asks for; null when the value can match nothing. */
function traceCondition(eb: MessagesEb, dialect: Dialect, query: TraceQuery): Expression<SqlBool> | null {
  switch (query.by) {
    case 'message-id': {
      const id = normalizeMessageId(query.value);
      return id ? eb('messages.message_id', '=', enc(id)) : null;
    }
    case 'sender':
      return eb('messages.sender', '=', enc(normalizeAddress(query.value)));
    case 'recipient': {
      const address = enc(normalizeAddress(query.value));
      return eb('messages.id', 'in', recipientIds(eb, address));
    }
    case 'address': {
      const address = enc(normalizeAddress(query.value));
      const senders = eb
        .selectFrom('messages as s')
        .select('s.id as message_id')
        .where('s.sender', '=', address);
      return eb('messages.id', 'in', senders.union(recipientIds(eb, address)));
    }
    case 'queue-id': {
      const queueId = query.value.trim();
      if (!queueId) return null;
      const ids = eb
        .selectFrom('queue_refs')
        .select('queue_refs.message_id')
        .where('queue_id', '=', enc(queueId));
      return eb('messages.id', 'in', ids);
    }
    case 'ip': {
      const ip = query.value.trim();
      return ip ? eb('messages.client_ip', '=', enc(ip)) : null;
    }
    case 'subject': {
      const needle = enc(foldSubject(query.value));
      return dialect === 'sqlite'
        ? sql<SqlBool>`instr(coalesce(messages.subject_fold, messages.subject), ${needle}) > 0`
        : sql<SqlBool>`strpos(coalesce(messages.subject_fold, messages.subject), ${needle}) > 0`;
    }
  }
}

function recipientIds(eb: MessagesEb, address: string) {
  return eb
    .selectFrom('deliveries')
    .select('deliveries.message_id')
    .where('deliveries.recipient', '=', address)
    .union(eb.selectFrom('deliveries as o').select('o.message_id').where('o.orig_recipient', '=', address));
}

export async function trace(
  db: Db,
  dialect: Dialect,
  names: NameCache,
  query: TraceQuery,
): Promise<MessageRecord[]> {
  const limit = clampLimit(query.limit);
  const probe = db.selectFrom('messages').where((eb) => traceCondition(eb, dialect, query) ?? eb.lit(false));
  const rows = await probe
    .selectAll('messages')
    .where((eb) => overlaps(eb, query))
    .orderBy('messages.first_seen', 'desc')
    .orderBy('messages.id', 'desc')
    .limit(limit)
    .execute();
  return assemble(db, names, rows, true);
}

/** Keyset pagination on (first_seen, id): each page is one short query, whatever else runs between. */
export async function* exportMessages(
  db: Db,
  names: NameCache,
  range: TimeRange,
): AsyncGenerator<MessageRecord> {
  let after: { firstSeen: number; id: number } | null = null;
  for (;;) {
    const cursor: { firstSeen: number; id: number } | null = after;
    const rows: MessagesTable[] = await db
      .selectFrom('messages')
      .selectAll()
      .where((eb) => overlaps(eb, range))
      .where(
        (eb): Expression<SqlBool> =>
          cursor === null
            ? eb.and([])
            : // The leading `>=` lets both planners start the index scan at the cursor; the OR alone
              // made SQLite scan from the first row on every page.
              eb.and([
                eb('first_seen', '>=', cursor.firstSeen),
                eb.or([eb('first_seen', '>', cursor.firstSeen), eb('id', '>', cursor.id)]),
              ]),
      )
      .orderBy('first_seen')
      .orderBy('id')
      .limit(EXPORT_PAGE)
      .execute();
    if (rows.length === 0) return;
    yield* await assemble(db, names, rows, true);
    if (rows.length < EXPORT_PAGE) return;
    const last = rows[rows.length - 1]!;
    after = { firstSeen: last.first_seen, id: last.id };
  }
}

export async function looseLines(db: Db, names: NameCache, query: LooseLineQuery): Promise<LooseLine[]> {
  const limit = clampLimit(query.limit);
  let kindId: number | undefined;
  if (query.kind !== undefined) {
    kindId = await names.find(db, query.kind);
    if (kindId === undefined) return [];
  }
  let select = db.selectFrom('loose_lines').selectAll();
  if (kindId !== undefined) select = select.where('kind_id', '=', kindId);
  if (query.from !== undefined) select = select.where('at', '>=', query.from);
  if (query.to !== undefined) select = select.where('at', '<=', query.to);
  const rows = await select.orderBy('at').orderBy('id').limit(limit).execute();
  const values = await names.values(
    db,
    rows.flatMap((r) => [r.host_id, r.program_id, r.kind_id, r.origin_id]),
  );
  return rows.map((r) => {
    const line: LooseLine = {
      at: r.at,
      host: values.get(r.host_id) ?? '',
      program: values.get(r.program_id) ?? '',
      kind: values.get(r.kind_id) ?? '',
      text: dec(r.text),
      source: values.get(r.origin_id) ?? '',
      offset: r.line_offset,
    };
    const reason = decOrNull(r.reason);
    if (reason !== null) line.reason = reason;
    return line;
  });
}
