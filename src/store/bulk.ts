import type BetterSqlite3 from 'better-sqlite3';
import { CompiledQuery, sql } from 'kysely';
import type { Compressor } from './compressor.js';
import type { Db, Dialect } from './schema.js';

/** Values per `IN (...)` list: small enough for any planner, large enough to keep round trips few. */
export const IN_CHUNK = 500;

/**
 * Rows per multi-row statement. SQLite: `values (?,...),(...)`, bounded by its bind-parameter limit
 * (32766 in the bundled build). PostgreSQL: one array parameter per column (`select * from unnest(...)`),
 * so no parameter limit applies and fewer, larger statements pay off: about twice the rows per second of
 * a VALUES list, which spends its time parsing thousands of parameters.
 */
const MAX_ROWS: Record<Dialect, number> = { sqlite: 500, postgres: 5000 };
const SQLITE_MAX_PARAMS = 32_766;

export type PgType = 'int4' | 'int8' | 'text' | 'bool' | 'float8' | 'bytea';
export type Columns = readonly (readonly [string, PgType])[];

/**
 * One saving (or purging) transaction: the Kysely connection it runs on and, on SQLite, the raw
 * better-sqlite3 handle of that same connection, for the statements run thousands of times per batch.
 */
export interface Tx {
  db: Db;
  dialect: Dialect;
  sqlite: BetterSqlite3.Database | null;
  /** Compresses pages off the main thread (compressor.ts). */
  compressor: Compressor;
}

