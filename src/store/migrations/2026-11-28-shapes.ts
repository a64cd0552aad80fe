import type { Kysely } from 'kysely';

/**
 * The most frequent shapes of the lines no parser recognised, per import run, host and program
 * (docs/schema.md). Frozen like every migration; imports nothing from the application.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('unknown_shapes')
    .addColumn('run_id', 'bigint', (c) => c.notNull().references('import_runs.id'))
    .addColumn('host', 'text', (c) => c.notNull())
    .addColumn('program', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('shape', 'text', (c) => c.notNull())
    .addColumn('count', 'bigint', (c) => c.notNull())
    .addColumn('example', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('unknown_shapes_run').on('unknown_shapes').column('run_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('unknown_shapes').execute();
}
