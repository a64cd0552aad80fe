import { sql } from 'kysely';
import type { LooseLine } from '../core/model.js';
import { chunks, deleteIn, deleteKeys, insertAll, inTransaction, type Tx } from './bulk.js';
import {
  HANDOFF_KEYS,
  handoffKeys,
  QUEUE_REF_KEYS,
  queueRefKeys,
  RECIPIENT_KEYS,
  recipientKeys,
} from './codec.js';
import { deleteSpans, raiseGeneration } from './lines.js';
import { BatchNames, type NameCache } from './names.js';
import { decodeLooseMeta, decompressText, lineText, looseReason } from './pages.js';
import { assemble } from './read.js';
import type { Db, MessagesTable } from './schema.js';
import type { PurgeResult, StoreCounts } from './types.js';
import { startLoosePages } from './write.js';

/** Messages deleted per purge transaction: bounded transactions on a store of millions of rows. */
const PURGE_CHUNK = 1000;
/** Loose pages handled per purge transaction. */
const LOOSE_PURGE_CHUNK = 100;

/**
 * Deletes messages whose lastSeen < before with their search rows and lines, 1000 per transaction, in
 * firstSeen order (a message ends after it begins, so only messages that began before the cutoff are
 * looked at). An event page goes once no slot of it belongs to a message any more.
 */
export async function purgeMessages(store: Tx, names: NameCache, before: number): Promise<PurgeResult> {
  const out: PurgeResult = {
    messages: 0,
    deliveries: 0,
    queueRefs: 0,
    handoffs: 0,
    events: 0,
    looseLines: 0,
  };
  let cursor: { firstSeen: number; id: number } | null = null;
  for (;;) {
    const after: { firstSeen: number; id: number } | null = cursor;
    const rows: MessagesTable[] = await inTransaction(
      store.db,
      store.dialect,
      async (conn) => {
        const tx: Tx = { ...store, db: conn };
        let select = conn
          .selectFrom('messages')
          .selectAll()
          .where('first_seen', '<', before)
          .where('last_seen', '<', before);
        if (after !== null) {
          select = select.where((eb) =>
            eb.and([
              eb('first_seen', '>=', after.firstSeen),
              eb.or([eb('first_seen', '>', after.firstSeen), eb('id', '>', after.id)]),
            ]),
          );
        }
        const chunk = await select.orderBy('first_seen').orderBy('id').limit(PURGE_CHUNK).execute();
        if (chunk.length > 0) {
          await purgeChunk(tx, names, chunk, out);
          await raiseGeneration(conn);
        }
        return chunk;
      },
      { serialize: true },
    );
    const last = rows[rows.length - 1];
    if (rows.length < PURGE_CHUNK || !last) return out;
    cursor = { firstSeen: Number(last.first_seen), id: Number(last.id) };
  }
}

async function purgeChunk(tx: Tx, names: NameCache, rows: MessagesTable[], out: PurgeResult): Promise<void> {
  const records = await assemble(tx.db, names, rows, false);
  const ids = rows.map((r) => Number(r.id));
  const recipients: unknown[][] = [];
  const refs: unknown[][] = [];
  const handoffs: unknown[][] = [];
  records.forEach((record, i) => {
    const id = ids[i]!;
    out.deliveries += record.deliveries.length;
    recipients.push(...recipientKeys(id, record));
    refs.push(...queueRefKeys(id, record));
    handoffs.push(...handoffKeys(id, record));
  });
  await deleteKeys(tx, 'recipients', RECIPIENT_KEYS, recipients);
  out.queueRefs += await deleteKeys(tx, 'queue_refs', QUEUE_REF_KEYS, refs);
  out.handoffs += await deleteKeys(tx, 'handoffs', HANDOFF_KEYS, handoffs);
  const pages = new Set<number>();
  for (const chunk of chunks(ids)) {
    const slots = await tx.db
      .selectFrom('event_slots')
      .select(['page_id', 'lines'])
      .where('message_id', 'in', chunk)
      .execute();
    for (const s of slots) {
      out.events += Number(s.lines);
      pages.add(Number(s.page_id));
    }
  }
  await deleteIn(tx.db, 'event_slots', 'message_id', ids);
  out.messages += await deleteIn(tx.db, 'messages', 'id', ids);
  await dropUnusedPages(tx.db, [...pages]);
}

/** Deletes the event pages (and their spans) among `pageIds` that no slot row refers to any more. */
async function dropUnusedPages(db: Db, pageIds: number[]): Promise<void> {
  const used = new Set<number>();
  for (const chunk of chunks(pageIds)) {
    const rows = await db
      .selectFrom('event_slots')
      .select('page_id')
      .distinct()
      .where('page_id', 'in', chunk)
      .execute();
    for (const row of rows) used.add(Number(row.page_id));
  }
  const unused = pageIds.filter((id) => !used.has(id));
  await deleteIn(db, 'event_pages', 'id', unused);
  await deleteSpans(db, 'event', unused);
}

