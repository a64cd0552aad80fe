import { CompiledQuery, sql } from 'kysely';
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

export type PgType = 'int4' | 'int8' | 'text' | 'bool' | 'float8';
export type Columns = readonly (readonly [string, PgType])[];

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
 * The hot path writes through pre-built SQL text instead of the query builder: building a node per value
 * for millions of rows costs more than the insert itself, and identical text for every full chunk lets
 * the SQLite statement cache (connect.ts) reuse the prepared statement.
 */
const sqlCache = new Map<string, string>();

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

function insertSql(dialect: Dialect, table: string, columns: Columns, rows: number, suffix: string): string {
  const key = `i|${dialect}|${table}|${dialect === 'postgres' ? 0 : rows}|${suffix}`;
  let text = sqlCache.get(key);
  if (text === undefined) {
    const names = columns.map(([name]) => quoted(name)).join(',');
    text = `insert into ${quoted(table)} (${names}) ${rowsSource(dialect, columns, rows)}${suffix}`;
    sqlCache.set(key, text);
  }
  return text;
}

/**
 * Multi-row insert in chunks. `suffix` is appended verbatim (e.g. an `on conflict ... do nothing`).
 * Returns the number of rows written.
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
    const result = await db.executeQuery(
      CompiledQuery.raw(
        insertSql(dialect, table, columns, chunk.length, suffix),
        rowsParameters(dialect, columns, chunk),
      ),
    );
    written += Number(result.numAffectedRows ?? 0);
  }
  return written;
}

/**
 * Multi-row update: `update t set c2 = v.column2, ... from (<rows>) as v where t.c1 = v.column1`, the
 * first column being the key (SQLite 3.33+ and PostgreSQL both have UPDATE ... FROM).
 */
export async function updateRows(
  db: Db,
  dialect: Dialect,
  table: string,
  columns: Columns,
  rows: readonly unknown[][],
): Promise<void> {
  const [key, ...rest] = columns;
  if (!key) return;
  const sets = rest.map(([name], i) => `${quoted(name)} = v.column${i + 2}`).join(', ');
  for (const chunk of chunks(rows, rowsPerStatement(dialect, columns.length))) {
    // VALUES names its columns column1, column2...; the unnest relation is given the same names.
    const alias = dialect === 'postgres' ? `v(${columns.map((_, i) => `column${i + 1}`).join(',')})` : 'v';
    const text =
      `update ${quoted(table)} set ${sets} from (${rowsSource(dialect, columns, chunk.length)}) as ${alias} ` +
      `where ${quoted(table)}.${quoted(key[0])} = v.column1`;
    await db.executeQuery(CompiledQuery.raw(text, rowsParameters(dialect, columns, chunk)));
  }
}

/** Deletes the rows whose `column` is in `ids`, in chunks; returns the number deleted. */
export async function deleteIn(
  db: Db,
  table: 'messages' | 'deliveries' | 'queue_refs' | 'handoffs' | 'events',
  column: 'id' | 'message_id',
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
 * Runs `fn` in one transaction on one connection. SQLite: `begin immediate`, so the write lock is taken
 * up front and the reads that decide what to write cannot go stale. PostgreSQL: a transaction-scoped
 * advisory lock serialises concurrent savers for the same reason (two importers must not both decide a
 * piece is new).
 */
export async function inTransaction<T>(
  db: Db,
  dialect: Dialect,
  fn: (tx: Db) => Promise<T>,
  options: { serialize: boolean } = { serialize: true },
): Promise<T> {
  return db.connection().execute(async (conn) => {
    await sql.raw(dialect === 'sqlite' ? 'begin immediate' : 'begin').execute(conn);
    try {
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
