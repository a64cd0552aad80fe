import { type Expression, type ExpressionBuilder, type SqlBool, sql } from 'kysely';
import { normalizeAddress, normalizeMessageId } from '../core/address.js';
import type { EventRecord, MessageRecord } from '../core/model.js';
import { chunks } from './bulk.js';
import { decOrNull, enc, foldSubject } from './codec.js';
import type { NameCache } from './names.js';
import {
  decodeEventMeta,
  decodeLooseMeta,
  decompressText,
  type EventColumns,
  lineText,
  looseReason,
  type PageText,
  slotRecord,
} from './pages.js';
import { decodeRecord } from './record.js';
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

/** An event page, decompressed as far as asked. */
interface Page {
  index: EventColumns;
  text: PageText | null;
}

/** Pages by id (the records' pages, without text). */
async function loadPages(db: Db, ids: Iterable<number>): Promise<Map<number, Page>> {
  const pages = new Map<number, Page>();
  for (const chunk of chunks([...new Set(ids)])) {
    const rows = await db.selectFrom('event_pages').select(['id', 'meta']).where('id', 'in', chunk).execute();
    for (const row of rows) pages.set(Number(row.id), { index: decodeEventMeta(row.meta), text: null });
  }
  return pages;
}

/** Every page holding a slot of the messages (their records' and their lines'), with text. */
async function messagePages(db: Db, ids: readonly number[]): Promise<Map<number, Page>> {
  const pages = new Map<number, Page>();
  for (const chunk of chunks(ids)) {
    const rows = await db
      .selectFrom('event_pages')
      .select(['id', 'meta', 'text'])
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('event_slots')
          .select('event_slots.page_id')
          .where('event_slots.message_id', 'in', chunk),
      )
      .execute();
    for (const row of rows) {
      const index = decodeEventMeta(row.meta);
      pages.set(Number(row.id), { index, text: decompressText(row.text, index) });
    }
  }
  return pages;
}

function recordOf(row: MessagesTable, pages: Map<number, Page>): MessageRecord {
  const page = pages.get(Number(row.page_id));
  const json = page ? slotRecord(page.index, row.slot) : null;
  if (json === null)
    throw new Error(`message ${row.id}: record missing from page ${row.page_id} slot ${row.slot}`);
  return decodeRecord(json, {
    messageId: decOrNull(row.message_id),
    sender: decOrNull(row.sender),
    firstSeen: Number(row.first_seen),
    lastSeen: Number(row.last_seen),
    subject: decOrNull(row.subject),
    clientIp: decOrNull(row.client_ip),
  });
}

/** Full records for message rows, in the rows' order. Events are read only when asked. */
export async function assemble(
  db: Db,
  names: NameCache,
  rows: readonly MessagesTable[],
  withEvents: boolean,
): Promise<MessageRecord[]> {
  // With lines: the slots and their pages at once (two connections on PostgreSQL, one round trip).
  const ids = rows.map((r) => Number(r.id));
  const [slots, pages] = withEvents
    ? await Promise.all([lineSlots(db, ids), messagePages(db, ids)])
    : [
        [],
        await loadPages(
          db,
          rows.map((r) => Number(r.page_id)),
        ),
      ];
  const records = new Map<number, MessageRecord>();
  for (const row of rows) records.set(Number(row.id), recordOf(row, pages));
  if (withEvents) await addEvents(db, names, slots, pages, records);
  return rows.map((row) => records.get(Number(row.id))!);
}

/** The slots holding the messages' lines. */
async function lineSlots(
  db: Db,
  ids: readonly number[],
): Promise<{ page_id: number; slot: number; message_id: number }[]> {
  const slots: { page_id: number; slot: number; message_id: number }[] = [];
  for (const chunk of chunks(ids)) {
    slots.push(
      ...(await db
        .selectFrom('event_slots')
        .select(['page_id', 'slot', 'message_id'])
        .where('message_id', 'in', chunk)
        .where('lines', '>', 0)
        .execute()),
    );
  }
  return slots;
}

