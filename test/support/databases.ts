import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/**
 * The databases an end-to-end suite runs on: a SQLite file, and a PostgreSQL database created for the
 * test and dropped after. Without a reachable PostgreSQL the PostgreSQL target is skipped with a
 * message, unless MAILTRACE_REQUIRE_PG=1 (CI), where its absence fails the suite.
 */
export interface DatabaseTarget {
  name: 'sqlite' | 'postgres';
  enabled: boolean;
  /** A fresh, empty database; returns its URL. */
  create(): Promise<string>;
  /** Drops everything `create` made. */
  dropAll(): Promise<void>;
}

const PG_BASE = process.env.MAILTRACE_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432';
export const REQUIRE_PG = process.env.MAILTRACE_REQUIRE_PG === '1';

async function pgReachable(): Promise<string | null> {
  const client = new pg.Client({ connectionString: `${PG_BASE}/postgres`, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await client.end().catch(() => {});
  }
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: `${PG_BASE}/postgres` });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export async function databaseTargets(suite: string): Promise<DatabaseTarget[]> {
  const problem = await pgReachable();
  if (problem && REQUIRE_PG)
    throw new Error(
      `${suite}: PostgreSQL required (MAILTRACE_REQUIRE_PG=1) but unreachable at ${PG_BASE}: ${problem}`,
    );
  if (problem)
    console.warn(`${suite}: PostgreSQL unreachable at ${PG_BASE} (${problem}); PostgreSQL cases skipped`);
  const dirs: string[] = [];
  const pgNames: string[] = [];
  return [
    {
      name: 'sqlite',
      enabled: true,
      async create() {
        const dir = mkdtempSync(join(tmpdir(), 'mailtrace-e2e-'));
        dirs.push(dir);
        return join(dir, 'test.db');
      },
      async dropAll() {
        for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
      },
    },
    {
      name: 'postgres',
      enabled: problem === null,
      async create() {
        const name = `mailtrace_e2e_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
        await admin(`CREATE DATABASE ${name}`);
        pgNames.push(name);
        return `${PG_BASE}/${name}`;
      },
      async dropAll() {
        for (const name of pgNames.splice(0)) await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      },
    },
  ];
}
