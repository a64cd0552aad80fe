import { type CreateTableBuilder, type Kysely, sql } from 'kysely';

/**
 * Initial schema (docs/schema.md). Frozen once released: a later change is a new migration, never an
 * edit here. Imports nothing from the application, so it keeps meaning what it meant when it first ran.
 * Times are epoch milliseconds as int8; booleans are `boolean` on PostgreSQL and 0/1 on SQLite.
 *
 * Log lines live compressed in pages (event_pages, loose_pages); what the trace searches by lives in
 * narrow tables keyed by the searched value. On SQLite the tables keyed by something other than a
 * single integer are WITHOUT ROWID: the primary key is the table, not a second index beside it.
 */
export async function up(db: Kysely<unknown>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  const pg = dialect === 'postgres';
  const serial = pg ? 'bigserial' : 'integer';
  const bool = pg ? 'boolean' : 'integer';
  const blob = pg ? 'bytea' : 'blob';
  const keyed = <T extends CreateTableBuilder<string, string>>(table: T): T =>
    (pg ? table : table.modifyEnd(sql`without rowid`)) as T;

  // Repeating strings of lines and queue entries (hosts, programs, kinds, sources): a row each.
  await db.schema
    .createTable('names')
    .addColumn('id', pg ? 'serial' : 'integer', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull().unique())
    .execute();

  // One row per message: what the trace searches and sorts by, and where its record is stored.
  await db.schema
    .createTable('messages')
    .addColumn('id', serial, (c) => c.primaryKey())
    .addColumn('message_id', 'text')
    .addColumn('sender', 'text')
    .addColumn('first_seen', 'bigint', (c) => c.notNull())
    .addColumn('last_seen', 'bigint', (c) => c.notNull())
    .addColumn('subject', 'text')
    .addColumn('subject_fold', 'text')
    .addColumn('client_ip', 'text')
    .addColumn('delivery_count', 'integer', (c) => c.notNull())
    .addColumn('page_id', 'bigint', (c) => c.notNull())
    .addColumn('slot', 'integer', (c) => c.notNull())
    .execute();
  // Partial where the column is often empty (refused connections have no message-id).
  await db.schema
    .createIndex('messages_message_id')
    .on('messages')
    .column('message_id')
    .where('message_id', 'is not', null)
    .execute();
  await db.schema.createIndex('messages_sender').on('messages').columns(['sender', 'first_seen']).execute();
  await db.schema
    .createIndex('messages_client_ip')
    .on('messages')
    .columns(['client_ip', 'first_seen'])
    .where('client_ip', 'is not', null)
    .execute();
  // SQLite appends the rowid (= id) to every index entry by itself.
  await db.schema
    .createIndex('messages_first_seen')
    .on('messages')
    .columns(pg ? ['first_seen', 'id'] : ['first_seen'])
    .execute();

  await keyed(
    db.schema
      .createTable('recipients')
      .addColumn('address', 'text', (c) => c.notNull())
      .addColumn('message_id', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('recipients_pk', ['address', 'message_id']),
  ).execute();

  await keyed(
    db.schema
      .createTable('queue_refs')
      .addColumn('queue_id', 'text', (c) => c.notNull())
      .addColumn('message_id', 'bigint', (c) => c.notNull())
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('host_id', 'integer', (c) => c.notNull())
      .addColumn('first_seen', 'bigint', (c) => c.notNull())
      .addColumn('last_seen', 'bigint', (c) => c.notNull())
      .addColumn('closed', bool, (c) => c.notNull())
      .addPrimaryKeyConstraint('queue_refs_pk', ['queue_id', 'message_id', 'seq']),
  ).execute();

  await keyed(
    db.schema
      .createTable('handoffs')
      .addColumn('queue_id', 'text', (c) => c.notNull())
      .addColumn('message_id', 'bigint', (c) => c.notNull())
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('handoffs_pk', ['queue_id', 'message_id', 'seq']),
  ).execute();

  // The small blob first: SQLite reads a row's columns in order, so `meta` is read without `text`.
  await db.schema
    .createTable('event_pages')
    .addColumn('id', serial, (c) => c.primaryKey())
    .addColumn('lines', 'integer', (c) => c.notNull())
    .addColumn('meta', blob, (c) => c.notNull())
    .addColumn('text', blob, (c) => c.notNull())
    .execute();
  await keyed(
    db.schema
      .createTable('event_slots')
      .addColumn('page_id', 'bigint', (c) => c.notNull())
      .addColumn('slot', 'integer', (c) => c.notNull())
      .addColumn('message_id', 'bigint', (c) => c.notNull())
      .addColumn('lines', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('event_slots_pk', ['page_id', 'slot']),
  ).execute();
  await db.schema.createIndex('event_slots_message').on('event_slots').column('message_id').execute();

  await db.schema
    .createTable('loose_pages')
    .addColumn('id', serial, (c) => c.primaryKey())
    .addColumn('first_at', 'bigint', (c) => c.notNull())
    .addColumn('last_at', 'bigint', (c) => c.notNull())
    .addColumn('lines', 'integer', (c) => c.notNull())
    .addColumn('meta', blob, (c) => c.notNull())
    .addColumn('text', blob, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('loose_pages_first_at').on('loose_pages').column('first_at').execute();
  await keyed(
    db.schema
      .createTable('loose_kinds')
      .addColumn('kind_id', 'integer', (c) => c.notNull())
      .addColumn('page_id', 'bigint', (c) => c.notNull())
      .addColumn('lines', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('loose_kinds_pk', ['kind_id', 'page_id']),
  ).execute();
  await db.schema.createIndex('loose_kinds_page').on('loose_kinds').column('page_id').execute();

  // Offset runs of each page's lines per origin: which pages may hold a given line (pages.ts).
  for (const table of ['event_spans', 'loose_spans']) {
    await keyed(
      db.schema
        .createTable(table)
        .addColumn('origin_id', 'integer', (c) => c.notNull())
        .addColumn('min_offset', 'bigint', (c) => c.notNull())
        .addColumn('page_id', 'bigint', (c) => c.notNull())
        .addColumn('max_offset', 'bigint', (c) => c.notNull())
        .addColumn('filter', blob, (c) => c.notNull())
        .addPrimaryKeyConstraint(`${table}_pk`, ['origin_id', 'min_offset', 'page_id']),
    ).execute();
    await db.schema.createIndex(`${table}_page`).on(table).column('page_id').execute();
  }

  // The write generation (one row), which lets a saver trust what it remembers of its own writes.
  await db.schema
    .createTable('store_state')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('generation', 'bigint', (c) => c.notNull())
    .execute();
  await sql`insert into store_state (id, generation) values (1, 0)`.execute(db);

  if (pg) {
    // The blobs are compressed already: PostgreSQL's own TOAST compression would only cost time.
    for (const [table, columns] of [
      ['event_pages', ['meta', 'text']],
      ['loose_pages', ['meta', 'text']],
    ] as const) {
      for (const column of columns) {
        await sql`alter table ${sql.table(table)} alter column ${sql.ref(column)} set storage external`.execute(
          db,
        );
      }
    }
  }

  await db.schema
    .createTable('import_runs')
    .addColumn('id', serial, (c) => c.primaryKey())
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('finished_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('import_files')
    .addColumn('run_id', 'bigint', (c) => c.notNull().references('import_runs.id'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('path', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('import_files_pk', ['run_id', 'seq'])
    .execute();
  await db.schema
    .createTable('line_stats')
    .addColumn('run_id', 'bigint', (c) => c.notNull().references('import_runs.id'))
    .addColumn('host', 'text', (c) => c.notNull())
    .addColumn('program', 'text', (c) => c.notNull())
    .addColumn('parser', 'text')
    .addColumn('seen', 'bigint', (c) => c.notNull())
    .addColumn('parsed', 'bigint', (c) => c.notNull())
    .addColumn('unknown', 'bigint', (c) => c.notNull())
    .addColumn('invalid', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('line_stats_run').on('line_stats').column('run_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'line_stats',
    'import_files',
    'import_runs',
    'store_state',
    'loose_spans',
    'event_spans',
    'loose_kinds',
    'loose_pages',
    'event_slots',
    'event_pages',
    'handoffs',
    'queue_refs',
    'recipients',
    'messages',
    'names',
  ]) {
    await db.schema.dropTable(table).execute();
  }
}