/**
 * Events in time order. Lines logged at the same time: by the firstSeen of the piece each came with,
 * then in the order they were written (page, then position). That is the order `mergeMessages` gives
 * when it folds all of a message's pieces oldest first, so a message reads the same whether its pieces
 * were saved in one batch or several, in any order.
 */
async function addEvents(
  db: Db,
  names: NameCache,
  slots: readonly { page_id: number; slot: number; message_id: number }[],
  pages: Map<number, Page>,
  records: Map<number, MessageRecord>,
): Promise<void> {
  const ids = new Set<number>();
  for (const s of slots) {
    const c = pages.get(Number(s.page_id))?.index;
    const slot = c?.slots[s.slot];
    if (!c || !slot) continue;
    for (let i = slot.firstLine; i < slot.firstLine + slot.lines; i++) {
      ids.add(c.hostId[i]!).add(c.programId[i]!).add(c.kindId[i]!).add(c.originId[i]!);
    }
  }
  const values = await names.values(db, ids);
  const byMessage = new Map<
    number,
    { event: EventRecord; pieceStart: number; page: number; line: number }[]
  >();
  for (const s of slots) {
    const pageId = Number(s.page_id);
    const page = pages.get(pageId);
    const slot = page?.index.slots[s.slot];
    if (!page || page.text === null || !slot) continue;
    const c = page.index;
    let list = byMessage.get(Number(s.message_id));
    if (!list) {
      list = [];
      byMessage.set(Number(s.message_id), list);
    }
    for (let i = slot.firstLine; i < slot.firstLine + slot.lines; i++) {
      const event: EventRecord = {
        at: c.at[i]!,
        host: values.get(c.hostId[i]!) ?? '',
        program: values.get(c.programId[i]!) ?? '',
        kind: values.get(c.kindId[i]!) ?? '',
        text: lineText(page.text, c, i),
        source: values.get(c.originId[i]!) ?? '',
        offset: c.offset[i]!,
      };
      list.push({ event, pieceStart: c.pieceStart[i]!, page: pageId, line: i });
    }
  }
  for (const [id, list] of byMessage) {
    const record = records.get(id);
    if (!record) continue;
    list.sort(
      (a, b) => a.event.at - b.event.at || a.pieceStart - b.pieceStart || a.page - b.page || a.line - b.line,
    );
    record.events = list.map((x) => x.event);
  }
}

/** Stored records by id, without events (what the saver merges into and the purge deletes). */
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
  return new Map(rows.map((row, i) => [Number(row.id), records[i]!]));
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
      return idIn(eb, dialect, recipientIds(eb, address));
    }
    case 'address': {
      const address = enc(normalizeAddress(query.value));
      const senders = eb
        .selectFrom('messages as s')
        .select('s.id as message_id')
        .where('s.sender', '=', address);
      return idIn(eb, dialect, senders.union(recipientIds(eb, address)));
    }
    case 'queue-id': {
      const queueId = query.value.trim();
      if (!queueId) return null;
      const ids = eb
        .selectFrom('queue_refs')
        .select('queue_refs.message_id')
        .where('queue_id', '=', enc(queueId));
      return idIn(eb, dialect, ids);
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

/**
 * `messages.id IN (subquery)`. On PostgreSQL as `= any(array(subquery))`: given the subquery's rows,
 * PostgreSQL probes the primary key for each. With `IN` it planned a hash join over every message row
 * for an address with a few hundred messages (a scan of the whole table, 9 ms on the benchmark, worse
 * the bigger the database). SQLite probes the rowid either way.
 */
function idIn(eb: MessagesEb, dialect: Dialect, ids: Expression<unknown>): Expression<SqlBool> {
  return dialect === 'postgres'
    ? sql<SqlBool>`messages.id = any(array(${ids}))`
    : eb('messages.id', 'in', ids as Parameters<typeof eb>[2]);
}

/** Messages with a delivery to the address, as recipient or original recipient. */
function recipientIds(eb: MessagesEb, address: string) {
  return eb
    .selectFrom('recipients')
    .select('recipients.message_id')
    .where('recipients.address', '=', address);
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
    after = { firstSeen: Number(last.first_seen), id: Number(last.id) };
  }
}

