import type { Kysely, Migration, MigrationProvider } from 'kysely';
import * as initial from './2026-11-28-initial.js';
import * as shapes from './2026-11-28-shapes.js';

type Dialect = 'sqlite' | 'postgres';

interface MigrationModule {
  up(db: Kysely<unknown>, dialect: Dialect): Promise<void>;
  down?(db: Kysely<unknown>, dialect: Dialect): Promise<void>;
}

/**
 * Every migration, by name. The names are date-prefixed so that Kysely's Migrator (which sorts by name)
 * runs them in the order they were written. A static list rather than a folder scan: it works the same
 * from the TypeScript sources and from the built `dist/`.
 */
const MIGRATIONS: Record<string, MigrationModule> = {
  '2026-11-28-initial': initial,
  '2026-11-28-shapes': shapes,
};

/** Hands each migration the dialect, since a few column types differ (docs/schema.md). */
export function migrationProvider(dialect: Dialect): MigrationProvider {
  return {
    async getMigrations(): Promise<Record<string, Migration>> {
      const out: Record<string, Migration> = {};
      for (const [name, mod] of Object.entries(MIGRATIONS)) {
        const down = mod.down;
        out[name] = {
          up: (db) => mod.up(db, dialect),
          ...(down ? { down: (db: Kysely<unknown>) => down(db, dialect) } : {}),
        };
      }
      return out;
    },
  };
}
