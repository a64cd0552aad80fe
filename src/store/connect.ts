import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, type SqliteDatabase, SqliteDialect, type SqliteStatement } from 'kysely';
import pg from 'pg';
import type { Database, Db, Dialect } from './schema.js';

export interface Connection {
  db: Db;
  dialect: Dialect;
  /** The better-sqlite3 connection under `db` (SQLite only): the saver prepares its hot statements on it. */
  sqlite: BetterSqlite3.Database | null;
}

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

export function connect(url: string, readonly: boolean): Connection {
  if (isPostgresUrl(url)) return { db: connectPostgres(url, readonly), dialect: 'postgres', sqlite: null };
  const sqlite = openSqlite(url, readonly);
  return {
    db: new Kysely<Database>({ dialect: new SqliteDialect({ database: cachingDatabase(sqlite) }) }),
    dialect: 'sqlite',
    sqlite,
  };
}

/** `sqlite:` / `sqlite://` prefixes are accepted and dropped; anything else is a file path. */
export function sqlitePath(url: string): string {
  return url.replace(/^sqlite:(\/\/)?/i, '');
}

const SQLITE_PRAGMAS = [
  // Readers never block the writer and a commit is one sequential append.
  'journal_mode = WAL',
  // With WAL, NORMAL loses at most the last commits on power loss, never consistency.
  'synchronous = NORMAL',
  // 32 MiB of page cache (negative = KiB). Measured: 64 MiB made an import no faster (the hot pages,
  // index leaves and the newest table pages, fit in less) and its peak memory 20-60 MB larger.
  'cache_size = -32768',
  'busy_timeout = 10000',
  // A checkpoint copies the WAL into the database and syncs it: every ~40 MiB of WAL rather than every
  // 4 MiB (the default), so an import syncs a tenth as often (measured: a third less time in commits).
  'wal_autocheckpoint = 10000',
  'foreign_keys = ON',
  'temp_store = MEMORY',
];

function openSqlite(url: string, readonly: boolean): BetterSqlite3.Database {
  const path = sqlitePath(url);
  if (!readonly && path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const raw = new BetterSqlite3(path, readonly ? { readonly: true, fileMustExist: true } : {});
  for (const pragma of SQLITE_PRAGMAS) {
    // A read-only connection cannot switch the journal mode; the file already is WAL.
    if (readonly && pragma.startsWith('journal_mode')) continue;
    raw.pragma(pragma);
  }
  return raw;
}

const STATEMENT_CACHE_SIZE = 200;

/**
 * Kysely's SQLite driver prepares every query anew. The store runs the same few statements millions of
 * times (same text for every full insert chunk and IN list), so prepared statements are kept by SQL text,
 * least recently used dropped first.
 */
function cachingDatabase(raw: BetterSqlite3.Database): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  return {
    close: () => raw.close(),
    prepare(text: string): SqliteStatement {
      let statement = cache.get(text);
      if (statement) {
        cache.delete(text);
      } else {
        statement = raw.prepare(text) as unknown as SqliteStatement;
        if (cache.size >= STATEMENT_CACHE_SIZE) {
          const oldest = cache.keys().next().value;
          if (oldest !== undefined) cache.delete(oldest);
        }
      }
      cache.set(text, statement);
      return statement;
    },
  };
}

const INT8_OID = 20;

/**
 * int8 columns (times, ids, counts) as JavaScript numbers. Epoch milliseconds and row counts stay far
 * below 2^53. Set on this pool only rather than with the process-wide `pg.types.setTypeParser`, so other
 * users of `pg` in the process are not affected.
 */
const pgTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8_OID && format !== 'binary'
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format as 'text')) as pg.CustomTypesConfig['getTypeParser'],
};

function connectPostgres(url: string, readonly: boolean): Db {
  const pool = new pg.Pool({
    connectionString: url,
    max: 4,
    types: pgTypes,
    ...(readonly ? { options: '-c default_transaction_read_only=on' } : {}),
  });
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