/** Loose pages read per query while listing. */
const LOOSE_PAGES_PER_READ = 16;

/**
 * Loose lines in time order (ties in the order they were written). Pages are read in first-line-time
 * order until the next page starts after the `limit`-th line found so far.
 */
export async function looseLines(db: Db, names: NameCache, query: LooseLineQuery): Promise<LooseLine[]> {
  const limit = clampLimit(query.limit);
  let kindId: number | undefined;
  if (query.kind !== undefined) {
    kindId = await names.find(db, query.kind);
    if (kindId === undefined) return [];
  }
  const from = query.from ?? Number.NEGATIVE_INFINITY;
  const to = query.to ?? Number.POSITIVE_INFINITY;
  const found: { line: LooseLine; ids: number[]; page: number; index: number }[] = [];
  let cursor: { firstAt: number; id: number } | null = null;
  for (;;) {
    const after: { firstAt: number; id: number } | null = cursor;
    let select = db.selectFrom('loose_pages').select(['id', 'first_at', 'meta', 'text']);
    if (kindId !== undefined) {
      const kind = kindId;
      select = select.where('id', 'in', (eb) =>
        eb.selectFrom('loose_kinds').select('loose_kinds.page_id').where('loose_kinds.kind_id', '=', kind),
      );
    }
    if (query.from !== undefined) select = select.where('last_at', '>=', query.from);
    if (query.to !== undefined) select = select.where('first_at', '<=', query.to);
    if (after !== null) {
      select = select.where((eb) =>
        eb.and([
          eb('first_at', '>=', after.firstAt),
          eb.or([eb('first_at', '>', after.firstAt), eb('id', '>', after.id)]),
        ]),
      );
    }
    const pages = await select.orderBy('first_at').orderBy('id').limit(LOOSE_PAGES_PER_READ).execute();
    for (const page of pages) {
      if (found.length >= limit && Number(page.first_at) > kthTime(found, limit)) {
        return finish(db, names, found, limit);
      }
      const c = decodeLooseMeta(page.meta);
      const text = decompressText(page.text, c);
      for (let i = 0; i < c.count; i++) {
        const at = c.at[i]!;
        if (at < from || at > to || (kindId !== undefined && c.kindId[i] !== kindId)) continue;
        const line: LooseLine = {
          at,
          host: '',
          program: '',
          kind: '',
          text: lineText(text, c, i),
          source: '',
          offset: c.offset[i]!,
        };
        const reason = looseReason(text, c, i);
        if (reason !== undefined) line.reason = reason;
        const ids = [c.hostId[i]!, c.programId[i]!, c.kindId[i]!, c.originId[i]!];
        found.push({ line, ids, page: Number(page.id), index: i });
      }
      cursor = { firstAt: Number(page.first_at), id: Number(page.id) };
    }
    if (pages.length < LOOSE_PAGES_PER_READ) return finish(db, names, found, limit);
  }
}

function byTimeThenWrite(
  a: { line: LooseLine; page: number; index: number },
  b: { line: LooseLine; page: number; index: number },
): number {
  return a.line.at - b.line.at || a.page - b.page || a.index - b.index;
}

/** Time of the `limit`-th earliest line found (sorts `found` in place). */
function kthTime(found: { line: LooseLine; page: number; index: number }[], limit: number): number {
  found.sort(byTimeThenWrite);
  found.length = Math.min(found.length, limit);
  return found[found.length - 1]!.line.at;
}

async function finish(
  db: Db,
  names: NameCache,
  found: { line: LooseLine; ids: number[]; page: number; index: number }[],
  limit: number,
): Promise<LooseLine[]> {
  found.sort(byTimeThenWrite);
  const kept = found.slice(0, limit);
  const values = await names.values(
    db,
    kept.flatMap((f) => f.ids),
  );
  return kept.map(({ line, ids }) => {
    const [host, program, kind, origin] = ids;
    line.host = values.get(host!) ?? '';
    line.program = values.get(program!) ?? '';
    line.kind = values.get(kind!) ?? '';
    line.source = values.get(origin!) ?? '';
    return line;
  });
}