/**
 * Deletes loose lines with at < before: pages entirely older are deleted, a page straddling the cutoff
 * is rewritten with its newer lines. Returns the number of lines deleted.
 */
export async function purgeLooseLines(store: Tx, names: NameCache, before: number): Promise<number> {
  let deleted = 0;
  for (;;) {
    const done = await inTransaction(
      store.db,
      store.dialect,
      async (conn) => {
        const tx: Tx = { ...store, db: conn };
        const pages = await conn
          .selectFrom('loose_pages')
          .selectAll()
          .where('first_at', '<', before)
          .orderBy('first_at')
          .orderBy('id')
          .limit(LOOSE_PURGE_CHUNK)
          .execute();
        const whole = pages.filter((p) => Number(p.last_at) < before);
        for (const p of whole) deleted += Number(p.lines);
        const ids = whole.map((p) => Number(p.id));
        await deleteIn(conn, 'loose_kinds', 'page_id', ids);
        await deleteSpans(conn, 'loose', ids);
        await deleteIn(conn, 'loose_pages', 'id', ids);
        for (const p of pages) {
          if (Number(p.last_at) >= before) deleted += await trimLoosePage(tx, names, p, before);
        }
        if (pages.length > 0) await raiseGeneration(conn);
        return pages.length < LOOSE_PURGE_CHUNK;
      },
      { serialize: true },
    );
    if (done) return deleted;
  }
}

/** Rewrites a loose page without its lines older than `before`; returns how many it dropped. */
async function trimLoosePage(
  tx: Tx,
  names: NameCache,
  page: { id: number; lines: number; meta: Uint8Array; text: Uint8Array },
  before: number,
): Promise<number> {
  const pageId = Number(page.id);
  const c = decodeLooseMeta(page.meta);
  const text = decompressText(page.text, c);
  const values = await names.values(tx.db, [...c.hostId, ...c.programId, ...c.kindId, ...c.originId]);
  const keep: LooseLine[] = [];
  for (let i = 0; i < c.count; i++) {
    if (c.at[i]! < before) continue;
    const line: LooseLine = {
      at: c.at[i]!,
      host: values.get(c.hostId[i]!) ?? '',
      program: values.get(c.programId[i]!) ?? '',
      kind: values.get(c.kindId[i]!) ?? '',
      text: lineText(text, c, i),
      source: values.get(c.originId[i]!) ?? '',
      offset: c.offset[i]!,
    };
    const reason = looseReason(text, c, i);
    if (reason !== undefined) line.reason = reason;
    keep.push(line);
  }
  await deleteIn(tx.db, 'loose_kinds', 'page_id', [pageId]);
  await deleteSpans(tx.db, 'loose', [pageId]);
  await deleteIn(tx.db, 'loose_pages', 'id', [pageId]);
  // Same id: the lines keep their place in the order they were written.
  if (keep.length > 0) {
    const loose = await startLoosePages(tx, keep, new BatchNames(names, tx.db, tx.dialect), [pageId]);
    await insertAll(tx, await loose.rows);
  }
  return Number(page.lines) - keep.length;
}

async function sum(query: Promise<{ n: unknown } | undefined>): Promise<number> {
  const row = await query;
  return Number(row?.n ?? 0);
}

/** The store's totals: row counts and line counts summed over slots and pages. */
export async function countAll(db: Db, names: NameCache): Promise<StoreCounts> {
  const unknownId = await names.find(db, 'unknown');
  return {
    messages: await sum(
      db
        .selectFrom('messages')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirst(),
    ),
    deliveries: await sum(
      db
        .selectFrom('messages')
        .select(sql<number>`coalesce(sum(delivery_count), 0)`.as('n'))
        .executeTakeFirst(),
    ),
    events: await sum(
      db.selectFrom('event_slots').select(sql<number>`coalesce(sum(lines), 0)`.as('n')).executeTakeFirst(),
    ),
    unknownLines:
      unknownId === undefined
        ? 0
        : await sum(
            db
              .selectFrom('loose_kinds')
              .select(sql<number>`coalesce(sum(lines), 0)`.as('n'))
              .where('kind_id', '=', unknownId)
              .executeTakeFirst(),
          ),
    looseLines: await sum(
      db.selectFrom('loose_pages').select(sql<number>`coalesce(sum(lines), 0)`.as('n')).executeTakeFirst(),
    ),
  };
}