export function chunks<T>(items: readonly T[], size = IN_CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function rowsPerStatement(dialect: Dialect, columns: number): number {
  if (dialect === 'postgres') return MAX_ROWS.postgres;
  return Math.max(1, Math.min(MAX_ROWS.sqlite, Math.floor(SQLITE_MAX_PARAMS / columns)));
}

/**
 * The bulk paths write through pre-built SQL text instead of the query builder: building a node per
 * value for millions of rows costs more than the insert itself.
 */
const sqlCache = new Map<string, string>();

function cachedSql(key: string, build: () => string): string {
  let text = sqlCache.get(key);
  if (text === undefined) {
    text = build();
    sqlCache.set(key, text);
  }
  return text;
}

/** The rows as a relation: `values (?,?),(?,?)` on SQLite, `select * from unnest($1::t[], ...)` on PostgreSQL. */
function rowsSource(dialect: Dialect, columns: Columns, rows: number): string {
  if (dialect === 'postgres') {
    return `select * from unnest(${columns.map(([, type], i) => `$${i + 1}::${type}[]`).join(',')})`;
  }
  const row = `(${columns.map(() => '?').join(',')})`;
  return `values ${Array.from({ length: rows }, () => row).join(',')}`;
}

/** Parameters for `rowsSource`: flat on SQLite, one array per column on PostgreSQL. */
function rowsParameters(dialect: Dialect, columns: Columns, rows: readonly unknown[][]): unknown[] {
  if (dialect === 'postgres') return columns.map((_, i) => rows.map((row) => row[i]));
  // A plain loop: Array.prototype.flat is several times slower on arrays of this size.
  const out: unknown[] = [];
  for (const row of rows) for (const value of row) out.push(value);
  return out;
}

function quoted(name: string): string {
  return `"${name}"`;
}

function columnList(columns: Columns): string {
  return columns.map(([name]) => quoted(name)).join(',');
}

/**
 * Multi-row insert in chunks through Kysely (any connection). `suffix` is appended verbatim (e.g. an
 * `on conflict ... do nothing`). Returns the number of rows written. The saver's hot path uses `insert`.
 */
export async function insertRows(
  db: Db,
  dialect: Dialect,
  table: string,
  columns: Columns,
  rows: readonly unknown[][],
  suffix = '',
): Promise<number> {
  let written = 0;
  for (const chunk of chunks(rows, rowsPerStatement(dialect, columns.length))) {
    const text = cachedSql(
      `i|${dialect}|${table}|${dialect === 'postgres' ? 0 : chunk.length}|${suffix}`,
      () =>
        `insert into ${quoted(table)} (${columnList(columns)}) ${rowsSource(dialect, columns, chunk.length)}${suffix}`,
    );
    const result = await db.executeQuery(CompiledQuery.raw(text, rowsParameters(dialect, columns, chunk)));
    written += Number(result.numAffectedRows ?? 0);
  }
  return written;
}

/**
 * Prepared statements of a SQLite connection by SQL text. better-sqlite3 runs a prepared single-row
 * statement in a loop faster than any multi-row form: binding is a C call per value, nothing is parsed
 * again, and no parameter array is built.
 */
const statements = new WeakMap<BetterSqlite3.Database, Map<string, BetterSqlite3.Statement>>();

function prepared(raw: BetterSqlite3.Database, text: string): BetterSqlite3.Statement {
  let cache = statements.get(raw);
  if (!cache) {
    cache = new Map();
    statements.set(raw, cache);
  }
  let statement = cache.get(text);
  if (!statement) {
    statement = raw.prepare(text);
    cache.set(text, statement);
  }
  return statement;
}

/** Inserts rows (arrays in `columns` order) in the transaction; returns the number written. */
export async function insert(
  tx: Tx,
  table: string,
  columns: Columns,
  rows: readonly unknown[][],
): Promise<number> {
  if (rows.length === 0) return 0;
  if (tx.sqlite) {
    const statement = prepared(
      tx.sqlite,
      cachedSql(
        `i1|${table}`,
        () =>
          `insert into ${quoted(table)} (${columnList(columns)}) values (${columns.map(() => '?').join(',')})`,
      ),
    );
    for (const row of rows) statement.run(row);
    return rows.length;
  }
  if (columns.some(([, type]) => type === 'bytea')) return insertValuesPg(tx.db, table, columns, rows);
  return insertRows(tx.db, tx.dialect, table, columns, rows);
}

/** Bind parameters per PostgreSQL statement at most (the protocol allows 65 535). */
const PG_MAX_PARAMS = 60_000;

/**
 * Rows with blobs on PostgreSQL: `values ($1, ...), ...`. pg sends a Buffer parameter as binary, but a
 * Buffer inside an array parameter (the `unnest` form) as hex text, twice the bytes to build and parse.
 */
async function insertValuesPg(
  db: Db,
  table: string,
  columns: Columns,
  rows: readonly unknown[][],
): Promise<number> {
  let written = 0;
  for (const chunk of chunks(rows, Math.max(1, Math.floor(PG_MAX_PARAMS / columns.length)))) {
    const text = cachedSql(`v|${table}|${chunk.length}`, () => {
      let n = 0;
      const row = () => `(${columns.map(() => `$${++n}`).join(',')})`;
      return `insert into ${quoted(table)} (${columnList(columns)}) values ${Array.from({ length: chunk.length }, row).join(',')}`;
    });
    const result = await db.executeQuery(CompiledQuery.raw(text, rowsParameters('sqlite', columns, chunk)));
    written += Number(result.numAffectedRows ?? 0);
  }
  return written;
}

/** Rows for one table, for `insertAll`. */
export interface TableRows {
  table: string;
  columns: Columns;
  rows: readonly unknown[][];
}

/**
 * Inserts rows into several tables. On PostgreSQL in one statement (`with a as (insert ...), ...
 * insert ...`), so one round trip carries them all and the caller may work while the server inserts:
 * the statement is sent when this is called, and only the returned promise waits for it. Tables with
 * blobs go as VALUES (see `insertValuesPg`), the others as `unnest` arrays; a batch larger than one
 * statement's parameters falls back to one statement per table.
 */
export function insertAll(tx: Tx, parts: readonly TableRows[]): Promise<void> {
  const present = parts.filter((p) => p.rows.length > 0);
  if (tx.sqlite || present.length === 0) {
    return (async () => {
      for (const p of present) await insert(tx, p.table, p.columns, p.rows);
    })();
  }
  const params: unknown[] = [];
  const statements: string[] = [];
  for (const { table, columns, rows } of present) {
    const blobs = columns.some(([, type]) => type === 'bytea');
    if (blobs) {
      const values = rows.map((row) => `(${row.map((value) => `$${params.push(value)}`).join(',')})`);
      statements.push(`insert into ${quoted(table)} (${columnList(columns)}) values ${values.join(',')}`);
    } else {
      const arrays = columns.map(([, type], i) => `$${params.push(rows.map((row) => row[i]))}::${type}[]`);
      statements.push(
        `insert into ${quoted(table)} (${columnList(columns)}) select * from unnest(${arrays.join(',')})`,
      );
    }
  }
  if (params.length > PG_MAX_PARAMS) {
    return (async () => {
      for (const p of present) await insert(tx, p.table, p.columns, p.rows);
    })();
  }
  const last = statements.pop()!;
  const text =
    statements.length === 0 ? last : `with ${statements.map((s, i) => `w${i} as (${s})`).join(', ')} ${last}`;
  return tx.db.executeQuery(CompiledQuery.raw(text, params)).then(() => undefined);
}

/**
 * The values of an `IN` lookup in the chunks to query them by: IN_CHUNK at a time on SQLite; on
 * PostgreSQL all at once, as one array parameter (`= any($1)`), which it parses and plans in no time
 * where a list of 500 parameters cost milliseconds.
 */
export function keyChunks<T>(dialect: Dialect, values: readonly T[]): T[][] {
  if (values.length === 0) return [];
  return dialect === 'postgres' ? [values.slice()] : chunks(values);
}

/**
 * Updates rows by key: `columns[0]` is the key, the others are set. One prepared statement per row on
 * SQLite; `update ... from unnest(...)` per chunk on PostgreSQL.
 */
export async function update(
  tx: Tx,
  table: string,
  columns: Columns,
  rows: readonly unknown[][],
): Promise<void> {
  const [key, ...rest] = columns;
  if (!key || rows.length === 0) return;
  if (tx.sqlite) {
    const statement = prepared(
      tx.sqlite,
      cachedSql(
        `u1|${table}|${columnList(columns)}`,
        () =>
          `update ${quoted(table)} set ${rest.map(([name]) => `${quoted(name)} = ?`).join(', ')} where ${quoted(key[0])} = ?`,
      ),
    );
    for (const row of rows) statement.run([...row.slice(1), row[0]]);
    return;
  }
  const sets = rest.map(([name], i) => `${quoted(name)} = v.column${i + 2}`).join(', ');
  const alias = `v(${columns.map((_, i) => `column${i + 1}`).join(',')})`;
  const text = cachedSql(
    `u|${table}|${columnList(columns)}`,
    () =>
      `update ${quoted(table)} set ${sets} from (${rowsSource('postgres', columns, 0)}) as ${alias} ` +
      `where ${quoted(table)}.${quoted(key[0])} = v.column1`,
  );
  for (const chunk of chunks(rows, MAX_ROWS.postgres)) {
    await tx.db.executeQuery(CompiledQuery.raw(text, rowsParameters('postgres', columns, chunk)));
  }
}

/** Deletes the rows whose key columns equal one of `rows` (arrays in `keys` order); returns the count. */
export async function deleteKeys(
  tx: Tx,
  table: string,
  keys: Columns,
  rows: readonly unknown[][],
): Promise<number> {
  if (rows.length === 0) return 0;
  if (tx.sqlite) {
    const statement = prepared(
      tx.sqlite,
      cachedSql(
        `d1|${table}|${columnList(keys)}`,
        () =>
          `delete from ${quoted(table)} where ${keys.map(([name]) => `${quoted(name)} = ?`).join(' and ')}`,
      ),
    );
    let deleted = 0;
    for (const row of rows) deleted += statement.run(row).changes;
    return deleted;
  }
  const alias = `v(${keys.map((_, i) => `column${i + 1}`).join(',')})`;
  const text = cachedSql(
    `d|${table}|${columnList(keys)}`,
    () =>
      `delete from ${quoted(table)} using (${rowsSource('postgres', keys, 0)}) as ${alias} where ` +
      keys.map(([name], i) => `${quoted(table)}.${quoted(name)} = v.column${i + 1}`).join(' and '),
  );
  let deleted = 0;
  for (const chunk of chunks(rows, MAX_ROWS.postgres)) {
    const result = await tx.db.executeQuery(CompiledQuery.raw(text, rowsParameters('postgres', keys, chunk)));
    deleted += Number(result.numAffectedRows ?? 0);
  }
  return deleted;
}

type IdTable =
  | 'messages'
  | 'event_slots'
  | 'event_pages'
  | 'loose_pages'
  | 'loose_kinds'
  | 'event_spans'
  | 'loose_spans';

/** Deletes the rows whose `column` is in `ids`, in chunks; returns the number deleted. */
export async function deleteIn(
  db: Db,
  table: IdTable,
  column: 'id' | 'message_id' | 'page_id',
  ids: readonly number[],
): Promise<number> {
  let deleted = 0;
  for (const chunk of chunks(ids)) {
    const result = await db.deleteFrom(table).where(sql.ref(column), 'in', chunk).executeTakeFirst();
    deleted += Number(result.numDeletedRows);
  }
  return deleted;
}

/**
 * `count` new ids for `table` (serial `id`), taken inside the saving transaction so that multi-row inserts
 * need no `RETURNING` order guarantee. SQLite: max(id)+1..., safe under `begin immediate` (no other
 * writer until this transaction ends). PostgreSQL: the table's sequence.
 */
export async function allocateIds(
  tx: Tx,
  table: 'messages' | 'event_pages' | 'loose_pages',
  count: number,
): Promise<number[]> {
  if (count === 0) return [];
  if (tx.dialect === 'postgres') {
    const { rows } = await sql<{ id: number }>`
      select nextval(pg_get_serial_sequence(${table}, 'id')) as id from generate_series(1, ${count})
    `.execute(tx.db);
    return rows.map((r) => Number(r.id));
  }
  const top = tx.sqlite!.prepare(`select max(id) as max from ${quoted(table)}`).get() as {
    max: number | null;
  };
  const base = top.max ?? 0;
  return Array.from({ length: count }, (_, i) => base + i + 1);
}

/**
 * Runs `fn` in one transaction on one connection. SQLite: `begin immediate`, so the write lock is taken
 * up front and the reads that decide what to write cannot go stale. PostgreSQL: a transaction-scoped
 * advisory lock serialises concurrent savers for the same reason (two importers must not both decide a
 * piece is new).
 *
 * `relaxed` (PostgreSQL): `synchronous_commit = off` for this transaction. Its commit returns before the
 * WAL reaches the disk; a crash of the database server may lose the last few hundred milliseconds of
 * commits, never consistency. The importer uses it: an import lost that way is read again by the next
 * one (saving is idempotent and resumes from what is stored).
 */
export async function inTransaction<T>(
  db: Db,
  dialect: Dialect,
  fn: (tx: Db) => Promise<T>,
  options: { serialize: boolean; relaxed?: boolean } = { serialize: true },
): Promise<T> {
  return db.connection().execute(async (conn) => {
    await sql.raw(dialect === 'sqlite' ? 'begin immediate' : 'begin').execute(conn);
    try {
      if (dialect === 'postgres' && options.relaxed) {
        await sql.raw('set local synchronous_commit = off').execute(conn);
      }
      if (dialect === 'postgres' && options.serialize) {
        await sql`select pg_advisory_xact_lock(${SAVE_LOCK_KEY})`.execute(conn);
      }
      const result = await fn(conn);
      await sql.raw('commit').execute(conn);
      return result;
    } catch (error) {
      await sql
        .raw('rollback')
        .execute(conn)
        .catch(() => undefined);
      throw error;
    }
  });
}

/** Arbitrary constant naming mailtrace's save lock among advisory locks ("mail" in ASCII). */
const SAVE_LOCK_KEY = 0x6d61696c;
