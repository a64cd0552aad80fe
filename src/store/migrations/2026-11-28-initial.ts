import type { Kysely } from 'kysely';

/**
 * Initial schema (docs/schema.md). Frozen: a later change is a new migration, never an edit here.
 * Imports nothing from the application, so it keeps meaning what it meant when it first ran.
 * Times are epoch milliseconds as int8; booleans are `boolean` on PostgreSQL and 0/1 on SQLite.
 */
export async function up(db: Kysely<unknown>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  const pg = dialect === 'postgres';
  const serial = pg ? 'bigserial' : 'integer';
  const bool = pg ? 'boolean' : 'integer';
  const float = pg ? 'double precision' : 'real';

  // Repeating strings of events and loose lines (hosts, programs, kinds, sources): a row each.
  await db.schema
    .createTable('names')
    .addColumn('id', pg ? 'serial' : 'integer', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull().unique())
    .execute();

  await db.schema
    .createTable('messages')
    .addColumn('id', serial, (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('message_id', 'text')
    .addColumn('sender', 'text')
    .addColumn('first_seen', 'bigint', (c) => c.notNull())
    .addColumn('last_seen', 'bigint', (c) => c.notNull())
    .addColumn('subject', 'text')
    .addColumn('subject_fold', 'text')
    .addColumn('size', 'bigint')
    .addColumn('client_ip', 'text')
    .addColumn('client_name', 'text')
    .addColumn('helo', 'text')
    .addColumn('sasl_user', 'text')
    .addColumn('spam_score', float)
    .addColumn('spam_required', float)
    .addColumn('is_spam', bool)
    .addColumn('virus', 'text')
    .addColumn('partial', bool, (c) => c.notNull())
    .addColumn('complete', bool, (c) => c.notNull())
    .addColumn('links', 'text', (c) => c.notNull())
    .addColumn('bounce_of_host', 'text')
    .addColumn('bounce_of_queue_id', 'text')
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
  await db.schema.createIndex('messages_first_seen').on('messages').columns(['first_seen', 'id']).execute();
  await db.schema.createIndex('messages_last_seen').on('messages').column('last_seen').execute();

  await db.schema
    .createTable('deliveries')
    .addColumn('message_id', 'bigint', (c) => c.notNull().references('messages.id'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('recipient', 'text', (c) => c.notNull())
    .addColumn('orig_recipient', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('host', 'text', (c) => c.notNull())
    .addColumn('relay', 'text')
    .addColumn('mailbox', 'text')
    .addColumn('dsn', 'text')
    .addColumn('reason', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('queue_id', 'text')
    .addColumn('handoff', 'text')
    .addPrimaryKeyConstraint('deliveries_pk', ['message_id', 'seq'])
    .execute();
  await db.schema.createIndex('deliveries_recipient').on('deliveries').column('recipient').execute();
  await db.schema
    .createIndex('deliveries_orig_recipient')
    .on('deliveries')
    .column('orig_recipient')
    .where('orig_recipient', 'is not', null)
    .execute();

  await db.schema
    .createTable('queue_refs')
    .addColumn('message_id', 'bigint', (c) => c.notNull().references('messages.id'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('host', 'text', (c) => c.notNull())
    .addColumn('queue_id', 'text', (c) => c.notNull())
    .addColumn('first_seen', 'bigint', (c) => c.notNull())
    .addColumn('last_seen', 'bigint', (c) => c.notNull())
    .addColumn('closed', bool, (c) => c.notNull())
    .addPrimaryKeyConstraint('queue_refs_pk', ['message_id', 'seq'])
    .execute();
  await db.schema.createIndex('queue_refs_queue_id').on('queue_refs').columns(['queue_id', 'host']).execute();

  await db.schema
    .createTable('handoffs')
    .addColumn('message_id', 'bigint', (c) => c.notNull().references('messages.id'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('queue_id', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('relay', 'text')
    .addPrimaryKeyConstraint('handoffs_pk', ['message_id', 'seq'])
    .execute();
  await db.schema.createIndex('handoffs_queue_id').on('handoffs').columns(['queue_id', 'at']).execute();

  await db.schema
    .createTable('events')
    .addColumn('id', serial, (c) => c.primaryKey())
    // References messages.id, not declared: on the largest table the check costs about a third of
    // PostgreSQL's insert rate, and the store's single write path keeps it consistent (docs/schema.md).
    .addColumn('message_id', 'bigint', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('host_id', 'integer', (c) => c.notNull())
    .addColumn('program_id', 'integer', (c) => c.notNull())
    .addColumn('kind_id', 'integer', (c) => c.notNull())
    .addColumn('origin_id', 'integer', (c) => c.notNull())
    .addColumn('line_offset', 'bigint', (c) => c.notNull())
    // firstSeen of the piece the line came with: orders lines logged at the same time (see docs).
    .addColumn('piece_start', 'bigint', (c) => c.notNull())
    .addColumn('text', 'text', (c) => c.notNull())
    .addUniqueConstraint('events_origin', ['origin_id', 'line_offset'])
    .execute();
  await db.schema.createIndex('events_message').on('events').columns(['message_id', 'at']).execute();

  await db.schema
    .createTable('loose_lines')
    .addColumn('id', serial, (c) => c.primaryKey())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('host_id', 'integer', (c) => c.notNull())
    .addColumn('program_id', 'integer', (c) => c.notNull())
    .addColumn('kind_id', 'integer', (c) => c.notNull())
    .addColumn('origin_id', 'integer', (c) => c.notNull())
    .addColumn('line_offset', 'bigint', (c) => c.notNull())
    .addColumn('text', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addUniqueConstraint('loose_lines_origin', ['origin_id', 'line_offset'])
    .execute();
  await db.schema.createIndex('loose_lines_at').on('loose_lines').column('at').execute();
  await db.schema.createIndex('loose_lines_kind').on('loose_lines').columns(['kind_id', 'at']).execute();

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
    'loose_lines',
    'events',
    'handoffs',
    'queue_refs',
    'deliveries',
    'messages',
    'names',
  ]) {
    await db.schema.dropTable(table).execute();
  }
}
